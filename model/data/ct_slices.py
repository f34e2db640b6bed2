"""CT slices inside an "MRI" dataset: a skull-ring check.

    python -m model.data.ct_slices --data ../shared/data/brain-tumor-mri --out model/weights/ct_like.json \\
        --examples-dir assets/ct_like

On a head CT shown in a brain window, bone is the densest tissue and saturates: the skull is a
closed ring of near-white pixels around grey brain. On MRI, cortical bone gives almost no signal,
so the near-white pixels (fat, enhancing tumour, fluid) rarely close a ring around the head.
:func:`skull_ring_share` measures the share of the head enclosed by such a ring. On the Kaggle
Brain Tumor MRI Dataset (7,023 images) it is at most 0.03 or at least 0.69, with nothing in
between, and every image above the gap looked like a CT when viewed (2026-11-25).

The check only finds CT slices whose skull ring is closed and saturated; it is an audit of the
training data, not a guard the app relies on: under simulated scanner changes (``model.evaluation.shifts``) it
flags a few brightened or noisy MRIs and misses CT slices under coil shading or heavy JPEG.
``model.training.train --exclude`` reads a report of this module to leave the flagged slices out of training.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from ..classifier.preprocess import head_mask, to_grey_uint8
from ..paths import CT_LIKE_REPORT, KAGGLE_DIR
from ..results import write_json
from .folders import index_folder
from .thumbnails import replace_thumbnails

#: Pixels at least this share of the image's maximum count as saturated (bone on CT).
SATURATED = 0.98
#: Head share enclosed by a saturated ring above which a slice looks like a CT.
CT_RING_SHARE = 0.3
#: Side of the grid the check works on: fine enough for a skull a few pixels thick.
_GRID = 256


def skull_ring_share(image: Image.Image) -> float:
    """Share of the head's area enclosed by (not part of) a ring of saturated pixels.

    Args:
        image: any PIL image.

    Returns:
        0 when no closed ring of near-maximum pixels surrounds anything; near the
        brain's share of the head for a CT slice in a brain window.
    """
    grey = np.asarray(Image.fromarray(to_grey_uint8(image)).resize((_GRID, _GRID), Image.BILINEAR))
    head_small = ndimage.binary_fill_holes(head_mask(grey))
    if not head_small.any():
        return 0.0
    head = np.asarray(Image.fromarray(head_small.astype(np.uint8) * 255).resize((_GRID, _GRID), Image.NEAREST)) > 0
    saturated = (grey >= SATURATED * max(int(grey.max()), 1)) & head
    # Closing bridges one-pixel gaps that JPEG ringing leaves in a skull.
    saturated = ndimage.binary_closing(saturated, iterations=2)
    enclosed = ndimage.binary_fill_holes(saturated) & ~saturated
    return float(enclosed.sum() / head.sum())


def looks_like_ct(image: Image.Image) -> bool:
    """Whether a closed saturated skull ring surrounds the brain, as on a head CT."""
    return skull_ring_share(image) > CT_RING_SHARE


def find_ct_like(root: str | Path, splits: tuple[str, ...] = ("Training", "Testing")) -> dict:
    """Every image under ``root/<split>/<class>/`` that looks like a CT slice.

    Returns:
        ``{"images": [{"image": "Split/class/file", "ring_share": s}, …], "counts":
        {split: {class: n}}, "checked": {split: n}, "settings": {…}}``.
    """
    root = Path(root)
    found, checked = [], {}
    for split in splits:
        index = index_folder(root / split)
        checked[split] = len(index)
        for path in index.paths:
            with Image.open(path) as image:
                share = skull_ring_share(image)
            if share > CT_RING_SHARE:
                found.append({"image": f"{split}/{path.parent.name}/{path.name}", "ring_share": round(share, 4)})
    counts = {split: dict(Counter(f["image"].split("/")[1] for f in found if f["image"].startswith(split + "/")))
              for split in splits}
    return {"images": found, "counts": counts, "checked": checked,
            "settings": {"saturated": SATURATED, "ct_ring_share": CT_RING_SHARE, "grid": _GRID}}


def flagged_names(report_path: str | Path, split: str) -> set[str]:
    """``class/file`` names of the ``split`` images that a :func:`find_ct_like` report lists.

    Args:
        report_path: the JSON file ``python -m model.data.ct_slices`` wrote.
    """
    images = json.loads(Path(report_path).read_text())["images"]
    return {item["image"].split("/", 1)[1] for item in images if item["image"].startswith(split + "/")}


def save_examples(report: dict, root: Path, out_dir: Path, count: int = 5, side: int = 160) -> list[str]:
    """Thumbnails of ``count`` flagged images spread over the list; stale ones are removed first.

    Returns:
        The thumbnails' file names under ``out_dir``, in the order of ``report["images"]``.
    """
    images = report["images"]
    chosen = images[:: max(1, len(images) // count)][:count] if images else []
    names = replace_thumbnails(root, [item["image"] for item in chosen], out_dir, side)
    for item, name in zip(chosen, names):
        item["thumbnail"] = name
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=KAGGLE_DIR)
    parser.add_argument("--out", type=Path, default=CT_LIKE_REPORT)
    parser.add_argument("--examples-dir", type=Path, default=None, help="also save a few flagged images here")
    args = parser.parse_args(argv)
    report = find_ct_like(args.data)
    if args.examples_dir:
        save_examples(report, args.data, args.examples_dir)
    write_json(args.out, report)
    for split, per_class in report["counts"].items():
        total = sum(per_class.values())
        print(f"{split}: {total} of {report['checked'][split]:,} look like CT slices {per_class}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
