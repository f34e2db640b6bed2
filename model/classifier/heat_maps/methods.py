"""Which heat maps exist (names, pytorch-grad-cam classes, blocks), without importing torch.

The pages and the classifier (``model.classifier.classifier``) read these names before the first answer,
without torch; :mod:`model.classifier.heat_maps.gradcam` draws the maps.
"""
from __future__ import annotations

import importlib
import sys
import threading
from dataclasses import dataclass

__all__ = ["CAM_CLASSES", "HEAT_MAP_METHODS", "LAYER_CHOICES", "SLOW_CAM_BATCH", "SLOW_CAM_CLASSES",
           "HeatMapMethod", "cam_library_loaded", "draws_from_activations", "drawn_in_numpy", "heat_map_method", "load_cam_library_in_background"]

#: The pytorch-grad-cam methods a heat map may use (``python -m model localise --candidates`` measures them).
CAM_CLASSES = ("GradCAM", "HiResCAM", "GradCAMPlusPlus", "XGradCAM", "LayerCAM", "EigenCAM", "ScoreCAM", "AblationCAM")
#: Which blocks a heat map reads: the last ("last", stride 32), the one before it ("fine", stride 16, a
#: map twice as fine) or both ("both": pytorch-grad-cam averages the two layers' maps).
LAYER_CHOICES = ("last", "fine", "both")
#: Methods that score each activation channel with its own forward passes (thousands per image): they
#: explain one image at a time, in forward batches of this many perturbed copies.
SLOW_CAM_CLASSES, SLOW_CAM_BATCH = ("ScoreCAM", "AblationCAM"), 8


@dataclass(frozen=True)
class HeatMapMethod:
    """One way to draw the heat map: a pytorch-grad-cam method on one or two blocks of the network.

    Attributes:
        name: what the app (or the report) calls it.
        cam_class: the pytorch-grad-cam class that computes it, one of :data:`CAM_CLASSES`.
        layers: the blocks it reads, one of :data:`LAYER_CHOICES`.
    """

    name: str
    cam_class: str
    layers: str = "last"

    def __post_init__(self) -> None:
        if self.cam_class not in CAM_CLASSES:
            raise ValueError(f"unknown heat map method {self.cam_class!r}; choose from {list(CAM_CLASSES)}")
        if self.layers not in LAYER_CHOICES:
            raise ValueError(f"unknown target layers {self.layers!r}; choose from {list(LAYER_CHOICES)}")


#: The heat maps the app offers, its default first. ``python -m model.evaluation.explain_check`` measures each.
HEAT_MAP_METHODS = (
    HeatMapMethod("Grad-CAM", "GradCAM", layers="last"),
    HeatMapMethod("LayerCAM", "LayerCAM", layers="fine"),
)


def heat_map_method(name: str) -> HeatMapMethod:
    """The entry of :data:`HEAT_MAP_METHODS` called ``name``."""
    for method in HEAT_MAP_METHODS:
        if method.name == name:
            return method
    raise KeyError(f"unknown heat map {name!r}; choose from {[m.name for m in HEAT_MAP_METHODS]}")


def draws_from_activations(method: HeatMapMethod) -> bool:
    """Can ``method`` be drawn from an engine's last-block activations? Gradient methods on the last
    block can; maps on earlier blocks, and methods that re-run the network on altered inputs, cannot."""
    return method.layers == "last" and method.cam_class not in SLOW_CAM_CLASSES


def drawn_in_numpy(method: HeatMapMethod) -> bool:
    """Is ``method`` Grad-CAM on the last block, which is the class activation map and is drawn from the
    engine's activations in NumPy (:mod:`model.classifier.heat_maps.activation_maps`)?"""
    return method.cam_class == "GradCAM" and method.layers == "last"


def cam_library_loaded() -> bool:
    """Has pytorch-grad-cam been imported in this process, to the end (is a heat map now cheap)?"""
    module = sys.modules.get("pytorch_grad_cam")
    # a module being imported is in sys.modules already, its spec marked as initialising
    return module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False)


def load_cam_library_in_background() -> None:
    """Start importing pytorch-grad-cam (and torch with it, ~4-6 s) on a thread, so that the heat map
    asked for after a first answer waits for what is left of it; a later import waits for this one."""
    if "pytorch_grad_cam" not in sys.modules:
        threading.Thread(target=importlib.import_module, args=("pytorch_grad_cam",), name="load-grad-cam",
                         daemon=True).start()
