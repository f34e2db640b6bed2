"""load_scan / Scan / load_image: the one entry point the app uses for every upload."""
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import model
from model import ImageLoadError, Scan, load_image, load_scan

from .conftest import synthetic_mri
from .scan_builders import build_dicom_bytes, build_nifti, nifti_bytes, sample_grey


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class FakeUpload:
    """What Streamlit's ``UploadedFile`` offers: a binary ``read``."""

    def __init__(self, data: bytes, name: str):
        self._buffer, self.name = io.BytesIO(data), name

    def read(self, size: int = -1) -> bytes:
        return self._buffer.read(size)


def test_public_api_exports_the_scan_loader():
    for name in ("load_scan", "Scan", "load_image", "ImageLoadError"):
        assert name in model.__all__ and hasattr(model, name)


def test_model_package_never_imports_streamlit():
    package = Path(model.__file__).parent
    offenders = [p.name for p in package.glob("*.py") if "import streamlit" in p.read_text()]
    assert offenders == []


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16", "P"])
def test_plain_picture_is_returned_unchanged(mode):
    original = synthetic_mri(0, 1).convert(mode) if mode != "I;16" else \
        Image.fromarray(np.asarray(synthetic_mri(0, 1), np.uint16) * 200)
    scan = load_scan(png(original), "scan.png")
    assert scan.kind == "image" and scan.axes == () and scan.default_axis is None
    assert scan.slice_count() == 1 and scan.default_index() == 0
    assert scan.technical_tags == {}
    image = scan.slice()
    assert image.mode == original.mode and np.array_equal(np.asarray(image), np.asarray(original))
    assert [np.asarray(s).tolist() for s in scan.slices()] == [np.asarray(image).tolist()]


def test_slice_returns_a_copy():
    scan = load_scan(png(synthetic_mri(1, 2)))
    scan.slice().paste(0, (0, 0, 64, 64))
    assert np.asarray(scan.slice()).max() > 0


def test_load_image_is_load_scan_slice(sample_nifti_path):
    scan = load_scan(sample_nifti_path)
    for axis in scan.axes:
        index = scan.slice_count(axis) - 1
        assert np.array_equal(np.asarray(load_image(sample_nifti_path, axis=axis, index=index)),
                              np.asarray(scan.slice(axis, index)))
    assert np.array_equal(np.asarray(load_image(sample_nifti_path)), np.asarray(scan.slice()))


@pytest.mark.parametrize("kind", ["picture", "dicom", "nifti"])
def test_every_source_type(kind, tmp_path):
    data, name = {"picture": (png(synthetic_mri(2, 3)), "a.png"), "dicom": (build_dicom_bytes(), "a.dcm"),
                  "nifti": (nifti_bytes(build_nifti(), gz=True), "a.nii.gz")}[kind]
    (tmp_path / name).write_bytes(data)
    sources = [lambda: data, lambda: bytearray(data), lambda: memoryview(data), lambda: tmp_path / name,
               lambda: str(tmp_path / name), lambda: io.BytesIO(data), lambda: FakeUpload(data, name)]
    expected = np.asarray(load_scan(data, name).slice())
    for source in sources:
        assert np.array_equal(np.asarray(load_scan(source(), name).slice()), expected), source()
        assert np.array_equal(np.asarray(load_scan(source()).slice()), expected), source()


def test_a_bytesio_upload_can_be_loaded_twice():
    upload = io.BytesIO(png(synthetic_mri(0, 6)))
    assert load_image(upload).size == load_image(upload).size == (64, 64)


def test_scan_of_a_volume_describes_its_axes(sample_nifti_path):
    scan = load_scan(sample_nifti_path)
    assert scan.kind == "nifti"
    assert scan.axes == ("axial", "coronal", "sagittal") and scan.default_axis == "axial"
    assert scan.slice_count("axial") == 17 and scan.default_index("axial") == 8
    assert scan.slice_count() == 17 and scan.default_index() == 8
    assert [scan.slice_count(a) for a in ("coronal", "sagittal")] == [224, 224]
    assert len(scan.slices("axial")) == 17
    assert all(s.mode == "L" for s in scan.slices("axial"))
    assert "axial" in repr(scan)


