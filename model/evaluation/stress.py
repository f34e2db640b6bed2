"""Robustness check: the Testing split as if it came from other hospitals.

    python -m model.evaluation.stress --data ../shared/data/brain-tumor-mri/Testing \\
        --out model/weights/stress.json

Every bundled model (or ``--checkpoints ...``) classifies every Testing image under
every shift of :mod:`model.evaluation.shifts`. Per model and shift the file records accuracy
(with a bootstrap 95% interval), macro-F1, accuracy on the audit's clean subset, the
share of pictures the input check turned away, and how the predictions spread over
the classes. A network that has collapsed calls most pictures one class whatever they
show; ``largest_share`` makes that visible (the true largest class is ~31% of Testing).

Nothing here is a real scan from another hospital: the shifts are simulated, so a
good score is necessary, not sufficient.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import accuracy_score, f1_score

from ..classifier.classifier import Classifier, load_classifier
from ..data.folders import index_folder
from ..figures import fixed
from ..paths import AUDIT_REPORT, KAGGLE_TESTING, STRESS_REPORT, bundled_checkpoints
from ..results import write_report
from .evaluate import load_clean_names
from .latency import cpu_model
from .metrics import bootstrap_ci
from .shifts import SHIFTS, Shift, shift_by_name


def load_greys(paths: Sequence[Path]) -> list[Image.Image]:
    """Decode each file once, as 8-bit grey (what every shift works on)."""
    greys = []
    for path in paths:
        with Image.open(path) as im:
            greys.append(im.convert("L"))
    return greys


def shifted_chunks(greys: Sequence[Image.Image], shift: Shift, size: int = 64) -> Iterator[list[Image.Image]]:
    """The shifted pictures, a chunk at a time, so large shifts never all sit in memory."""
    for start in range(0, len(greys), size):
        yield [shift.apply(im) for im in greys[start:start + size]]


def shift_report(labels: np.ndarray, probs: np.ndarray, problems: list[str | None],
                 clean: np.ndarray | None, classes: Sequence[str]) -> dict:
    """Figures for one model under one shift.

    Args:
        labels: true class per image; probs: ``(N, C)``; problems: the input check per image.
        clean: boolean mask of the clean subset, or ``None`` without an audit.
    """
    predicted = probs.argmax(axis=1)
    share = np.bincount(predicted, minlength=len(classes)) / max(len(predicted), 1)
    report = {
        "n_images": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "accuracy_ci95": list(bootstrap_ci(labels, predicted, accuracy_score)),
        "macro_f1": float(f1_score(labels, predicted, labels=list(range(len(classes))),
                                   average="macro", zero_division=0)),
        "rejected_share": float(np.mean([p is not None for p in problems])) if problems else 0.0,
        "predicted_share": {c: float(s) for c, s in zip(classes, share)},
        "largest_share": float(share.max()),
    }
    if clean is not None and clean.any():
        report["clean_accuracy"] = float(accuracy_score(labels[clean], predicted[clean]))
        report["clean_images"] = int(clean.sum())
    return report


def stress_model(clf: Classifier, greys: Sequence[Image.Image], labels: np.ndarray,
                 clean: np.ndarray | None, shifts: Sequence[Shift] = SHIFTS) -> dict[str, dict]:
    """``{shift name: shift_report}`` for one classifier."""
    results = {}
    for shift in shifts:
        started = time.perf_counter()
        probs, problems = [], []
        for chunk in shifted_chunks(greys, shift):
            p, q = clf.predict_and_check(chunk)
            probs.append(p)
            problems += q
        results[shift.name] = shift_report(labels, np.concatenate(probs), problems, clean, clf.classes)
        results[shift.name]["seconds"] = time.perf_counter() - started
        r = results[shift.name]
        print(f"  {shift.name:22s} accuracy {fixed(r['accuracy'])}  macro-F1 {fixed(r['macro_f1'])}  "
              f"largest share {fixed(r['largest_share'], 2)}  rejected {fixed(r['rejected_share'], 3)}", flush=True)
    return results


def run_stress(checkpoints: Sequence[Path], data: Path, audit: str | None,
               shifts: Sequence[Shift] = SHIFTS) -> dict:
    """The whole report: every checkpoint under every shift on the folder-of-classes ``data``."""
    models, index, greys, clean = {}, None, None, None
    for checkpoint in checkpoints:
        clf = load_classifier(checkpoint)
        if index is None:  # the data, its pictures and its clean subset: read once for every model
            index = index_folder(data, classes=clf.classes)
            greys = load_greys(index.paths)
            names = load_clean_names(audit, index.fingerprint())
            clean = None if names is None else np.array([name in names for name in index.names])
        elif list(clf.classes) != list(index.classes):
            raise ValueError(f"{checkpoint.name}: classes {clf.classes} differ from {index.classes}")
        print(f"{checkpoint.name} ({clf.arch}):", flush=True)
        models[checkpoint.stem] = {"arch": clf.arch, "input_size": clf.spec.input_size,
                                   "has_feature_guard": clf.guard is not None,
                                   "results": stress_model(clf, greys, index.labels, clean, shifts)}
    return {
        "data": str(data), "data_fingerprint": index.fingerprint(), "classes": list(index.classes),
        "shifts": [{"name": s.name, "kind": s.kind, "describe": s.describe} for s in shifts],
        "models": models, "machine": cpu_model(), "threads": torch.get_num_threads(),
        "command": "python -m model.evaluation.stress", "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(KAGGLE_TESTING))
    parser.add_argument("--checkpoints", nargs="+", type=Path, default=None,
                        help="default: every bundled model in model/weights")
    parser.add_argument("--audit", default=str(AUDIT_REPORT), help="audit JSON for the clean-subset figures")
    parser.add_argument("--out", type=Path, default=STRESS_REPORT)
    parser.add_argument("--shifts", nargs="+", metavar="NAME", default=[s.name for s in SHIFTS],
                        help="default: every shift of model.evaluation.shifts")
    args = parser.parse_args(argv)
    try:
        shifts = [shift_by_name(name) for name in args.shifts]
    except KeyError as err:
        parser.error(str(err.args[0]))
    torch.set_num_threads(os.cpu_count() or 1)
    report = run_stress(args.checkpoints or bundled_checkpoints(), Path(args.data), args.audit, shifts)
    write_report(args.out, report)


if __name__ == "__main__":
    main()
