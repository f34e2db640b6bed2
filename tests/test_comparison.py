"""Comparison result files: schema, loader errors, and the CLI on a tiny run (offline, seconds)."""
import functools
import json
import shutil
from dataclasses import asdict

import numpy as np
import pytest

from model.comparison import external_eval
from model.comparison import run as compare
from model.comparison.results import (MAX_ROC_POINTS, SCHEMA_VERSION, ComparisonFileError, ComparisonResult,
                                      load_comparison, load_result, write_result)
from model.comparison.run import bundle_small, main
from model.data.manifest import read_manifest, split_by_case, write_split
from model.evaluation.latency import measure_cpu_latency
from model.evaluation.metrics import roc_curve_points
from model.paths import COMPARISON_DIR as DEFAULT_DIR

from .conftest import CLASSES
from .test_manifest import write_set

TINY_TRAINING = ["--epochs", "1", "--input-size", "32", "--stage-size", "40", "--batch-size", "8", "--lr", "3e-3",
                 "--ema-decay", "0.5", "--val-fraction", "0.25", "--cache-dir", "none"]


def synthetic_figure(value: float | None, n: int, width: float = 0.1) -> dict:
    ci95 = None if value is None else [max(0.0, value - width), min(1.0, value + width)]
    return {"value": value, "ci95": ci95, "n": n if value is not None else 0}


def synthetic_external(seed: int = 0) -> dict:
    """A schema-valid ``external`` block: figures on 72 slices from 24 cases, made up."""
    rng = np.random.default_rng(seed)
    found = float(rng.uniform(0.4, 0.9))
    return {"manifest": "external/manifest.tsv", "split": "validation", "data_fingerprint": "f" * 64,
            "command": "synthetic", "n_images": 72, "n_case_groups": 24, "ece": 0.21,
            "accuracy": synthetic_figure(float(rng.uniform(0.4, 0.8)), 54),
            "sensitivity": synthetic_figure(found, 54), "specificity": synthetic_figure(0.8, 18),
            "other_tumour_called_no_tumour": synthetic_figure(0.4, 18),
            "absent_class_answers": synthetic_figure(0.05, 72),
            "by_sequence": {"T1": {"sensitivity": synthetic_figure(found - 0.2, 18)},
                            "T1C+": {"sensitivity": synthetic_figure(None, 0)},
                            "T2": {"sensitivity": synthetic_figure(found, 18)}}}


