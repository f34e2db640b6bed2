"""model.views.external: the pages' view of the external evaluation, on the committed result file."""
import json
from pathlib import Path

import pytest

from model.figures import percent
from model.views.external import (by_sequence_chart, by_tumour_type_chart, external_reading, figure_text,
                                  models_by_sequence_chart, models_side_by_side, side_by_side_rows)

REPO = Path(__file__).resolve().parent.parent
EXTERNAL = json.loads((REPO / "model/weights/resnet50.external.json").read_text())
METRICS = json.loads((REPO / "model/weights/resnet50.metrics.json").read_text())


def test_a_figure_reads_with_its_interval_or_says_it_rests_on_one_case():
    assert figure_text({"value": 0.2639, "ci95": [0.1938, 0.4737]}) == "26.39% (19.38–47.37%)"
    assert figure_text({"value": 0.5, "ci95": None, "n": 3}) == "50.00% (one case)"
    assert figure_text({"value": None, "ci95": None, "n": 0}) == "not measured"


def test_the_reading_quotes_the_result_files_figures():
    lines = external_reading(EXTERNAL)
    assert figure_text(EXTERNAL["sensitivity"]) in lines[0] and str(EXTERNAL["n_images"]) in lines[0]
    weakest = min(EXTERNAL["by_sequence"], key=lambda s: EXTERNAL["by_sequence"][s]["sensitivity"]["value"])
    assert figure_text(EXTERNAL["by_sequence"][weakest]["sensitivity"]) in lines[1]
    assert any("pituitary" in line for line in lines)


def test_the_charts_have_a_bar_per_sequence_and_per_tumour_type():
    sequences = by_sequence_chart(EXTERNAL)
    assert len(sequences.data) == 3 and len(sequences.data[0].x) == len(EXTERNAL["by_sequence"])
    types = by_tumour_type_chart(EXTERNAL).data[0]
    assert "none" not in types.x and len(types.x) == len(EXTERNAL["by_tumour_type"]) - 1
    assert list(types.y) == sorted(types.y)  # weakest first


def test_the_model_card_rows_put_kaggle_beside_other_sources():
    rows = side_by_side_rows(METRICS, EXTERNAL)
    assert [r["figure"] for r in rows] == ["right class", "tumours found", "normal scans called normal"]
    kaggle, external = (k for k in rows[0] if k != "figure")
    assert rows[0][kaggle].startswith(percent(METRICS["accuracy"])) and "Kaggle" in kaggle
    assert rows[1][external] == figure_text(EXTERNAL["sensitivity"])


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "efficientnet_b0"])
def test_every_bundled_model_has_its_external_result_file(name):
    report = json.loads((REPO / f"model/weights/{name}.external.json").read_text())
    assert report["split"] == "validation" and report["classes_absent"] == ["pituitary"]
    assert set(report["by_sequence"]) == {"T1", "T1C+", "T2"}


def test_the_comparison_table_and_chart_have_a_row_and_a_bar_set_per_model():
    other = json.loads((REPO / "model/weights/mobilenet_v2.external.json").read_text())
    two_sources = {"data_sources": [{"name": "brain-tumor-mri"}, {"name": "feltrin-44-dev"}]}
    rows = models_side_by_side({"ResNet50": (METRICS, EXTERNAL, two_sources), "MobileNetV2": (None, other, {})})
    assert [r["model"] for r in rows] == ["ResNet50", "MobileNetV2"]
    assert [r["trained on"] for r in rows] == ["Kaggle + feltrin-44-dev", "Kaggle"]
    assert rows[0]["Kaggle Testing"].startswith(percent(METRICS["accuracy"]))
    assert rows[1]["Kaggle Testing"] == "not measured"
    assert rows[1]["tumours found"] == figure_text(other["sensitivity"])
    fig = models_by_sequence_chart({"ResNet50": EXTERNAL, "MobileNetV2": other})
    assert [bar.name for bar in fig.data] == ["ResNet50", "MobileNetV2"]
    assert fig.data[1].y[0] == pytest.approx(other["by_sequence"]["T1"]["sensitivity"]["value"] * 100)


def test_the_interval_note_derives_the_largest_groups_share_and_its_draws():
    from math import comb

    from model.views.external import interval_skew_note
    note = interval_skew_note({"accuracy": {"value": 0.5, "ci95": [0.4, 0.8], "n": 640, "case_groups": 197,
                                            "largest_case_group": 293}})
    assert "holds 293 of the 640 slices behind the 3-class accuracy (45%)" in note  # 45.78%, cut
    # a group is drawn k times out of 197 draws with probability C(197, k) (1/197)^k (196/197)^(197-k)
    draws = [percent(comb(197, k) * (1 / 197) ** k * (196 / 197) ** (197 - k), 0) for k in range(3)]
    assert draws == ["36%", "36%", "18%"]
    assert f"out of about {draws[0]} of its resamples, draws it once in {draws[1]} and twice in {draws[2]}" in note
    assert "off-centre" in note


@pytest.mark.parametrize("accuracy", [
    {"value": 0.5, "ci95": [0.4, 0.6], "n": 314, "case_groups": 80},  # made before figures carried the key
    {"value": 0.5, "ci95": None, "n": 20, "case_groups": 1, "largest_case_group": 20},  # one case: no interval
])
def test_the_interval_note_is_left_out_without_a_largest_group_to_explain(accuracy):
    from model.views.external import interval_skew_note
    assert interval_skew_note({"accuracy": accuracy}) is None


def test_the_interval_note_reads_a_committed_result_file_with_the_key():
    from model.views.external import interval_skew_note
    report = json.loads((REPO / "model/weights/efficientnet_lite0.external.json").read_text())
    accuracy = report["accuracy"]
    note = interval_skew_note(report)
    assert f"holds {accuracy['largest_case_group']:,} of the {accuracy['n']:,} slices" in note
    assert percent(accuracy["largest_case_group"] / accuracy["n"], 0) in note
    assert f"draws the {accuracy['case_groups']} case groups" in note


def test_the_sequence_reading_names_each_sequence_and_what_kaggle_holds():
    from model.views.external import sequence_reading, sequences_named
    assert sequences_named(EXTERNAL) == "T1, contrast-enhanced T1 and T2"
    text = sequence_reading(EXTERNAL, "Kaggle note.")
    for block in EXTERNAL["by_sequence"].values():
        assert figure_text(block["sensitivity"]) in text
    assert "Kaggle note." in text
    best = max(EXTERNAL["by_sequence"], key=lambda s: EXTERNAL["by_sequence"][s]["sensitivity"]["value"])
    assert ("finds tumours best on contrast-enhanced T1" in text) == (best == "T1C+")
