"""Reading user uploads safely: every failure becomes one readable exception.

This module holds the shared pieces (limits, :class:`ImageLoadError`, reading
the bytes, decoding ordinary pictures with Pillow, windowing to 8 bits). The
format dispatch (picture, DICOM, NIfTI) lives in :mod:`model.uploads.scan`.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

#: Largest accepted picture, in pixels (a 16-bit 8k×6k scan still fits).
MAX_PIXELS = 50_000_000
#: Largest accepted upload, in bytes.
MAX_BYTES = 100 * 1024 * 1024
MIN_SIDE = 16
#: Longest accepted side, in pixels. The classifier pads images to a square of the longest
#: side, so a 32000×64 strip (within MAX_PIXELS) would otherwise cost a gigabyte.
MAX_SIDE = 10_000
#: Largest accepted volume or multi-frame series, in voxels (about 200 MB as float32).
MAX_VOXELS = 50_000_000
#: Robust display window used when a file carries none of its own (percentiles).
AUTO_WINDOW = (0.5, 99.5)


class ImageLoadError(ValueError):
    """The input cannot be used as an image; ``str(err)`` is safe to show a user."""


def source_name(source: object, name: str | None = None) -> str | None:
    """The upload's file name: ``name``, else the path's or file object's own name, else None."""
    if name:
        return name
    if isinstance(source, (str, Path)):
        return Path(source).name
    own = getattr(source, "name", None)  # Streamlit's UploadedFile and open files carry one
    return Path(own).name if isinstance(own, str) and own else None


def source_label(source: object, name: str | None = None) -> str:
    """How messages refer to the upload: its file name, else "the file"."""
    return source_name(source, name) or "the file"


def read_bytes(source: bytes | str | Path | BinaryIO, label: str = "the file") -> bytes:
    """All bytes of ``source``, refusing empty and over-large inputs; nothing is written to disk.

    File objects with ``getvalue`` (``io.BytesIO``, Streamlit's ``UploadedFile``) give their whole
    content, so the same upload can be loaded twice; others are read from their current position.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageLoadError(f"File not found: {path.name}")
        if path.stat().st_size > MAX_BYTES:
            raise ImageLoadError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB.")
        data = path.read_bytes()
    else:
        try:  # BytesIO and Streamlit's UploadedFile: the whole upload, wherever the cursor is
            data = source.getvalue() if hasattr(source, "getvalue") else source.read(MAX_BYTES + 1)
        except (OSError, ValueError, AttributeError, TypeError) as err:
            raise ImageLoadError(f"{label} could not be read ({type(err).__name__}).") from err
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ImageLoadError(f"{label} is not a binary file.")
        data = bytes(data)
    if not data:
        raise ImageLoadError(f"{label} is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise ImageLoadError(f"{label} is larger than {MAX_BYTES // 2**20} MB.")
    return data


def decode_picture(data: bytes, label: str) -> Image.Image:
    """Decode an ordinary picture (JPEG, PNG, BMP, TIFF, WebP, GIF...) with Pillow.

    Returns:
        A PIL image in its own mode, detached from the bytes; first frame of animations.
    Raises:
        ImageLoadError: too large, too small, truncated, corrupt or not an image.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                check_size(im.size, label)
                im.seek(0)
                im.load()
                return im.copy()
    except ImageLoadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageLoadError(_friendly(err, label)) from err
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError, TypeError) as err:
        raise ImageLoadError(f"{label} looks damaged or truncated and cannot be decoded ({err}).") from err


def check_size(size: tuple[int, int], label: str) -> None:
    """Refuse pictures over :data:`MAX_PIXELS`, with a side under :data:`MIN_SIDE` or over :data:`MAX_SIDE`."""
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageLoadError(f"{label} is {w}×{h} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels.")
    if min(w, h) < MIN_SIDE:
        raise ImageLoadError(f"{label} is only {w}×{h} pixels; an MRI slice needs at least {MIN_SIDE}.")
    if max(w, h) > MAX_SIDE:
        raise ImageLoadError(f"{label} is {w}×{h} pixels; an MRI slice may be at most {MAX_SIDE} pixels "
                             "on its longest side.")


def _friendly(err: Exception, label: str) -> str:
    if isinstance(err, UnidentifiedImageError):
        return (f"{label} is not an image we can read (JPEG, PNG, BMP, TIFF, WebP, "
                "DICOM or NIfTI).")
    return f"{label} declares too many pixels to decode safely."


def auto_window(values: np.ndarray) -> tuple[float, float]:
    """A robust display range: the :data:`AUTO_WINDOW` percentiles of the finite values.

    Large arrays are subsampled (about a million values) to keep this fast.
    Falls back to the full finite range when the percentiles coincide.
    """
    flat = np.asarray(values).ravel()
    flat = flat[:: max(1, flat.size // 1_000_000)]
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 0.0
    lo, hi = (float(v) for v in np.percentile(flat, AUTO_WINDOW))
    if hi <= lo:
        lo, hi = float(flat.min()), float(flat.max())
    return lo, hi


def to_uint8(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``[lo, hi]`` linearly onto 0..255 (``lo > hi`` inverts); NaN becomes 0."""
    values = np.asarray(values, dtype=np.float32)
    if not np.isfinite(lo) or not np.isfinite(hi) or hi == lo:
        return np.zeros(values.shape, np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = (values - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    return np.nan_to_num(np.clip(scaled, 0, 255), nan=0.0).astype(np.uint8)
