"""DICOM uploads: pydicom's own test files (shipped with the package) and files built from a sample."""
import io
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest

from model import ImageLoadError, load_image, load_scan
from model.uploads.dicom import has_dicom_magic

from .scan_builders import FAKE_PATIENT, build_dicom, build_dicom_bytes, dicom_bytes, sample_grey

# Read straight from the package: pydicom.data.get_testdata_file would try to download missing files.
PYDICOM_FILES = Path(pydicom.data.__file__).parent / "test_files"
#: The only keys a DICOM's technical tags may have.
ALLOWED_TAGS = {"Format", "Modality", "Image size", "Frames", "Pixel spacing", "Slice thickness", "Bits stored",
                "Photometric interpretation", "Transfer syntax", "Windowing"}


def pydicom_file(name: str) -> Path:
    path = PYDICOM_FILES / name
    if not path.is_file():
        pytest.skip(f"{name} is not shipped with this pydicom version")
    return path


def test_sample_dicom_shows_the_sample(sample_dicom_bytes):
    assert has_dicom_magic(sample_dicom_bytes)
    scan = load_scan(sample_dicom_bytes, "scan.dcm")
    assert scan.kind == "dicom" and scan.axes == () and scan.default_axis is None
    image = scan.slice()
    assert image.mode == "L" and image.size == (224, 224)
    # Rescale (slope 2, intercept -1000) then the file's window undo the builder's encoding exactly.
    assert np.abs(np.asarray(image, int) - sample_grey()).max() <= 1
    assert scan.technical_tags["Windowing"].startswith("from the file (centre 1040.5, width 4081)")


def test_technical_tags_are_useful(sample_dicom_bytes):
    tags = load_scan(sample_dicom_bytes).technical_tags
    assert tags["Modality"] == "MR"
    assert tags["Image size"] == "224 × 224 px"
    assert tags["Pixel spacing"] == "0.5 × 0.5 mm"
    assert tags["Slice thickness"] == "5 mm"
    assert tags["Bits stored"] == "12"
    assert tags["Photometric interpretation"] == "MONOCHROME2"
    assert tags["Transfer syntax"] == "Explicit VR Little Endian"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())


@pytest.mark.parametrize("source", ["built", "MR_small.dcm", "CT_small.dcm", "JPGExtended.dcm"])
def test_technical_tags_never_identify_the_patient(source):
    if source == "built":
        data, identifying = build_dicom_bytes(), list(FAKE_PATIENT.values()) + ["T1 AX POST"]
    else:
        data = pydicom_file(source).read_bytes()
        ds = pydicom.dcmread(io.BytesIO(data))
        keywords = ("PatientName", "PatientID", "PatientBirthDate", "InstitutionName", "AccessionNumber",
                    "StudyDate", "SeriesDate", "ReferringPhysicianName", "StationName", "StudyID")
        identifying = [str(ds.get(k)) for k in keywords if ds.get(k) not in (None, "")]
        assert source != "MR_small.dcm" or str(ds.PatientName) in identifying  # the case the test is for
    tags = load_scan(data).technical_tags
    assert set(tags) <= ALLOWED_TAGS
    text = " ".join(list(tags) + list(tags.values())).lower()
    for value in identifying:
        assert value.lower() not in text, value
    for word in ("patient", "birth", "institution", "accession", "physician", "date"):
        assert word not in text


# (file, expected number of frames): every compression pydicom's test files offer, grey and colour.
DECODABLE = [
    ("MR_small.dcm", 1), ("MR_small_RLE.dcm", 1), ("MR_small_jp2klossless.dcm", 1),
    ("MR_small_jpeg_ls_lossless.dcm", 1), ("MR_small_bigendian.dcm", 1), ("MR_small_implicit.dcm", 1),
    ("CT_small.dcm", 1), ("693_J2KI.dcm", 1), ("JPEG2000.dcm", 1), ("JPGExtended.dcm", 1),
    ("SC_rgb_jpeg_gdcm.dcm", 1), ("SC_rgb_jpeg_dcmtk.dcm", 1), ("SC_ybr_full_422_uncompressed.dcm", 1),
    ("SC_rgb_rle_16bit.dcm", 1), ("SC_rgb_jls_lossy_line.dcm", 1), ("examples_palette.dcm", 1),
    ("image_dfl.dcm", 1), ("SC_rgb_rle_2frame.dcm", 2), ("examples_ybr_color.dcm", 30),
]


@pytest.mark.parametrize("name,frames", DECODABLE)
def test_pydicom_test_files_decode(name, frames):
    scan = load_scan(pydicom_file(name).read_bytes())
    assert scan.kind == "dicom"
    assert scan.axes == (("frame",) if frames > 1 else ())
    assert scan.slice_count(scan.default_axis) == frames
    assert scan.default_index(scan.default_axis) == frames // 2
    image = scan.slice()
    assert image.mode == "L"
    pixels = np.asarray(image)
    assert pixels.max() > pixels.min(), "a decoded scan should not be flat"


@pytest.mark.parametrize("variant", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                     "MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm",
                                     "MR_small_implicit.dcm"])
