"""python -m model backends: every backend's answers against PyTorch fp32, and the file the app trusts."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from model import load_classifier
from model.classifier import backend_runtime, backends
from model.classifier.backend_choice import TOLERANCE_ANSWERS, allowed_by_check
from model.classifier.backend_runtime import BACKEND_ENV
from model.classifier.backends import CANDIDATES, REFERENCE, bf16_capable
from model.evaluation import backend_check
from model.evaluation.backend_check import check_backends
from model.paths import result_file

from .conftest import synthetic_mri

ROW_KEYS = {"changed_answers", "changed", "max_probability_change", "images_per_second", "passes"}


@pytest.fixture(scope="module")
def clf(tiny_checkpoint):
    return load_classifier(tiny_checkpoint, backends=False)


@pytest.fixture(scope="module")
def squares(clf):
    arrays = [clf.spec.to_square_grey(synthetic_mri(i % 4, 300 + i))[0] for i in range(10)]
    return torch.from_numpy(np.stack(arrays))


def _names(count: int) -> list[str]:
    return [f"image_{i:02d}.png" for i in range(count)]


def test_every_backend_is_checked_against_pytorch(clf, squares, tmp_path):
    assert squares.dtype == torch.uint8 and squares.shape == (10, 40, 40)
    rows = check_backends(clf, squares, _names(10), tmp_path)
    assert list(rows) == list(CANDIDATES)
    assert rows[REFERENCE]["changed_answers"] == 0 and rows[REFERENCE]["passes"]
    assert rows["onnxruntime-fp32"]["changed_answers"] == 0
    assert rows["onnxruntime-fp32"]["max_probability_change"] < 1e-4
    for name, row in rows.items():
        if "skipped" in row:
            assert name == "torch-bf16" and not bf16_capable()
            continue
        assert ROW_KEYS <= set(row)
        assert row["changed_answers"] == len(row["changed"]) and set(row["changed"]) <= set(_names(10))
        assert row["passes"] == (row["changed_answers"] <= TOLERANCE_ANSWERS)
        assert row["images_per_second"] > 0 and row["max_probability_change"] >= 0
    assert rows["onnxruntime-int8"]["max_probability_change"] > 0  # it does round


def test_a_backend_that_changes_too_many_answers_does_not_pass(clf, squares, tmp_path, monkeypatch):
    monkeypatch.setattr(backend_check, "TOLERANCE_ANSWERS", -1)  # every backend "changes too many"
    rows = check_backends(clf, squares, _names(10), tmp_path)
    assert rows[REFERENCE]["passes"]  # the reference itself is never refused
    assert not any(row["passes"] for name, row in rows.items() if name != REFERENCE and "skipped" not in row)


def test_bf16_is_skipped_on_a_cpu_without_it(clf, squares, tmp_path, monkeypatch):
    monkeypatch.setattr(backends, "bf16_capable", lambda: False)
    rows = check_backends(clf, squares, _names(10), tmp_path)
    assert "skipped" in rows["torch-bf16"] and "passes" not in rows["torch-bf16"]
    assert allowed_by_check("torch-bf16", {"backends": rows}) is not None  # a skipped row lets nothing through


def run_command(args: list[str]) -> None:
    """``python -m model backends ARGS``; main() takes every core for its timing, given back at once."""
    threads = torch.get_num_threads()
    try:
        backend_check.main(args)
    finally:
        torch.set_num_threads(threads)


def test_the_command_writes_the_report(tiny_dataset, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "report.json"
    run_command(["--testing", str(tiny_dataset / "Testing"), "--checkpoint", str(tiny_checkpoint),
                 "--out", str(out), "--cache-dir", "none"])
    assert f"wrote {out}" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert {"checkpoint", "images", "tolerance_changed_answers", "reference", "backends", "machine", "seconds",
            "command", "date"} <= set(report)
    assert report["images"] == 24 and report["reference"] == REFERENCE
    assert report["tolerance_changed_answers"] == TOLERANCE_ANSWERS
    assert set(report["backends"]) == set(CANDIDATES)
    assert report["backends"][REFERENCE]["changed_answers"] == 0
    assert report["backends"]["onnxruntime-fp32"]["changed_answers"] == 0
    for row in report["backends"].values():
        assert "skipped" in row or row["passes"] == (row["changed_answers"] <= TOLERANCE_ANSWERS)
    assert not list(tmp_path.glob("*.onnx"))  # the ONNX files went with the temporary folder


def test_the_app_trusts_the_report_beside_the_checkpoint(tiny_dataset, tiny_checkpoint, tmp_path, monkeypatch):
    checkpoint = tmp_path / "copy.safetensors"
    shutil.copy(tiny_checkpoint, checkpoint)
    run_command(["--testing", str(tiny_dataset / "Testing"), "--checkpoint", str(checkpoint),
                 "--cache-dir", "none"])  # default --out: copy.backends.json
    report = json.loads(result_file(checkpoint, "backends").read_text())
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.setattr(backend_runtime, "BACKEND_CACHE_DIR", tmp_path / "cache")
    clf = load_classifier(checkpoint)
    clf.backends.choose_now()
    table = clf.backends.choice.candidates
    int8 = report["backends"]["onnxruntime-int8"]
    assert (table["onnxruntime-int8"]["refused"] is None) == int8["passes"]
    if int8["passes"]:  # measured, so timed
        assert table["onnxruntime-int8"]["ms_batch_8"] > 0
    bf16 = report["backends"]["torch-bf16"]
    assert (table["torch-bf16"]["refused"] is None) == bool(bf16_capable() and bf16.get("passes"))


def test_the_apps_graph_gets_a_row_of_its_own(tiny_checkpoint, squares, tmp_path):
    from model.classifier.graph import ClassifierGraph
    from model.classifier.graph_export import write_graph

    checkpoint = tmp_path / "tiny.safetensors"
    shutil.copy(tiny_checkpoint, checkpoint)
    write_graph(checkpoint)
    clf = load_classifier(checkpoint, backends=False)
    rows = check_backends(clf, squares, _names(10), tmp_path, ClassifierGraph.open(checkpoint))
    row = rows[backend_check.APP_GRAPH]
    assert row["changed_answers"] == 0 and row["passes"] and row["max_probability_change"] < 1e-4
    assert list(rows)[:-1] == list(CANDIDATES)
