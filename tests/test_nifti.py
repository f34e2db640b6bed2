"""NIfTI uploads: nibabel's shipped example files and synthetic volumes built here."""
import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nibabel.testing import data_path

from model import ImageLoadError, load_image, load_scan
from model.uploads import nifti as nifti_module
from model.uploads.nifti import header_size, looks_like_nifti

from .scan_builders import build_nifti, nifti_bytes, ras_plane, sample_grey

NIBABEL_FILES = Path(data_path)


def nibabel_file(name: str) -> Path:
    path = NIBABEL_FILES / name
    if not path.is_file():
        pytest.skip(f"{name} is not shipped with this nibabel version")
    return path


def test_sample_volume_shows_the_sample_in_the_middle(sample_nifti_path):
    scan = load_scan(sample_nifti_path)
    assert scan.kind == "nifti" and scan.default_axis == "axial"
    assert scan.default_index("axial") == 8
    image = scan.slice()
    assert image.mode == "L" and image.size == (224, 224)
    shown, grey = np.asarray(image, float), sample_grey().astype(float)
    assert np.corrcoef(shown.ravel(), grey.ravel())[0, 1] > 0.99
    # neighbours are blurred/shifted copies: similar, but less so further out
    similarity = [np.corrcoef(np.asarray(scan.slice("axial", k), float).ravel(), grey.ravel())[0, 1]
                  for k in (8, 7, 4)]
    assert similarity[0] > similarity[1] > similarity[2] > 0.3


def test_technical_tags(sample_nifti_path):
    tags = load_scan(sample_nifti_path).technical_tags
    assert tags["Format"] == "NIfTI-1 (gzip)"
    assert tags["Volume shape"] == "224 × 224 × 17"
    assert tags["Voxel size"] == "1 × 1 × 3 mm"
    assert tags["Data type"] == "int16"
    assert tags["Orientation (file)"] == "RAS"
    assert "Volumes" not in tags
    text = " ".join(list(tags) + list(tags.values()))
    assert "Test^Patient" not in text  # the header's free-text descrip field is never shown


def blob_volume(shape=(40, 48, 32)) -> np.ndarray:
    """Dim background with a bright cube at the patient's right, anterior, superior corner (RAS)."""
    volume = np.full(shape, 50, np.int16)
    volume[-8:-2, -8:-2, -8:-2] = 1000
    return volume


def bright_corner(image) -> tuple[str, str]:
    pixels = np.asarray(image, float)
    row, col = np.unravel_index(pixels.argmax(), pixels.shape)
    return ("top" if row < pixels.shape[0] / 2 else "bottom"), ("left" if col < pixels.shape[1] / 2 else "right")


@pytest.mark.parametrize("stored_as", ["RAS", "LAS", "LPI"])
def test_views_are_shown_like_a_radiology_viewer(stored_as):
    """Right-anterior-superior appears top-left in every view, however the file stores its axes."""
    volume, flips = blob_volume(), [code not in "RAS" for code in stored_as]
    affine = np.diag([-1.0 if f else 1.0 for f in flips] + [1.0])
    stored = volume[tuple(slice(None, None, -1) if f else slice(None) for f in flips)]
    scan = load_scan(nifti_bytes(nib.Nifti1Image(stored, affine)), "blob.nii")
    assert scan.technical_tags["Orientation (file)"] == stored_as
    assert scan.axes == ("axial", "coronal", "sagittal")
    for axis, size in {"axial": (40, 48), "coronal": (40, 32), "sagittal": (48, 32)}.items():
        image = scan.slice(axis, scan.slice_count(axis) - 5)  # through the cube
        assert image.size == size, axis
        assert bright_corner(image) == ("top", "left"), axis


def test_thick_slices_are_stretched_to_their_physical_size():
    scan = load_scan(nifti_bytes(build_nifti(depth=9, zooms=(1.0, 1.0, 4.0))))
    assert scan.slice("axial").size == (224, 224)
    assert scan.slice("coronal").size == (224, 36)
    assert scan.slice("sagittal").size == (224, 36)


def test_views_too_thin_to_show_are_left_out():
    scan = load_scan(nifti_bytes(build_nifti(depth=5, zooms=(1.0, 1.0, 1.0))))
    assert scan.axes == ("axial",) and scan.slice_count() == 5


def test_four_d_volume_uses_the_first_volume():
    first = build_nifti(depth=9)
    data = np.asanyarray(first.dataobj)
    four_d = np.stack([data, data.max() - data], axis=-1)  # the second volume is the negative
    scan = load_scan(nifti_bytes(nib.Nifti1Image(four_d, first.affine), gz=True), "fmri.nii.gz")
    assert scan.technical_tags["Volumes"] == "2 (showing the first)"
    assert scan.technical_tags["Volume shape"] == "224 × 224 × 9 × 2"
    assert np.array_equal(np.asarray(scan.slice()), np.asarray(load_image(nifti_bytes(first))))


