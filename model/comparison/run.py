"""Compare backbones under one protocol, one result file per model.

    python -m model.comparison.run run --archs resnet50 mobilenet_v2 efficientnet_b0 densenet121 vgg16_bn \\
        --epochs-for vgg16_bn=7 --data ../shared/data/brain-tumor-mri --runs runs/compare \\
        --out model/weights/comparison
    python -m model.comparison.run summarise --runs runs/compare --out model/weights/comparison
    python -m model.comparison.run summarise --from-release resnet50 --out model/weights/comparison
    python -m model.comparison.run summarise --external-only --from-release mobilenet_v2 efficientnet_b0

Arch names are those of ``model.classifier.factory`` (``vgg16_bn`` is accepted for its ``vgg16``).
``run`` trains every arch with the same ``TrainConfig`` (only ``arch`` and ``out`` differ; ``--epochs-for``
names any per-model exception to the epoch budget), on a GPU when there is one, evaluates on
``<data>/Testing`` (full and, with a matching audit, clean), times the network on the CPU (2 threads) and
writes ``<out>/<arch>.json``. Re-running resumes: finished archs with an up-to-date result are skipped,
an interrupted one resumes from its ``last.pt``, and a run folder trained with other settings stops the
command (naming them). ``summarise`` rebuilds result files from finished run folders (or, with
``--from-release``, from ``model/weights``) without training. ``--bundle-small`` copies fp16 checkpoints
of at most 25 MB to ``model/weights/<arch>.safetensors`` so the app runs them live.

Every result records what the model was trained on and, when the external set is there or
``--external-eval MANIFEST`` names one, its figures on the external validation list
(``model.comparison.external_eval``; ``--no-external-eval`` leaves them out). The multi-source training
flags pass through (``run --external MANIFEST --external-split fitting``). ``summarise --external-only``
adds those figures to existing result files from their checkpoints without training; so does ``run``
for an up-to-date result that lacks them.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import fields, replace
from pathlib import Path

from ..classifier.checkpoint import read_metadata
from ..results import atomic_write, write_json
from ..classifier.factory import available_models, count_parameters
from ..classifier.engines.graph_export import write_graph
from ..classifier.classifier import load_classifier
from ..data.folders import cache_dir_arg
from ..data.manifest import ManifestError
from ..evaluation.evaluate import evaluate
from ..evaluation.latency import device_description, measure_cpu_latency, torch_threads
from ..paths import AUDIT_REPORT, COMPARISON_DIR, DEFAULT_CHECKPOINT, RUNS_DIR, WEIGHTS_DIR
from ..training import train
from ..training.config import TrainConfig, add_config_flags
from ..training.resume import changed_settings
from .external_eval import (ExternalChoice, add_external_flags, add_external_to_result, complete_current,
                            external_block, external_choice, trained_on)
from .results import BUNDLE_LIMIT_BYTES, ComparisonFileError, build_result, write_result

__all__ = ["bundle_small", "canonical_arch", "main", "refuse_other_settings", "result_for_checkpoint",
           "summarise_release", "summarise_run", "train_arch"]

ARCH_ALIASES = {"vgg16_bn": "vgg16"}  # the factory's "vgg16" is torchvision's vgg16_bn
RUN_INFO = "compare.json"  # beside a run's checkpoint: the command and machine that trained it
# Not shared flags: set per arch, by --data, or kept out of the protocol (every arch learns
# from the labels alone: no distillation).
_PER_RUN = {"arch", "out", "data", "augment", "teachers", "distill_weight", "distill_temperature"}


def canonical_arch(name: str) -> str:
    name = ARCH_ALIASES.get(name, name)
    if name not in available_models():
        raise argparse.ArgumentTypeError(f"unknown architecture {name!r}; choose from {available_models()}")
    return name


def epochs_for(text: str) -> tuple[str, int]:
    """``ARCH=N`` (a documented per-model exception to the shared epoch budget) as ``(arch, N)``."""
    arch, sep, count = text.partition("=")
    if not sep or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"expected ARCH=EPOCHS such as vgg16_bn=5, got {text!r}")
    return canonical_arch(arch), int(count)


def _read_json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def result_for_checkpoint(checkpoint: Path, testing: Path, audit: str | None, history: list[dict], *,
                          command: str, source: str, metrics: dict | None = None,
                          training_machine: str | None = None, training_command: str | None = None,
                          external: ExternalChoice | None = None) -> dict:
    """Evaluate (unless ``metrics`` already hold ROC curves), time on the CPU, score on ``external`` when
    given, and build the result."""
    if metrics is None or "roc_curves" not in metrics:
        if not Path(testing).is_dir():
            raise ComparisonFileError(
                f"{checkpoint}: no ROC curves in its metrics and no test folder at {testing} to compute them; "
                "pass --data <folder holding Testing/>")
        with torch_threads(os.cpu_count() or 1):
            metrics = evaluate(checkpoint, testing, audit=audit)
    clf = load_classifier(checkpoint)
    latency = measure_cpu_latency(clf)
    block = external_block(checkpoint, external, command) if external else None
    return build_result(metrics=metrics, metadata=clf.metadata, checkpoint=checkpoint,
                        parameters=count_parameters(clf.model), history=history, latency=latency,
                        command=command, source=source, training_machine=training_machine,
                        training_command=training_command, trained_on=trained_on(clf.metadata), external=block)


def run_is_finished(run_dir: Path) -> bool:
    config, history = _read_json(run_dir / "config.json"), _read_json(run_dir / "history.json")
    return bool(config and history) and (run_dir / "best.safetensors").exists() \
        and len(history) >= config["epochs"]


def summarise_run(run_dir: Path, out: Path, data: str | None, audit: str | None, command: str,
                  external: ExternalChoice | None = None) -> Path:
    """Result file for one finished run folder."""
    config = json.loads((run_dir / "config.json").read_text())
    info = _read_json(run_dir / RUN_INFO) or {}
    testing = Path(data or config["data"]) / "Testing"
    result = result_for_checkpoint(
        run_dir / "best.safetensors", testing, audit, json.loads((run_dir / "history.json").read_text()),
        command=command, source="run", training_machine=info.get("machine"), training_command=info.get("command"),
        external=external)
    return write_result(result, out)


def summarise_release(name: str, weights: Path, out: Path, data: str, audit: str | None, command: str,
                      training_machine: str | None, external: ExternalChoice | None = None) -> Path:
    """Result file for a released model: ``<weights>/<name>.safetensors`` and its ``.metrics/.history`` files."""
    checkpoint = weights / f"{name}.safetensors"
    history = _read_json(weights / f"{name}.history.json")
    if not checkpoint.exists() or history is None:
        raise ComparisonFileError(f"{checkpoint}: needs the checkpoint and {name}.history.json beside it "
                                  "(--external-only adds just the figures on scans from elsewhere to its result)")
    result = result_for_checkpoint(
        checkpoint, Path(data) / "Testing", audit, history, command=command, source="release",
        metrics=_read_json(weights / f"{name}.metrics.json"), training_machine=training_machine, external=external)
    return write_result(result, out)


def bundle_small(run_dir: Path, arch: str, weights: Path = WEIGHTS_DIR,
                 limit: int = BUNDLE_LIMIT_BYTES) -> tuple[Path | None, str]:
    """Copy a small run checkpoint beside the bundled model; returns ``(path or None, why)``."""
    source, target = run_dir / "best.safetensors", weights / f"{arch}.safetensors"
    size = source.stat().st_size
    if arch.startswith("vgg"):
        return None, f"{arch}: VGG weights ({size / 2**20:.0f} MB) are never bundled"
    if size > limit:
        return None, f"{arch}: {size / 2**20:.1f} MB is over the {limit / 2**20:.0f} MB limit for bundled weights"
    if target.resolve() == DEFAULT_CHECKPOINT.resolve():
        return None, f"{arch}: would replace the released default model {DEFAULT_CHECKPOINT.name}"
    atomic_write(target, lambda tmp: Path(tmp).write_bytes(source.read_bytes()))
    return target, f"{arch}: copied {size / 2**20:.1f} MB to {target}"


def bundle_with_graph(run_dir: Path, arch: str, weights: Path) -> str:
    """:func:`bundle_small`, then the bundled copy's ONNX graph (the app answers with it); what was done."""
    path, why = bundle_small(run_dir, arch, weights)
    return why if path is None else f"{why}, and its graph {write_graph(path).name}"


