"""Duplicate and leakage audit of a Training/Testing image dataset.

    python -m model.audit --data ../shared/data/brain-tumor-mri --out model/weights/audit.json

Exact duplicates share their bytes (MD5). Near duplicates are candidate
pairs whose perceptual hashes (``imagehash.phash``) differ in at most
``max_hash_distance`` bits, *confirmed* by a pixel-level Pearson correlation
of at least ``min_correlation`` between the two images' 64×64 grey
thumbnails, so that different scans which merely look alike are not merged.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .checkpoint import atomic_write
from .data import ImageFolderIndex, index_folder, split_train_val

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


def near_duplicate_groups(index: ImageFolderIndex, max_hash_distance: int = 8,
                          min_correlation: float = 0.95) -> np.ndarray:
    """One group id per image of ``index``: exact and near duplicates share an id."""
    images = describe_images({"data": index})
    pairs = find_duplicates(images, max_hash_distance, min_correlation)
    groups = np.arange(len(index))
    for number, cluster in enumerate(duplicate_clusters(len(index), pairs)):
        groups[cluster] = len(index) + number
    return groups


def validation_split(index: ImageFolderIndex, val_fraction: float, seed: int,
                     group_by: str = "near") -> tuple[np.ndarray, np.ndarray]:
    """Training/validation split that keeps duplicate clusters on one side.

    Args:
        group_by: ``"near"`` (exact and near duplicates together, the default) or
            ``"exact"`` (byte-identical files only; what older runs used).
    """
    if group_by not in ("near", "exact"):
        raise ValueError(f"group_by must be 'near' or 'exact', not {group_by!r}")
    groups = near_duplicate_groups(index) if group_by == "near" else None
    return split_train_val(index, val_fraction, seed, groups)


def summarise(images: ImageSet, pairs: list[DuplicatePair], clusters: list[list[int]]) -> dict:
    """Counts per split and class, cross-split leaks, label conflicts and the clean test list."""
    partner_splits: dict[int, set[str]] = {}
    for p in pairs:
        partner_splits.setdefault(p.a, set()).add(images.splits[p.b])
        partner_splits.setdefault(p.b, set()).add(images.splits[p.a])
    leaked = [i for i, s in partner_splits.items() if images.splits[i] == "Testing" and "Training" in s]
    conflicts = [c for c in clusters if len({images.labels[i] for i in c}) > 1]
    testing = [i for i, s in enumerate(images.splits) if s == "Testing"]
    per_class = Counter((images.splits[i], images.labels[i]) for i in leaked)
    return {
        "n_images": len(images.names),
        "pairs": {k: sum(p.kind == k for p in pairs) for k in ("exact", "near")},
        "pairs_by_splits": dict(Counter("/".join(sorted((images.splits[p.a], images.splits[p.b])))
                                        for p in pairs)),
        "images_in_a_cluster": dict(Counter(images.splits[i] for c in clusters for i in c)),
        "testing_images": len(testing),
        "testing_with_training_duplicate": len(leaked),
        "testing_leaked_per_class": {label: n for (_, label), n in sorted(per_class.items())},
        "clean_testing_images": len(testing) - len(leaked),
        "label_conflict_clusters": len(conflicts),
        "clean_testing": sorted(images.names[i] for i in set(testing) - set(leaked)),
        "clusters": [[images.names[i] for i in c] for c in clusters],
        "label_conflicts": [[f"{images.names[i]} ({images.labels[i]})" for i in c] for c in conflicts],
        "pair_list": [{**asdict(p), "a": images.names[p.a], "b": images.names[p.b]} for p in pairs],
    }


def audit(root: str | Path, max_hash_distance: int = 8, min_correlation: float = 0.95) -> dict:
    """Full audit of ``root/{Training,Testing}``."""
    root = Path(root)
    indexes = {split: index_folder(root / split) for split in ("Training", "Testing")}
    images = describe_images(indexes)
    pairs = find_duplicates(images, max_hash_distance, min_correlation)
    report = summarise(images, pairs, duplicate_clusters(len(images.names), pairs))
    report["testing_fingerprint"] = indexes["Testing"].fingerprint()
    report["class_counts"] = {split: {name: int((index.labels == i).sum()) for i, name in enumerate(index.classes)}
                              for split, index in indexes.items()}
    report["settings"] = {"hash": "imagehash.phash 64-bit", "max_hash_distance": max_hash_distance,
                          "min_correlation": min_correlation, "thumbnail": THUMB}
    return report


def save_grey_thumbnail(source: Path, target: Path, side: int = 160) -> None:
    """A grey JPEG of ``source`` that fits in ``side`` x ``side`` (for the Data & evaluation page)."""
    with Image.open(source) as im:
        thumb = im.convert("L")
    thumb.thumbnail((side, side))
    thumb.save(target, quality=90)


def thumbnail_name(image: str) -> str:
    """A flat JPEG file name for a dataset image: ``glioma/Te-gl_0001.png`` → ``glioma_Te-gl_0001.jpg``."""
    return str(Path(image).with_suffix(".jpg")).replace("/", "_")


def replace_thumbnails(root: Path, images: list[str], out_dir: Path, side: int = 160) -> list[str]:
    """Empty ``out_dir`` of JPEGs, then write a grey thumbnail of each image under ``root``.

    Removing the previous run's pictures first keeps the folder in step with the
    report written beside it.

    Returns:
        The thumbnails' file names (:func:`thumbnail_name`), in the order of ``images``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.jpg"):
        old.unlink()
    names = [thumbnail_name(image) for image in images]
    for image, name in zip(images, names):
        save_grey_thumbnail(Path(root) / image, out_dir / name, side)
    return names


def save_examples(report: dict, root: Path, out_dir: Path, count: int = 4, side: int = 160) -> list[dict]:
    """Copy a few cross-split duplicate pairs (one exact, the rest the least similar near ones) as thumbnails.

    Returns:
        The chosen pairs, with the thumbnails' file names under ``out_dir``.
    """
    cross = [p for p in report["pair_list"] if p["a"].split("/")[0] != p["b"].split("/")[0]]
    exact = [p for p in cross if p["kind"] == "exact"][:1]
    near = sorted((p for p in cross if p["kind"] == "near"), key=lambda p: p["correlation"])
    chosen = exact + near[:: max(1, len(near) // max(count - len(exact), 1))][:count - len(exact)]
    out_dir.mkdir(parents=True, exist_ok=True)
    for number, pair in enumerate(chosen):
        for side_name in ("a", "b"):
            name = f"pair{number}_{side_name}.jpg"
            save_grey_thumbnail(root / pair[side_name], out_dir / name, side)
            pair[f"{side_name}_thumbnail"] = name
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/brain-tumor-mri")
    parser.add_argument("--out", default="model/weights/audit.json")
    parser.add_argument("--max-hash-distance", type=int, default=8)
    parser.add_argument("--min-correlation", type=float, default=0.95)
    parser.add_argument("--examples-dir", default=None, help="also save a few duplicate pairs as thumbnails here")
    args = parser.parse_args(argv)
    report = audit(args.data, args.max_hash_distance, args.min_correlation)
    if args.examples_dir:
        report["examples"] = save_examples(report, Path(args.data), Path(args.examples_dir))
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(json.dumps(report)))
    headline = {k: v for k, v in report.items() if not isinstance(v, list)}
    print(json.dumps(headline, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
