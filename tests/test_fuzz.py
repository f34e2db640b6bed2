"""Fuzzing the upload path: whatever the bytes, the loader ends in ImageLoadError or a usable image.

Hypothesis mutates a corpus of valid and deliberately odd files (pictures in every
awkward mode, DICOM, NIfTI) by truncation, bit flips, header splices and random
bodies behind valid magic numbers. Anything that loads is also run through
``Classifier.explain`` (a tiny synthetic checkpoint). Nothing may touch the disk.
"""
from __future__ import annotations

import builtins
import contextlib
import io
import os
import struct
import tempfile
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom.data
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from model import ImageLoadError, load_classifier, load_scan

from .conftest import synthetic_mri
from .scan_builders import build_dicom, dicom_bytes, nifti_bytes

PYDICOM_FILES = Path(pydicom.data.__file__).parent / "test_files"
# Pillow warns about the corrupt EXIF/TIFF tags the mutations make; only exceptions matter here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def png_header(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    """A PNG that declares a size (and one empty IDAT) but carries no pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def small_dicom(**kwargs):
    return build_dicom(np.asarray(synthetic_mri(3, 1)), **kwargs)


def dicom_without_pixels() -> bytes:
    ds = small_dicom()
    del ds.PixelData
    return dicom_bytes(ds)


def dicom_short_pixels() -> bytes:
    ds = small_dicom()
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 3]
    return dicom_bytes(ds)


def small_volume(shape=(32, 32, 8)) -> np.ndarray:
    return np.stack([np.asarray(synthetic_mri(0, k))[:shape[0], :shape[1]] for k in range(shape[2])], -1)


def nifti_huge_dims() -> bytes:
    raw = bytearray(nifti_bytes(nib.Nifti1Image(np.zeros((4, 4, 4), np.uint8), np.eye(4))))
    raw[40:56] = np.array([3, 32767, 32767, 32767, 1, 1, 1, 1], "<i2").tobytes()
    return bytes(raw)


def corpus() -> dict[str, bytes]:
    """Valid, odd and broken seeds; every case the loader must survive."""
    mri = synthetic_mri(1, 2)
    volume = small_volume()
    four_d = np.stack([volume, volume[::-1]], axis=-1)
    pydicom_files = {name: (PYDICOM_FILES / name).read_bytes()
                     for name in ("MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "SC_rgb_jpeg_dcmtk.dcm",
                                  "MR_small_jpeg_ls_lossless.dcm") if (PYDICOM_FILES / name).is_file()}
    return {
        "zero bytes": b"",
        "png L": encoded(mri, "PNG"),
        "png 16-bit": encoded(Image.fromarray(np.asarray(mri, np.uint16) * 250), "PNG"),
        "png palette": encoded(mri.convert("P"), "PNG"),
        "png LA": encoded(mri.convert("LA"), "PNG"),
        "png RGBA": encoded(mri.convert("RGBA"), "PNG"),
        "jpeg": encoded(mri.resize((128, 128)), "JPEG"),
        "jpeg CMYK": encoded(mri.convert("CMYK"), "JPEG"),
        "tiff F": encoded(mri.convert("F"), "TIFF"),
        "tiff I": encoded(mri.convert("I"), "TIFF"),
        "tiff I;16": encoded(Image.fromarray(np.asarray(mri, np.uint16) * 250), "TIFF"),
        "gif": encoded(mri.convert("P"), "GIF"),
        "bmp": encoded(mri, "BMP"),
        "png 100000x100000": png_header(100_000, 100_000),
        "png 16-bit 20000x20000": png_header(20_000, 20_000, depth=16),
        "dicom": dicom_bytes(small_dicom()),
        "dicom MONOCHROME1 no window": dicom_bytes(small_dicom(photometric="MONOCHROME1", with_window=False)),
        "dicom multi-frame": dicom_bytes(small_dicom(frames=3)),
        "dicom without pixel data": dicom_without_pixels(),
        "dicom pixel data shorter than declared": dicom_short_pixels(),
        **{f"dicom {name}": data for name, data in pydicom_files.items()},
        "nifti": nifti_bytes(nib.Nifti1Image(volume, np.eye(4))),
        "nifti gz": nifti_bytes(nib.Nifti1Image(volume, np.diag([-2.0, 2.0, 3.0, 1.0])), gz=True),
        "nifti 4-D gz": nifti_bytes(nib.Nifti1Image(four_d.astype(np.float32), np.eye(4)), gz=True),
        "nifti2": nifti_bytes(nib.Nifti2Image(volume.astype(np.int16), np.eye(4))),
        "nifti 2-D": nifti_bytes(nib.Nifti1Image(volume[..., 0].astype(np.float64), np.eye(4))),
        "nifti huge dims": nifti_huge_dims(),
    }