def result_is_current(run_dir: Path, result: Path) -> bool:
    best = run_dir / "best.safetensors"
    return run_is_finished(run_dir) and result.exists() and result.stat().st_mtime >= best.stat().st_mtime


def refuse_other_settings(cfg: TrainConfig) -> None:
    """Stop before a run folder written with other settings is skipped as up to date, or resumed.

    Raises:
        ComparisonFileError: naming the settings that differ.
    """
    saved = _read_json(Path(cfg.out) / "config.json")
    changed = changed_settings(cfg, saved) if saved else []
    if changed:
        raise ComparisonFileError(
            f"{cfg.out} holds a {cfg.arch} run with other settings ({', '.join(changed)}): "
            "repeat the flags it was trained with, or move it away and train again")


def train_arch(cfg: TrainConfig, command: str) -> Path:
    """Train (or resume) one arch; records the command and machine beside the run."""
    train.run(cfg)
    info = {"command": command, "machine": device_description(train.resolve_device(cfg.device))}
    write_json(Path(cfg.out) / RUN_INFO, info)
    return Path(cfg.out)


def cmd_run(args: argparse.Namespace, command: str) -> None:
    base, epoch_exceptions = shared_config(args), dict(args.epochs_for or [])
    external = external_choice(args)
    for arch in args.archs:
        run_dir, result = Path(args.runs) / arch, Path(args.out) / f"{arch}.json"
        cfg = replace(base, arch=arch, out=str(run_dir), epochs=epoch_exceptions.get(arch, base.epochs))
        refuse_other_settings(cfg)
        if not args.force and result_is_current(run_dir, result):
            print(complete_current(run_dir, result, external, command))
        else:
            train_arch(cfg, command)
            path = summarise_run(run_dir, Path(args.out), args.data, args.audit, command, external)
            print(f"{arch}: wrote {path}")
        if args.bundle_small:
            print(bundle_with_graph(run_dir, arch, Path(args.weights)))


