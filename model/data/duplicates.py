"""Exact and near-duplicate images, and the validation split that keeps each duplicate cluster on one side.

Exact duplicates share their bytes (MD5). Near duplicates are candidate pairs whose perceptual
hashes (``imagehash.phash``) differ in at most ``max_hash_distance`` bits, *confirmed* by a
pixel-level Pearson correlation of at least ``min_correlation`` between the two images' 64×64
grey thumbnails, so that different scans which merely look alike are not merged.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..classifier.checkpoint import atomic_write
from .folders import ImageFolderIndex, split_train_val

THUMB = 64


@dataclass
class ImageSet:
    """Every image of the audited splits, with its hash and thumbnail."""

    names: list[str]  # "Split/class/file"
    splits: list[str]
    labels: list[str]
    digests: list[str]
    hashes: np.ndarray  # (N,) uint64 perceptual hashes
    thumbs: np.ndarray  # (N, THUMB*THUMB) z-scored float32


@dataclass
class DuplicatePair:
    a: int
    b: int
    kind: str  # "exact" or "near"
    hash_distance: int
    correlation: float


def _describe(path: Path) -> tuple[int, np.ndarray]:
    with Image.open(path) as im:
        grey = im.convert("L")
        bits = imagehash.phash(grey).hash.flatten()
        thumb = np.asarray(grey.resize((THUMB, THUMB), Image.BILINEAR), np.float32).ravel()
    value = int("".join("1" if b else "0" for b in bits), 2)
    return value, (thumb - thumb.mean()) / max(float(thumb.std()), 1e-6)


def describe_images(indexes: dict[str, ImageFolderIndex]) -> ImageSet:
    """Hash and thumbnail every image of ``{split name: index}``."""
    names, splits, labels, digests, hashes, thumbs = [], [], [], [], [], []
    for split, index in indexes.items():
        for path, label, digest in zip(index.paths, index.labels, index.digests):
            value, thumb = _describe(path)
            names.append(f"{split}/{path.parent.name}/{path.name}")
            splits.append(split)
            labels.append(index.classes[label])
            digests.append(digest)
            hashes.append(value)
            thumbs.append(thumb)
    return ImageSet(names, splits, labels, digests, np.array(hashes, dtype=np.uint64), np.stack(thumbs))


def find_duplicates(images: ImageSet, max_hash_distance: int = 8, min_correlation: float = 0.95,
                    chunk: int = 512) -> list[DuplicatePair]:
    """All exact and confirmed near-duplicate pairs ``a < b``."""
    pairs: list[DuplicatePair] = []
    n = len(images.names)
    for start in range(0, n, chunk):
        block = images.hashes[start:start + chunk, None] ^ images.hashes[None, :]
        distance = np.bitwise_count(block)
        rows, cols = np.nonzero(distance <= max_hash_distance)
        keep = cols > rows + start
        for r, c in zip(rows[keep] + start, cols[keep]):
            corr = float(images.thumbs[r] @ images.thumbs[c]) / images.thumbs.shape[1]
            exact = images.digests[r] == images.digests[c]
            if exact or corr >= min_correlation:
                pairs.append(DuplicatePair(int(r), int(c), "exact" if exact else "near",
                                           int(distance[r - start, c]), round(corr, 4)))
    return pairs


def duplicate_clusters(n: int, pairs: list[DuplicatePair]) -> list[list[int]]:
    """Connected groups (size ≥ 2) of the duplicate graph."""
    if not pairs:
        return []
    a = np.array([p.a for p in pairs])
    b = np.array([p.b for p in pairs])
    graph = coo_matrix((np.ones(len(pairs)), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(component):
        groups.setdefault(int(c), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))


def near_duplicate_groups(index: ImageFolderIndex, max_hash_distance: int = 8, min_correlation: float = 0.95,
                          cache_dir: str | Path | None = None) -> np.ndarray:
    """One group id per image of ``index``: exact and near duplicates share an id.

    Args:
        cache_dir: keep the groups there, keyed by the data's fingerprint and the two settings.
            Hashing every Training image takes about a minute; training, calibration and each
            selection candidate then reuse the one result.
    """
    if cache_dir is None:
        return _near_duplicate_groups(index, max_hash_distance, min_correlation)
    key = hashlib.sha256(f"{index.fingerprint()}:{max_hash_distance}:{min_correlation}".encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"near-groups-{key}.npy"
    if path.exists():
        return np.load(path)
    groups = _near_duplicate_groups(index, max_hash_distance, min_correlation)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as out:  # a file object: np.save would add ".npy" to the temporary name
            np.save(out, groups)

    atomic_write(path, write)
    return groups


def _near_duplicate_groups(index: ImageFolderIndex, max_hash_distance: int, min_correlation: float) -> np.ndarray:
    images = describe_images({"data": index})
    pairs = find_duplicates(images, max_hash_distance, min_correlation)
    groups = np.arange(len(index))
    for number, cluster in enumerate(duplicate_clusters(len(index), pairs)):
        groups[cluster] = len(index) + number
    return groups


def validation_split(index: ImageFolderIndex, val_fraction: float, seed: int, group_by: str = "near",
                     cache_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Training/validation split that keeps duplicate clusters on one side.

    Args:
        group_by: ``"near"`` (exact and near duplicates together, the default) or
            ``"exact"`` (byte-identical files only; what older runs used).
    """
    if group_by not in ("near", "exact"):
        raise ValueError(f"group_by must be 'near' or 'exact', not {group_by!r}")
    groups = near_duplicate_groups(index, cache_dir=cache_dir) if group_by == "near" else None
    return split_train_val(index, val_fraction, seed, groups)
