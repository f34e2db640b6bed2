import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from model import ImageLoadError, load_image

from .conftest import synthetic_mri


def encoded(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but carries no pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "text": (b"hello, this is not a picture" * 10, "not an image"),
    "random bytes": (np.random.default_rng(0).bytes(5000), "not an image"),
    "truncated png": (encoded(synthetic_mri(0, 1))[:200], "damaged or truncated"),
    "truncated jpeg": (encoded(synthetic_mri(0, 1).resize((256, 256)), "JPEG")[:600], "damaged or truncated"),
    "huge declared size": (png_header_only(60_000, 60_000), "too many pixels"),
    "over our pixel limit": (png_header_only(9_000, 8_000), "megapixels"),
    "tiny": (encoded(Image.new("L", (4, 4))), "only 4×4"),
    "wrong magic": (b"GIF89a" + b"\x00" * 100, "not an image|damaged"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_raises_one_readable_error(name):
    data, message = BAD_INPUTS[name]
    with pytest.raises(ImageLoadError, match=message):
        load_image(data, name="upload.png")


def test_error_message_names_the_file():
    with pytest.raises(ImageLoadError, match="scan.jpg"):
        load_image(b"", name="scan.jpg")


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "I", "F", "CMYK", "1"])
def test_odd_modes_load(mode):
    fmt = "TIFF" if mode in ("I", "F", "CMYK", "LA") else "PNG"
    image = load_image(encoded(synthetic_mri(2, 3).convert(mode), fmt))
    assert image.size == (64, 64)


def test_sixteen_bit_png_loads():
    arr = np.asarray(synthetic_mri(1, 4), np.uint16) * 250
    image = load_image(encoded(Image.fromarray(arr)))
    assert image.mode.startswith("I")


def test_path_and_file_object_sources(tmp_path):
    path = tmp_path / "scan.png"
    synthetic_mri(0, 5).save(path)
    assert load_image(path).size == (64, 64)
    with open(path, "rb") as fh:
        assert load_image(fh).size == (64, 64)
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "missing.png")


def test_animated_gif_gives_first_frame():
    frames = [synthetic_mri(0, 6).convert("P"), synthetic_mri(1, 7).convert("P")]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    assert load_image(buf.getvalue()).size == (64, 64)
