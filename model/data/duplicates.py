"""Exact and near-duplicate images, and the validation split that keeps each duplicate cluster on one side.

Exact duplicates share their bytes (MD5). Near duplicates are candidate pairs whose perceptual
hashes (``imagehash.phash``) differ in at most ``max_hash_distance`` bits, *confirmed* by a
pixel-level Pearson correlation of at least ``min_correlation`` between the two images' 64×64
grey thumbnails, so that different scans which merely look alike are not merged.

Transformed duplicates (:func:`find_transformed_duplicates`) are the same test with one image of
the pair mirrored or turned first (:mod:`model.data.transforms`): the hash of the transformed
picture, and the thumbnail transformed the same way.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..results import atomic_write
from .folders import ImageFolderIndex, split_train_val
from .transforms import AS_IS, TRANSFORMS, apply_to_picture, apply_to_thumbnails, inverse

__all__ = ["GROUP_BY", "THUMB", "DuplicatePair", "ImageSet", "describe_images", "duplicate_clusters",
           "find_duplicates", "find_transformed_duplicates", "near_duplicate_groups", "validation_split"]

THUMB = 64
#: How :func:`validation_split` may group images: "near" is what every run so far used (resume
#: replays it), "near+mirror" also joins mirrored and turned copies.
GROUP_BY = ("near", "near+mirror", "exact")


@dataclass
class ImageSet:
    """Every image of the audited splits, with its hash and thumbnail."""

    names: list[str]  # "Split/class/file"
    splits: list[str]
    labels: list[str]
    digests: list[str]
    hashes: np.ndarray  # (N,) uint64 perceptual hashes
    thumbs: np.ndarray  # (N, THUMB*THUMB) z-scored float32
    #: transform name → (N,) uint64 hashes of the transformed pictures (only those asked for)
    transformed_hashes: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class DuplicatePair:
    a: int
    b: int
    kind: str  # "exact" or "near"
    hash_distance: int
    correlation: float
    #: what turns image a into image b: "as is", or a name of model.data.transforms.TRANSFORMS
    transform: str = AS_IS


def _phash_value(grey: Image.Image) -> int:
    bits = imagehash.phash(grey).hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def _describe(path: Path, transforms: tuple[str, ...] = ()) -> tuple[int, np.ndarray, list[int]]:
    with Image.open(path) as im:
        grey = im.convert("L")
        value = _phash_value(grey)
        turned = [_phash_value(apply_to_picture(grey, name)) for name in transforms]
        thumb = np.asarray(grey.resize((THUMB, THUMB), Image.BILINEAR), np.float32).ravel()
    return value, (thumb - thumb.mean()) / max(float(thumb.std()), 1e-6), turned


def describe_images(indexes: dict[str, ImageFolderIndex], transforms: tuple[str, ...] = ()) -> ImageSet:
    """Hash and thumbnail every image of ``{split name: index}``.

    Args:
        transforms: also hash each picture under these (names of ``TRANSFORMS``); off by default,
            so the near-duplicate groups of earlier runs cost what they did.
    """
    names, splits, labels, digests, hashes, thumbs, turned = [], [], [], [], [], [], []
    for split, index in indexes.items():
        for path, label, digest in zip(index.paths, index.labels, index.digests):
            value, thumb, turned_values = _describe(path, transforms)
            names.append(f"{split}/{path.parent.name}/{path.name}")
            splits.append(split)
            labels.append(index.classes[label])
            digests.append(digest)
            hashes.append(value)
            thumbs.append(thumb)
            turned.append(turned_values)
    by_transform = {name: np.array([t[k] for t in turned], dtype=np.uint64) for k, name in enumerate(transforms)}
    return ImageSet(names, splits, labels, digests, np.array(hashes, dtype=np.uint64), np.stack(thumbs),
                    by_transform)


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


def find_transformed_duplicates(images: ImageSet, known: list[DuplicatePair], max_hash_distance: int = 8,
                                min_correlation: float = 0.95, chunk: int = 512) -> list[DuplicatePair]:
    """Confirmed pairs ``a < b`` where ``b`` is a transformed copy of ``a``, and not a pair of ``known``.

    Every transform in ``images.transformed_hashes`` is tried with the same two tests as
    :func:`find_duplicates`; a pair that matches under several keeps its best correlation.
    """
    taken = {(p.a, p.b) for p in known}
    best: dict[tuple[int, int], DuplicatePair] = {}
    for name, turned in images.transformed_hashes.items():
        for r, c, distance, corr in _transform_matches(images, turned, name, max_hash_distance, min_correlation,
                                                       chunk):
            # image r transformed matches c, so c under the inverse matches r: store it as a < b
            a, b, transform = (r, c, name) if r < c else (c, r, inverse(name))
            if (a, b) not in taken and ((a, b) not in best or corr > best[a, b].correlation):
                best[a, b] = DuplicatePair(a, b, "near", distance, round(corr, 4), transform)
    return [best[key] for key in sorted(best)]


def _transform_matches(images: ImageSet, turned: np.ndarray, name: str, max_hash_distance: int,
                       min_correlation: float, chunk: int):
    """(r, c, hash distance, correlation) for every confirmed match of image r under ``name`` with image c."""
    width = images.thumbs.shape[1]
    for start in range(0, len(turned), chunk):
        distance = np.bitwise_count(turned[start:start + chunk, None] ^ images.hashes[None, :])
        rows, cols = np.nonzero(distance <= max_hash_distance)
        keep = cols != rows + start  # an image that is its own mirror image is no duplicate
        rows, cols = rows[keep], cols[keep]
        if not len(rows):
            continue
        transformed = apply_to_thumbnails(images.thumbs[rows + start], name)
        correlations = np.einsum("ij,ij->i", transformed, images.thumbs[cols]) / width
        confirmed = correlations >= min_correlation
        for r, c, corr in zip(rows[confirmed], cols[confirmed], correlations[confirmed]):
            yield int(r + start), int(c), int(distance[r, c]), float(corr)


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
                          cache_dir: str | Path | None = None, with_transforms: bool = False) -> np.ndarray:
    """One group id per image of ``index``: exact and near duplicates share an id.

    Args:
        cache_dir: keep the groups there, keyed by the data's fingerprint and the two settings.
            Hashing every Training image takes about a minute; training, calibration and each
            selection candidate then reuse the one result.
        with_transforms: also join mirrored and turned copies (:func:`find_transformed_duplicates`).
    """
    if cache_dir is None:
        return _near_duplicate_groups(index, max_hash_distance, min_correlation, with_transforms)
    # The key of the plain groups is the one earlier runs cached under; only the new grouping adds a tag.
    tag = ":transforms" if with_transforms else ""
    settings = f"{index.fingerprint()}:{max_hash_distance}:{min_correlation}{tag}"
    path = Path(cache_dir) / f"near-groups-{hashlib.sha256(settings.encode()).hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    groups = _near_duplicate_groups(index, max_hash_distance, min_correlation, with_transforms)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as out:  # a file object: np.save would add ".npy" to the temporary name
            np.save(out, groups)

    atomic_write(path, write)
    return groups


def _near_duplicate_groups(index: ImageFolderIndex, max_hash_distance: int, min_correlation: float,
                           with_transforms: bool = False) -> np.ndarray:
    images = describe_images({"data": index}, tuple(TRANSFORMS) if with_transforms else ())
    pairs = find_duplicates(images, max_hash_distance, min_correlation)
    if with_transforms:
        pairs += find_transformed_duplicates(images, pairs, max_hash_distance, min_correlation)
    groups = np.arange(len(index))
    for number, cluster in enumerate(duplicate_clusters(len(index), pairs)):
        groups[cluster] = len(index) + number
    return groups


def validation_split(index: ImageFolderIndex, val_fraction: float, seed: int, group_by: str = "near",
                     cache_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Training/validation split that keeps duplicate clusters on one side.

    Args:
        group_by: ``"near"`` (exact and near duplicates together, the default; what every run so far
            used), ``"near+mirror"`` (also mirrored and turned copies) or ``"exact"`` (byte-identical
            files only; what older runs used).
    """
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(map(repr, GROUP_BY))}, not {group_by!r}")
    if group_by == "exact":
        return split_train_val(index, val_fraction, seed, None)
    groups = near_duplicate_groups(index, cache_dir=cache_dir, with_transforms=group_by == "near+mirror")
    return split_train_val(index, val_fraction, seed, groups)