CORPUS = corpus()
MAGICS = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBP",
          b"\x00" * 128 + b"DICM", struct.pack("<i", 348), struct.pack(">i", 348), struct.pack("<i", 540),
          b"\x1f\x8b\x08\x00"]
NAMES = [None, "upload.png", "scan.jpg", "IM0001.dcm", "brain.nii", "brain.nii.gz"]


@st.composite
def malformed_upload(draw) -> tuple[bytes, str | None]:
    """A corpus file as is, truncated, bit-flipped or spliced, or random bytes behind a valid magic."""
    data = bytearray(CORPUS[draw(st.sampled_from(sorted(CORPUS)))])
    how = draw(st.sampled_from(["as is", "truncate", "flip bits", "splice header", "magic + random"]))
    if how == "truncate" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif how == "flip bits" and data:
        head = draw(st.booleans())  # half the flips land in the first KB, where headers live
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(0, (min(len(data), 1024) if head else len(data)) - 1))
            data[position] ^= 1 << draw(st.integers(0, 7))
    elif how == "splice header" and data:
        offset = draw(st.integers(0, min(len(data), 600) - 1))
        patch = draw(st.binary(min_size=1, max_size=32))
        data[offset:offset + len(patch)] = patch
    elif how == "magic + random":
        data = bytearray(draw(st.sampled_from(MAGICS)) + draw(st.binary(max_size=2048)))
    return bytes(data), draw(st.sampled_from(NAMES))


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


@contextlib.contextmanager
def no_disk_writes():
    """Fail on any attempt to open a file for writing or create a temporary file."""
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"the loader tried to write {file!r}")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & WRITE_FLAGS:
            raise AssertionError(f"the loader tried to write {path!r}")
        return real_os_open(path, flags, *args, **kwargs)

    def no_temp(*args, **kwargs):
        raise AssertionError("the loader tried to create a temporary file")

    patches = [(builtins, "open", guarded_open), (io, "open", guarded_open), (os, "open", guarded_os_open)]
    patches += [(tempfile, name, no_temp) for name in
                ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "TemporaryDirectory")]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def test_write_guard_catches_writes(tmp_path):
    with no_disk_writes():
        for attempt in (lambda: open(tmp_path / "a", "wb"), lambda: (tmp_path / "b").write_bytes(b"x"),
                        lambda: os.open(tmp_path / "c", os.O_CREAT | os.O_WRONLY), tempfile.mkstemp,
                        lambda: tempfile.NamedTemporaryFile()):
            with pytest.raises(AssertionError):
                attempt()
        with open(__file__, "rb") as readable:  # reading stays allowed
            assert readable.read(3)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def tiny_classifier(tiny_checkpoint):
    """The synthetic ResNet18, run single-threaded: on a busy 2-core machine this is 10× faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_classifier(tiny_checkpoint)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def watched_dirs(tmp_path_factory):
    """An empty working directory and temp directory for the whole run; checked empty at the end."""
    work, temp = tmp_path_factory.mktemp("fuzz_cwd"), tmp_path_factory.mktemp("fuzz_tmp")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.setattr(tempfile, "tempdir", str(temp))
        mp.setenv("TMPDIR", str(temp))
        yield work, temp
    assert list(work.iterdir()) == [] and list(temp.iterdir()) == []


def exercise(data: bytes, name: str | None, classifier) -> str:
    """Load, slice along every axis, explain the default slice. Returns "loaded" or "refused"."""
    try:
        with no_disk_writes():
            scan = load_scan(data, name)
            image = scan.slice()
            for axis in scan.axes:
                scan.slice(axis, 0), scan.slice(axis, scan.slice_count(axis) - 1)
    except ImageLoadError as err:
        assert str(err) and "Traceback" not in str(err)
        return "refused"
    explanation = classifier.explain(image)
    assert np.isclose(explanation.probabilities.sum(), 1.0, atol=1e-4)
    return "loaded"


# What each corpus entry must give untouched: None = may load; a string = the error it must raise.
EXPECTED_REFUSALS = {
    "zero bytes": "empty", "png 100000x100000": "too many pixels", "png 16-bit 20000x20000": "too many pixels|megapixels",
    "dicom without pixel data": r"no image \(pixel data\)", "dicom pixel data shorter than declared": "truncated",
    "nifti huge dims": "limit is 50 million",
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_corpus_as_is(case, tiny_classifier, watched_dirs):
    expected = EXPECTED_REFUSALS.get(case)
    if expected is None:
        assert exercise(CORPUS[case], None, tiny_classifier) == "loaded"
    else:
        with pytest.raises(ImageLoadError, match=expected):
            load_scan(CORPUS[case])


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(upload=malformed_upload())
def test_malformed_uploads_never_escape_image_load_error(upload, tiny_classifier, watched_dirs):
    data, name = upload
    exercise(data, name, tiny_classifier)
