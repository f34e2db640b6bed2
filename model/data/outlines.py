"""Hand-drawn tumour outlines for the Kaggle tumour images (``../shared/data/brain-tumor-mri-masks``).

Most glioma, meningioma and pituitary images of the Kaggle set are slices of the Figshare set (Cheng et
al., 2015), which ships a tumour mask per slice; the masks folder holds them resized to the Kaggle image
and mirrored where the Kaggle copy is. Its ``manifest.csv``:

    image,mask,figshare_index,mirrored,figshare_label,label_conflict
    Testing/glioma/Te-gl_0010.jpg,Testing/glioma/Te-gl_0010_mask.png,1234,0,glioma,0

``image`` is a path in the Kaggle folder, ``mask`` one in the masks folder. Every problem with the
manifest is an :class:`OutlineManifestError` (a :class:`~model.data.manifest.ManifestError`) that names
the file, the line and the fix.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..paths import KAGGLE_DIR, KAGGLE_MASKS_DIR
from .manifest import ManifestError

__all__ = ["COLUMNS", "MASKS_MANIFEST", "SPLITS", "OutlineManifestError", "OutlineSet", "figshare_label_conflicts",
           "load_mask", "read_outlines"]

COLUMNS = ("image", "mask", "figshare_index", "mirrored", "figshare_label", "label_conflict")
SPLITS = ("Training", "Testing")
MASKS_MANIFEST = KAGGLE_MASKS_DIR / "manifest.csv"


class OutlineManifestError(ManifestError):
    """The masks manifest cannot be used; ``str(err)`` says where and why."""


@dataclass
class OutlineSet:
    """Images with a tumour outline: their paths (Kaggle folder), their masks (masks folder), the Kaggle
    class folder of each, whether the Kaggle copy is the mirrored slice and whether Figshare's label
    differs from the folder's."""

    image_root: Path
    mask_root: Path
    images: list[str]
    masks: list[str]
    classes: list[str]
    figshare_labels: list[str]
    mirrored: np.ndarray
    label_conflict: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def image_paths(self) -> list[Path]:
        return [self.image_root / name for name in self.images]

    def mask_paths(self) -> list[Path]:
        return [self.mask_root / name for name in self.masks]

    @property
    def names(self) -> list[str]:
        """``class/file`` per image, as the evaluation and the audit name Kaggle images."""
        return [name.split("/", 1)[1] for name in self.images]

    def subset(self, idx) -> "OutlineSet":
        idx = np.asarray(idx, dtype=np.int64)
        return OutlineSet(self.image_root, self.mask_root, [self.images[i] for i in idx],
                          [self.masks[i] for i in idx], [self.classes[i] for i in idx],
                          [self.figshare_labels[i] for i in idx], self.mirrored[idx], self.label_conflict[idx])

    def split(self, name: str) -> "OutlineSet":
        """The rows of one Kaggle split (``Training`` or ``Testing``)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose from {list(SPLITS)}")
        return self.subset([i for i, image in enumerate(self.images) if image.split("/", 1)[0] == name])


def read_outlines(masks_dir: str | Path = KAGGLE_MASKS_DIR, image_root: str | Path = KAGGLE_DIR,
                  split: str | None = None, check_files: bool = True) -> OutlineSet:
    """Read ``masks_dir/manifest.csv`` (or ``masks_dir`` itself when it names a ``.csv``); ``split``
    keeps one Kaggle split.

    Raises:
        OutlineManifestError: a missing manifest or column, no rows, a malformed row, an image listed
            twice, or (with ``check_files``) an image or mask missing on disk.
    """
    path = Path(masks_dir) if Path(masks_dir).suffix == ".csv" else Path(masks_dir) / "manifest.csv"
    if not path.is_file():
        raise OutlineManifestError(f"outline manifest not found: {path} (see the masks folder's README.md)")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise OutlineManifestError(f"{path} lacks the column(s) {missing}; it needs {list(COLUMNS)}, "
                                       "comma-separated, with a header line")
        rows = [_checked_row(str(path), number, row) for number, row in enumerate(reader, start=2)]
    if not rows:
        raise OutlineManifestError(f"{path} lists no images")
    twice = [name for name, n in Counter(row[0] for row in rows).items() if n > 1]
    if twice:
        raise OutlineManifestError(f"{path} lists {len(twice)} image(s) more than once, e.g. {twice[0]}")
    images, masks, classes, figshare, mirrored, conflict = (list(column) for column in zip(*rows))
    found = OutlineSet(Path(image_root), path.parent, images, masks, classes, figshare,
                       np.asarray(mirrored, dtype=bool), np.asarray(conflict, dtype=bool))
    found = found.split(split) if split else found
    if check_files:
        _check_files(path.name, found)
    return found


def _checked_row(name: str, number: int, row: dict) -> tuple[str, str, str, str, bool, bool]:
    """One manifest row as (image, mask, class, Figshare's label, mirrored, label conflict), or a clear error."""
    where = f"{name}, line {number}"
    if any(row.get(c) is None for c in COLUMNS):
        raise OutlineManifestError(f"{where}: fewer fields than the header has")
    image, mask = row["image"].strip(), row["mask"].strip()
    parts = image.split("/")
    if len(parts) != 3 or parts[0] not in SPLITS or not mask:
        raise OutlineManifestError(f"{where}: image {image!r} is not <Training|Testing>/<class>/<file>, "
                                   "or the mask is missing")
    flags = [row[c].strip() for c in ("mirrored", "label_conflict")]
    if any(flag not in ("0", "1") for flag in flags):
        raise OutlineManifestError(f"{where}: mirrored and label_conflict must be 0 or 1, not {flags}")
    return image, mask, parts[1], row["figshare_label"].strip(), flags[0] == "1", flags[1] == "1"


def _check_files(name: str, found: OutlineSet) -> None:
    for kind, paths in (("image", found.image_paths()), ("mask", found.mask_paths())):
        absent = [p for p in paths if not p.is_file()]
        if absent:
            raise OutlineManifestError(f"{len(absent)} {kind}(s) listed in {name} are missing, e.g. {absent[0]}")


def load_mask(path: str | Path, side: int | None = None) -> np.ndarray:
    """A mask as a boolean ``(side, side)`` array (its own size when ``side`` is ``None``).

    Resized by nearest neighbour, so the outline is not blurred into a band of in-between values.
    """
    with Image.open(path) as im:
        grey = im.convert("L")
        if side is not None and grey.size != (side, side):
            grey = grey.resize((side, side), Image.NEAREST)
        return np.asarray(grey) > 127


def figshare_label_conflicts(manifest: str | Path = MASKS_MANIFEST) -> dict:
    """The images whose Kaggle class folder disagrees with Figshare's label, as the audit reports them
    (four in the masks manifest, filed as pituitary in Kaggle, meningiomas in Figshare).

    Returns:
        ``manifest`` (its path), ``found`` (whether it exists), ``images`` (one dict per conflict:
        ``image`` as "Split/class/file", ``kaggle_label``, ``figshare_label``) and ``note``, a line
        saying where the list came from, or that it is empty because the manifest is absent.

    Raises:
        OutlineManifestError: the manifest exists but is malformed (the message names file and line).
    """
    manifest = Path(manifest)
    if not manifest.exists():
        return {"manifest": str(manifest), "found": False, "images": [],
                "note": f"no masks manifest at {manifest}: label conflicts with Figshare not checked"}
    rows = read_outlines(manifest, check_files=False)  # the audit needs the labels, not the mask files
    images = [{"image": rows.images[i], "kaggle_label": rows.classes[i], "figshare_label": rows.figshare_labels[i]}
              for i in np.flatnonzero(rows.label_conflict)]
    return {"manifest": str(manifest), "found": True, "images": images,
            "note": f"{len(images)} of {len(rows)} manifest rows label the image differently from Figshare"}
