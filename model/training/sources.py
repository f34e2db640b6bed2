"""More than one data source for training: the Kaggle folder plus the training part of a
manifest-described set (scans from elsewhere), and the sampling that keeps either from dominating.

Only the committed training list of the external set is read here; its validation part never is.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from ..classifier.preprocess import PreprocessSpec
from ..data.folders import cached_decode
from ..data.image_sources import ManifestSource, manifest_index
from ..data.manifest import split_file
from ..names import NO_TUMOUR
from .losses import OTHER_TUMOUR

__all__ = ["ExternalPart", "NOT_FOR_TRAINING", "OTHER_TUMOUR_CHOICES", "combined_fingerprint", "load_external_part",
           "sampling_weights"]


@dataclass
class ExternalPart:
    """The external training images decoded for training, and how to name them in a checkpoint."""

    x: torch.Tensor  # uint8 (N, S, S)
    y: torch.Tensor
    record: dict  # name, manifest, split, fingerprint, images per class, left out


#: What training does with tumour types the classifier has no class for (``TrainConfig.other_tumour``).
OTHER_TUMOUR_CHOICES = ("leave_out", "not_normal")
#: Lists that judge or calibrate models: training never reads them.
NOT_FOR_TRAINING = ("validation", "calibration")


def load_external_part(manifest_path: str | Path, split: str, classes: list[str], spec: PreprocessSpec,
                       cache_dir: str | None, other_tumour: str = "leave_out") -> ExternalPart:
    """Decode the external set's ``split`` list: the rows of our classes, and the other tumour types
    too when ``other_tumour`` is ``not_normal`` (labelled ``OTHER_TUMOUR``; see ``model.training.losses``).

    Args:
        split: a committed list (``training``, ``fitting``, in ``model/splits/``) or the path of a list file.
    """
    if other_tumour not in OTHER_TUMOUR_CHOICES:
        raise ValueError(f"other_tumour must be one of {OTHER_TUMOUR_CHOICES}, not {other_tumour!r}")
    if other_tumour == "not_normal" and NO_TUMOUR not in classes:
        raise ValueError(f"other_tumour=not_normal needs a {NO_TUMOUR!r} class to train against")
    listed = split_file(split)
    if listed.stem in NOT_FOR_TRAINING:
        raise ValueError(f"the external {listed.stem} part judges or calibrates models: training never reads it")
    manifest = ManifestSource(Path(manifest_path), split).rows()
    index = manifest_index(manifest, classes, other_tumours=other_tumour == "not_normal")
    used = set(classes) | ({None} if other_tumour == "not_normal" else set())
    left_out = sorted({label for label, c in zip(manifest.labels, manifest.classes) if c not in used})
    images = {c: int((index.labels == k).sum()) for k, c in enumerate(classes)}
    if other_tumour == "not_normal":
        images["other_tumour (trained as not normal)"] = int((index.labels == OTHER_TUMOUR).sum())
    record = {"name": Path(manifest_path).parent.name, "manifest": str(manifest_path), "split": split,
              "fingerprint": index.fingerprint(), "images": images, "other_tumour": other_tumour,
              "left_out_labels": left_out}
    return ExternalPart(cached_decode(index, spec, cache_dir), torch.from_numpy(index.labels), record)


def sampling_weights(source: torch.Tensor, labels: torch.Tensor, external_share: float,
                     external_class_weight: dict[int, float] | None = None) -> torch.Tensor:
    """Per-image weights for drawing an epoch: ``external_share`` of the draws from source 1, the rest
    from source 0, and within each source every class present equally often, except that in source 1
    a class named in ``external_class_weight`` is drawn that many times as often as the others."""
    weights = torch.zeros(len(labels), dtype=torch.float64)
    for value, share in ((0, 1.0 - external_share), (1, external_share)):
        in_source = source == value
        classes = labels[in_source].unique().tolist()
        boost = {c: (external_class_weight or {}).get(c, 1.0) if value == 1 else 1.0 for c in classes}
        for c in classes:
            cell = in_source & (labels == c)
            weights[cell] = share * boost[c] / sum(boost.values()) / int(cell.sum())
    return weights


def combined_fingerprint(*fingerprints: str) -> str:
    return hashlib.sha256(":".join(fingerprints).encode()).hexdigest()
