"""Every kind of result file a command keeps beside a checkpoint: its name, the command that writes it,
what a valid one holds, and the one way each is read and written.

``name.<kind>.json`` sits beside ``name.safetensors`` (:func:`model.paths.result_file`). The commands
write them through :func:`write_report` (atomically: a reader never sees half a file) and the views read
them through :meth:`ResultKind.read`, so a kind is named here once instead of by a string in each file.
:func:`add_report_flags` gives a command its ``--checkpoint`` and ``--out`` flags. No torch, no SciPy.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import DEFAULT_CHECKPOINT, result_file

__all__ = ["BACKENDS", "CONFIG", "EXPLAIN", "EXTERNAL", "HISTORY", "KINDS", "LOCALISATION", "METRICS", "OOD",
           "SEQUENCE", "ResultKind", "add_report_flags", "atomic_write", "report_path", "write_json", "write_report"]


@dataclass(frozen=True)
class ResultKind:
    """One kind of result file.

    Attributes:
        name: the middle suffix, ``name.<name>.json``.
        command: the ``python -m model`` command that writes it.
        keys: top-level keys every file of this kind holds (its schema, as far as readers rely on it);
            empty for a kind stored as a list.
    """

    name: str
    command: str
    keys: tuple[str, ...] = ()

    def path(self, checkpoint: str | Path) -> Path:
        return result_file(checkpoint, self.name)

    def read(self, checkpoint: str | Path) -> Any | None:
        """The checkpoint's file of this kind, or ``None`` when it has none.

        Raises:
            ValueError: the file is not JSON, or lacks one of :attr:`keys`.
        """
        path = self.path(checkpoint)
        if not path.is_file():
            return None
        return self.check(json.loads(path.read_text()), path)

    def check(self, report: Any, where: str | Path = "report") -> Any:
        """``report`` if it has every key of this kind, else ValueError naming the missing ones."""
        missing = [k for k in self.keys if not isinstance(report, dict) or k not in report]
        if missing:
            raise ValueError(f"{where} is not a {self.name} result: it lacks {', '.join(missing)}")
        return report


METRICS = ResultKind("metrics", "evaluate", ("n_images", "accuracy", "macro_f1", "confusion_matrix", "classes"))
EXTERNAL = ResultKind("external", "external", ("accuracy", "sensitivity", "specificity", "ece", "n_images",
                                               "n_case_groups"))
LOCALISATION = ResultKind("localisation", "localise", ("n_images", "methods", "baselines", "maps"))
EXPLAIN = ResultKind("explain", "explain-check", ("images", "methods", "road"))
OOD = ResultKind("ood", "guard-fit", ("threshold", "testing_rejected_rate", "ood_rejected_rate"))
SEQUENCE = ResultKind("sequence", "sequence-fit", ("sequences", "mean", "scale", "coef", "intercept"))
BACKENDS = ResultKind("backends", "backends", ("checkpoint", "backends"))
HISTORY = ResultKind("history", "train")  # one record per epoch: a list
CONFIG = ResultKind("config", "train", ("arch", "epochs", "input_size"))
#: Every kind, by name.
KINDS = {kind.name: kind for kind in (METRICS, EXTERNAL, LOCALISATION, EXPLAIN, OOD, SEQUENCE, BACKENDS, HISTORY,
                                      CONFIG)}


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | Path, report: Any, indent: int | None = 1) -> Path:
    """``report`` as JSON at ``path``, written atomically (:func:`atomic_write`)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(report, indent=indent)))
    return Path(path)


def write_report(path: str | Path, report: Any, kind: ResultKind | None = None, indent: int | None = 1) -> Path:
    """A command's report written atomically (checked against ``kind`` first), and ``wrote <path>`` said."""
    if kind is not None:
        kind.check(report, path)
    written = write_json(path, report, indent)
    print(f"wrote {written}")
    return written


def add_report_flags(parser: argparse.ArgumentParser, kind: ResultKind) -> None:
    """``--checkpoint`` (default: the bundled ResNet50) and ``--out`` (default: beside the checkpoint)."""
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help=f"a .safetensors checkpoint (default: {DEFAULT_CHECKPOINT.name}, bundled)")
    parser.add_argument("--out", type=Path, default=None, help=f"result file (default: <checkpoint>.{kind.name}.json)")


def report_path(args: argparse.Namespace, kind: ResultKind) -> Path:
    """Where the command writes: ``--out``, or the checkpoint's file of ``kind``."""
    return Path(args.out) if args.out else kind.path(args.checkpoint)
