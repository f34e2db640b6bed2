"""Heat-map methods in plain words: ``GradCAMPlusPlus:fine`` reads "Grad-CAM++, second-last block".

The result files name a measured candidate heat map ``NAME:LAYERS`` (``python -m model localise
--candidates``, :mod:`model.evaluation.heat_map_search`): a pytorch-grad-cam class and the blocks it
reads. The tables show the plain name and keep the code name for a tooltip, so a reader can still find
the command that measured it. Names without a colon (the app's own maps, the baselines) are plain already.
"""
from __future__ import annotations

__all__ = ["CAM_NAMES", "LAYER_NAMES", "heat_map_help", "heat_map_name"]

#: pytorch-grad-cam's classes as their papers write them.
CAM_NAMES = {"GradCAM": "Grad-CAM", "HiResCAM": "HiResCAM", "GradCAMPlusPlus": "Grad-CAM++", "XGradCAM": "XGrad-CAM",
             "LayerCAM": "LayerCAM", "EigenCAM": "Eigen-CAM", "ScoreCAM": "Score-CAM", "AblationCAM": "Ablation-CAM"}
#: The blocks a heat map reads (``model.classifier.heat_maps.methods.LAYER_CHOICES``): short, then in full.
LAYER_NAMES = {"last": ("last block", "the network's last block (a coarse 1/32 grid)"),
               "fine": ("second-last block", "the block before the last (a grid twice as fine)"),
               "both": ("last two blocks", "the last two blocks, their maps averaged")}


def _parts(code: str) -> tuple[str, str] | None:
    name, sep, layers = code.partition(":")
    return (name, layers) if sep and layers in LAYER_NAMES else None


def heat_map_name(code: str) -> str:
    """``"XGradCAM:last"`` → ``"XGrad-CAM, last block"``; a name that is not ``NAME:LAYERS`` unchanged."""
    parts = _parts(code)
    if parts is None:
        return code
    name, layers = parts
    return f"{CAM_NAMES.get(name, name)}, {LAYER_NAMES[layers][0]}"


def heat_map_help(code: str) -> str | None:
    """The tooltip for a plain name: the code name and what it means; ``None`` for a name that is plain already."""
    parts = _parts(code)
    if parts is None:
        return None
    name, layers = parts
    return (f"{code} in the result file and in `python -m model localise --candidates`: pytorch-grad-cam's "
            f"{name} on {LAYER_NAMES[layers][1]}.")
