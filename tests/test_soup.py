"""model.training.soup: weight averaging of runs that share a parent."""
import json

import pytest
import torch

from model.classifier.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from model.classifier.factory import create_model
from model.classifier.guard import PREFIX
from model.fitting.release import combined_history
from model.training.soup import average_state_dicts, make_soup
from tests.conftest import CLASSES, TINY_SPEC


def write_run(root, name, seed, parent=None):
    """A run folder with a tiny ResNet18 checkpoint, config and one-epoch history."""
    torch.manual_seed(seed)
    run = root / name
    run.mkdir()
    model = create_model("resnet18", len(CLASSES))
    save_checkpoint(run / "best.safetensors", model.state_dict(), {
        "arch": "resnet18", "classes": CLASSES, "preprocess": TINY_SPEC.to_dict(),
        "train_config": {"epochs": 1}, "data_fingerprint": "synthetic", "validation": {"val_acc": 0.5}})
    config = {"arch": "resnet18", "epochs": 1, "input_size": 32,
              "init_from": str(parent / "best.safetensors") if parent else None}
    (run / "config.json").write_text(json.dumps(config))
    (run / "history.json").write_text(json.dumps([{"epoch": 1, "val_acc": 0.5, "seconds": 3.0}]))
    return run


def test_average_is_the_elementwise_mean_and_keeps_integer_buffers():
    a = {"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(7)}
    b = {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor(9)}
    soup = average_state_dicts([a, b])
    assert torch.equal(soup["w"], torch.tensor([2.0, 4.0]))
    assert soup["n"].item() == 7


def test_average_refuses_different_architectures():
    with pytest.raises(CheckpointError, match="different architectures"):
        average_state_dicts([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}])


def test_soup_folder_releases_like_a_run(tmp_path):
    parent = write_run(tmp_path, "parent", 0)
    first, second = write_run(tmp_path, "a", 1, parent), write_run(tmp_path, "b", 2, parent)
    path = make_soup([first, second], tmp_path / "soup")
    weights, meta = load_checkpoint(path)
    wa, _ = load_checkpoint(first / "best.safetensors")
    wb, _ = load_checkpoint(second / "best.safetensors")
    key = "conv1.weight"
    # fp16 storage: the mean of two fp16 tensors, stored as fp16 again
    assert torch.allclose(weights[key], ((wa[key] + wb[key]) / 2).half().float())
    assert meta["soup_of"] == [str(first), str(second)] and "validation" not in meta
    # the released history covers the parent and the last ingredient, numbered on
    history = combined_history(tmp_path / "soup")
    assert [h["epoch"] for h in history] == [1, 2]


def test_soup_takes_a_released_checkpoint_and_drops_what_belongs_to_it(tmp_path):
    parent = write_run(tmp_path, "parent", 0)
    released, child = write_run(tmp_path, "released", 1, parent), write_run(tmp_path, "child", 2, parent)
    weights, meta = load_checkpoint(released / "best.safetensors")
    guard = {PREFIX + "threshold": torch.tensor([3.0]), PREFIX + "pca_mean": torch.zeros(4)}
    save_checkpoint(released / "best.safetensors", {**weights, **guard},
                    {**meta, "temperature": 0.5, "calibration": {"ece": 0.1}, "test_metrics": {"accuracy": 0.9},
                     "ood": {"threshold": 3.0}})
    path = make_soup([child, released], tmp_path / "soup")
    soup_weights, soup_meta = load_checkpoint(path)
    assert not any(k.startswith(PREFIX) for k in soup_weights)  # the guard is fitted per network
    assert soup_weights.keys() == weights.keys()
    assert not {"temperature", "calibration", "test_metrics", "ood", "validation"} & soup_meta.keys()
