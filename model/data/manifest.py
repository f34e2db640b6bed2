"""Image sets described by a manifest (one row per file: label, tumour type, sequence, case group), such
as the external collection in ``../shared/data/feltrin-44-dev``; and their fixed case-grouped split.

    file    label    tumour_type    sequence    case_group
    glioma/Astrocitoma_T1C___007.jpeg    glioma    Astrocitoma    T1C+    3288

A label the classifier does not have (``other_tumour``) maps to ``None`` and is reported apart.
Every problem with a manifest is a :class:`ManifestError` that names the file, the line and the fix.
"""
from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..results import atomic_write

__all__ = ["COLUMNS", "FELTRIN_LABELS", "ManifestError", "ManifestSet", "SEQUENCES", "read_manifest",
           "read_split", "split_by_case", "split_file", "write_split"]

COLUMNS = ("file", "label", "tumour_type", "sequence", "case_group")
SEQUENCES = ("T1", "T1C+", "T2")
#: The external collection's labels → the classifier's classes (None: a tumour type it does not know).
FELTRIN_LABELS = {"glioma": "glioma", "meningioma": "meningioma", "notumor": "notumor", "other_tumour": None}


class ManifestError(ValueError):
    """The manifest cannot be used; ``str(err)`` says where and why."""


@dataclass
class ManifestSet:
    """The rows of a manifest, their files under ``root`` and each row's class (``None``: not one of ours)."""

    root: Path
    files: list[str]
    labels: list[str]
    classes: list[str | None]
    tumour_types: list[str]
    sequences: list[str]
    case_groups: list[str]

    def __len__(self) -> int:
        return len(self.files)

    def paths(self) -> list[Path]:
        return [self.root / f for f in self.files]

    def subset(self, names: set[str] | list[str]) -> "ManifestSet":
        wanted = set(names)
        keep = [i for i, f in enumerate(self.files) if f in wanted]
        return ManifestSet(self.root, *([column[i] for i in keep] for column in (
            self.files, self.labels, self.classes, self.tumour_types, self.sequences, self.case_groups)))

    def image_chunks(self, size: int):
        """The images in order, ``size`` at a time, each decoded and detached from its file."""
        from PIL import Image

        for start in range(0, len(self), size):
            chunk = []
            for path in self.paths()[start:start + size]:
                with Image.open(path) as im:
                    im.load()
                    chunk.append(im.copy())
            yield chunk

    def fingerprint(self) -> str:
        """SHA-256 over sorted (file, label, content digest): identifies the images and their labels."""
        h = hashlib.sha256()
        for name, label in sorted(zip(self.files, self.labels)):
            h.update(f"{name}:{label}:{hashlib.md5((self.root / name).read_bytes()).hexdigest()}\n".encode())
        return h.hexdigest()


