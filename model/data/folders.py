"""Folder-of-classes datasets: listing, fingerprints, leak-free split, decoded cache."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.model_selection import StratifiedGroupKFold

from ..classifier.preprocess import PreprocessSpec

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


@dataclass
class ImageFolderIndex:
    """Paths, integer labels and byte digests of a folder-of-classes tree."""

    root: Path
    classes: list[str]
    paths: list[Path]
    labels: np.ndarray
    digests: list[str]

    def __len__(self) -> int:
        return len(self.paths)

    @cached_property
    def names(self) -> list[str]:
        """``class/file`` per image: how reports, audits and exclusion lists name it."""
        return [f"{path.parent.name}/{path.name}" for path in self.paths]

    def fingerprint(self) -> str:
        """SHA-256 over sorted (class/name, content digest): identifies the data exactly."""
        h = hashlib.sha256()
        for path, digest in sorted(zip(self.paths, self.digests)):
            h.update(f"{path.parent.name}/{path.name}:{digest}\n".encode())
        return h.hexdigest()

    def subset(self, idx: np.ndarray) -> "ImageFolderIndex":
        return ImageFolderIndex(
            self.root, self.classes, [self.paths[i] for i in idx],
            self.labels[idx], [self.digests[i] for i in idx],
        )


def file_md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def index_folder(root: str | Path, classes: list[str] | None = None) -> ImageFolderIndex:
    """List ``root/<class>/<image>`` files in a stable order.

    Args:
        root: folder with one sub-folder per class.
        classes: expected class names (order = label ids); default: sorted sub-folders.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder not found: {root}")
    classes = classes or sorted(d.name for d in root.iterdir() if d.is_dir())
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        paths += files
        labels += [label] * len(files)
    if not paths:
        raise FileNotFoundError(f"no images under {root}/<class>/")
    with ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(pool.map(file_md5, paths))
    return ImageFolderIndex(root, list(classes), paths, np.asarray(labels, dtype=np.int64), digests)


def training_folder(root: str | Path) -> Path:
    """``root/Training`` when the dataset has Training/Testing folders, else ``root`` itself."""
    root = Path(root)
    return root / "Training" if (root / "Training").is_dir() else root


def split_train_val(index: ImageFolderIndex, val_fraction: float, seed: int,
                    groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split that keeps each group (default: byte-identical images) on one side.

    Args:
        groups: one integer per image; images sharing a value never straddle the split
            (see :func:`model.data.duplicates.near_duplicate_groups`).

    Returns:
        ``(train_idx, val_idx)`` index arrays into ``index``.
    """
    n_splits = max(2, round(1 / val_fraction))
    if groups is None:
        groups = np.unique(index.digests, return_inverse=True)[1]
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train_idx, val_idx = next(splitter.split(np.zeros(len(index)), index.labels, groups))
    return np.sort(train_idx), np.sort(val_idx)


def drop_listed(index: ImageFolderIndex, idx: np.ndarray, listed: set[str]) -> np.ndarray:
    """``idx`` without the images whose ``class/file`` name is in ``listed``."""
    keep = [i for i in idx if index.names[i] not in listed]
    return np.asarray(keep, dtype=np.int64)


def _decode(args: tuple[Path, PreprocessSpec]) -> np.ndarray:
    path, spec = args
    with Image.open(path) as im:
        return spec.to_square_grey(im)[0]


def decode_all(index: ImageFolderIndex, spec: PreprocessSpec) -> torch.Tensor:
    """Stage-1 preprocess every image once → uint8 tensor ``(N, S, S)``."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        arrays = list(pool.map(_decode, [(p, spec) for p in index.paths]))
    return torch.from_numpy(np.stack(arrays))


def cache_dir_arg(value: str | None) -> str | None:
    """Command-line value of ``--cache-dir``: ``none`` or empty turns caching off."""
    return None if value in (None, "", "none") else value


def cached_decode(index: ImageFolderIndex, spec: PreprocessSpec, cache_dir: str | Path | None) -> torch.Tensor:
    """:func:`decode_all`, memoised on disk by data fingerprint and spec."""
    if cache_dir is None:
        return decode_all(index, spec)
    key = hashlib.sha256((index.fingerprint() + repr(spec.to_dict())).encode()).hexdigest()[:16]
    return memoised(Path(cache_dir) / f"decoded-{key}.pt", lambda: decode_all(index, spec))


def memoised(path: Path, compute):
    """``compute()``'s tensors, kept at ``path`` (``torch.save``, written atomically) and read back from
    there (``weights_only``) on later calls."""
    if path.exists():
        return torch.load(path, weights_only=True)
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(value, tmp)
    os.replace(tmp, path)
    return value
