"""What an upload decodes to: a :class:`Scan` (one picture, DICOM frames or a volume's slices).

The readers (:mod:`.dicom`, :mod:`.nifti`) build scans; :mod:`.load` picks the reader.
"""
from __future__ import annotations

import operator
from typing import Protocol

from PIL import Image

from .limits import ImageLoadError


class SliceSource(Protocol):
    """The slices along one axis: ``len()`` of them, ``source(index)`` gives one as a PIL image.

    Implementations are small module-level classes holding arrays, so a :class:`Scan`
    pickles (e.g. for ``st.cache_data``).
    """

    def __len__(self) -> int: ...

    def __call__(self, index: int) -> Image.Image: ...


class Picture:
    """An ordinary picture as a one-slice source; hands out copies so callers may draw on them."""

    def __init__(self, image: Image.Image):
        self.image = image

    def __len__(self) -> int:
        return 1

    def __call__(self, index: int) -> Image.Image:
        return self.image.copy()


#: DICOM modalities that are other kinds of imaging, never MR (names as a person reads them).
#: "OT" (other) and "SC" (secondary capture) are left to the pixel checks: a screenshot of an
#: MRI may be stored as either.
OTHER_IMAGING_MODALITIES = {
    "CT": "CT", "US": "ultrasound", "NM": "nuclear medicine", "PT": "PET", "CR": "X-ray (CR)",
    "DX": "X-ray (DX)", "XA": "X-ray angiography", "RF": "fluoroscopy", "MG": "mammography",
    "IO": "intra-oral X-ray", "PX": "panoramic X-ray", "ES": "endoscopy", "XC": "photograph",
}


class Scan:
    """A decoded upload: one picture, the frames of a DICOM file, or a 3-D volume.

    Attributes:
        kind: ``"image"``, ``"dicom"`` or ``"nifti"``.
        axes: the axes one can step through: ``()`` for a single image,
            ``("frame",)`` for multi-frame DICOM, ``("axial", "coronal", "sagittal")``
            for a NIfTI volume (views whose slices fall outside ``MIN_SIDE``..``MAX_SIDE`` px are left out).
        default_axis: the first of ``axes``, or ``None`` when there are none.
        technical_tags: non-identifying acquisition facts, label → text (empty for pictures).
    """

    def __init__(self, kind: str, planes: dict[str, SliceSource],
                 technical_tags: dict[str, str] | None = None, single: SliceSource | None = None):
        """
        Args:
            kind: see the class docstring.
            planes: axis name → its slices, in display order (the default axis first).
            technical_tags: see the class docstring.
            single: for a scan without axes, its one image (a source of length 1).
        """
        if not planes and single is None:
            raise ValueError("a scan needs planes or a single image")
        self.kind = kind
        self._planes = dict(planes)
        self._single = single
        self.technical_tags = dict(technical_tags or {})

    @classmethod
    def of_image(cls, image: Image.Image) -> "Scan":
        """A scan holding one ordinary picture, returned unchanged (as a copy) by :meth:`slice`."""
        return cls("image", {}, {}, single=Picture(image))

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(self._planes)

    @property
    def default_axis(self) -> str | None:
        return next(iter(self._planes), None)

    def slice_count(self, axis: str | None = None) -> int:
        """Number of slices along ``axis`` (default axis); 1 for a scan without axes."""
        axis = self._axis(axis)
        return 1 if axis is None else len(self._planes[axis])

    def default_index(self, axis: str | None = None) -> int:
        """The middle slice (or frame) along ``axis``."""
        return self.slice_count(axis) // 2

    def slice(self, axis: str | None = None, index: int | None = None) -> Image.Image:
        """One 2-D image: ``index`` along ``axis`` (defaults: default axis, middle slice).

        Pictures come back unchanged in their own mode; DICOM and NIfTI slices are
        8-bit ``"L"`` images, windowed and oriented for display.

        Raises:
            ImageLoadError: unknown axis or index out of range.
        """
        axis = self._axis(axis)
        count = self.slice_count(axis)
        try:  # accept numpy integers too (e.g. an argmax over per-slice probabilities)
            index = count // 2 if index is None else operator.index(index)
        except TypeError:
            raise ImageLoadError(f"Slice index {index!r} is not a whole number.") from None
        if not 0 <= index < count:
            where = f"along {axis}" if axis else "in this image"
            raise ImageLoadError(f"Slice {index} does not exist: there {'is' if count == 1 else 'are'} "
                                 f"{count} {'slice' if count == 1 else 'slices'} {where} (0–{count - 1}).")
        source = self._single if axis is None else self._planes[axis]
        return source(index)

    @property
    def problem(self) -> str | None:
        """Why the file itself says it is not an MRI (a DICOM of another modality), or ``None``."""
        modality = self.technical_tags.get("Modality", "")
        if modality in OTHER_IMAGING_MODALITIES:
            return f"the DICOM file says it is a {OTHER_IMAGING_MODALITIES[modality]} image, not MR"
        return None

    def slices(self, axis: str | None = None) -> list[Image.Image]:
        """Every slice along ``axis`` in order (e.g. for a per-slice probability plot)."""
        return [self.slice(axis, i) for i in range(self.slice_count(axis))]

    def _axis(self, axis: str | None) -> str | None:
        if axis is None:
            if self._single is not None:
                return None
            return self.default_axis
        if axis not in self._planes:
            have = ", ".join(self._planes) or "none: it is a single image"
            raise ImageLoadError(f"This {self.kind} has no {axis!r} axis (axes: {have}).")
        return axis

    def __repr__(self) -> str:
        counts = {a: self.slice_count(a) for a in self.axes}
        return f"Scan(kind={self.kind!r}, axes={counts})"


