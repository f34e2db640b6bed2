"""Reading user uploads safely: every failure becomes one readable exception."""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

#: Largest accepted picture, in pixels (a 16-bit 8k×6k scan still fits).
MAX_PIXELS = 50_000_000
#: Largest accepted upload, in bytes.
MAX_BYTES = 100 * 1024 * 1024
MIN_SIDE = 16


class ImageLoadError(ValueError):
    """The input cannot be used as an image; ``str(err)`` is safe to show a user."""


def _read_bytes(source: bytes | str | Path | BinaryIO) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageLoadError(f"File not found: {path.name}")
        if path.stat().st_size > MAX_BYTES:
            raise ImageLoadError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB.")
        return path.read_bytes()
    data = source.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImageLoadError(f"The file is larger than {MAX_BYTES // 2**20} MB.")
    return data


def load_image(source: bytes | str | Path | BinaryIO, name: str | None = None) -> Image.Image:
    """Decode an upload into a fully loaded PIL image.

    Args:
        source: raw bytes, a path, or a binary file object (e.g. a Streamlit upload).
        name: file name, used only to word error messages.
    Returns:
        A PIL image, detached from the file; first frame of animations.
    Raises:
        ImageLoadError: empty, too large, too small, truncated, corrupt or not an image.
    """
    label = name or (Path(source).name if isinstance(source, (str, Path)) else "the file")
    data = _read_bytes(source)
    if not data:
        raise ImageLoadError(f"{label} is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise ImageLoadError(f"{label} is larger than {MAX_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                _check_size(im.size, label)
                im.seek(0)
                im.load()
                return im.copy()
    except ImageLoadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageLoadError(_friendly(err, label)) from err
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError, TypeError) as err:
        raise ImageLoadError(f"{label} looks damaged or truncated and cannot be decoded ({err}).") from err


def _check_size(size: tuple[int, int], label: str) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageLoadError(f"{label} is {w}×{h} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels.")
    if min(w, h) < MIN_SIDE:
        raise ImageLoadError(f"{label} is only {w}×{h} pixels; an MRI slice needs at least {MIN_SIDE}.")


def _friendly(err: Exception, label: str) -> str:
    if isinstance(err, UnidentifiedImageError):
        return f"{label} is not an image we can read (JPEG, PNG, BMP, TIFF or WebP)."
    return f"{label} declares too many pixels to decode safely."