def synthetic_result(arch: str = "resnet18", seed: int = 0, epochs: int = 3, clean: bool = True,
                     external: bool = False) -> dict:
    """A schema-valid result with plausible, made-up figures (no model involved); with ``external``, the
    multi-source protocol's ``trained_on`` and ``external`` block too."""
    rng = np.random.default_rng(seed)
    n = len(CLASSES)
    m = rng.integers(0, 6, (n, n)) * (1 - np.eye(n, dtype=int))
    m += np.diag(50 - m.sum(axis=1))  # 50 test images per class, every model on the same set
    matrix = m.tolist()
    total, accuracy = int(m.sum()), float(np.trace(m) / m.sum())
    recall = np.diag(m) / m.sum(axis=1)
    specificity = [(total - m[c].sum() - m[:, c].sum() + m[c, c]) / (total - m[c].sum()) for c in range(n)]
    fpr = np.linspace(0, 1, 30)
    headline = {"n_images": total, "accuracy": accuracy, "accuracy_ci95": [accuracy - 0.03, min(1.0, accuracy + 0.02)],
                "macro_f1": accuracy - 0.01, "macro_f1_ci95": [accuracy - 0.05, accuracy + 0.01]}
    history = [{"epoch": e + 1, "train_loss": 1.2 / (e + 1), "train_acc": 0.5 + 0.1 * e, "val_loss": 1.0 / (e + 1),
                "val_acc": 0.55 + 0.1 * e, "seconds": 60.0} for e in range(epochs)]
    return {
        "schema": SCHEMA_VERSION, "arch": arch, "display_name": arch.upper(), "trained_from_scratch": True,
        "source": "run", "checkpoint": "best.safetensors", "classes": list(CLASSES), "input_size": 128,
        **headline,
        "per_class": {c: {"recall": float(recall[i]), "specificity": float(specificity[i])}
                      for i, c in enumerate(CLASSES)},
        "confusion_matrix": matrix,
        "roc": {c: {"fpr": fpr.tolist(), "tpr": (fpr ** (0.1 + 0.1 * i)).tolist(), "auc": 0.95} for i, c in
                enumerate(CLASSES)},
        "clean": {**headline, "n_images": total // 2} if clean else None,
        "parameters": int(rng.integers(2, 140)) * 1_000_000, "checkpoint_bytes": int(rng.integers(5, 300)) * 2**20,
        "latency": {"ms_per_image_batch1": float(rng.uniform(3, 80)), "images_per_second_batch32": 120.0,
                    "threads": 2, "machine": "synthetic CPU", "logical_cores": 2,
                    "load_average_1min": None, "note": "synthetic"},
        "training": {"wall_seconds": 60.0 * epochs, "epochs": epochs, "machine": None, "command": None,
                     "history": history},
        "data_fingerprint": None, "command": "synthetic", "created": "2025-01-01T00:00:00+00:00",
        **({"trained_on": ["brain-tumor-mri", "feltrin-44-dev (fitting list)"], "external": synthetic_external(seed)}
           if external else {}),
    }


@pytest.fixture(autouse=True)
def no_external_set_beside_the_repository(monkeypatch, tmp_path_factory):
    """Every command here sees no external set unless a test names one: no real data is read."""
    monkeypatch.setattr(external_eval, "EXTERNAL_DIR", tmp_path_factory.mktemp("no-external") / "missing")


@pytest.fixture
def external_set(tmp_path):
    """A tiny manifest-described set and its case-grouped validation list: ``(manifest, list file, n listed)``."""
    manifest = write_set(tmp_path / "external")
    _, validation = split_by_case(read_manifest(manifest), 0.3)
    write_split(tmp_path / "lists" / "validation.txt", validation)
    return manifest, tmp_path / "lists" / "validation.txt", len(validation)


def external_flags(external_set) -> list[str]:
    return ["--external-eval", str(external_set[0]), "--external-eval-split", str(external_set[1])]


@pytest.fixture
def quick_latency(monkeypatch):
    """Fewer timing runs: the figures are not checked, only that they are measured and recorded."""
    monkeypatch.setattr(compare, "measure_cpu_latency",
                        functools.partial(measure_cpu_latency, warmup=1, repeats=3, batch_repeats=1))


def synthetic_results(archs=("mobilenet_v2", "resnet50", "vgg16")) -> list[ComparisonResult]:
    return [ComparisonResult.from_dict(synthetic_result(a, seed=i)) for i, a in enumerate(archs)]


@pytest.mark.parametrize("path", sorted(DEFAULT_DIR.glob("*.json")) or [None], ids=lambda p: p.name if p else "none")
def test_every_committed_result_file_validates(path):
    if path is None:
        pytest.skip(f"no committed result files in {DEFAULT_DIR} yet")
    result = load_result(path)
    assert result.arch == path.stem and 0 <= result.accuracy <= 1
    assert sum(map(sum, result.confusion_matrix)) == result.n_images


def test_write_then_load_round_trips(tmp_path):
    for i, arch in enumerate(("resnet18", "mobilenet_v2")):
        write_result(synthetic_result(arch, seed=i), tmp_path)
    results = load_comparison(tmp_path)
    assert [r.arch for r in results] == ["mobilenet_v2", "resnet18"]
    assert results[1].to_dict() == synthetic_result("resnet18", seed=0)
    assert load_comparison(tmp_path / "missing") == []


def _write_raw(tmp_path, data) -> None:
    (tmp_path / f"{data.get('arch', 'resnet18')}.json").write_text(json.dumps(data))


@pytest.mark.parametrize("change, field, problem", [
    (lambda d: d["latency"].pop("ms_per_image_batch1"), "latency.ms_per_image_batch1", "is missing"),
    (lambda d: d.update(accuracy="high"), "accuracy", "must be a number"),
    (lambda d: d.update(accuracy_ci95=[0.9]), "accuracy_ci95", "must hold 2 items"),
    (lambda d: d["per_class"]["glioma"].update(recall=None), "per_class.glioma.recall", "must be a number"),
    (lambda d: d["confusion_matrix"][0].__setitem__(0, 1.5), "confusion_matrix[0][0]", "must be an integer"),
    (lambda d: d["training"]["history"][1].pop("val_acc"), "training.history[1].val_acc", "is missing"),
    (lambda d: d["roc"].pop("pituitary"), "roc", "must have one entry per class"),
    (lambda d: d["roc"]["glioma"].update(fpr=[0.0] * 101, tpr=[0.0] * 101), "roc.glioma",
     "needs as many fpr as tpr values, at most"),
    (lambda d: d.update(schema=SCHEMA_VERSION + 1), "schema", f"is {SCHEMA_VERSION + 1}; this app reads version"),
    (lambda d: d.update(trained_from_scratch="yes"), "trained_from_scratch", "must be true or false"),
])
def test_loader_names_the_file_and_the_bad_field(tmp_path, change, field, problem):
    data = synthetic_result()
    change(data)
    _write_raw(tmp_path, data)
    with pytest.raises(ComparisonFileError, match=r"resnet18\.json") as err:
        load_comparison(tmp_path)
    assert f"field '{field}' {problem}" in str(err.value)


def test_loader_rejects_broken_json_and_a_misnamed_file(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ComparisonFileError, match="broken.json: not a readable JSON"):
        load_comparison(tmp_path)
    (tmp_path / "broken.json").unlink()
    (tmp_path / "other.json").write_text(json.dumps(synthetic_result("resnet18")))
    with pytest.raises(ComparisonFileError, match="'arch' is 'resnet18' but the file is named other.json"):
        load_comparison(tmp_path)


def test_loader_refuses_results_with_different_classes(tmp_path):
    write_result(synthetic_result("mobilenet_v2"), tmp_path)
    other = synthetic_result("resnet18")
    other["classes"] = ["glioma", "meningioma", "pituitary", "notumor"]
    other["per_class"] = {c: other["per_class"][c] for c in other["classes"]}
    other["roc"] = {c: other["roc"][c] for c in other["classes"]}
    write_result(other, tmp_path)
    with pytest.raises(ComparisonFileError, match="resnet18.json: field 'classes' .* every model must use the same"):
        load_comparison(tmp_path)


def test_writer_refuses_an_invalid_result(tmp_path):
    data = synthetic_result()
    del data["macro_f1"]
    with pytest.raises(ComparisonFileError, match="field 'macro_f1' is missing"):
        write_result(data, tmp_path)
    assert not list(tmp_path.iterdir())


def test_roc_points_are_downsampled_with_the_ends_kept():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 2000)
    probs = rng.dirichlet(np.ones(3), 2000)
    probs[np.arange(2000), y] += 0.3
    curves = roc_curve_points(y, probs / probs.sum(1, keepdims=True), ["a", "b", "c"], max_points=50)
    for curve in curves.values():
        assert 2 <= len(curve["fpr"]) == len(curve["tpr"]) <= 50
        assert (curve["fpr"][0], curve["tpr"][0]) == (0.0, 0.0) and (curve["fpr"][-1], curve["tpr"][-1]) == (1, 1)
        assert np.all(np.diff(curve["fpr"]) >= 0) and 0.5 < curve["auc"] <= 1
    assert roc_curve_points([0, 0], np.array([[0.6, 0.4], [0.7, 0.3]]), ["a", "b"])["b"] == \
        {"fpr": [], "tpr": [], "auc": None}


