"""Which backend runs: the committed check's refusals, the fastest usable row, the per-machine cache."""
from __future__ import annotations

import json

import pytest
import torch

from model import create_model
from model.classifier import backend_choice, backends
from model.classifier.backend_choice import (TOLERANCE_ANSWERS, WARMUP_CALLS, BackendChoice, allowed_by_check,
                                             fastest, machine_key, measure_backends, read_choice, write_choice)
from model.classifier.backends import CANDIDATES, REDUCED_PRECISION, REFERENCE
from model.classifier.factory import split_at_cam_layer


def _check(**changed: int) -> dict:
    """A ``<checkpoint>.backends.json`` whose rows changed these many answers."""
    return {"backends": {name.replace("_", "-"): {"changed_answers": n} for name, n in changed.items()}}


@pytest.fixture
def bf16_cpu(monkeypatch):
    """Pretend the CPU has native bf16, so only the check decides about torch-bf16."""
    monkeypatch.setattr(backends, "bf16_capable", lambda: True)


# -- allowed_by_check ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", REDUCED_PRECISION)
@pytest.mark.parametrize("check", [None, {}, {"backends": {}}], ids=["no file", "empty", "no rows"])
def test_reduced_precision_needs_a_check_record(name, check, bf16_cpu):
    assert "not checked" in allowed_by_check(name, check)


@pytest.mark.parametrize("name", REDUCED_PRECISION)
def test_reduced_precision_refused_beyond_the_tolerance(name, bf16_cpu):
    check = {"backends": {name: {"changed_answers": TOLERANCE_ANSWERS + 1}}}
    assert f"changed {TOLERANCE_ANSWERS + 1}" in allowed_by_check(name, check)


@pytest.mark.parametrize("name", REDUCED_PRECISION)
@pytest.mark.parametrize("changed", [0, TOLERANCE_ANSWERS])
def test_reduced_precision_allowed_within_the_tolerance(name, changed, bf16_cpu):
    assert allowed_by_check(name, {"backends": {name: {"changed_answers": changed}}}) is None


@pytest.mark.parametrize("name", REDUCED_PRECISION)
def test_a_row_without_its_count_is_refused(name, bf16_cpu):
    assert allowed_by_check(name, {"backends": {name: {"skipped": "no bf16 here"}}}) is not None


def test_bf16_refused_on_a_cpu_without_it_whatever_the_check(monkeypatch):
    monkeypatch.setattr(backends, "bf16_capable", lambda: False)
    assert "bf16" in allowed_by_check("torch-bf16", {"backends": {"torch-bf16": {"changed_answers": 0}}})


@pytest.mark.parametrize("name", [REFERENCE, "onnxruntime-fp32"])
@pytest.mark.parametrize("check", [None, {"backends": {REFERENCE: {"changed_answers": 99},
                                                       "onnxruntime-fp32": {"changed_answers": 99}}}])
def test_full_precision_is_never_refused(name, check):
    assert allowed_by_check(name, check) is None


# -- fastest ------------------------------------------------------------------------------------------

def _row(ms1: float, ms8: float, same: float = 1.0) -> dict:
    return {"ms_batch_1": ms1, "ms_batch_8": ms8, "same_answers": same}


def test_fastest_takes_the_lowest_time_per_column():
    rows = {REFERENCE: _row(10, 50), "onnxruntime-fp32": _row(6, 60), "onnxruntime-int8": _row(8, 30)}
    assert fastest(rows, {}, "ms_batch_1") == "onnxruntime-fp32"
    assert fastest(rows, {}, "ms_batch_8") == "onnxruntime-int8"


def test_fastest_skips_refused_rows_and_rows_that_change_answers():
    rows = {REFERENCE: _row(10, 50), "onnxruntime-fp32": _row(9, 49, same=0.99),
            "onnxruntime-int8": _row(1, 1), "torch-bf16": _row(2, 2, same=0.5)}
    assert fastest(rows, {"onnxruntime-int8": "not checked"}, "ms_batch_1") == REFERENCE
    assert fastest(rows, {"onnxruntime-int8": "not checked"}, "ms_batch_8") == REFERENCE


def test_fastest_prefers_less_memory_within_the_allowance_and_speed_beyond_it():
    rows = {REFERENCE: _row(40, 140), "onnxruntime-fp32": {**_row(17, 98), "extra_mib": 90.0},
            "torch-bf16": {**_row(19, 60), "extra_mib": 45.0}}
    assert fastest(rows, {}, "ms_batch_1") == "torch-bf16"  # 12% slower, half the memory
    assert fastest(rows, {}, "ms_batch_1", within=0.05) == "onnxruntime-fp32"
    rows["torch-bf16"]["ms_batch_1"] = 30.0  # 76% slower: speed wins
    assert fastest(rows, {}, "ms_batch_1") == "onnxruntime-fp32"


