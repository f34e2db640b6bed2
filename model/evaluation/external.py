"""How a checkpoint does on scans from elsewhere: an image set described by a manifest, scored with
intervals that resample whole cases.

    python -m model external --checkpoint model/weights/resnet50.safetensors --split validation

Reads ``../shared/data/feltrin-44-dev/manifest.tsv`` by default and the committed file list of the
chosen part (``model/splits/feltrin-44-dev/<part>.txt``, see ``python -m model external-split``), and
writes ``<checkpoint>.external.json`` (the validation part; ``.external-<part>.json`` for another) beside
the checkpoint. Tumours of a type the classifier does not
know (``other_tumour``) count as tumours for tumour-versus-none and are reported apart.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import confusion_matrix

from ..classifier.explanation import UNSURE_BELOW
from ..classifier.classifier import Classifier, load_classifier
from ..data.image_sources import ManifestSource
from ..data.manifest import ManifestError, ManifestSet
from ..figures import percent
from ..names import NO_TUMOUR
from ..paths import EXTERNAL_DIR
from ..results import EXTERNAL, add_report_flags, report_path, write_report
from .metrics import cluster_rate_ci, reliability_bins

__all__ = ["evaluate_external", "external_metrics", "predict_manifest"]


def predict_manifest(clf: Classifier, manifest: ManifestSet, batch_size: int = 32) -> np.ndarray:
    """Probabilities ``(N, C)`` for every image of ``manifest``, in its order."""
    chunks = [clf.predict_proba(images, batch_size) for images in manifest.image_chunks(batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, len(clf.classes)), np.float32)


def _rate(hits: np.ndarray, rows: np.ndarray) -> float:
    return float(hits[rows].mean()) if len(rows) else float("nan")


def _figure(hits: np.ndarray, mask: np.ndarray, groups: np.ndarray, seed: int) -> dict:
    """Share of ``hits`` among the rows in ``mask``, with a case-group bootstrap interval."""
    rows = np.flatnonzero(mask)
    if not len(rows):
        return {"value": None, "ci95": None, "n": 0}
    group_sizes = np.unique(groups[rows], return_counts=True)[1]
    if len(group_sizes) < 2:  # one case: nothing to resample
        return {"value": _rate(hits, rows), "ci95": None, "n": int(len(rows)), "case_groups": 1}
    interval = cluster_rate_ci(groups[rows], hits[rows], seed=seed)
    # The largest group's share of the rows: one chain of many slices, drawn 0, 1 or 2 times by the
    # bootstrap, is what sets an interval off-centre around its figure (docs/intervals.md).
    return {"value": _rate(hits, rows), "ci95": list(interval), "n": int(len(rows)),
            "case_groups": int(len(group_sizes)), "largest_case_group": int(group_sizes.max())}


def commonest_mistake(truth: np.ndarray, answer: np.ndarray, rows: np.ndarray, classes: list[str]) -> dict | None:
    """The most frequent wrong answer among ``rows`` (slices of our classes): which class was named as which,
    and on what share of that class's slices; ``None`` when there is no mistake."""
    if not rows.any():
        return None
    counts = confusion_matrix(truth[rows], answer[rows], labels=classes)
    np.fill_diagonal(counts, 0)
    if counts.max() == 0:
        return None
    i, j = np.unravel_index(counts.argmax(), counts.shape)
    of = int((truth[rows] == classes[i]).sum())
    return {"truth": classes[i], "answer": classes[j], "n": int(counts[i, j]), "of": of, "share": counts[i, j] / of}


