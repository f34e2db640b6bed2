from model.views.robustness import COLLAPSED_ABOVE, load_stress_report, robustness_heatmap, robustness_summary


def figures(accuracy: float, largest_share: float = 0.3) -> dict:
    return {"accuracy": accuracy, "largest_share": largest_share}


def report(upside_down_share: float) -> dict:
    shifts = [{"name": "original", "kind": "none"}, {"name": "noise", "kind": "scanner"},
              {"name": "darker", "kind": "scanner"}, {"name": "upside down", "kind": "orientation"}]
    results = {"original": figures(0.99), "noise": figures(0.95), "darker": figures(0.97),
               "upside down": figures(0.40, upside_down_share)}
    return {"shifts": shifts, "models": {"resnet50": {"arch": "resnet50", "results": results},
                                         "tiny": {"arch": "mobilenet_v2", "results": results}}}


def test_heatmap_has_a_cell_per_shift_and_model_and_flags_collapse():
    fig = robustness_heatmap(report(upside_down_share=0.9))
    heat = fig.data[0]
    assert list(heat.x) == ["ResNet50", "MobileNetV2"]
    assert list(heat.y) == ["original", "noise", "darker", "upside down"]
    assert heat.z[1][0] == 95.0
    assert "one class" in heat.text[3][0] and "one class" not in heat.text[1][0]


def test_summary_names_the_weakest_shifts_and_collapse():
    text = robustness_summary(report(upside_down_share=COLLAPSED_ABOVE + 0.1), "resnet50")
    assert "ResNet50 scores 99.00%" in text
    assert "“noise” at 95.00%" in text and "“upside down”) get 40.00%" in text
    assert "stopped looking" in text


def test_summary_says_when_a_model_never_collapses():
    assert "never collapses" in robustness_summary(report(upside_down_share=0.5), "resnet50")


def test_missing_report_is_none(tmp_path):
    assert load_stress_report(tmp_path / "absent.json") is None
