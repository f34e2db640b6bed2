import json

import pytest
import torch

from model import CheckpointError, create_model, load_checkpoint, read_metadata, save_checkpoint
from model.classifier.checkpoint import load_training_state, save_training_state

META = {"arch": "resnet18", "classes": ["a", "b"], "preprocess": {"input_size": 32},
        "train_config": {"lr": 0.001}, "data_fingerprint": "abc", "metrics": {"accuracy": 0.5}}


def test_round_trip_keeps_metadata_and_fp16_weights(tmp_path):
    model = create_model("resnet18", 2)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model.state_dict(), META)
    state, meta = load_checkpoint(path)
    assert meta == META
    for key, original in model.state_dict().items():
        expected = original.half().float() if original.is_floating_point() else original
        assert torch.equal(state[key], expected), key
    assert state["fc.weight"].dtype == torch.float32
    # fp16 halves the file compared with fp32 weights
    assert path.stat().st_size < 0.55 * sum(t.numel() * 4 for t in model.state_dict().values())


def test_save_leaves_no_temporary_files(tmp_path):
    save_checkpoint(tmp_path / "m.safetensors", {"w": torch.ones(3)}, META)
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_overwrite_is_atomic_and_complete(tmp_path):
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, {"w": torch.ones(3)}, META)
    save_checkpoint(path, {"w": torch.zeros(3)}, {**META, "arch": "resnet50"})
    state, meta = load_checkpoint(path)
    assert meta["arch"] == "resnet50" and state["w"].sum() == 0


def test_missing_required_metadata_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="classes"):
        save_checkpoint(tmp_path / "m.safetensors", {"w": torch.ones(1)}, {"arch": "x", "preprocess": {}})


def test_non_checkpoint_files_raise_checkpoint_error(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError):
        read_metadata(junk)


def test_training_state_loads_with_weights_only(tmp_path):
    state = {"epoch": 3, "model": {"w": torch.arange(4.0)}, "history": [{"loss": 1.0}],
             "generator": torch.Generator().manual_seed(1).get_state(), "config": json.loads('{"a": [1, 2]}')}
    save_training_state(tmp_path / "last.pt", state)
    loaded = load_training_state(tmp_path / "last.pt")
    assert loaded["epoch"] == 3 and torch.equal(loaded["model"]["w"], torch.arange(4.0))


def test_channels_last_load_has_the_same_values_in_the_convolution_layout(tmp_path):
    model = create_model("resnet18", 4)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model.state_dict(), {"arch": "resnet18", "classes": list("abcd"), "preprocess": {}})
    plain, _ = load_checkpoint(path)
    packed, _ = load_checkpoint(path, channels_last=True)
    kernel = "conv1.weight"
    assert packed[kernel].is_contiguous(memory_format=torch.channels_last)
    assert not plain[kernel].is_contiguous(memory_format=torch.channels_last)
    for key in plain:
        assert packed[key].dtype == plain[key].dtype and torch.equal(packed[key], plain[key])


def test_a_checkpoint_with_unknown_preprocessing_is_refused_with_its_name(tmp_path):
    from model import load_classifier

    model = create_model("resnet18", 2)
    path = tmp_path / "newer.safetensors"
    save_checkpoint(path, model.state_dict(), {**META, "preprocess": {"input_size": 32, "gamma": 0.5}})
    with pytest.raises(CheckpointError, match="newer.safetensors.*gamma"):
        load_classifier(path)
