"""model.fitting.selection: blind ranking of candidate checkpoints on the validation split."""
import json

import numpy as np
import pytest

from model.classifier.checkpoint import load_checkpoint, save_checkpoint
from model.fitting.selection import ValidationRecord, main, rank, score_logits, select, shared_errors
from model.training.config import TrainConfig
from model.training.train import run
from tests.test_train import TINY


def record(name, wrong, loss):
    return ValidationRecord(name, 20, len(wrong), wrong, 1.0, loss)


def test_rank_puts_fewer_errors_first_and_breaks_ties_by_log_loss():
    a, b, c = record("a", [1, 2], 0.10), record("b", [1], 0.30), record("c", [1], 0.20)
    assert [r.checkpoint for r in rank([a, b, c])] == ["c", "b", "a"]


def test_shared_errors_are_the_images_every_candidate_misses():
    assert shared_errors([record("a", [1, 4, 7], 0), record("b", [4, 7, 9], 0)]) == [4, 7]
    assert shared_errors([]) == []


def test_score_counts_errors_and_a_confident_right_model_has_the_lower_loss():
    labels = np.array([0, 1, 2, 3, 0, 1])
    sure = np.eye(4)[labels] * 8.0
    unsure = np.eye(4)[labels] * 0.5
    unsure[0] = [0, 2, 0, 0]  # one mistake
    good, poor = score_logits("good", sure, labels), score_logits("poor", unsure, labels)
    assert (good.errors, poor.errors, poor.wrong) == (0, 1, [0])
    assert good.log_loss < poor.log_loss and good.temperature > 0


@pytest.fixture(scope="module")
def tiny_run(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run(TrainConfig(data=str(tiny_dataset), out=str(out), epochs=1, **TINY))


def test_select_scores_real_checkpoints_on_their_split(tiny_run, tmp_path, capsys):
    weights, meta = load_checkpoint(tiny_run)
    shuffled = tmp_path / "shuffled.safetensors"
    save_checkpoint(shuffled, {k: v.flip(0) if v.ndim == 4 else v for k, v in weights.items()}, meta)
    main(["--checkpoints", str(tiny_run), str(shuffled), "--cache-dir", "none", "--out", str(tmp_path / "r.json")])
    ranking = json.loads((tmp_path / "r.json").read_text())
    assert len(ranking) == 2 and ranking[0]["n_images"] == ranking[1]["n_images"] > 0
    for r in ranking:
        assert r["errors"] == len(r["wrong"]) <= r["n_images"] and r["log_loss"] > 0
    assert (ranking[0]["errors"], ranking[0]["log_loss"]) <= (ranking[1]["errors"], ranking[1]["log_loss"])
    assert "every candidate gets wrong" in capsys.readouterr().out


def test_select_refuses_checkpoints_validated_on_different_splits(tiny_run, tmp_path):
    weights, meta = load_checkpoint(tiny_run)
    other = tmp_path / "other_seed.safetensors"
    save_checkpoint(other, weights, {**meta, "train_config": {**meta["train_config"], "seed": 1}})
    with pytest.raises(ValueError, match="different splits"):
        select([tiny_run, other], None)
