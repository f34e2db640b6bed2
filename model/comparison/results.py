"""Model comparison result files: one small JSON per backbone, one versioned schema.

Files live in ``model/weights/comparison/<arch>.json`` (override the folder with the
``BRAIN_MRI_COMPARISON_DIR`` environment variable). ``python -m model.comparison.run`` writes
them; :func:`load_comparison` reads and validates them; the app only reads.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..results import atomic_write
from ..names import arch_name, class_name
from ..paths import comparison_dir
from .schema import (BOOL, EXTERNAL, INT, NUMBER, PAIR, STR, FieldError, ListOf, MapOf, MayLack, Maybe, check,
                     check_external)

__all__ = ["BUNDLE_LIMIT_BYTES", "ComparisonFileError", "ComparisonResult", "MAX_ROC_POINTS", "OPTIONAL",
           "SCHEMA", "SCHEMA_VERSION", "build_result", "history_record", "load_comparison", "load_result",
           "validate", "write_result"]

SCHEMA_VERSION = 1
MAX_ROC_POINTS = 100
BUNDLE_LIMIT_BYTES = 25 * 1024 * 1024  # larger checkpoints are compared but never shipped


class ComparisonFileError(ValueError):
    """A result file is unreadable or does not follow the schema; the message names file and field."""


# -- the schema, as data ----------------------------------------------------
HEADLINE = {"n_images": INT, "accuracy": NUMBER, "accuracy_ci95": PAIR, "macro_f1": NUMBER, "macro_f1_ci95": PAIR}
EPOCH = {"epoch": INT, "train_loss": NUMBER, "train_acc": NUMBER, "val_loss": NUMBER, "val_acc": NUMBER}

SCHEMA: dict[str, Any] = {
    "schema": INT, "arch": STR, "display_name": STR, "trained_from_scratch": BOOL,
    "source": STR, "checkpoint": STR, "classes": ListOf(STR), "input_size": INT,
    **HEADLINE,
    "per_class": MapOf({"recall": NUMBER, "specificity": NUMBER}),
    "confusion_matrix": ListOf(ListOf(INT)),
    "roc": MapOf({"fpr": ListOf(NUMBER), "tpr": ListOf(NUMBER), "auc": Maybe(NUMBER)}),
    "clean": Maybe(HEADLINE),
    "parameters": INT, "checkpoint_bytes": INT,
    "latency": {"ms_per_image_batch1": NUMBER, "images_per_second_batch32": NUMBER, "threads": INT,
                "machine": STR, "logical_cores": INT, "load_average_1min": Maybe(NUMBER), "note": STR},
    "training": {"wall_seconds": NUMBER, "epochs": INT, "machine": Maybe(STR), "command": Maybe(STR),
                 "history": ListOf(EPOCH)},
    "data_fingerprint": Maybe(STR), "command": STR, "created": STR,
    # Added with the multi-source protocol; older files have neither. ``trained_on``: the training data's
    # sources as the checkpoint names them (Kaggle first); ``external``: the figures on scans from elsewhere
    # (model.comparison.external_eval), absent where they were not measured.
    "trained_on": MayLack(Maybe(ListOf(STR))),
    "external": MayLack(Maybe(EXTERNAL)),
}
#: The keys a result may lack; :meth:`ComparisonResult.to_dict` leaves them out when they are ``None``.
OPTIONAL = tuple(key for key, spec in SCHEMA.items() if isinstance(spec, MayLack))


def _check_consistent(data: dict) -> None:
    """What the shapes alone cannot say: version, class lists, matrix size, curve lengths."""
    if data["schema"] != SCHEMA_VERSION:
        raise FieldError("schema", f"is {data['schema']}; this app reads version {SCHEMA_VERSION}")
    classes = data["classes"]
    for key in ("per_class", "roc"):
        if list(data[key]) != classes:
            raise FieldError(key, f"must have one entry per class {classes}, has {list(data[key])}")
    matrix = data["confusion_matrix"]
    if len(matrix) != len(classes) or any(len(row) != len(classes) for row in matrix):
        raise FieldError("confusion_matrix", f"must be {len(classes)}×{len(classes)}")
    for name, curve in data["roc"].items():
        if len(curve["fpr"]) != len(curve["tpr"]) or len(curve["fpr"]) > MAX_ROC_POINTS:
            raise FieldError(f"roc.{name}", f"needs as many fpr as tpr values, at most {MAX_ROC_POINTS}")
    if data["training"]["epochs"] != len(data["training"]["history"]):
        raise FieldError("training.epochs", "must equal the number of entries in training.history")
    if data.get("external") is not None:
        check_external(data["external"])


def validate(data: Any, source: str | Path) -> None:
    """Raise :class:`ComparisonFileError` naming ``source`` and the first bad field."""
    try:
        check(data, SCHEMA, "")
        _check_consistent(data)
    except FieldError as err:
        raise ComparisonFileError(f"{source}: {err}") from None


# -- the typed view -----------------------------------------------------------
@dataclass(frozen=True)
class ComparisonResult:
    """One model's figures under the shared protocol (fields mirror the JSON keys)."""

    schema: int
    arch: str
    display_name: str
    trained_from_scratch: bool
    source: str  # "run" (python -m model.comparison.run run) or "release" (the bundled model)
    checkpoint: str
    classes: list[str]
    input_size: int
    n_images: int
    accuracy: float
    accuracy_ci95: list[float]
    macro_f1: float
    macro_f1_ci95: list[float]
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    roc: dict[str, dict[str, Any]]
    clean: dict[str, Any] | None
    parameters: int
    checkpoint_bytes: int
    latency: dict[str, Any]
    training: dict[str, Any]
    data_fingerprint: str | None
    command: str
    created: str
    trained_on: list[str] | None = None
    external: dict[str, Any] | None = None  # schema.EXTERNAL: figures on scans from elsewhere, when measured

    @classmethod
    def from_dict(cls, data: dict, source: str | Path = "<dict>") -> "ComparisonResult":
        validate(data, source)
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in OPTIONAL or getattr(self, f.name) is not None}

    @property
    def class_names(self) -> list[str]:
        return [class_name(c) for c in self.classes]