def add_external_only(args: argparse.Namespace, command: str, external: ExternalChoice | None) -> None:
    """``summarise --external-only``: the figures on scans from elsewhere of existing result files."""
    if external is None:
        raise ComparisonFileError("--external-only needs an external set: name one with --external-eval MANIFEST "
                                  "(none found beside the repository), without --no-external-eval")
    if args.from_release:
        checkpoints = [Path(args.weights) / f"{name}.safetensors" for name in args.from_release]
    else:
        archs = args.archs or sorted(p.stem for p in Path(args.out).glob("*.json"))
        checkpoints = [Path(args.runs) / arch / "best.safetensors" for arch in archs]
    for checkpoint in checkpoints:
        if not checkpoint.is_file():
            raise ComparisonFileError(f"{checkpoint}: no such checkpoint")
        metadata = read_metadata(checkpoint)
        path = add_external_to_result(Path(args.out) / f"{metadata['arch']}.json", checkpoint, metadata, external,
                                      command)
        print(f"{metadata['arch']}: added the figures on scans from elsewhere to {path}")


def cmd_summarise(args: argparse.Namespace, command: str) -> None:
    out, external = Path(args.out), external_choice(args)
    if args.external_only:
        return add_external_only(args, command, external)
    if args.from_release:
        data = args.data or TrainConfig.data
        for name in args.from_release:
            path = summarise_release(name, Path(args.weights), out, data, args.audit, command, args.training_machine,
                                     external)
            print(f"{name}: wrote {path}")
        return
    runs = [Path(args.runs) / a for a in args.archs] if args.archs else sorted(
        p for p in Path(args.runs).iterdir() if p.is_dir())
    for run_dir in runs:
        if not run_is_finished(run_dir):
            print(f"{run_dir.name}: no finished run in {run_dir}, skipped")
            continue
        print(f"{run_dir.name}: wrote {summarise_run(run_dir, out, args.data, args.audit, command, external)}")
        if args.bundle_small:
            print(bundle_with_graph(run_dir, run_dir.name, Path(args.weights)))


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """Every TrainConfig knob but those in ``_PER_RUN``, with model.training.train's defaults."""
    add_config_flags(parser, skip=_PER_RUN, prefix="training: ")


def shared_config(args: argparse.Namespace) -> TrainConfig:
    """The one TrainConfig every arch shares (arch and out are set per arch)."""
    names = {f.name for f in fields(TrainConfig)} - _PER_RUN
    values = {k: getattr(args, k) for k in names}
    values["cache_dir"] = cache_dir_arg(values["cache_dir"])
    return TrainConfig(data=args.data, **values)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="train, evaluate and time every arch")
    summ = sub.add_parser("summarise", help="(re)build result files without training")
    for p in (run_p, summ):
        p.add_argument("--runs", default=str(RUNS_DIR / "compare"), help="one training folder per arch")
        p.add_argument("--out", default=str(COMPARISON_DIR), help="result files folder")
        p.add_argument("--audit", default=str(AUDIT_REPORT), help="audit JSON for the clean-subset figures")
        p.add_argument("--bundle-small", action="store_true",
                       help="copy checkpoints of at most 25 MB to <weights>/<arch>.safetensors")
        p.add_argument("--weights", default=str(WEIGHTS_DIR),
                       help="bundled models folder: where --bundle-small copies to and --from-release reads")
        add_external_flags(p)
    run_p.add_argument("--archs", nargs="+", type=canonical_arch, required=True)
    run_p.add_argument("--data", default=TrainConfig.data, help="folder holding Training/ and Testing/")
    run_p.add_argument("--force", action="store_true", help="redo archs whose result file is up to date")
    run_p.add_argument("--epochs-for", nargs="+", type=epochs_for, metavar="ARCH=N",
                       help="per-model exceptions to --epochs (the comparison page names them)")
    add_training_flags(run_p)
    summ.add_argument("--archs", nargs="+", type=canonical_arch, help="only these run folders")
    summ.add_argument("--data", default=None, help="folder holding Testing/ (default: each run's own)")
    summ.add_argument("--from-release", nargs="+", metavar="NAME",
                      help="build from model/weights/NAME.{safetensors,metrics.json,history.json} instead")
    summ.add_argument("--training-machine", default=None, help="--from-release: what the model was trained on")
    summ.add_argument("--external-only", action="store_true",
                      help="only add the figures on scans from elsewhere to the result files in --out, from "
                           "--from-release NAME or the run folders (no training, no Kaggle testing)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = "python -m model.comparison.run " + shlex.join(argv)
    args = parse_args(argv)
    try:
        (cmd_run if args.command == "run" else cmd_summarise)(args, command)
    except (ComparisonFileError, ManifestError) as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
