"""model.classifier.heat_maps.methods: the names of the maps, and whether their library has finished loading."""
import sys
import types
from importlib.machinery import ModuleSpec

import pytest

from model.classifier.heat_maps.methods import (CAM_CLASSES, HEAT_MAP_METHODS, HeatMapMethod, cam_library_loaded,
                                               heat_map_method)
from .conftest import python_output


def test_methods_name_known_classes_and_blocks():
    assert HEAT_MAP_METHODS[0].name == "Grad-CAM" and all(m.cam_class in CAM_CLASSES for m in HEAT_MAP_METHODS)
    assert heat_map_method("LayerCAM").layers == "fine"
    with pytest.raises(KeyError):
        heat_map_method("CAM of my own")
    with pytest.raises(ValueError):
        HeatMapMethod("x", "NoSuchCAM")
    with pytest.raises(ValueError):
        HeatMapMethod("x", "GradCAM", layers="middle")


def test_a_library_still_being_imported_is_not_loaded(monkeypatch):
    half = types.ModuleType("pytorch_grad_cam")
    half.__spec__ = ModuleSpec("pytorch_grad_cam", None)
    half.__spec__._initializing = True
    monkeypatch.setitem(sys.modules, "pytorch_grad_cam", half)
    assert not cam_library_loaded()
    half.__spec__._initializing = False
    assert cam_library_loaded()


def test_background_load_leaves_the_caller_free_and_finishes():
    code = ("import sys, threading; from model.classifier.heat_maps.methods import cam_library_loaded, "
            "load_cam_library_in_background as load; load(); started = 'torch' not in sys.modules or not "
            "cam_library_loaded(); [t.join() for t in threading.enumerate() if t.name == 'load-grad-cam']; "
            "print(started, cam_library_loaded(), 'torch' in sys.modules)")
    assert python_output(code).split() == ["True", "True", "True"]
