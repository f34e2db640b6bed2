"""Duplicate and leakage audit of a Training/Testing image dataset (the duplicates themselves:
:mod:`model.data.duplicates`).

    python -m model audit --data ../shared/data/brain-tumor-mri --out model/weights/audit.json

Besides exact and near twins it looks for mirrored and turned copies (:mod:`model.data.transforms`),
and ``clean_testing`` is the Testing images with no Training counterpart of any of these kinds; the
subset of earlier reports (exact and near twins only) stays as ``clean_testing_before_mirror_check``.
It also lists the images Figshare labels otherwise (:func:`model.data.outlines.figshare_label_conflicts`).
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from ..paths import AUDIT_REPORT, KAGGLE_DIR
from ..results import write_json
from .duplicates import (THUMB, DuplicatePair, ImageSet, describe_images, duplicate_clusters, find_duplicates,
                         find_transformed_duplicates)
from .folders import index_folder
from .outlines import MASKS_MANIFEST, figshare_label_conflicts
from .manifest import ManifestError
from .thumbnails import save_grey_thumbnail
from .transforms import AS_IS, TRANSFORMS, inverse

__all__ = ["audit", "main", "save_examples", "summarise", "summarise_transforms"]


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


def _training_links(images: ImageSet, pairs: list[DuplicatePair]) -> dict[int, dict]:
    """Testing image → its most alike Training counterpart among ``pairs``; ``transform`` turns the
    Training image into the Testing one."""
    links: dict[int, dict] = {}
    for p in pairs:
        # p.transform turns a into b, so its inverse turns b into a
        for test, train, transform in ((p.b, p.a, p.transform), (p.a, p.b, inverse(p.transform))):
            if images.splits[test] != "Testing" or images.splits[train] != "Training":
                continue
            if test not in links or p.correlation > links[test]["correlation"]:
                links[test] = {"image": images.names[test], "training": images.names[train],
                               "transform": transform, "correlation": p.correlation}
    return links


def summarise_transforms(images: ImageSet, pairs: list[DuplicatePair], transformed: list[DuplicatePair]) -> dict:
    """What the mirror and quarter-turn check adds, and the clean Testing subset recomputed with it.

    A Testing image with an exact or near twin in Training counts "as is" even when it also has a
    mirrored one; the others count under the transform of their most alike Training counterpart.
    """
    as_is = _training_links(images, pairs)
    through_transform = {i: link for i, link in _training_links(images, transformed).items() if i not in as_is}
    how = {**{i: AS_IS for i in as_is}, **{i: link["transform"] for i, link in through_transform.items()}}
    testing = {i for i, s in enumerate(images.splits) if s == "Testing"}
    clusters = duplicate_clusters(len(images.names), pairs + transformed)
    per_class: dict[str, Counter] = {}
    for i, transform in sorted(how.items()):
        per_class.setdefault(images.labels[i], Counter())[transform] += 1
    names = images.names
    return {
        "transformed_pairs": {name: sum(p.transform == name for p in transformed) for name in TRANSFORMS},
        "transformed_pairs_by_splits": dict(Counter("/".join(sorted((images.splits[p.a], images.splits[p.b])))
                                                    for p in transformed)),
        "testing_with_training_counterpart": len(how),
        "testing_leaked_by_transform": {name: sum(t == name for t in how.values()) for name in (AS_IS, *TRANSFORMS)},
        "testing_leaked_by_transform_per_class": {label: dict(counts) for label, counts in sorted(per_class.items())},
        "clean_testing_images": len(testing - set(how)),
        "clean_testing_images_before_mirror_check": len(testing - set(as_is)),
        "label_conflict_clusters_with_transforms": sum(len({images.labels[i] for i in c}) > 1 for c in clusters),
        "clean_testing": sorted(names[i] for i in testing - set(how)),
        "clean_testing_before_mirror_check": sorted(names[i] for i in testing - set(as_is)),
        "testing_leaked_through_transform": [through_transform[i] for i in sorted(through_transform)],
        "clusters_with_transforms": [[names[i] for i in c] for c in clusters],
        # Only the pairs across Training and Testing (the leak) are listed; within a split they are counted
        # above: on the Kaggle set they are 12,500 of 19,100 and would triple the file.
        "transformed_pair_list": [{**asdict(p), "a": names[p.a], "b": names[p.b]} for p in transformed
                                  if images.splits[p.a] != images.splits[p.b]],
    }


def audit(root: str | Path, max_hash_distance: int = 8, min_correlation: float = 0.95,
          transforms: tuple[str, ...] = tuple(TRANSFORMS), masks_manifest: str | Path = MASKS_MANIFEST) -> dict:
    """Full audit of ``root/{Training,Testing}``.

    Args:
        transforms: the flips and turns under which copies are looked for (``TRANSFORMS`` names).
        masks_manifest: the Figshare masks manifest whose label conflicts the report lists; read
            first, so that a malformed one stops the audit before the hashing.
    """
    root = Path(root)
    conflicts = figshare_label_conflicts(masks_manifest)
    indexes = {split: index_folder(root / split) for split in ("Training", "Testing")}
    images = describe_images(indexes, tuple(transforms))
    pairs = find_duplicates(images, max_hash_distance, min_correlation)
    transformed = find_transformed_duplicates(images, pairs, max_hash_distance, min_correlation)
    report = summarise(images, pairs, duplicate_clusters(len(images.names), pairs))
    report.update(summarise_transforms(images, pairs, transformed))
    report["figshare_label_conflicts"] = conflicts
    report["testing_fingerprint"] = indexes["Testing"].fingerprint()
    report["class_counts"] = {split: {name: int((index.labels == i).sum()) for i, name in enumerate(index.classes)}
                              for split, index in indexes.items()}
    report["settings"] = {"hash": "imagehash.phash 64-bit", "max_hash_distance": max_hash_distance,
                          "min_correlation": min_correlation, "thumbnail": THUMB, "transforms": list(transforms),
                          "transform_names": "mirrored: left-right; rotN: N degrees anticlockwise; "
                                             "mirrored+rotN: mirrored, then turned"}
    return report


def save_examples(report: dict, root: Path, out_dir: Path, count: int = 4, side: int = 160) -> list[dict]:
    """Copy a few cross-split duplicate pairs (one exact, the rest the least similar near ones) as thumbnails,
    and one mirrored pair besides where the audit found any.

    Returns:
        The chosen pairs, with the thumbnails' file names under ``out_dir``.
    """
    cross = [p for p in report["pair_list"] if p["a"].split("/")[0] != p["b"].split("/")[0]]
    exact = [p for p in cross if p["kind"] == "exact"][:1]
    near = sorted((p for p in cross if p["kind"] == "near"), key=lambda p: p["correlation"])
    chosen = exact + near[:: max(1, len(near) // max(count - len(exact), 1))][:count - len(exact)]
    chosen += [p for p in report.get("transformed_pair_list", [])
               if p["transform"] == "mirrored" and p["a"].split("/")[0] != p["b"].split("/")[0]][:1]
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
    parser.add_argument("--transforms", nargs="*", default=list(TRANSFORMS), choices=list(TRANSFORMS),
                        help="look for copies under these flips and turns (default: all; none: as is only)")
    parser.add_argument("--masks-manifest", default=str(MASKS_MANIFEST),
                        help="the Figshare masks manifest whose label conflicts the report lists")
    parser.add_argument("--examples-dir", default=None, help="also save a few duplicate pairs as thumbnails here")
    args = parser.parse_args(argv)
    try:
        report = audit(args.data, args.max_hash_distance, args.min_correlation, tuple(args.transforms),
                       args.masks_manifest)
    except ManifestError as err:
        parser.error(str(err))
    if args.examples_dir:
        report["examples"] = save_examples(report, Path(args.data), Path(args.examples_dir))
    write_json(args.out, report, indent=None)
    headline = {k: v for k, v in report.items() if not isinstance(v, list)}
    print(json.dumps(headline, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
