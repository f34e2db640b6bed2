"""Which engine runs the commands on this machine: every engine against PyTorch fp32 on all of Kaggle Testing.

    python -m model backends --checkpoint model/weights/resnet50.safetensors

Runs the checkpoint on each engine of :mod:`model.classifier.engines` (PyTorch fp32, PyTorch with a bf16
trunk where the CPU computes in bf16, the checkpoint's ONNX graph, which the app serves) on the 1,311
Testing images and writes ``<checkpoint>.backends.json``: per engine, the answers it changes (every one
listed), the largest change of a probability, its images per second at batch 32 on this machine, and
whether it passes (at most ``TOLERANCE_ANSWERS`` changed answers). The fastest engine that passes is
kept as this machine's choice, which ``load_classifier(path, engine="auto")`` reads; nothing is
measured when a classifier loads.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from ..classifier.classifier import Classifier, load_classifier
from ..classifier.engines import ENGINES
from ..classifier.engines.choice import REFERENCE, TOLERANCE_ANSWERS, machine_facts, unsupported_here, write_choice
from ..classifier.checkpoint import CheckpointError
from ..data.folders import cache_dir_arg, cached_decode, index_folder
from ..paths import CACHE_DIR, KAGGLE_TESTING
from ..results import BACKENDS, add_report_flags, report_path, write_report

__all__ = ["check_engines", "engine_probabilities", "load_if_runnable", "main"]


def load_if_runnable(checkpoint: str | Path | None, engine: str) -> Classifier:
    """``load_classifier(checkpoint, engine)``, refused with the reason where the engine cannot run here.

    Raises:
        CheckpointError: this CPU lacks bf16, there is no current graph, or the checkpoint is unusable.
        ValueError: an architecture the bf16 trunk cannot split.
    """
    if unsupported_here(engine):
        raise CheckpointError(unsupported_here(engine))
    return load_classifier(checkpoint, engine=engine)


def engine_probabilities(clf: Classifier, squares: np.ndarray, batch: int = 32) -> tuple[np.ndarray, float]:
    """Calibrated probabilities of every stage-1 square, and the images per second, at batch ``batch``."""
    chunks, seconds = [], 0.0
    for start in range(0, len(squares), batch):
        started = time.perf_counter()
        logits = clf.run_squares(squares[start:start + batch]).logits
        seconds += time.perf_counter() - started
        chunks.append(clf.probabilities(logits))
    return np.concatenate(chunks), len(squares) / seconds


def _compared(probs: np.ndarray, speed: float, reference: np.ndarray, reference_speed: float,
              names: list[str]) -> dict:
    changed = np.flatnonzero(probs.argmax(1) != reference.argmax(1)).tolist()
    return {"changed_answers": len(changed), "changed": [names[i] for i in changed],
            "max_probability_change": float(np.abs(probs - reference).max()),
            "images_per_second": speed, "speed_vs_torch_fp32": speed / reference_speed,
            "passes": len(changed) <= TOLERANCE_ANSWERS}


def check_engines(checkpoint: Path, squares: np.ndarray, names: list[str]) -> dict:
    """Each engine's answers on ``squares`` (stage-1 crops) against PyTorch fp32's."""
    reference, reference_speed = engine_probabilities(load_classifier(checkpoint), squares)
    rows = {REFERENCE: {"changed_answers": 0, "changed": [], "max_probability_change": 0.0,
                        "images_per_second": reference_speed, "passes": True}}
    for name in ENGINES:
        if name == REFERENCE:
            continue
        try:
            clf = load_if_runnable(checkpoint, name)
        except (CheckpointError, ValueError) as err:  # no graph, or an architecture bf16 cannot split
            rows[name] = {"skipped": str(err)}
            continue
        rows[name] = _compared(*engine_probabilities(clf, squares), reference, reference_speed, names)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_flags(parser, BACKENDS)
    parser.add_argument("--testing", type=Path, default=KAGGLE_TESTING, help="a folder of class folders")
    parser.add_argument("--cache-dir", default=str(CACHE_DIR), help="decoded-image cache ('none': off)")
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    clf = load_classifier(args.checkpoint)
    index = index_folder(args.testing, clf.classes)
    squares = np.asarray(cached_decode(index, clf.spec, cache_dir_arg(args.cache_dir)))
    started = time.perf_counter()
    rows = check_engines(args.checkpoint, squares, index.names)
    report = {"checkpoint": args.checkpoint.name, "images": len(index), "tolerance_changed_answers": TOLERANCE_ANSWERS,
              "reference": REFERENCE, "backends": rows, "machine": machine_facts(),
              "seconds": time.perf_counter() - started, "command": "python -m model backends",
              "date": time.strftime("%Y-%m-%d")}
    for name, row in rows.items():
        print(f"  {name:12s} " + ("skipped: " + row["skipped"] if "skipped" in row else
                                  f"changed {row['changed_answers']} answers, {row['images_per_second']:.1f} img/s"
                                  f" at batch 32, {'passes' if row['passes'] else 'REFUSED'}"))
    write_report(report_path(args, BACKENDS), report, BACKENDS)
    print(f"this machine's engine for {args.checkpoint.name}: {write_choice(args.checkpoint, rows)}")


if __name__ == "__main__":
    main()