def test_run_trains_evaluates_times_and_resumes(tiny_dataset, tmp_path, capsys, quick_latency, external_set):
    runs, out, weights = tmp_path / "runs", tmp_path / "out", tmp_path / "weights"
    weights.mkdir()
    argv = ["run", "--archs", "resnet18", "--data", str(tiny_dataset), "--runs", str(runs), "--out", str(out),
            "--audit", str(tmp_path / "no-audit.json"), "--weights", str(weights), "--bundle-small", *TINY_TRAINING]
    main(argv)
    result = load_result(out / "resnet18.json")
    assert (result.source, result.display_name, result.trained_from_scratch) == ("run", "ResNet18", True)
    assert result.n_images == 24 and sum(map(sum, result.confusion_matrix)) == 24
    assert result.accuracy_ci95[0] <= result.accuracy <= result.accuracy_ci95[1]
    assert list(result.roc) == CLASSES and result.clean is None and result.input_size == 32
    assert result.latency["threads"] == 2 and result.latency["ms_per_image_batch1"] > 0
    assert result.training["epochs"] == 1 and result.training["machine"] and "model.comparison.run run" in result.command
    best = runs / "resnet18/best.safetensors"
    assert result.parameters > 10_000_000 and result.checkpoint_bytes == best.stat().st_size
    assert (weights / "resnet18.safetensors").read_bytes() == best.read_bytes()

    main(argv)  # the same command again: nothing to train, nothing to redo
    assert "up to date, skipped" in capsys.readouterr().out
    assert result.external is None and result.trained_on == [tiny_dataset.name]
    for changed in (["--epochs", "2"], ["--force", "--zero-init-residual"]):  # never skipped, never resumed
        with pytest.raises(SystemExit, match=r"resnet18 run with other settings \((epochs|zero_init_residual)\)"):
            main([*argv, *changed])

    (out / "resnet18.json").unlink()
    main(["summarise", "--runs", str(runs), "--out", str(out), "--audit", str(tmp_path / "no-audit.json")])
    rebuilt = load_result(out / "resnet18.json")
    assert rebuilt.accuracy == result.accuracy and rebuilt.training["command"] == result.command
    assert "model.comparison.run summarise" in rebuilt.command

    # Up to date but measured before the external set was given: the same run command adds just that block.
    main([*argv, *external_flags(external_set)])
    assert "added its figures on scans from elsewhere" in capsys.readouterr().out
    completed = load_result(out / "resnet18.json")
    assert completed.external["n_images"] == external_set[2] and completed.accuracy == rebuilt.accuracy
    assert completed.created == rebuilt.created and completed.trained_on == [tiny_dataset.name]