def test_bad_axis_or_index_is_a_readable_error(sample_nifti_path):
    scan = load_scan(sample_nifti_path)
    with pytest.raises(ImageLoadError, match="no 'frame' axis"):
        scan.slice("frame")
    with pytest.raises(ImageLoadError, match=r"17 slices along axial \(0–16\)"):
        scan.slice("axial", 17)
    with pytest.raises(ImageLoadError, match="does not exist"):
        scan.slice("axial", -1)
    picture = load_scan(png(synthetic_mri(0, 4)))
    with pytest.raises(ImageLoadError, match="single image"):
        picture.slice("axial")
    with pytest.raises(ImageLoadError, match="1 slice in this image"):
        load_image(png(synthetic_mri(0, 4)), index=1)
    assert load_image(png(synthetic_mri(0, 4)), index=0).size == (64, 64)


def test_error_messages_name_the_upload():
    with pytest.raises(ImageLoadError, match="mri.nii.gz"):
        load_scan(b"\x1f\x8b" + b"\x00" * 40, "mri.nii.gz")
    with pytest.raises(ImageLoadError, match="series.dcm"):
        load_scan(b"not dicom at all" * 20, "series.dcm")
    with pytest.raises(ImageLoadError, match="empty"):
        load_scan(FakeUpload(b"", "x.png"), "x.png")


def test_file_objects_lend_their_name():
    upload = FakeUpload(b"", "brain.nii.gz")
    with pytest.raises(ImageLoadError, match="brain.nii.gz is empty"):
        load_scan(upload)
    assert load_scan(FakeUpload(nifti_bytes(build_nifti()), "brain.nii")).kind == "nifti"


def test_numpy_indices_are_accepted(sample_nifti_path):
    scan = load_scan(sample_nifti_path)
    assert np.array_equal(np.asarray(scan.slice("axial", np.int64(3))), np.asarray(scan.slice("axial", 3)))
    with pytest.raises(ImageLoadError, match="not a whole number"):
        scan.slice("axial", 2.5)


def test_unexpected_internal_errors_still_become_image_load_errors(monkeypatch):
    from model.uploads import load as scan_module

    def explode(data, label):
        raise KeyError("internal")

    monkeypatch.setattr(scan_module, "decode_picture", explode)
    with pytest.raises(ImageLoadError, match="damaged"):
        load_scan(png(synthetic_mri(0, 5)), "x.png")


def test_extreme_strips_are_refused():
    """Within the pixel limit, but the classifier would pad it to a 12000² square."""
    with pytest.raises(ImageLoadError, match="at most 10000 pixels on its longest side"):
        load_image(png(Image.new("L", (12_000, 16))), "banner.png")


@pytest.mark.parametrize("kind", ["picture", "dicom", "multi-frame", "nifti"])
def test_scans_pickle_for_streamlit_cache_data(kind):
    data = {"picture": lambda: png(synthetic_mri(0, 7)), "dicom": build_dicom_bytes,
            "multi-frame": lambda: build_dicom_bytes(frames=3),
            "nifti": lambda: nifti_bytes(build_nifti(depth=17))}[kind]()
    scan = load_scan(data)
    copy = pickle.loads(pickle.dumps(scan))
    assert copy.axes == scan.axes and copy.technical_tags == scan.technical_tags
    for axis in scan.axes or (None,):
        assert np.array_equal(np.asarray(copy.slice(axis, 0)), np.asarray(scan.slice(axis, 0)))


def test_scan_needs_content():
    with pytest.raises(ValueError):
        Scan("image", {})


def test_default_slices_look_like_the_sample(sample_dicom_bytes, sample_nifti_path):
    grey = sample_grey().astype(float)
    for source in (sample_dicom_bytes, sample_nifti_path):
        shown = np.asarray(load_image(source), float)
        assert shown.shape == grey.shape
        assert np.corrcoef(shown.ravel(), grey.ravel())[0, 1] > 0.99


def test_the_dicom_modality_tag_names_other_kinds_of_imaging(sample_dicom_bytes):
    from pydicom.data import get_testdata_file

    assert "CT image" in load_scan(get_testdata_file("CT_small.dcm")).problem
    assert load_scan(sample_dicom_bytes, "mr.dcm").problem is None  # an MR file
    assert Scan.of_image(Image.new("L", (64, 64))).problem is None  # pictures carry no tag
