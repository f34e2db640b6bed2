"""model.views.catalog: what the pages say about a checkpoint."""
from pathlib import Path

import pytest

from model.paths import MISTAKES_DIR, result_file
from model.views.catalog import ModelReport, heat_map_rows, model_report, named_mistakes


def report(**metadata) -> ModelReport:
    base = {"arch": "resnet50", "classes": ["glioma"], "preprocess": {"input_size": 160}, "train_config": {}}
    return ModelReport(checkpoint=Path("x.safetensors"), metadata={**base, **metadata}, metrics=None, history=None)


@pytest.mark.parametrize("extra, words", [
    ({}, "ResNet50, trained from scratch at 160×160 px"),
    ({"train_config": {"init_from": "runs/a/best.safetensors"}}, "trained from scratch, the last stage at 160"),
    ({"train_config": {"init_from": "r"}, "soup_of": ["runs/a", "runs/b"]},
     "trained from scratch in stages, the weights of the last 2 averaged, at 160"),
    ({"trained_from_scratch": False}, "fine-tuned from ImageNet weights at 160"),
    ({"data_sources": [{"name": "brain-tumor-mri"}, {"name": "feltrin-44-dev"}]},
     "Training split and the training part of feltrin-44-dev"),
])
def test_provenance_says_how_the_weights_came_to_be(extra, words):
    assert words in report(**extra).provenance


def test_bundled_report_prefers_the_ood_file_and_names_its_origin():
    bundled = model_report()
    assert "trained from scratch" in bundled.provenance
    assert bundled.ood["ood_images"] >= 30 and bundled.metrics["n_images"] == 1311


def test_named_mistakes_use_display_names_and_only_thumbnails_that_exist():
    shipped = next(MISTAKES_DIR.glob("*.jpg"))
    metrics = {"misclassified": [
        {"image": "glioma/a.jpg", "truth": "glioma", "predicted": "notumor", "confidence": 0.9, "clean": True,
         "thumbnail": shipped.name},
        {"image": "glioma/b.jpg", "truth": "glioma", "predicted": "pituitary", "confidence": 0.7, "clean": None,
         "thumbnail": "missing.jpg"},
        {"image": "glioma/c.jpg", "truth": "glioma", "predicted": "meningioma", "confidence": 0.6, "clean": False}]}
    named = named_mistakes(metrics)
    assert [(w["truth"], w["predicted"]) for w in named] == [
        ("Glioma", "No tumour"), ("Glioma", "Pituitary tumour"), ("Glioma", "Meningioma")]
    assert [w["thumbnail"] for w in named] == [shipped, None, None]
    assert named_mistakes({}) is None and named_mistakes({"misclassified": []}) == []


def test_ct_like_findings_join_the_flagged_testing_slices_with_the_model_reports(tmp_path):
    import json

    from model.views.catalog import ct_like_findings

    (tmp_path / "ct_like.json").write_text(json.dumps({
        "images": [{"image": "Training/notumor/a.jpg"}, {"image": "Testing/notumor/b.jpg"},
                   {"image": "Testing/notumor/c.jpg", "thumbnail": "missing.jpg"}],
        "counts": {"Training": {"notumor": 1}, "Testing": {"notumor": 2}},
        "checked": {"Training": 10, "Testing": 5}}))
    bare = ModelReport(checkpoint=tmp_path / "m.safetensors", metadata={}, metrics=None, history=None)
    assert ct_like_findings(bare)["testing_wrong"] is None  # no evaluation yet
    full = ModelReport(checkpoint=tmp_path / "m.safetensors", metadata={}, history=None,
                       metrics={"misclassified": [{"image": "notumor/c.jpg"}]},
                       ood_report={"testing_rejected_names": ["notumor/b.jpg", "glioma/x.jpg"]},
                       audit={"clean_testing": ["Testing/notumor/c.jpg"]})
    found = ct_like_findings(full)
    assert (found["testing"], found["testing_clean"], found["testing_wrong"], found["testing_rejected"]) == (2, 1, 1, 1)
    assert found["examples"] == []  # the only thumbnail named is missing
    assert found["classes"] == ["no tumour"]
    elsewhere = ModelReport(checkpoint=tmp_path / "elsewhere" / "m.safetensors", metadata={}, metrics=None, history=None)
    assert ct_like_findings(elsewhere) is None


def test_bundled_ct_like_findings_have_thumbnails():
    from model.views.catalog import ct_like_findings

    found = ct_like_findings(model_report())
    assert found["testing"] == sum(found["counts"]["Testing"].values())
    assert found["examples"] and all(path.exists() for path, _ in found["examples"])


def test_result_files_sit_beside_their_checkpoint():
    assert result_file("model/weights/resnet50.safetensors", "explain") == Path("model/weights/resnet50.explain.json")


def test_heat_map_rows_cut_the_figures_and_leave_baselines_without_correlations():
    summary = {"mean": 0.10899, "ci95": [0.0842, 0.13289], "median": 0.1, "n": 4}
    explanation = {"road": {"Grad-CAM": summary, "a smooth random map": {**summary, "mean": -0.0148}},
                   "rank_correlation": {"Grad-CAM": {"randomised weights": {"mean": 0.3309},
                                                     "runner-up class": {"mean": -0.2331}}}}
    grad_cam, random = heat_map_rows(explanation)
    assert grad_cam == {"map": "Grad-CAM", "ROAD score": 0.108, "95% interval": "0.084 to 0.132",
                        "same map from random weights": "0.33", "same map for the runner-up class": "-0.24"}
    assert random["ROAD score"] == -0.015 and random["same map from random weights"] == "—"
