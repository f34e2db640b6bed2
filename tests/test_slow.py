"""Checks on the full Kaggle dataset; run with `pytest -m slow` (needs ../shared/data)."""
import json
from pathlib import Path

import pytest

from model.evaluation.evaluate import evaluate

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared/data/brain-tumor-mri"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (DATA / "Testing").is_dir(), reason=f"dataset not found at {DATA}")]


@pytest.fixture(scope="module")
def testing_metrics() -> dict:
    """The bundled ResNet50 on all of Kaggle Testing, with the audit's clean subset."""
    return evaluate(REPO / "model/weights/resnet50.safetensors", DATA / "Testing",
                    audit=REPO / "model/weights/audit.json")


# strict, like the clean-subset bar below: the bundle traded Kaggle points for scans from elsewhere
# (docs/external.md, the bundle rule of stage E3), so a model that meets the bar again turns this red.
@pytest.mark.xfail(strict=True, reason="the 99% Kaggle Testing bar is not met since 2026-12-01: 96.94%, macro-F1 0.9686")
def test_bundled_resnet50_reaches_the_bar_on_kaggle_testing(testing_metrics):
    metrics = testing_metrics
    assert metrics["n_images"] == 1311
    assert metrics["accuracy"] >= 0.99 and metrics["macro_f1"] >= 0.99, metrics


def test_the_committed_evaluation_is_what_the_bundled_model_scores(testing_metrics):
    committed = json.loads((REPO / "model/weights/resnet50.metrics.json").read_text())
    assert testing_metrics["confusion_matrix"] == committed["confusion_matrix"]
    # the audit's clean subset sees mirrored and turned copies since 2026-12-02 (630 before)
    assert testing_metrics["clean"]["n_images"] == committed["clean"]["n_images"] == 245
    assert testing_metrics["clean_before_mirror_check"]["n_images"] == 630
    named = [(w["image"], w["predicted"]) for w in testing_metrics["misclassified"]]
    assert named == [(w["image"], w["predicted"]) for w in committed["misclassified"]]
    # and the Data & evaluation page has a picture of each
    assert all((REPO / "assets/mistakes" / w["thumbnail"]).is_file() for w in committed["misclassified"])


# strict: once a bundled model meets the bar this reports XPASS as a failure, so the marker goes.
@pytest.mark.xfail(strict=True, reason="issue #4's clean-subset bar (99.0%) is not met: 91.42% of the 245 "
                                              "Testing images with no counterpart in Training, 21 wrong")
def test_bundled_resnet50_reaches_the_bar_on_the_clean_subset(testing_metrics):
    assert testing_metrics["clean"]["accuracy"] >= 0.99


def test_the_committed_ct_audit_is_what_the_skull_ring_check_finds():
    from model.data.ct_slices import find_ct_like

    committed = json.loads((REPO / "model/weights/ct_like.json").read_text())
    found = find_ct_like(DATA)
    assert [i["image"] for i in found["images"]] == [i["image"] for i in committed["images"]]
    assert found["counts"] == committed["counts"] and found["checked"] == committed["checked"]


EXTERNAL = REPO.parent / "shared/data/feltrin-44-dev/manifest.tsv"


@pytest.mark.skipif(not EXTERNAL.is_file(), reason=f"external set not found at {EXTERNAL}")
@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "efficientnet_b0"])
def test_the_committed_external_figures_are_what_each_bundled_model_scores(name):
    from model.evaluation.external import evaluate_external

    committed = json.loads((REPO / f"model/weights/{name}.external.json").read_text())
    found = evaluate_external(REPO / f"model/weights/{name}.safetensors", EXTERNAL, "validation")
    for key in ("accuracy", "sensitivity", "specificity", "other_tumour_called_no_tumour"):
        assert found[key]["value"] == pytest.approx(committed[key]["value"], abs=1e-9), key
    assert found["data_fingerprint"] == committed["data_fingerprint"]


def test_the_committed_audit_is_what_a_fresh_audit_finds():
    from model.data.audit import audit
    committed = json.loads((REPO / "model/weights/audit.json").read_text())
    fresh = audit(DATA)
    for key in ("testing_with_training_duplicate", "testing_with_training_counterpart", "testing_leaked_by_transform",
                "clean_testing", "clean_testing_before_mirror_check", "figshare_label_conflicts"):
        assert fresh[key] == committed[key], key


def test_the_committed_heat_map_localisation_is_what_a_fresh_run_measures():
    from model.classifier.classifier import load_classifier
    from model.data.outlines import read_outlines
    from model.evaluation.heat_map_search import chosen_candidates
    from model.evaluation.localisation import localisation_report
    committed = json.loads((REPO / "model/weights/resnet50.localisation.json").read_text())
    candidates = chosen_candidates(list(committed["candidates"]))
    fresh = localisation_report(load_classifier(REPO / "model/weights/resnet50.safetensors"),
                                read_outlines(split="Testing"), candidates=candidates)
    for name in committed["maps"]:
        assert fresh["maps"][name]["overall"]["pointing_game"] == committed["maps"][name]["overall"]["pointing_game"]