def test_summarise_from_release_evaluates_when_roc_curves_are_missing(tiny_dataset, tiny_checkpoint, tmp_path,
                                                                      quick_latency):
    weights, out = tmp_path / "weights", tmp_path / "out"
    weights.mkdir()
    shutil.copy(tiny_checkpoint, weights / "tiny.safetensors")
    (weights / "tiny.history.json").write_text(json.dumps(synthetic_result()["training"]["history"]))
    (weights / "tiny.metrics.json").write_text(json.dumps({"accuracy": 0.5}))  # an older file: no ROC points
    base = ["summarise", "--from-release", "tiny", "--weights", str(weights), "--out", str(out)]
    with pytest.raises(SystemExit, match="no ROC curves .* pass --data"):
        main([*base, "--data", str(tmp_path / "nowhere")])
    main([*base, "--data", str(tiny_dataset), "--training-machine", "a laptop"])
    result = load_result(out / "resnet18.json")
    assert (result.source, result.checkpoint, result.training["machine"]) == ("release", "tiny.safetensors", "a laptop")
    assert result.training["epochs"] == 3 and result.training["wall_seconds"] == 180
    assert result.n_images == 24 and all(len(c["fpr"]) <= MAX_ROC_POINTS for c in result.roc.values())


def test_only_small_non_vgg_checkpoints_are_bundled(tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    for arch in ("vgg16", "densenet121", "mobilenet_v2"):
        (tmp_path / arch).mkdir()
        (tmp_path / arch / "best.safetensors").write_bytes(b"x" * 1000)
    assert bundle_small(tmp_path / "vgg16", "vgg16", weights)[0] is None
    path, why = bundle_small(tmp_path / "densenet121", "densenet121", weights, limit=999)
    assert path is None and "over the" in why
    assert bundle_small(tmp_path / "mobilenet_v2", "mobilenet_v2", weights)[0] == weights / "mobilenet_v2.safetensors"
    assert sorted(p.name for p in weights.iterdir()) == ["mobilenet_v2.safetensors"]


def test_unknown_arch_is_refused_and_vgg16_bn_is_an_alias():
    from model.comparison.run import canonical_arch

    assert canonical_arch("vgg16_bn") == "vgg16"
    with pytest.raises(SystemExit):
        main(["run", "--archs", "alexnet9000"])


def test_epochs_for_sets_a_per_model_exception_and_refuses_a_malformed_one(monkeypatch, tmp_path):
    trained = {}
    monkeypatch.setattr(compare, "train_arch", lambda cfg, command: trained.setdefault(cfg.arch, cfg.epochs))
    monkeypatch.setattr(compare, "summarise_run", lambda *args, **kwargs: "result.json")
    main(["run", "--archs", "resnet18", "vgg16_bn", "--epochs", "7", "--epochs-for", "vgg16_bn=2",
          "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")])
    assert trained == {"resnet18": 7, "vgg16": 2}
    for bad in ("vgg16_bn", "vgg16_bn=0", "vgg16_bn=five", "alexnet9000=3"):
        with pytest.raises(SystemExit):
            main(["run", "--archs", "vgg16_bn", "--epochs-for", bad])


