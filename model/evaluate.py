"""Evaluate a checkpoint on a folder-of-classes test set and write ``metrics.json``.

    python -m model.evaluate --data ../shared/data/brain-tumor-mri/Testing --out model/weights/resnet50.metrics.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from .checkpoint import atomic_write, load_checkpoint, save_checkpoint
from .data import decode_all, index_folder
from .inference import DEFAULT_CHECKPOINT, Classifier, load_classifier
from .metrics import classification_metrics
from .preprocess import uint8_to_float


def predict_folder(clf: Classifier, data: str | Path, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, dict]:
    """Probabilities for every image under ``data/<class>/``.

    Returns:
        ``(labels, probs, timing)``; timing holds end-to-end and model-only images/s.
    """
    index = index_folder(data, classes=clf.classes)
    started = time.perf_counter()
    images = decode_all(index, clf.spec)
    decoded = time.perf_counter()
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = clf.spec.normalise(uint8_to_float(images[start:start + batch_size]))
        chunks.append(clf.predict_tensor(batch))
    finished = time.perf_counter()
    timing = {
        "images_per_second": len(images) / (finished - started),
        "model_images_per_second": len(images) / (finished - decoded),
        "batch_size": batch_size, "threads": torch.get_num_threads(),
    }
    return index.labels, np.concatenate(chunks), timing


def evaluate(checkpoint: str | Path, data: str | Path, batch_size: int = 64) -> dict:
    """Metrics dict for ``checkpoint`` on ``data`` (also records what was evaluated)."""
    clf = load_classifier(checkpoint)
    labels, probs, timing = predict_folder(clf, data, batch_size)
    metrics = classification_metrics(labels, probs, clf.classes)
    metrics.update(timing)
    metrics.update({"checkpoint": Path(checkpoint).name, "arch": clf.arch,
                    "data": str(data), "data_fingerprint": index_folder(data, clf.classes).fingerprint()})
    return metrics


def store_in_checkpoint(checkpoint: str | Path, metrics: dict) -> None:
    """Copy headline test metrics into the checkpoint's own metadata."""
    state, meta = load_checkpoint(checkpoint)
    meta["test_metrics"] = {k: metrics[k] for k in
                            ("accuracy", "balanced_accuracy", "macro_f1", "macro_roc_auc_ovr", "n_images",
                             "data_fingerprint")}
    save_checkpoint(checkpoint, state, meta)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--data", default="../shared/data/brain-tumor-mri/Testing")
    parser.add_argument("--out", default=None, help="metrics.json path (default: beside the checkpoint)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--store", action="store_true", help="also write the headline metrics into the checkpoint")
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    metrics = evaluate(args.checkpoint, args.data, args.batch_size)
    out = Path(args.out) if args.out else Path(args.checkpoint).with_suffix(".metrics.json")
    atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2)))
    if args.store:
        store_in_checkpoint(args.checkpoint, metrics)
    print(f"accuracy {metrics['accuracy']:.4f}  balanced {metrics['balanced_accuracy']:.4f}  "
          f"macro-F1 {metrics['macro_f1']:.4f}  ROC-AUC {metrics['macro_roc_auc_ovr']:.4f}  "
          f"n={metrics['n_images']}  {metrics['images_per_second']:.1f} img/s")
    print(f"confusion matrix (rows = truth {metrics['classes']}): {metrics['confusion_matrix']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
