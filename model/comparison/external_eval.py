"""A comparison result's figures on scans from elsewhere: the ``external`` block and ``trained_on``.

The block is the headline of ``model.evaluation.external.evaluate_external`` on the external set's
validation list (no model trains on it), computed by that function and cut to what the Model comparison
page shows (:data:`model.comparison.schema.EXTERNAL`). ``python -m model compare`` measures it when the set
is present (``model.paths.EXTERNAL_DIR``'s manifest and the committed list) or when ``--external-eval
MANIFEST`` names one; ``--no-external-eval`` leaves it out.
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..classifier.checkpoint import read_metadata
from ..data.manifest import split_file
from ..evaluation.external import evaluate_external
from ..evaluation.latency import torch_threads
from ..paths import EXTERNAL_DIR
from .results import ComparisonFileError, validate, write_result
from .schema import EXTERNAL_FIGURES

__all__ = ["ExternalChoice", "add_external_flags", "add_external_to_result", "complete_current", "default_choice",
           "external_block", "external_choice", "trained_on"]

#: The committed list the comparison is scored on (``model/splits/<set>/validation.txt``).
DEFAULT_SPLIT = "validation"


@dataclass(frozen=True)
class ExternalChoice:
    """Which external set and list to score on (``split``: a committed list, a ``.txt`` path, or ``all``)."""

    manifest: Path
    split: str = DEFAULT_SPLIT


def add_external_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--external-eval", default=None, metavar="MANIFEST",
                        help="score every model on this manifest-described set too (default: "
                             f"{EXTERNAL_DIR / 'manifest.tsv'} when it and the committed list exist)")
    parser.add_argument("--external-eval-split", default=DEFAULT_SPLIT, metavar="LIST",
                        help="the list of it to score on: a committed list, a .txt path, or 'all'")
    parser.add_argument("--no-external-eval", action="store_true", help="leave the figures on scans from elsewhere out")


def default_choice(split: str = DEFAULT_SPLIT) -> ExternalChoice | None:
    """The external set beside the repository, when both its manifest and the list are there."""
    manifest = EXTERNAL_DIR / "manifest.tsv"
    listed = split == "all" or split_file(split).is_file()
    return ExternalChoice(manifest, split) if manifest.is_file() and listed else None


def external_choice(args: argparse.Namespace) -> ExternalChoice | None:
    """What the flags ask for: ``None`` with ``--no-external-eval`` or when no set is given or present."""
    if args.no_external_eval:
        return None
    if args.external_eval:
        return ExternalChoice(Path(args.external_eval), args.external_eval_split)
    return default_choice(args.external_eval_split)


def _figure(figure: dict) -> dict:
    ci95 = figure.get("ci95")
    return {"value": None if figure.get("value") is None else float(figure["value"]),
            "ci95": [float(v) for v in ci95] if ci95 else None, "n": int(figure["n"])}


def external_block(checkpoint: str | Path, choice: ExternalChoice, command: str) -> dict:
    """Score ``checkpoint`` with ``model.evaluation.external`` and keep the comparison's headline of it."""
    with torch_threads(os.cpu_count() or 1):
        report = evaluate_external(checkpoint, choice.manifest, None if choice.split == "all" else choice.split)
    return {
        "manifest": str(choice.manifest), "split": Path(report["split"]).stem,
        "data_fingerprint": report["data_fingerprint"], "command": command,
        "n_images": int(report["n_images"]), "n_case_groups": int(report["n_case_groups"]),
        "ece": None if report["ece"] is None else float(report["ece"]),
        **{key: _figure(report[key]) for key in EXTERNAL_FIGURES},
        "by_sequence": {s: {"sensitivity": _figure(b["sensitivity"])} for s, b in report["by_sequence"].items()},
    }


def trained_on(metadata: dict) -> list[str] | None:
    """The training data's sources as the checkpoint records them, Kaggle first (``None``: not recorded).

    The same reading as the Model card's and ``model.views.external.models_side_by_side``: the
    checkpoint's ``data_sources``; a checkpoint from before they were recorded names its data folder.
    """
    sources = metadata.get("data_sources")
    if sources:
        return [s["name"] + (f" ({Path(s['split']).stem} list)" if s.get("split") else "") for s in sources]
    folder = metadata.get("train_config", {}).get("data")
    return [Path(folder).name] if folder else None


def add_external_to_result(result_path: Path, checkpoint: Path, metadata: dict, choice: ExternalChoice,
                           command: str) -> Path:
    """Fill (or refresh) ``external`` and ``trained_on`` of an existing result file, nothing else.

    Raises:
        ComparisonFileError: no such result, or ``checkpoint`` is not the one it was built from.
    """
    if not result_path.is_file():
        raise ComparisonFileError(f"{result_path}: no result file to add the external figures to; "
                                  "summarise without --external-only first")
    data = json.loads(result_path.read_text())
    validate(data, result_path)
    size = checkpoint.stat().st_size
    if metadata.get("arch") != data["arch"] or data["checkpoint_bytes"] != size:
        raise ComparisonFileError(
            f"{result_path}: built from a {data['arch']} checkpoint of {data['checkpoint_bytes']:,} bytes, but "
            f"{checkpoint} is a {metadata.get('arch')} one of {size:,} bytes: not the model this result describes")
    data["trained_on"] = trained_on(metadata)
    data["external"] = external_block(checkpoint, choice, command)
    return write_result(data, result_path.parent)


def complete_current(run_dir: Path, result: Path, external: ExternalChoice | None, command: str) -> str:
    """An up-to-date result of ``run``: add its figures on scans from elsewhere when asked for and missing."""
    if external is None or json.loads(result.read_text()).get("external") is not None:
        return f"{run_dir.name}: {result} is up to date, skipped (--force to redo)"
    checkpoint = run_dir / "best.safetensors"
    add_external_to_result(result, checkpoint, read_metadata(checkpoint), external, command)
    return f"{run_dir.name}: {result} is up to date; added its figures on scans from elsewhere"