def test_two_d_nifti_is_a_single_slice():
    grey = sample_grey()
    scan = load_scan(nifti_bytes(nib.Nifti1Image(ras_plane(grey).astype(np.float32), np.eye(4))))
    assert scan.axes == () and scan.default_axis is None and scan.slice_count() == 1
    shown = np.asarray(scan.slice(), float)
    assert np.corrcoef(shown.ravel(), grey.ravel())[0, 1] > 0.99


def test_float_volume_with_nan_and_scaling():
    volume = blob_volume().astype(np.float32)
    volume[0] = np.nan
    image = nib.Nifti1Image(volume, np.eye(4))
    image.header.set_slope_inter(2.0, -5.0)
    shown = load_image(nifti_bytes(image), index=27)
    assert bright_corner(shown) == ("top", "left") and np.asarray(shown).max() == 255


@pytest.mark.parametrize("name,shape,kind", [
    ("anatomical.nii", (33, 41, 25), "NIfTI-1"), ("example4d.nii.gz", (128, 96, 24, 2), "NIfTI-1 (gzip)"),
    ("example_nifti2.nii.gz", (32, 20, 12, 2), "NIfTI-2 (gzip)"), ("functional.nii", (17, 21, 3, 20), "NIfTI-1"),
])
def test_nibabel_example_files(name, shape, kind):
    data = nibabel_file(name).read_bytes()
    scan = load_scan(data)  # recognised by content, no name needed
    assert scan.technical_tags["Format"] == kind
    assert scan.technical_tags["Volume shape"] == " × ".join(map(str, shape))
    assert scan.default_axis == "axial" and scan.slice_count("axial") == shape[2]
    assert (len(shape) == 4) == ("Volumes" in scan.technical_tags)
    pixels = np.asarray(scan.slice())
    assert scan.slice().mode == "L" and pixels.max() > pixels.min()


def test_detection_by_magic_and_by_name(sample_nifti_path):
    packed = sample_nifti_path.read_bytes()
    raw = gzip.decompress(packed)
    assert header_size(raw) == 348 and looks_like_nifti(packed) and looks_like_nifti(raw)
    assert not looks_like_nifti(b"\x1f\x8b" + b"\x00" * 100)
    assert looks_like_nifti(b"whatever", "brain.nii.gz")
    assert np.array_equal(np.asarray(load_image(raw)), np.asarray(load_image(packed)))


def test_header_only_files_are_refused_clearly():
    with pytest.raises(ImageLoadError, match="header without its image data"):
        load_scan(nibabel_file("nifti1.hdr"))


def test_gzip_bomb_is_capped(monkeypatch):
    monkeypatch.setattr(nifti_module, "MAX_DECOMPRESSED", 2**20)
    bomb = nifti_bytes(nib.Nifti1Image(np.zeros((128, 128, 128), np.int16), np.eye(4)), gz=True)
    assert len(bomb) < 100_000
    with pytest.raises(ImageLoadError, match="decompresses to more than 1 MB"):
        load_scan(bomb, "bomb.nii.gz")


def test_huge_declared_dimensions_are_refused():
    image = nib.Nifti1Image(np.zeros((4, 4, 4), np.uint8), np.eye(4))
    raw = bytearray(nifti_bytes(image))
    raw[40:56] = np.array([3, 30000, 30000, 30000, 1, 1, 1, 1], "<i2").tobytes()  # dim[0..7]
    with pytest.raises(ImageLoadError, match="limit is 50 million"):
        load_scan(bytes(raw), "huge.nii")


@pytest.mark.parametrize("cut", [100, 352, 2000, -10])
def test_truncated_files_are_readable_errors(sample_nifti_path, cut):
    raw = gzip.decompress(sample_nifti_path.read_bytes())
    with pytest.raises(ImageLoadError):
        load_scan(raw[:cut], "cut.nii")
    with pytest.raises(ImageLoadError):
        load_scan(sample_nifti_path.read_bytes()[:cut], "cut.nii.gz")


def test_gz_that_is_not_nifti():
    with pytest.raises(ImageLoadError, match="not a NIfTI file"):
        load_scan(gzip.compress(b"hello world" * 100), "notes.nii.gz")


def test_rgb_voxels_are_refused():
    rgb = np.zeros((32, 32, 4), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    with pytest.raises(ImageLoadError, match="only grey volumes"):
        load_scan(nifti_bytes(nib.Nifti1Image(rgb, np.eye(4))), "colour.nii")
