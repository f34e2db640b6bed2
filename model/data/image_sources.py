"""Where labelled images come from: one interface, one class per kind of source.

Training, calibration and evaluation read every source as an :class:`~model.data.folders.ImageFolderIndex`
(paths, integer labels, content digests), which the decoded cache, the splits and the fingerprints
understand. Two kinds exist: a folder of class folders (the Kaggle set) and a manifest with a committed
file list (scans from elsewhere). A third kind (another hospital's CSV, say) is one more class with a
``name`` and a ``labelled_index``, and one line in :func:`open_source`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from ..names import OTHER_TUMOUR_LABEL
from .folders import ImageFolderIndex, file_md5, index_folder
from .manifest import ManifestError, ManifestSet, read_manifest, read_split, split_file

__all__ = ["FolderSource", "ImageSource", "ManifestSource", "manifest_index", "open_source"]


@runtime_checkable
class ImageSource(Protocol):
    """A set of labelled image files."""

    @property
    def name(self) -> str:
        """What a checkpoint's record calls the source."""

    def labelled_index(self, classes: Sequence[str], other_tumours: bool = False) -> ImageFolderIndex:
        """The images of ``classes``, labelled by their position in it; with ``other_tumours``, also the
        tumours of types not in ``classes``, labelled :data:`~model.names.OTHER_TUMOUR_LABEL`."""


@dataclass(frozen=True)
class FolderSource:
    """``root/<class>/<image>``: every image is of its folder's class."""

    root: Path

    @property
    def name(self) -> str:
        return Path(self.root).name

    def labelled_index(self, classes: Sequence[str] | None = None, other_tumours: bool = False) -> ImageFolderIndex:
        return index_folder(self.root, None if classes is None else list(classes))  # no other types in a folder


@dataclass(frozen=True)
class ManifestSource:
    """The rows of a manifest (``model.data.manifest``) that a committed list names (``split``; ``None``:
    every row)."""

    manifest: Path
    split: str | None = None

    @property
    def name(self) -> str:
        return Path(self.manifest).parent.name

    def rows(self) -> ManifestSet:
        """The listed rows, in the manifest's order.

        Raises:
            ManifestError: the manifest or the list is malformed, or the list names a file the manifest lacks.
        """
        manifest = read_manifest(self.manifest)
        if self.split is None:
            return manifest
        listed = read_split(split_file(self.split))
        unknown = set(listed) - set(manifest.files)
        if unknown:
            raise ManifestError(f"the {self.split} list names {len(unknown)} file(s) the manifest lacks, "
                                f"e.g. {sorted(unknown)[0]}")
        return manifest.subset(listed)

    def labelled_index(self, classes: Sequence[str], other_tumours: bool = False) -> ImageFolderIndex:
        return manifest_index(self.rows(), classes, other_tumours)


def manifest_index(manifest: ManifestSet, classes: Sequence[str], other_tumours: bool = False) -> ImageFolderIndex:
    """The rows whose class is one of ``classes`` (and, with ``other_tumours``, the tumours of other
    types, labelled ``OTHER_TUMOUR_LABEL``), as an index the decoded cache understands."""
    rows = [i for i, c in enumerate(manifest.classes) if c in classes or (other_tumours and c is None)]
    paths = [manifest.root / manifest.files[i] for i in rows]
    labels = np.asarray([OTHER_TUMOUR_LABEL if manifest.classes[i] is None else list(classes).index(manifest.classes[i])
                         for i in rows], dtype=np.int64)
    return ImageFolderIndex(manifest.root, list(classes), paths, labels, [file_md5(p) for p in paths])


def open_source(location: str | Path, split: str | None = None) -> ImageSource:
    """The source at ``location``: a manifest (``.tsv``) read through ``split``, or a folder of class folders."""
    location = Path(location)
    if location.suffix == ".tsv":
        return ManifestSource(location, split)
    return FolderSource(location)
