"""More than one data source for training: the Kaggle folder plus the training part of a
manifest-described set (scans from elsewhere), and the sampling that keeps either from dominating.

Only the committed training list of the external set is read here; its validation part never is.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..classifier.preprocess import PreprocessSpec
from ..data.folders import ImageFolderIndex, file_md5, cached_decode
from ..data.manifest import ManifestSet, read_manifest, read_split
from ..paths import EXTERNAL_SPLITS

__all__ = ["ExternalPart", "combined_fingerprint", "load_external_part", "manifest_index", "sampling_weights"]


@dataclass
class ExternalPart:
    """The external training images decoded for training, and how to name them in a checkpoint."""

    x: torch.Tensor  # uint8 (N, S, S)
    y: torch.Tensor
    record: dict  # name, manifest, split, fingerprint, images per class, left out


def manifest_index(manifest: ManifestSet, classes: list[str]) -> ImageFolderIndex:
    """The rows whose class is one of ``classes``, as an index the decoded cache understands."""
    rows = [i for i, c in enumerate(manifest.classes) if c in classes]
    paths = [manifest.root / manifest.files[i] for i in rows]
    labels = np.asarray([classes.index(manifest.classes[i]) for i in rows], dtype=np.int64)
    return ImageFolderIndex(manifest.root, list(classes), paths, labels, [file_md5(p) for p in paths])


def load_external_part(manifest_path: str | Path, split: str, classes: list[str], spec: PreprocessSpec,
                       cache_dir: str | None) -> ExternalPart:
    """Decode the external set's ``split`` list (the rows of our classes; other tumour types are left out).

    Args:
        split: a committed list (``training``, in ``model/splits/``) or the path of a list file.
    """
    listed = Path(split) if split.endswith(".txt") else EXTERNAL_SPLITS / f"{split}.txt"
    if listed.stem == "validation":
        raise ValueError("the external validation part judges models: training never reads it")
    manifest = read_manifest(manifest_path)
    manifest = manifest.subset(read_split(listed))
    index = manifest_index(manifest, classes)
    left_out = sorted({label for label, c in zip(manifest.labels, manifest.classes) if c not in classes})
    record = {"name": Path(manifest_path).parent.name, "manifest": str(manifest_path), "split": split,
              "fingerprint": index.fingerprint(), "images": {c: int((index.labels == k).sum())
                                                             for k, c in enumerate(classes)},
              "left_out_labels": left_out}
    return ExternalPart(cached_decode(index, spec, cache_dir), torch.from_numpy(index.labels), record)


def sampling_weights(source: torch.Tensor, labels: torch.Tensor, external_share: float) -> torch.Tensor:
    """Per-image weights for drawing an epoch: ``external_share`` of the draws from source 1, the rest
    from source 0, and within each source every class present equally often."""
    weights = torch.zeros(len(labels), dtype=torch.float64)
    for value, share in ((0, 1.0 - external_share), (1, external_share)):
        in_source = source == value
        classes = labels[in_source].unique()
        for c in classes:
            cell = in_source & (labels == c)
            weights[cell] = share / len(classes) / int(cell.sum())
    return weights


def combined_fingerprint(*fingerprints: str) -> str:
    return hashlib.sha256(":".join(fingerprints).encode()).hexdigest()