def test_lossless_encodings_show_the_same_pixels(variant):
    reference = np.asarray(load_image(pydicom_file("MR_small.dcm")))
    assert np.array_equal(np.asarray(load_image(pydicom_file(variant))), reference)


def test_file_window_is_used_and_rescale_applied():
    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    shown = np.asarray(load_image(pydicom_file("MR_small.dcm")), float)
    centre, width = float(ds.WindowCenter), float(ds.WindowWidth)  # MR_small: 600 / 1600, no rescale
    raw = ds.pixel_array.astype(float)
    expected = np.clip((raw - (centre - 0.5)) / (width - 1) + 0.5, 0, 1) * 255
    assert np.abs(shown - expected).max() <= 1.5


def test_automatic_window_without_one_in_the_file():
    scan = load_scan(build_dicom_bytes(with_window=False))
    assert scan.technical_tags["Windowing"].startswith("automatic")
    shown, grey = np.asarray(scan.slice(), float), sample_grey().astype(float)
    assert np.corrcoef(shown.ravel(), grey.ravel())[0, 1] > 0.99
    assert shown.max() == 255 and shown.min() == 0  # stretched over the robust range


def test_monochrome1_is_inverted_for_display():
    normal = np.asarray(load_image(build_dicom_bytes()), int)
    inverted_storage = np.asarray(load_image(build_dicom_bytes(photometric="MONOCHROME1", with_window=False)), int)
    assert np.corrcoef(normal.ravel(), inverted_storage.ravel())[0, 1] > 0.99


def test_multi_frame_exposes_frames():
    scan = load_scan(build_dicom_bytes(frames=5))
    assert scan.axes == ("frame",) and scan.default_axis == "frame"
    assert scan.slice_count("frame") == 5 and scan.default_index("frame") == 2
    assert scan.technical_tags["Frames"] == "5"
    frames = [np.asarray(f) for f in scan.slices("frame")]
    assert len(frames) == 5
    for k, frame in enumerate(frames):  # the builder rolls frame k by 3k columns
        assert np.array_equal(frame, np.roll(frames[0], 3 * k, axis=1))
    assert np.array_equal(np.asarray(load_image(build_dicom_bytes(frames=5), index=4)), frames[4])


def test_colour_dicom_becomes_grey():
    image = load_image(pydicom_file("SC_rgb_rle.dcm"))
    assert image.mode == "L" and image.size == (100, 100)


def test_no_pixel_data_is_a_clear_error():
    ds = build_dicom()
    del ds.PixelData
    with pytest.raises(ImageLoadError, match=r"has no image \(pixel data\)"):
        load_scan(dicom_bytes(ds), "report.dcm")
    with pytest.raises(ImageLoadError, match=r"has no image \(pixel data\)"):
        load_scan(pydicom_file("rtplan.dcm"))


def test_truncated_pixel_data_is_a_clear_error():
    with pytest.raises(ImageLoadError, match="truncated or damaged"):
        load_scan(pydicom_file("MR_truncated.dcm"))
    ds = build_dicom()
    ds.PixelData = ds.PixelData[:1000]
    with pytest.raises(ImageLoadError, match="truncated or damaged"):
        load_scan(dicom_bytes(ds))


def test_unsupported_transfer_syntax_is_named():
    from pydicom.uid import MPEG2MPML

    ds = pydicom.dcmread(pydicom_file("MR_small_jp2klossless.dcm"))
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    with pytest.raises(ImageLoadError, match="transfer syntax MPEG2 Main Profile / Main Level.*cannot decode"):
        load_scan(dicom_bytes(ds), "video.dcm")


def test_missing_decoder_plugin_is_named(monkeypatch):
    """As when pylibjpeg is not installed: the error names the syntax instead of failing obscurely."""
    import pydicom.pixels

    class Unavailable:
        is_available = False

    monkeypatch.setattr(pydicom.pixels, "get_decoder", lambda uid: Unavailable())
    with pytest.raises(ImageLoadError, match="JPEG 2000 Image Compression .Lossless Only., which this app"):
        load_scan(pydicom_file("MR_small_jp2klossless.dcm"))


def test_too_small_or_too_large_declared_sizes():
    with pytest.raises(ImageLoadError, match="only 10×10 pixels"):
        load_scan(pydicom_file("rtdose.dcm"))
    ds = build_dicom()
    ds.Rows = ds.Columns = 60_000
    with pytest.raises(ImageLoadError, match="megapixels"):
        load_scan(dicom_bytes(ds))
    ds = build_dicom()
    ds.NumberOfFrames = 5000
    with pytest.raises(ImageLoadError, match="million pixels in all"):
        load_scan(dicom_bytes(ds))


def test_dcm_name_reads_files_without_preamble(sample_dicom_bytes):
    bare = sample_dicom_bytes[132:]  # no 128-byte preamble, no "DICM"
    with pytest.raises(ImageLoadError, match="not an image"):
        load_scan(bare)
    assert load_scan(bare, "IM0001.DCM").kind == "dicom"


def test_dcm_name_on_garbage_is_an_error():
    with pytest.raises(ImageLoadError, match="junk.dcm"):
        load_scan(np.random.default_rng(0).bytes(4000), "junk.dcm")
