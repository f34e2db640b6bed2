"""model.evaluation.external: figures on scans from elsewhere, and the case-group bootstrap."""
import json

import numpy as np
import pytest

from model.data.manifest import read_manifest
from model.evaluation.external import external_metrics, main
from model.evaluation.metrics import bootstrap_ci, cluster_rate_ci

from .conftest import CLASSES
from .test_manifest import write_set


def test_the_case_bootstrap_widens_when_slices_are_copies_of_one_case():
    rng = np.random.default_rng(0)
    hits = (rng.random(60) < 0.7).astype(float)
    copies, groups = np.repeat(hits, 8), np.repeat(np.arange(60), 8)
    by_case = np.diff(cluster_rate_ci(groups, copies))[0]
    by_slice = np.diff(bootstrap_ci(copies, copies, lambda t, p: float(np.mean(t))))[0]
    alone = np.diff(bootstrap_ci(hits, hits, lambda t, p: float(np.mean(t))))[0]
    assert by_case > 2 * by_slice  # slices counted as independent look eight times as many
    assert by_case == pytest.approx(alone, rel=0.35)  # the honest width: that of 60 cases


def perfect_probs(manifest, other_answer="notumor"):
    probs = np.full((len(manifest), 4), 0.02, np.float32)
    for row, label in enumerate(manifest.classes):
        probs[row, CLASSES.index(label or other_answer)] = 0.94
    return probs


def test_the_figures_on_a_set_the_model_gets_right_except_other_tumours(tmp_path):
    manifest = read_manifest(write_set(tmp_path))
    report = external_metrics(manifest, perfect_probs(manifest), CLASSES)
    assert report["accuracy"]["value"] == 1.0 and report["specificity"]["value"] == 1.0
    assert report["other_tumour_called_no_tumour"]["value"] == 1.0  # every schwannoma called normal
    assert report["sensitivity"]["value"] == pytest.approx(36 / 54)
    assert report["classes_absent"] == ["pituitary"] and report["absent_class_answers"]["value"] == 0.0
    assert set(report["by_sequence"]) == {"T1", "T1C+", "T2"}
    assert report["by_tumour_type"]["Schwannoma"]["called_tumour"]["value"] == 0.0
    low, high = report["sensitivity"]["ci95"]
    assert low <= report["sensitivity"]["value"] <= high and low < high


def test_only_no_tumour_answers_the_app_would_not_call_unsure_count_as_confident(tmp_path):
    manifest = read_manifest(write_set(tmp_path))
    probs = perfect_probs(manifest)
    others = [i for i, c in enumerate(manifest.classes) if c is None]
    probs[others[:6]] = [0.15, 0.15, 0.55, 0.15]  # "no tumour", but below the app's UNSURE_BELOW
    report = external_metrics(manifest, probs, CLASSES)
    assert report["other_tumour_called_no_tumour"]["value"] == 1.0
    assert report["other_tumour_called_no_tumour_confidently"]["value"] == pytest.approx(1 - 6 / len(others))


def test_pituitary_answers_are_counted_as_naming_an_absent_class(tmp_path):
    manifest = read_manifest(write_set(tmp_path))
    report = external_metrics(manifest, perfect_probs(manifest, other_answer="pituitary"), CLASSES)
    assert report["absent_class_answers"]["value"] == pytest.approx(18 / 72)
    assert report["other_tumour_called_no_tumour"]["value"] == 0.0 and report["sensitivity"]["value"] == 1.0


def test_the_command_writes_a_result_file_and_refuses_a_malformed_manifest(tmp_path, tiny_checkpoint, capsys):
    manifest = write_set(tmp_path / "set")
    out = tmp_path / "external.json"
    main(["--checkpoint", str(tiny_checkpoint), "--manifest", str(manifest), "--split", "all", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["n_images"] == 72 and len(report["predictions"]) == 72 and "T1C+" in capsys.readouterr().out
    (tmp_path / "bad.tsv").write_text("file\tlabel\n")
    with pytest.raises(SystemExit) as stopped:
        main(["--checkpoint", str(tiny_checkpoint), "--manifest", str(tmp_path / "bad.tsv"), "--split", "all"])
    assert stopped.value.code == 2 and "lacks the column" in capsys.readouterr().err
