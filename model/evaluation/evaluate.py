"""Evaluate a checkpoint on a folder-of-classes test set and write ``metrics.json``.

    python -m model.evaluation.evaluate --data ../shared/data/brain-tumor-mri/Testing --out model/weights/resnet50.metrics.json

Under ``torchrun --nproc_per_node=N -m model.evaluation.evaluate …`` each process decodes and predicts
every N-th image, and rank 0 gathers the probabilities, computes the same metrics and writes them.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.distributed as dist

from ..classifier.checkpoint import load_checkpoint, save_checkpoint
from ..classifier.classifier import Classifier, load_classifier
from ..data.folders import ImageFolderIndex, decode_all, index_folder
from ..data.thumbnails import replace_thumbnails
from ..figures import fixed
from ..paths import AUDIT_REPORT, KAGGLE_TESTING
from ..results import METRICS, add_report_flags, report_path, write_json
from .metrics import classification_metrics, headline_with_ci, reliability_bins, roc_curve_points


@contextmanager
def process_group() -> Iterator[tuple[int, int]]:
    """``(rank, world)`` of a torchrun launch, in a gloo process group (the classifier runs on CPUs)
    destroyed on exit; ``(0, 1)`` without torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or dist.is_initialized():
        yield (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
        return
    dist.init_process_group("gloo")
    try:
        yield dist.get_rank(), world
    finally:
        dist.destroy_process_group()


def gather_rows(part: np.ndarray, n: int, rank: int, world: int) -> np.ndarray | None:
    """Rank 0: the ``n`` rows each rank computed for its images ``rank::world``, back in order."""
    parts = [None] * world if rank == 0 else None
    dist.gather_object(part, parts, dst=0)
    if rank != 0:
        return None
    rows = np.empty((n, part.shape[1]), dtype=part.dtype)
    for r, rows_of_r in enumerate(parts):
        rows[r::world] = rows_of_r
    return rows


def predict_folder(clf: Classifier, data: str | Path, batch_size: int = 64,
                   rank: int = 0, world: int = 1) -> tuple[ImageFolderIndex, np.ndarray | None, dict]:
    """Probabilities for every image under ``data/<class>/``.

    Args:
        rank, world: a process of a torchrun launch predicts the images ``rank::world``; rank 0 gets
            every image's row, the others ``None``.
    Returns:
        ``(index, probs, timing)``; timing holds end-to-end and model-only images/s.
    """
    index = index_folder(data, classes=clf.classes)
    started = time.perf_counter()
    images = decode_all(index if world == 1 else index.subset(np.arange(rank, len(index), world)), clf.spec)
    decoded = time.perf_counter()
    chunks = [np.zeros((0, len(clf.classes)), dtype=np.float32)]
    for start in range(0, len(images), batch_size):
        chunks.append(clf.probabilities(clf.run_squares(images[start:start + batch_size]).logits))
    probs = np.concatenate(chunks)
    if world > 1:
        probs = gather_rows(probs, len(index), rank, world)
    finished = time.perf_counter()
    timing = {
        "images_per_second": len(index) / (finished - started),
        "model_images_per_second": len(index) / (finished - decoded),
        "batch_size": batch_size, "threads": torch.get_num_threads(), **({"processes": world} if world > 1 else {}),
    }
    return index, probs, timing


#: The audit's key for the clean subset of reports made before it checked mirrored and turned copies.
CLEAN_BEFORE_MIRROR_CHECK = "clean_testing_before_mirror_check"


def _report(labels: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict:
    out = classification_metrics(labels, probs, classes)
    out.update(headline_with_ci(labels, probs, len(classes)))
    out["reliability"] = reliability_bins(probs, labels)
    out["ece"] = out["reliability"]["ece"]
    return out


def subset_report(labels: np.ndarray, probs: np.ndarray, names: list[str], classes: list[str],
                  keep_names: set[str]) -> dict:
    """Metrics (with bootstrap CIs) on the images named in ``keep_names``; ``{"n_images": 0}`` for none."""
    keep = np.array([n in keep_names for n in names])
    return _report(labels[keep], probs[keep], classes) if keep.any() else {"n_images": 0}


def full_and_clean(labels: np.ndarray, probs: np.ndarray, names: list[str], classes: list[str],
                   clean_names: set[str] | None) -> dict:
    """Metrics (with bootstrap CIs) on every image, and on the audit's clean subset when given."""
    metrics = _report(labels, probs, classes)
    if clean_names is not None:
        metrics["clean"] = subset_report(labels, probs, names, classes, clean_names)
    return metrics


def misclassified(labels: np.ndarray, probs: np.ndarray, names: list[str], classes: list[str],
                  clean_names: set[str] | None) -> list[dict]:
    """Every wrongly classified image, most confident mistake first.

    Naming them lets a reader open the images in the public dataset and judge
    the mistakes (and the labels) for themselves, and shows whether two
    candidate models miss the same images.

    Returns:
        ``image`` (``class/file``), ``truth``, ``predicted``, ``confidence`` (the
        predicted class's probability) and ``clean`` (``None`` without an audit).
    """
    predicted = probs.argmax(axis=1)
    rows = [{"image": names[i], "truth": classes[labels[i]], "predicted": classes[predicted[i]],
             "confidence": float(probs[i, predicted[i]]),
             "clean": None if clean_names is None else names[i] in clean_names}
            for i in np.flatnonzero(predicted != labels)]
    return sorted(rows, key=lambda row: -row["confidence"])


def save_mistake_thumbnails(rows: list[dict], data: str | Path, out_dir: str | Path) -> None:
    """Grey thumbnails of the misclassified images; each row gains its ``thumbnail`` file name.

    Thumbnails of an earlier evaluation are removed first, so the folder always
    matches the ``metrics.json`` written with it.
    """
    names = replace_thumbnails(Path(data), [row["image"] for row in rows], Path(out_dir))
    for row, name in zip(rows, names):
        row["thumbnail"] = name  # class_file.jpg


def read_audit(audit_path: str | Path | None, fingerprint: str) -> dict | None:
    """The audit report, read once; ``None`` when there is none or it was made on other data than ``fingerprint``."""
    if not audit_path or not Path(audit_path).exists():
        return None
    report = json.loads(Path(audit_path).read_text())
    return report if report.get("testing_fingerprint") == fingerprint else None


def clean_names_in(report: dict | None, key: str = "clean_testing") -> set[str] | None:
    """``class/file`` names of the Testing images the audit found no Training duplicate for.

    Args:
        key: the audit's list to read: ``clean_testing`` (no counterpart as is, mirrored or turned)
            or :data:`CLEAN_BEFORE_MIRROR_CHECK` (no exact or near twin, as audits before the mirror
            check defined it).

    Returns:
        ``None`` without a report (:func:`read_audit`) or when it lacks ``key``.
    """
    if report is None or key not in report:
        return None
    return {name.split("/", 1)[1] for name in report[key]}


def load_clean_names(audit_path: str | Path | None, fingerprint: str, key: str = "clean_testing") -> set[str] | None:
    """:func:`clean_names_in` of the audit at ``audit_path`` made on data ``fingerprint``."""
    return clean_names_in(read_audit(audit_path, fingerprint), key)


def label_conflicts_in(report: dict | None) -> set[str]:
    """``class/file`` names of the Testing images whose Kaggle folder Figshare disagrees with (the
    audit's ``figshare_label_conflicts``); empty without a report or without the list."""
    listed = (report or {}).get("figshare_label_conflicts", {}).get("images", [])
    return {c["image"].split("/", 1)[1] for c in listed if c["image"].startswith("Testing/")}


def evaluate(checkpoint: str | Path, data: str | Path, batch_size: int = 64,
             audit: str | Path | None = None, rank: int = 0, world: int = 1) -> dict | None:
    """Metrics dict for ``checkpoint`` on ``data`` (also records what was evaluated).

    Args:
        rank, world: a process of a torchrun launch: the images are shared out (``predict_folder``)
            and rank 0 gets the metrics, the other ranks ``None``.
        audit: an audit JSON from ``python -m model.data.audit``; adds a ``clean`` section
            computed on the Testing images with no duplicate in Training, and, from an audit that
            checked mirrored copies, ``clean_before_mirror_check`` on the earlier, larger subset,
            so the figures can be reported both ways; where it lists Testing images Figshare labels
            otherwise, ``without_label_conflicts`` on Testing without them.
    """
    clf = load_classifier(checkpoint, engine="auto")  # what python -m model backends chose here, else fp32
    index, probs, timing = predict_folder(clf, data, batch_size, rank, world)
    if probs is None:
        return None
    names = index.names
    report = read_audit(audit, index.fingerprint())  # 2.6 MB: read once for the three subsets below
    clean_names = clean_names_in(report)
    metrics = full_and_clean(index.labels, probs, names, clf.classes, clean_names)
    earlier = clean_names_in(report, CLEAN_BEFORE_MIRROR_CHECK)
    if earlier is not None:
        metrics["clean_before_mirror_check"] = subset_report(index.labels, probs, names, clf.classes, earlier)
    disputed = label_conflicts_in(report)
    if disputed:  # the images Figshare labels otherwise, left out: the figures with and without them
        metrics["without_label_conflicts"] = {
            **subset_report(index.labels, probs, names, clf.classes, set(names) - disputed),
            "left_out": sorted(disputed & set(names))}
    metrics["misclassified"] = misclassified(index.labels, probs, names, clf.classes, clean_names)
    metrics["roc_curves"] = roc_curve_points(index.labels, probs, clf.classes)
    metrics.update(timing)
    metrics.update({"checkpoint": Path(checkpoint).name, "arch": clf.arch,
                    "data": str(data), "data_fingerprint": index.fingerprint()})
    return metrics


def store_in_checkpoint(checkpoint: str | Path, metrics: dict) -> None:
    """Copy headline test metrics into the checkpoint's own metadata."""
    state, meta = load_checkpoint(checkpoint)
    meta["test_metrics"] = {k: metrics[k] for k in
                            ("accuracy", "balanced_accuracy", "macro_f1", "macro_roc_auc_ovr", "n_images",
                             "data_fingerprint")}
    save_checkpoint(checkpoint, state, meta)


def _with_ci(metrics: dict, key: str) -> str:
    """A figure and its 95% interval, cut to 4 decimals (model.figures)."""
    low, high = metrics[f"{key}_ci95"]
    return f"{fixed(metrics[key])} [{fixed(low)}, {fixed(high)}]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_flags(parser, METRICS)
    parser.add_argument("--data", default=str(KAGGLE_TESTING))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--audit", default=str(AUDIT_REPORT),
                        help="audit JSON (python -m model.data.audit) for the clean-subset section")
    parser.add_argument("--mistakes-dir", default=None,
                        help="also save a thumbnail of every misclassified image here (assets/mistakes)")
    parser.add_argument("--store", action="store_true", help="also write the headline metrics into the checkpoint")
    args = parser.parse_args(argv)
    with process_group() as (rank, world):
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
        metrics = evaluate(args.checkpoint, args.data, args.batch_size, args.audit, rank, world)
    if metrics is None:  # not rank 0: it writes and prints
        return
    if args.mistakes_dir:
        save_mistake_thumbnails(metrics["misclassified"], args.data, args.mistakes_dir)
    out = write_json(report_path(args, METRICS), METRICS.check(metrics), indent=2)
    if args.store:
        store_in_checkpoint(args.checkpoint, metrics)
    print(f"accuracy {_with_ci(metrics, 'accuracy')}  balanced {fixed(metrics['balanced_accuracy'])}  "
          f"macro-F1 {_with_ci(metrics, 'macro_f1')}  ROC-AUC {fixed(metrics['macro_roc_auc_ovr'])}  "
          f"ECE {fixed(metrics['ece'])}  n={metrics['n_images']}  {metrics['images_per_second']:.1f} img/s")
    if "clean" in metrics:
        c = metrics["clean"]
        print(f"clean subset (no duplicate in Training): accuracy {_with_ci(c, 'accuracy')}  "
              f"macro-F1 {_with_ci(c, 'macro_f1')}  n={c['n_images']}")
    if "without_label_conflicts" in metrics:
        c = metrics["without_label_conflicts"]
        left_out = len(c["left_out"])
        print(f"without the {left_out} image{'s' * (left_out != 1)} Figshare labels otherwise: "
              f"accuracy {_with_ci(c, 'accuracy')}  n={c['n_images']}")
    if metrics.get("clean_before_mirror_check", {}).get("n_images"):
        c = metrics["clean_before_mirror_check"]
        print(f"clean subset before the mirror check: accuracy {_with_ci(c, 'accuracy')}  n={c['n_images']}")
    wrong = metrics["misclassified"]
    print(f"misclassified: {len(wrong)}" + (f" ({sum(bool(w['clean']) for w in wrong)} of them clean)"
                                            if "clean" in metrics else ""))
    print(f"confusion matrix (rows = truth {metrics['classes']}): {metrics['confusion_matrix']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
