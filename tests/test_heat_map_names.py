"""Heat-map methods in plain words, the code name kept for a tooltip (model.views.heat_map_names)."""
import pytest

from model.classifier.heat_maps.methods import CAM_CLASSES, LAYER_CHOICES
from model.views.heat_map_names import heat_map_help, heat_map_name
from model.views.localisation import localisation_rows, map_cell


@pytest.mark.parametrize("code, plain", [("GradCAMPlusPlus:fine", "Grad-CAM++, second-last block"),
                                         ("XGradCAM:last", "XGrad-CAM, last block"),
                                         ("LayerCAM:both", "LayerCAM, last two blocks")])
def test_code_names_read_in_plain_words(code, plain):
    assert heat_map_name(code) == plain
    assert heat_map_help(code).startswith(f"{code} in the result file")


def test_every_method_and_layer_choice_has_a_plain_name():
    for cam in CAM_CLASSES:
        for layers in LAYER_CHOICES:
            assert ":" not in heat_map_name(f"{cam}:{layers}")


def test_plain_names_and_baselines_stay_as_they_are():
    for name in ("Grad-CAM", "LayerCAM", "a blob on the centre of the head", "GradCAM:stride16"):
        assert heat_map_name(name) == name and heat_map_help(name) is None


def test_the_localisation_table_shows_the_plain_name_and_the_code_in_small_type():
    summary = {"mean": 0.5, "ci95": [0.4, 0.6]}
    per_map = {"overall": {"n": 10, "pointing_game": summary, "energy_inside": summary, "auc": summary},
               "per_class": {"glioma": {"pointing_game": summary}}}
    rows = localisation_rows({"maps": {"Grad-CAM": per_map, "GradCAMPlusPlus:fine": per_map}})
    assert [r["map"] for r in rows] == ["Grad-CAM", "Grad-CAM++, second-last block :small[`GradCAMPlusPlus:fine`]"]
    assert map_cell("XGradCAM:last").startswith("XGrad-CAM, last block")
