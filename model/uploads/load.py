"""One entry point for every upload: ordinary pictures, DICOM files and NIfTI volumes.

    scan = load_scan(upload.getvalue(), upload.name)
    scan.axes                 # () | ("frame",) | ("axial", "coronal", "sagittal")
    image = scan.slice()      # the default (middle) slice as a PIL image

Everything that cannot be read raises :class:`~model.uploads.limits.ImageLoadError`
with a message that is safe to show a user. Uploads are decoded from bytes in
memory and never written to disk.
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Union

from PIL import Image

from .limits import ImageLoadError, decode_picture, read_bytes, source_name
from .scan import Scan

__all__ = ["Source", "load_image", "load_scan"]


Source = Union[bytes, bytearray, memoryview, str, Path, BinaryIO]


def load_scan(source: Source, name: str | None = None) -> Scan:
    """Decode an upload of any supported kind.

    Args:
        source: raw bytes, a path, or a binary file object (e.g. a Streamlit ``UploadedFile``).
        name: file name, used to word error messages and to recognise ``.dcm`` / ``.nii.gz``.
    Returns:
        A :class:`Scan`.
    Raises:
        ImageLoadError: for anything that cannot be read, with a user-safe message.
    """
    from . import dicom, nifti  # heavy imports (pydicom, nibabel) only when something is loaded

    file_name = source_name(source, name)
    label = file_name or "the file"
    data = read_bytes(source, label)
    lower = (file_name or "").lower()
    try:
        if dicom.has_dicom_magic(data):
            return dicom.read_dicom(data, label)
        if nifti.looks_like_nifti(data, lower):
            return nifti.read_nifti(data, label)
        if lower.endswith((".dcm", ".dicom")):
            return dicom.read_dicom(data, label, force=True)
        return Scan.of_image(decode_picture(data, label))
    except ImageLoadError:
        raise
    except Exception as err:  # noqa: BLE001 - the promise is that only ImageLoadError escapes
        raise ImageLoadError(f"{label} looks damaged and cannot be read ({type(err).__name__}).") from err


def load_image(source: Source, name: str | None = None, *, axis: str | None = None,
               index: int | None = None) -> Image.Image:
    """One 2-D image from an upload: ``load_scan(source, name).slice(axis, index)``.

    Ordinary pictures come back decoded and unchanged (any mode, first frame of
    animations); DICOM and NIfTI give their middle slice unless told otherwise.

    Raises:
        ImageLoadError: empty, too large, too small, truncated, corrupt or not an image.
    """
    return load_scan(source, name).slice(axis, index)
