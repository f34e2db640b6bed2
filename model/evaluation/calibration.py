"""Calibration: expected calibration error, reliability bins and temperature scaling.

    python -m model.evaluation.calibration --checkpoint model/weights/resnet50.safetensors

Fits one temperature on the training run's validation split (the same
images, split and seed as ``model.training.train``) and stores it in the checkpoint,
where :class:`model.Classifier` applies it to every probability it returns.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from ..classifier.checkpoint import load_checkpoint, save_checkpoint
from ..classifier.inference import load_classifier
from ..classifier.preprocess import uint8_to_float
from ..data.duplicates import validation_split
from ..data.folders import cache_dir_arg, cached_decode, index_folder, training_folder
from ..paths import CACHE_DIR, DEFAULT_CHECKPOINT


def reliability_bins(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> dict:
    """Top-class confidence against accuracy in equal-width bins.

    Returns:
        ``confidence``, ``accuracy`` and ``count`` per non-empty bin, and ``ece``:
        the count-weighted mean gap between them.
    """
    probs, labels = np.asarray(probs), np.asarray(labels)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    out = {"confidence": [], "accuracy": [], "count": []}
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            out["confidence"].append(float(confidence[mask].mean()))
            out["accuracy"].append(float(correct[mask].mean()))
            out["count"].append(int(mask.sum()))
            ece += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    out["ece"] = float(ece)
    return out


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of ``labels``."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels)

    def nll(log_t: float) -> float:
        return -log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean()

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


@torch.inference_mode()
def validation_logits(checkpoint: Path, cache_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels of the training run's validation split."""
    clf = load_classifier(checkpoint)
    cfg = clf.metadata["train_config"]
    index = index_folder(training_folder(cfg["data"]), clf.classes)
    _, val_idx = validation_split(index, cfg["val_fraction"], cfg["seed"], cfg.get("split_group_by", "exact"),
                                  cache_dir)
    images = cached_decode(index, clf.spec, cache_dir)[val_idx]
    batch = clf.spec.normalise(uint8_to_float(images)).contiguous(memory_format=torch.channels_last)
    logits = torch.cat([clf.model(batch[i:i + 64]) for i in range(0, len(batch), 64)])
    return logits.float().numpy(), index.labels[val_idx]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--cache-dir", default=str(CACHE_DIR))
    args = parser.parse_args(argv)
    logits, labels = validation_logits(Path(args.checkpoint), cache_dir_arg(args.cache_dir))
    temperature = fit_temperature(logits, labels)
    before = reliability_bins(softmax(logits, axis=1), labels)["ece"]
    after = reliability_bins(softmax(logits / temperature, axis=1), labels)["ece"]
    tensors, meta = load_checkpoint(args.checkpoint)
    meta["temperature"] = temperature
    meta["calibration"] = {"fitted_on": f"validation split ({len(labels)} images)",
                           "validation_ece_before": before, "validation_ece_after": after}
    # A weight soup (model.training.soup) had no epoch of its own: its validation record is measured here.
    meta.setdefault("validation", {"val_acc": float((logits.argmax(1) == labels).mean()),
                                   "measured_by": "model.evaluation.calibration"})
    save_checkpoint(args.checkpoint, tensors, meta)
    print(f"temperature {temperature:.4f}; validation ECE {before:.4f} -> {after:.4f} ({len(labels)} images)")


if __name__ == "__main__":
    main()