def read_manifest(path: str | Path, label_map: dict[str, str | None] = FELTRIN_LABELS,
                  check_files: bool = True) -> ManifestSet:
    """Read a tab-separated manifest; file paths are relative to its folder.

    Raises:
        ManifestError: missing file or columns, an empty manifest, an unknown label or sequence, an
            empty case group, a file listed twice or missing on disk.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{path.name} lacks the column(s) {missing}; a manifest needs {list(COLUMNS)}, "
                                "tab-separated, with a header line")
        rows = [(number, row) for number, row in enumerate(reader, start=2)]
    if not rows:
        raise ManifestError(f"{path.name} lists no images")
    for number, row in rows:
        _check_row(path.name, number, row, label_map)
    twice = [f for f, n in Counter(row["file"] for _, row in rows).items() if n > 1]
    if twice:
        raise ManifestError(f"{path.name} lists {len(twice)} file(s) more than once, e.g. {twice[0]}")
    found = ManifestSet(path.parent, *([row[c].strip() for _, row in rows] for c in ("file", "label")),
                        [label_map[row["label"].strip()] for _, row in rows],
                        *([row[c].strip() for _, row in rows] for c in ("tumour_type", "sequence", "case_group")))
    if check_files:
        absent = [f for f in found.files if not (found.root / f).is_file()]
        if absent:
            raise ManifestError(f"{len(absent)} file(s) listed in {path.name} are not under {found.root}, "
                                f"e.g. {absent[0]}")
    return found


def _check_row(name: str, number: int, row: dict, label_map: dict[str, str | None]) -> None:
    where = f"{name}, line {number}"
    if any(row.get(c) is None for c in COLUMNS):
        raise ManifestError(f"{where}: fewer fields than the header has")
    if not row["file"].strip():
        raise ManifestError(f"{where}: no file name")
    if row["label"].strip() not in label_map:
        raise ManifestError(f"{where}: label {row['label']!r} is not one of {sorted(label_map)}")
    if row["sequence"].strip() not in SEQUENCES:
        raise ManifestError(f"{where}: sequence {row['sequence']!r} is not one of {list(SEQUENCES)}")
    if not row["case_group"].strip():
        raise ManifestError(f"{where}: no case group (slices of one case must share one)")


def split_by_case(manifest: ManifestSet, validation_fraction: float = 0.3, seed: int = 0,
                  candidates: int = 20) -> tuple[list[str], list[str]]:
    """A training part and a validation part, each case group wholly on one side, stratified by
    label and sequence.

    The rule, fixed before any model was scored on the result: every fold of scikit-learn's
    StratifiedGroupKFold for ``candidates`` shuffles (seeds ``seed`` on) is a candidate validation
    part; the one whose share of each label × sequence stratum is closest to ``validation_fraction``
    (least sum of squared differences, the total share counted as one more stratum) is kept. A
    single shuffle is not enough where a few case groups are very large (in feltrin-44-dev one
    group holds 490 slices, 360 of them meningiomas).

    Returns:
        ``(training files, validation files)``, each sorted.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    strata = np.unique([f"{label}/{sequence}" for label, sequence in zip(manifest.labels, manifest.sequences)],
                       return_inverse=True)[1]
    groups = np.unique(manifest.case_groups, return_inverse=True)[1]
    totals = np.bincount(strata)

    def distance(val_idx: np.ndarray) -> float:
        shares = np.bincount(strata[val_idx], minlength=len(totals)) / totals
        return float(((shares - validation_fraction) ** 2).sum() + (len(val_idx) / len(strata) - validation_fraction) ** 2)

    folds = max(2, round(1 / validation_fraction))
    best = min((fold for s in range(seed, seed + candidates)
                for fold in StratifiedGroupKFold(folds, shuffle=True, random_state=s).split(strata, strata, groups)),
               key=lambda fold: distance(fold[1]))
    train_idx, val_idx = best
    return sorted(manifest.files[i] for i in train_idx), sorted(manifest.files[i] for i in val_idx)


def write_split(path: str | Path, files: list[str]) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text("".join(f"{f}\n" for f in files)))


def split_file(split: str) -> Path:
    """A committed list's file (``training`` → ``model/splits/<set>/training.txt``), or a ``.txt`` path as it is."""
    from ..paths import EXTERNAL_SPLITS

    return Path(split) if split.endswith(".txt") else EXTERNAL_SPLITS / f"{split}.txt"


def read_split(path: str | Path) -> list[str]:
    """A committed file list (one manifest path a line)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"split file not found: {path}")
    return [line for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> None:
    """Write the fixed split of a manifest-described set: ``training.txt`` and ``validation.txt``, and
    the training part cut again into ``fitting.txt`` and ``calibration.txt`` by the same rule."""
    import argparse

    from ..paths import EXTERNAL_DIR, EXTERNAL_SPLITS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default=str(EXTERNAL_DIR / "manifest.tsv"))
    parser.add_argument("--out-dir", default=str(EXTERNAL_SPLITS))
    parser.add_argument("--validation-fraction", type=float, default=0.3)
    parser.add_argument("--calibration-fraction", type=float, default=0.2,
                        help="share of the training part kept out of training to fit the temperature on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        manifest = read_manifest(args.manifest)
    except ManifestError as err:
        parser.exit(2, f"error: {err}\n")
    training, validation = split_by_case(manifest, args.validation_fraction, args.seed)
    fitting, calibration = split_by_case(manifest.subset(training), args.calibration_fraction, args.seed)
    for part, files in (("training", training), ("validation", validation), ("fitting", fitting),
                        ("calibration", calibration)):
        write_split(Path(args.out_dir) / f"{part}.txt", files)
        rows = manifest.subset(files)
        counts = Counter(f"{label}/{sequence}" for label, sequence in zip(rows.labels, rows.sequences))
        print(f"{part}: {len(files)} images, {len(set(rows.case_groups))} case groups; "
              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"wrote {args.out_dir}")


if __name__ == "__main__":
    main()
