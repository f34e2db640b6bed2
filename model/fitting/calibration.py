"""Calibration: temperature scaling, fitted and stored in the checkpoint.

    python -m model.fitting.calibration --checkpoint model/weights/resnet50.safetensors

Fits one temperature on the training run's validation split (the same
images, split and seed as ``model.training.train``) and stores it in the checkpoint,
where :class:`model.Classifier` applies it to every probability it returns.

With ``--external MANIFEST`` the fit also takes the external set's calibration list (slices of our
classes only; no run trains on it), and each source counts half of the likelihood (``--fit-on both``,
the default then); ``--fit-on external`` fits on that list alone. ``--fit-on none`` keeps the network's
raw probabilities (T = 1) and records their ECE: measured on the external validation part, every
fitted temperature made both bundled networks worse calibrated on scans from elsewhere
(docs/experiments.md, "Calibration").
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from ..classifier.checkpoint import load_checkpoint, save_checkpoint
from ..classifier.classifier import load_classifier
from ..classifier.preprocess import uint8_to_float
from ..data.duplicates import validation_split
from ..data.image_sources import ManifestSource
from ..data.manifest import ManifestError
from ..data.folders import cache_dir_arg, cached_decode, index_folder, training_folder
from ..evaluation.metrics import reliability_bins
from ..paths import CACHE_DIR, DEFAULT_CHECKPOINT


def fit_temperature(logits: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Temperature minimising the (``weights``-weighted) mean negative log-likelihood of ``labels``."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)

    def nll(log_t: float) -> float:
        picked = log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels]
        return -(weights * picked).sum() / weights.sum()

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


@torch.inference_mode()
def external_logits(checkpoint: Path, manifest_path: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels of the rows of our classes in an external set's committed ``split`` list
    (or a list file's path)."""
    clf = load_classifier(checkpoint)
    manifest = ManifestSource(Path(manifest_path), split).rows()
    if not len(manifest):
        raise ManifestError(f"the {split} list names none of the files in {manifest_path}")
    manifest = manifest.subset([f for f, c in zip(manifest.files, manifest.classes) if c in clf.classes])
    logits = [clf.model(clf.spec(chunk).contiguous(memory_format=torch.channels_last)).float()
              for chunk in manifest.image_chunks(32)]
    labels = np.asarray([clf.classes.index(c) for c in manifest.classes])
    return (torch.cat(logits).numpy() if logits else np.zeros((0, len(clf.classes)), np.float32)), labels


def source_balanced(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated logits and labels, and weights giving each non-empty part an equal share."""
    parts = [(lg, lb) for lg, lb in parts if len(lb)]
    weights = np.concatenate([np.full(len(lb), 1.0 / len(lb)) for _, lb in parts])
    return np.concatenate([lg for lg, _ in parts]), np.concatenate([lb for _, lb in parts]), weights


#: What ``--fit-on`` may name: the sources the temperature is fitted on, or none (T = 1).
FIT_CHOICES = ("validation", "both", "external", "none")


def _fit_sources(args, parser) -> tuple[list, str]:
    """The (logits, labels) parts the temperature is fitted on, and a phrase naming them."""
    kaggle = validation_logits(Path(args.checkpoint), cache_dir_arg(args.cache_dir))
    parts, names = [kaggle], [f"validation split ({len(kaggle[1])} images)"]
    if args.fit_on in ("both", "external", "none") and args.external:
        try:
            outside = external_logits(Path(args.checkpoint), args.external, args.external_split)
        except ManifestError as err:  # a malformed manifest or list: its message, no traceback
            parser.exit(2, f"error: {err}\n")
        parts.append(outside)
        names.append(f"the {args.external_split} list of {Path(args.external).parent.name} "
                     f"({len(outside[1])} images)")
    if args.fit_on == "external":
        return parts[1:], names[1]
    return parts, " and ".join(names) + (", each weighing half" if len(parts) > 1 else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--cache-dir", default=str(CACHE_DIR))
    parser.add_argument("--external", default=None, metavar="MANIFEST",
                        help="also fit on this external set's calibration list, each source weighing half")
    parser.add_argument("--external-split", default="calibration")
    parser.add_argument("--fit-on", choices=FIT_CHOICES, default=None,
                        help="validation (Kaggle's), both (with --external: the default), external (its list "
                             "alone), or none (T = 1: the ECE is measured on the same images, nothing fitted)")
    args = parser.parse_args(argv)
    args.fit_on = args.fit_on or ("both" if args.external else "validation")
    if args.fit_on in ("both", "external") and not args.external:
        parser.error(f"--fit-on {args.fit_on} needs --external MANIFEST")
    parts, fitted_on = _fit_sources(args, parser)
    logits, labels, weights = source_balanced(parts)
    temperature = 1.0 if args.fit_on == "none" else fit_temperature(logits, labels, weights)
    before = reliability_bins(softmax(logits, axis=1), labels)["ece"]
    after = reliability_bins(softmax(logits / temperature, axis=1), labels)["ece"]
    tensors, meta = load_checkpoint(args.checkpoint)
    meta["temperature"] = temperature
    meta["calibration"] = {"fitted_on": None if args.fit_on == "none" else fitted_on,
                           "measured_on": fitted_on,
                           "validation_ece_before": before, "validation_ece_after": after}
    if args.fit_on != "external":  # parts[0] is Kaggle's validation split
        # A weight soup (model.training.soup) had no epoch of its own: its validation record is measured here.
        meta.setdefault("validation", {"val_acc": float((parts[0][0].argmax(1) == parts[0][1]).mean()),
                                       "measured_by": "model.fitting.calibration"})
    save_checkpoint(args.checkpoint, tensors, meta)
    print(f"temperature {temperature:.4f} ({args.fit_on}); ECE {before:.4f} -> {after:.4f} "
          f"({len(labels)} images: {fitted_on})")


if __name__ == "__main__":
    main()