def test_a_result_with_the_external_block_round_trips_and_one_without_still_loads(tmp_path):
    write_result(synthetic_result("resnet18", external=True), tmp_path)
    write_result(synthetic_result("mobilenet_v2", seed=1), tmp_path)
    without, measured = load_comparison(tmp_path)
    assert measured.to_dict() == synthetic_result("resnet18", external=True)
    assert measured.external["sensitivity"]["n"] == 54 and measured.trained_on[1].startswith("feltrin-44-dev")
    assert without.external is None and without.trained_on is None
    assert "external" not in without.to_dict() and without.to_dict() == synthetic_result("mobilenet_v2", seed=1)
    nulls = {**synthetic_result("resnet50"), "external": None, "trained_on": None}  # written as null: also fine
    write_result(nulls, tmp_path)
    assert load_result(tmp_path / "resnet50.json").external is None


@pytest.mark.parametrize("change, field, problem", [
    (lambda e: e.pop("sensitivity"), "external.sensitivity", "is missing"),
    (lambda e: e["accuracy"].update(value="high"), "external.accuracy.value", "must be a number"),
    (lambda e: e["specificity"].update(ci95=[0.5]), "external.specificity.ci95", "must hold 2 items"),
    (lambda e: e["specificity"].pop("n"), "external.specificity.n", "is missing"),
    (lambda e: e.update(ece="low"), "external.ece", "must be a number"),
    (lambda e: e["by_sequence"]["T1"].pop("sensitivity"), "external.by_sequence.T1.sensitivity", "is missing"),
    (lambda e: e["sensitivity"].update(value=1.5), "external.sensitivity", "must hold shares between 0 and 1"),
    (lambda e: e["accuracy"].update(n=500), "external.accuracy.n", "must be between 0 and n_images (72)"),
    (lambda e: e.update(n_case_groups=0), "external.n_case_groups", "must be between 1 and n_images"),
    (lambda e: e.update(by_sequence=[]), "external.by_sequence", "must be an object"),
])
def test_a_malformed_external_block_is_named(tmp_path, change, field, problem):
    data = synthetic_result(external=True)
    change(data["external"])
    _write_raw(tmp_path, data)
    with pytest.raises(ComparisonFileError, match=r"resnet18\.json") as err:
        load_comparison(tmp_path)
    assert f"field '{field}' {problem}" in str(err.value)


def test_a_malformed_trained_on_is_named(tmp_path):
    _write_raw(tmp_path, {**synthetic_result(), "trained_on": "Kaggle"})
    with pytest.raises(ComparisonFileError, match="field 'trained_on' must be a list"):
        load_comparison(tmp_path)


def test_trained_on_reads_the_checkpoints_data_sources():
    two = {"data_sources": [{"name": "brain-tumor-mri"},
                            {"name": "feltrin-44-dev", "split": "model/splits/feltrin-44-dev/fitting.txt"}]}
    assert external_eval.trained_on(two) == ["brain-tumor-mri", "feltrin-44-dev (fitting list)"]
    assert external_eval.trained_on({"train_config": {"data": "../shared/data/brain-tumor-mri"}}) == ["brain-tumor-mri"]
    assert external_eval.trained_on({"train_config": {"epochs": 0}}) is None


