"""python -m model backends: every engine's answers against PyTorch fp32, and this machine's choice."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from model import load_classifier
from model.classifier.engines import ENGINES
from model.classifier.engines.choice import REFERENCE, TOLERANCE_ANSWERS, bf16_capable, chosen_engine
from model.evaluation import backend_check
from model.evaluation.backend_check import check_engines

from .conftest import synthetic_mri

ROW_KEYS = {"changed_answers", "changed", "max_probability_change", "images_per_second", "passes"}


@pytest.fixture(scope="module")
def with_graph(tiny_checkpoint, tmp_path_factory):
    """The tiny checkpoint, copied beside its own ONNX graph."""
    from model.classifier.engines.graph_export import write_graph

    checkpoint = tmp_path_factory.mktemp("graph") / "tiny.safetensors"
    shutil.copy(tiny_checkpoint, checkpoint)
    write_graph(checkpoint)
    return checkpoint


@pytest.fixture(scope="module")
def squares(tiny_checkpoint):
    spec = load_classifier(tiny_checkpoint).spec
    return np.stack([spec.to_square_grey(synthetic_mri(i % 4, 300 + i))[0] for i in range(10)])


def _names(count: int) -> list[str]:
    return [f"image_{i:02d}.png" for i in range(count)]


def test_every_engine_is_checked_against_pytorch(with_graph, squares):
    rows = check_engines(with_graph, squares, _names(10))
    assert list(rows) == list(ENGINES)
    assert rows[REFERENCE]["changed_answers"] == 0 and rows[REFERENCE]["passes"]
    assert rows["onnx-graph"]["changed_answers"] == 0 and rows["onnx-graph"]["max_probability_change"] < 1e-4
    for name, row in rows.items():
        if "skipped" in row:
            assert name == "torch-bf16" and not bf16_capable()
            continue
        assert ROW_KEYS <= set(row)
        assert row["changed_answers"] == len(row["changed"]) and set(row["changed"]) <= set(_names(10))
        assert row["passes"] == (row["changed_answers"] <= TOLERANCE_ANSWERS)
        assert row["images_per_second"] > 0 and row["max_probability_change"] >= 0


def test_an_engine_that_changes_too_many_answers_does_not_pass(with_graph, squares, monkeypatch):
    monkeypatch.setattr(backend_check, "TOLERANCE_ANSWERS", -1)  # every engine "changes too many"
    rows = check_engines(with_graph, squares, _names(10))
    assert not any(row.get("passes") for name, row in rows.items() if name != REFERENCE)


def test_a_checkpoint_without_a_graph_skips_that_row(tiny_checkpoint, squares):
    assert "no current ONNX graph" in check_engines(tiny_checkpoint, squares, _names(10))["onnx-graph"]["skipped"]


def test_bf16_is_skipped_on_a_cpu_without_it(with_graph, squares, monkeypatch):
    monkeypatch.setattr("model.classifier.engines.choice.cpu_flags", lambda: {"avx2"})
    assert "neither AVX-512 bf16 nor AMX" in check_engines(with_graph, squares, _names(10))["torch-bf16"]["skipped"]


def test_the_command_writes_the_report_and_this_machines_choice(tiny_dataset, with_graph, tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setattr("model.classifier.engines.choice.BACKEND_CACHE_DIR", tmp_path / "choices")
    out = tmp_path / "report.json"
    assert chosen_engine(with_graph) == REFERENCE  # nothing measured yet
    backend_check.main(["--testing", str(tiny_dataset / "Testing"), "--checkpoint", str(with_graph),
                        "--out", str(out), "--cache-dir", "none"])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert f"wrote {out}" in printed
    assert {"checkpoint", "images", "tolerance_changed_answers", "reference", "backends", "machine", "seconds",
            "command", "date"} <= set(report)
    assert report["images"] == 24 and set(report["backends"]) == set(ENGINES)
    passing = {n: r for n, r in report["backends"].items() if r.get("passes")}
    fastest = max(passing, key=lambda n: passing[n]["images_per_second"])
    assert chosen_engine(with_graph) == fastest and f"engine for tiny.safetensors: {fastest}" in printed
    assert load_classifier(with_graph, engine="auto").engine.name == fastest