def load_result(path: str | Path) -> ComparisonResult:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ComparisonFileError(f"{path}: not a readable JSON file ({err})") from err
    result = ComparisonResult.from_dict(data, path)
    if path.stem != result.arch:
        raise ComparisonFileError(f"{path}: field 'arch' is {result.arch!r} but the file is named {path.name}")
    return result


def load_comparison(directory: str | Path | None = None) -> list[ComparisonResult]:
    """Every ``*.json`` result in ``directory`` (default :func:`comparison_dir`), validated, by name.

    Raises:
        ComparisonFileError: a file breaks the schema, or its classes differ from the first file's.
    """
    directory = Path(directory) if directory is not None else comparison_dir()
    paths = sorted(directory.glob("*.json")) if directory.is_dir() else []
    results = [load_result(p) for p in paths]
    for path, result in zip(paths, results):
        if result.classes != results[0].classes:
            raise ComparisonFileError(f"{path}: field 'classes' is {result.classes}, but {paths[0].name} has "
                                      f"{results[0].classes}; every model must use the same classes")
    return results


def _compact(text: str) -> str:
    """Put lists of plain numbers on one line: ROC curves stay short and diffs readable."""
    return re.sub(r"\[([^\[\]{}\"]*)\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)


def write_result(data: dict, directory: str | Path) -> Path:
    """Validate and write ``<directory>/<arch>.json`` atomically; returns its path."""
    path = Path(directory) / f"{data['arch']}.json"
    validate(data, path)
    text = _compact(json.dumps(data, indent=1, ensure_ascii=False)) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


# -- building a result --------------------------------------------------------
def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in HEADLINE}


def history_record(epoch: dict) -> dict:
    return {k: epoch[k] for k in (*EPOCH, "seconds") if k in epoch}


def build_result(*, metrics: dict, metadata: dict, checkpoint: Path, parameters: int, history: list[dict],
                 latency: dict, command: str, source: str, training_machine: str | None = None,
                 training_command: str | None = None, trained_on: list[str] | None = None,
                 external: dict | None = None) -> dict:
    """A result dict from ``model.evaluation.evaluate.evaluate`` output, checkpoint metadata and ``history.json``.

    ``trained_on`` and ``external`` (see ``model.comparison.external_eval``) are kept only when given.

    Raises:
        ComparisonFileError: ``metrics`` lacks the ROC curves (evaluate again with this code).
    """
    if "roc_curves" not in metrics:
        raise ComparisonFileError(f"{checkpoint}: the metrics have no 'roc_curves'; run the evaluation again")
    arch = metadata["arch"]
    clean = metrics.get("clean")
    return {
        "schema": SCHEMA_VERSION, "arch": arch, "display_name": arch_name(arch),
        "trained_from_scratch": bool(metadata.get("trained_from_scratch", True)),
        "source": source, "checkpoint": Path(checkpoint).name, "classes": list(metrics["classes"]),
        "input_size": int(metadata["preprocess"]["input_size"]),
        **_headline(metrics),
        "per_class": {c: {"recall": v["recall"], "specificity": v["specificity"]}
                      for c, v in metrics["per_class"].items()},
        "confusion_matrix": metrics["confusion_matrix"], "roc": metrics["roc_curves"],
        "clean": _headline(clean) if clean and clean.get("n_images") else None,
        "parameters": int(parameters), "checkpoint_bytes": Path(checkpoint).stat().st_size,
        "latency": latency,
        "training": {"wall_seconds": float(sum(h.get("seconds", 0.0) for h in history)), "epochs": len(history),
                     "machine": training_machine, "command": training_command,
                     "history": [history_record(h) for h in history]},
        "data_fingerprint": metrics.get("data_fingerprint"), "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **({"trained_on": trained_on} if trained_on is not None else {}),
        **({"external": external} if external is not None else {}),
    }
