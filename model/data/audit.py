"""Duplicate and leakage audit of a Training/Testing image dataset (the duplicates themselves:
:mod:`model.data.duplicates`).

    python -m model audit --data ../shared/data/brain-tumor-mri --out model/weights/audit.json
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from ..classifier.checkpoint import atomic_write
from ..paths import AUDIT_REPORT, KAGGLE_DIR
from .duplicates import THUMB, DuplicatePair, ImageSet, describe_images, duplicate_clusters, find_duplicates
from .folders import index_folder
from .thumbnails import save_grey_thumbnail


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
    parser.add_argument("--data", default=str(KAGGLE_DIR))
    parser.add_argument("--out", default=str(AUDIT_REPORT))
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