def external_metrics(manifest: ManifestSet, probs: np.ndarray, classes: list[str], seed: int = 0) -> dict:
    """Every figure of the external evaluation; intervals resample case groups.

    Returns:
        ``accuracy`` (over our classes present), ``recall`` per present class, ``sensitivity`` and
        ``specificity`` (any tumour against none), ``other_tumour_called_no_tumour``,
        ``absent_class_answers`` (answers naming a class the set does not have), ``commonest_mistake``
        (:func:`commonest_mistake`) and ``ece`` over our classes, each also ``by_sequence``;
        ``other_tumour_called_no_tumour_confidently`` (at or above the app's
        ``UNSURE_BELOW``, so not shown as "unsure"); ``by_tumour_type`` (share called a tumour, and
        accuracy where it is ours); ``ece``.
    """
    groups = np.asarray(manifest.case_groups)
    answer = np.asarray(classes)[probs.argmax(axis=1)]
    truth = np.asarray([c if c is not None else "" for c in manifest.classes])
    ours = truth != ""
    is_tumour = np.asarray(manifest.labels) != NO_TUMOUR
    called_tumour = answer != NO_TUMOUR
    present = sorted(set(truth[ours]))
    absent = [c for c in classes if c not in present]
    sequences = np.asarray(manifest.sequences)

    def block(where: np.ndarray) -> dict:
        rows = where & ours
        return {
            "commonest_mistake": commonest_mistake(truth, answer, rows, classes),
            "ece": reliability_bins(probs[rows], np.asarray([classes.index(c) for c in truth[rows]]))["ece"]
            if rows.any() else None,
            "accuracy": _figure(answer == truth, where & ours, groups, seed),
            "sensitivity": _figure(called_tumour, where & is_tumour, groups, seed),
            "specificity": _figure(~called_tumour, where & ~is_tumour, groups, seed),
            "other_tumour_called_no_tumour": _figure(~called_tumour, where & is_tumour & ~ours, groups, seed),
            "absent_class_answers": _figure(np.isin(answer, absent), where, groups, seed),
        }

    everything = np.ones(len(manifest), bool)
    types = np.asarray(manifest.tumour_types)
    report = {**block(everything), "n_images": len(manifest), "n_case_groups": int(len(set(groups))),
              "classes_present": present, "classes_absent": absent,
              "recall": {c: _figure(answer == truth, truth == c, groups, seed) for c in present},
              "by_sequence": {s: block(sequences == s) for s in sorted(set(sequences))},
              "by_tumour_type": {t: {"called_tumour": _figure(called_tumour, types == t, groups, seed),
                                     "accuracy": _figure(answer == truth, (types == t) & ours, groups, seed)}
                                 for t in sorted(set(types))}}
    mapped = np.flatnonzero(ours)
    labels = np.asarray([classes.index(c) for c in truth[mapped]])
    # What the app would say outright: the Diagnose page reports an answer below UNSURE_BELOW as "unsure".
    sure_normal = ~called_tumour & (probs.max(axis=1) >= UNSURE_BELOW)
    report["other_tumour_called_no_tumour_confidently"] = _figure(sure_normal, is_tumour & ~ours, groups, seed)
    report["ece"] = reliability_bins(probs[mapped], labels)["ece"] if len(mapped) else None
    return report


def evaluate_external(checkpoint: str | Path, manifest_path: str | Path, split: str | None,
                      batch_size: int = 32) -> dict:
    """Load, predict and score; ``split`` names a committed file list (``None``: every row)."""
    manifest = ManifestSource(Path(manifest_path), split).rows()
    clf = load_classifier(checkpoint)  # PyTorch fp32: the same figures on every machine
    started = time.perf_counter()
    probs = predict_manifest(clf, manifest, batch_size)
    seconds = time.perf_counter() - started
    return {**external_metrics(manifest, probs, clf.classes), "checkpoint": Path(checkpoint).name,
            "arch": clf.arch, "manifest": str(manifest_path), "split": split or "all",
            "data_fingerprint": manifest.fingerprint(), "seconds": seconds,
            "predictions": [{"file": f, "answer": clf.classes[int(p.argmax())], "confidence": float(p.max())}
                            for f, p in zip(manifest.files, probs)]}


def _line(name: str, figure: dict) -> str:
    if figure["value"] is None:
        return f"{name} n/a"
    if figure["ci95"] is None:
        return f"{name} {percent(figure['value'])} (n={figure['n']}, one case)"
    low, high = figure["ci95"]
    return f"{name} {percent(figure['value'])} [{percent(low)[:-1]}, {percent(high)}] (n={figure['n']})"


def print_summary(report: dict) -> None:
    keys = ("accuracy", "sensitivity", "specificity", "other_tumour_called_no_tumour", "absent_class_answers")
    print("all:  " + "  ".join(_line(k, report[k]) for k in keys))
    for sequence, block in report["by_sequence"].items():
        print(f"{sequence:5} " + "  ".join(_line(k, block[k]) for k in keys))
    print("recall: " + "  ".join(_line(c, f) for c, f in report["recall"].items()))
    print(f"ECE {report['ece']:.4f}  images {report['n_images']}  case groups {report['n_case_groups']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_flags(parser, EXTERNAL)
    parser.add_argument("--manifest", default=str(EXTERNAL_DIR / "manifest.tsv"))
    parser.add_argument("--split", default="validation", help="a committed file list (training, validation) or 'all'")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        report = evaluate_external(args.checkpoint, args.manifest, None if args.split == "all" else args.split,
                                   args.batch_size)
    except ManifestError as err:
        parser.exit(2, f"error: {err}\n")
    print_summary(report)
    # another part than the validation one goes beside it, never over it
    kind = EXTERNAL if args.split == "validation" else replace(EXTERNAL, name=f"external-{args.split}")
    write_report(report_path(args, kind), report, kind)


if __name__ == "__main__":
    main()