def test_fastest_falls_back_to_pytorch_fp32():
    assert fastest({}, {}, "ms_batch_1") == REFERENCE
    rows = {"onnxruntime-fp32": _row(1, 1, same=0.0)}
    assert fastest(rows, {}, "ms_batch_8") == REFERENCE


# -- read_choice / write_choice -----------------------------------------------------------------------

def test_write_then_read_round_trips(tmp_path):
    choice = BackendChoice("onnxruntime-fp32", "onnxruntime-int8", {"cpu": "test"},
                           {name: {"ms_batch_1": 1.0, "refused": None} for name in CANDIDATES})
    path = tmp_path / "deeper" / "choice.json"  # the folder is made
    write_choice(path, choice)
    assert "from_cache" not in json.loads(path.read_text())
    back = read_choice(path)
    assert back is not None and back.from_cache
    assert (back.single, back.batch, back.machine, back.candidates) == (choice.single, choice.batch,
                                                                        choice.machine, choice.candidates)
    assert not choice.from_cache
    assert [p.name for p in path.parent.iterdir()] == ["choice.json"]  # no temp file left


@pytest.mark.parametrize("text", [
    "{not json", "", "[1, 2]", '"torch-fp32"', '{"single": "torch-fp32", "surprise": 1}',
    '{"single": "torch-fp32", "batch": "torch-fp32", "from_cache": false}',
    '{"single": "tensorrt-fp16", "batch": "torch-fp32"}', '{"single": "torch-fp32", "batch": "cuda"}',
    '{"single": ["torch-fp32"], "batch": "torch-fp32"}', '{"single": null, "batch": "torch-fp32"}',
], ids=["truncated", "empty", "list", "string", "unknown key", "from_cache key", "unknown single",
        "unknown batch", "list name", "null name"])
def test_a_bad_choice_file_is_ignored(text, tmp_path):
    path = tmp_path / "choice.json"
    path.write_text(text)
    assert read_choice(path) is None


def test_a_missing_choice_file_is_ignored(tmp_path):
    assert read_choice(tmp_path / "choice.json") is None
    assert read_choice(tmp_path) is None  # a folder where the file should be


# -- machine_key --------------------------------------------------------------------------------------

def test_machine_key_follows_the_checkpoint_bytes(tmp_path):
    path = tmp_path / "a.safetensors"
    path.write_bytes(b"weights" * 1000)
    first = machine_key(path)
    assert machine_key(path) == first and len(first) == 16
    copy = tmp_path / "b.safetensors"
    copy.write_bytes(path.read_bytes())
    assert machine_key(copy) == first  # the contents count, not the name
    path.write_bytes(b"weights" * 999 + b"Weights")
    assert machine_key(path) != first


def test_machine_key_follows_the_machine(tmp_path, monkeypatch):
    path = tmp_path / "a.safetensors"
    path.write_bytes(b"weights")
    first = machine_key(path)
    facts = backend_choice.machine_facts()
    monkeypatch.setattr(backend_choice, "machine_facts", lambda: {**facts, "onnxruntime": "0.0.0"})
    assert machine_key(path) != first


# -- measure_backends ---------------------------------------------------------------------------------

def test_measure_backends_times_a_resnet18_split():
    torch.manual_seed(0)
    model = create_model("resnet18", 4).eval()
    trunk, head = split_at_cam_layer(model, "resnet18")
    calibration = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    sizes = []

    class Recording(torch.nn.Module):  # the same trunk, noting the batch sizes it is timed at
        def forward(self, batch):
            sizes.append(len(batch))
            return trunk(batch)

    rows = measure_backends({REFERENCE: trunk, "recorded": Recording()}, head, calibration, repeats=2)
    assert set(rows) == {REFERENCE, "recorded"}
    for row in rows.values():
        assert set(row) == {"ms_batch_1", "ms_batch_8", "same_answers"}
        assert row["ms_batch_1"] > 0 and row["ms_batch_8"] > 0
        assert row["same_answers"] == 1.0
    # the answers on all 3 pictures, then the warm-up calls and 2 timed calls at batch 1 and at batch 8
    calls = WARMUP_CALLS + 2
    assert sizes == [3] + [1] * calls + [8] * calls


def test_measure_backends_counts_the_answers_a_runner_changes():
    # logits = each channel's mean; picture i is brightest in channel i, so the reference answers 0, 1, 2
    calibration = torch.stack([torch.eye(3)[i][:, None, None].expand(3, 4, 4) for i in range(3)])
    head = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(1))

    class ChannelsReversed(torch.nn.Module):  # answers 2, 1, 0: one of three kept
        def forward(self, batch):
            return batch.flip(1)

    rows = measure_backends({REFERENCE: torch.nn.Identity(), "reversed": ChannelsReversed()}, head, calibration,
                            repeats=1)
    assert rows[REFERENCE]["same_answers"] == 1.0
    assert rows["reversed"]["same_answers"] == pytest.approx(1 / 3)
    assert fastest(rows, {}, "ms_batch_1") == REFERENCE  # however fast, it changes answers