def test_the_external_set_is_scored_when_present_unless_told_not_to(monkeypatch, tmp_path, external_set):
    args = compare.parse_args(["summarise"])
    assert external_eval.external_choice(args) is None  # no set beside the repository (the fixture)
    monkeypatch.setattr(external_eval, "EXTERNAL_DIR", external_set[0].parent)
    found = external_eval.external_choice(args)
    assert found == external_eval.ExternalChoice(external_set[0], "validation")  # the committed list
    assert external_eval.external_choice(compare.parse_args(["summarise", "--no-external-eval"])) is None
    named = compare.parse_args(["summarise", *external_flags(external_set)])
    assert external_eval.external_choice(named) == external_eval.ExternalChoice(external_set[0], str(external_set[1]))


def test_summarise_from_release_fills_the_external_block(tiny_dataset, tiny_checkpoint, tmp_path, quick_latency,
                                                         external_set):
    weights, out = tmp_path / "weights", tmp_path / "out"
    weights.mkdir()
    shutil.copy(tiny_checkpoint, weights / "tiny.safetensors")
    (weights / "tiny.history.json").write_text(json.dumps(synthetic_result()["training"]["history"]))
    main(["summarise", "--from-release", "tiny", "--weights", str(weights), "--out", str(out),
          "--data", str(tiny_dataset), *external_flags(external_set)])
    block = load_result(out / "resnet18.json").external
    assert block["n_images"] == external_set[2] and block["split"] == "validation"
    assert set(block["by_sequence"]) <= {"T1", "T1C+", "T2"} and "model.comparison.run summarise" in block["command"]
    for key in ("accuracy", "sensitivity", "specificity"):
        assert 0 <= block[key]["value"] <= 1 and block[key]["n"] > 0


def test_external_only_adds_the_block_to_an_existing_result_without_testing_again(tiny_checkpoint, tmp_path,
                                                                                  external_set, capsys):
    weights, out = tmp_path / "weights", tmp_path / "out"
    weights.mkdir()
    shutil.copy(tiny_checkpoint, weights / "tiny.safetensors")
    existing = {**synthetic_result("resnet18"), "checkpoint_bytes": tiny_checkpoint.stat().st_size}
    write_result(existing, out)
    base = ["summarise", "--external-only", "--from-release", "tiny", "--weights", str(weights), "--out", str(out)]
    with pytest.raises(SystemExit, match="needs an external set"):
        main(base)
    main([*base, *external_flags(external_set)])
    assert "added the figures on scans from elsewhere" in capsys.readouterr().out
    updated = load_result(out / "resnet18.json").to_dict()
    assert updated.pop("external")["n_images"] == external_set[2] and updated.pop("trained_on", None) is None
    assert updated == existing  # nothing else changed: no Kaggle testing, no timing
    write_result({**existing, "checkpoint_bytes": 123}, out)
    with pytest.raises(SystemExit, match="not the model this result describes"):
        main([*base, *external_flags(external_set)])


def test_run_passes_the_multi_source_training_flags_through(monkeypatch, tmp_path):
    trained = {}
    monkeypatch.setattr(compare, "train_arch", lambda cfg, command: trained.setdefault(cfg.arch, cfg))
    monkeypatch.setattr(compare, "summarise_run", lambda *args, **kwargs: "result.json")
    flags = ["--external", "set/manifest.tsv", "--external-split", "fitting", "--external-share", "0.4",
             "--other-tumour", "not_normal", "--external-normal-weight", "2"]
    argv = ["run", "--archs", "mobilenet_v2", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]
    main([*argv, *flags])
    cfg = trained["mobilenet_v2"]
    assert (cfg.external, cfg.external_split, cfg.external_share) == ("set/manifest.tsv", "fitting", 0.4)
    assert (cfg.other_tumour, cfg.external_normal_weight) == ("not_normal", 2.0)
    # what train.run records as the run's config.json: a folder trained otherwise is refused, not resumed
    (tmp_path / "runs/mobilenet_v2").mkdir(parents=True)
    (tmp_path / "runs/mobilenet_v2/config.json").write_text(json.dumps({**asdict(cfg), "external_share": 0.3}))
    with pytest.raises(SystemExit, match=r"other settings \(external_share\)"):
        main([*argv, *flags])
    with pytest.raises(SystemExit, match=r"other settings \(external, external_normal_weight, external_split, "
                                         r"other_tumour\)"):
        main(argv)
