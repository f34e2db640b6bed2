"""Build realistic DICOM and NIfTI test files from a bundled sample JPEG (no downloads).

Plain functions so that fixtures (tests/conftest.py), the fuzz test and the
browser test can all call them.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[1]
SAMPLE_JPEG = REPO / "assets/samples/pituitary_1.jpg"
# The DICOM stores 16-bit values v = 8·grey; the scanner-side value is 2·v - 1000 (slope 2,
# intercept -1000), and the window below maps exactly that range back onto 0..255.
SLOPE, INTERCEPT = 2.0, -1000.0
WINDOW_CENTRE, WINDOW_WIDTH = 1040.5, 4081.0
#: Fake identifying values; tests check that none of them reaches ``technical_tags``.
FAKE_PATIENT = {
    "PatientName": "Test^Patient", "PatientID": "TEST-0001", "PatientBirthDate": "19700101",
    "InstitutionName": "Test Hospital", "AccessionNumber": "ACC12345", "StudyDate": "20240102",
    "ReferringPhysicianName": "Doctor^Referring",
}


def sample_grey(path: Path = SAMPLE_JPEG) -> np.ndarray:
    """The sample as a ``(rows, cols)`` uint8 array."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def build_dicom(grey: np.ndarray | None = None, *, frames: int = 1, photometric: str = "MONOCHROME2",
                with_window: bool = True):
    """A single- or multi-frame MR DICOM dataset (16-bit, rescale slope/intercept, window)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    grey = sample_grey() if grey is None else grey
    stored = grey.astype(np.uint16) * 8
    if photometric == "MONOCHROME1":
        stored = 2040 - stored
    pixels = np.stack([np.roll(stored, 3 * i, axis=1) for i in range(frames)]) if frames > 1 else stored
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["scan_builders", str(frames)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SeriesDescription = "MR", "T1 AX POST"
    for keyword, value in FAKE_PATIENT.items():
        setattr(ds, keyword, value)
    ds.PixelSpacing, ds.SliceThickness = [0.5, 0.5], 5.0
    ds.RescaleSlope, ds.RescaleIntercept = SLOPE, INTERCEPT
    if with_window:
        ds.WindowCenter, ds.WindowWidth = WINDOW_CENTRE, WINDOW_WIDTH
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.set_pixel_data(pixels, photometric, bits_stored=12)
    return ds


def dicom_bytes(ds) -> bytes:
    """A dataset serialised as a DICOM Part 10 file, in memory."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def build_dicom_bytes(**kwargs) -> bytes:
    """:func:`build_dicom` serialised; the default is the single-frame MR built from the sample."""
    return dicom_bytes(build_dicom(**kwargs))


def ras_plane(grey: np.ndarray) -> np.ndarray:
    """The RAS voxel plane ``[x, y]`` that a radiological viewer shows as ``grey``.

    Rows run from anterior (top) to posterior, so ``y = rows - 1 - r``; columns run
    from the patient's right to left, so ``x = cols - 1 - c``.
    """
    return grey[::-1, ::-1].T


def build_nifti(grey: np.ndarray | None = None, *, depth: int = 17, volumes: int = 1, zooms=(1.0, 1.0, 3.0),
                affine: np.ndarray | None = None):
    """A RAS ``Nifti1Image`` whose middle axial slice is ``grey`` (default: the sample).

    The other slices are copies, blurred and shifted more the further they are from the middle.
    The default 3 mm slices make all three views usable (coronal/sagittal 51 px tall).
    """
    import nibabel as nib

    grey = sample_grey() if grey is None else grey
    image = Image.fromarray(grey)
    planes = []
    for k in range(depth):
        step = abs(k - depth // 2)
        moved = image.filter(ImageFilter.GaussianBlur(step)) if step else image
        planes.append(ras_plane(np.roll(np.asarray(moved), 2 * step, axis=1)))
    volume = np.stack(planes, axis=-1).astype(np.int16)
    if volumes > 1:
        volume = np.stack([volume + 10 * t for t in range(volumes)], axis=-1)
    if affine is None:
        affine = np.diag([*zooms, 1.0])
    nifti = nib.Nifti1Image(volume, affine)
    nifti.header.set_xyzt_units("mm")
    nifti.header["descrip"] = b"Test^Patient private note"
    return nifti


def nifti_bytes(nifti, gz: bool = False) -> bytes:
    """A NIfTI image serialised in memory, gzip-compressed when ``gz``."""
    import gzip

    raw = nifti.to_bytes()
    return gzip.compress(raw, mtime=0) if gz else raw


def write_nifti(path: Path, **kwargs) -> Path:
    """:func:`build_nifti` written to ``path`` (``.nii`` or ``.nii.gz``)."""
    path = Path(path)
    path.write_bytes(nifti_bytes(build_nifti(**kwargs), gz=path.name.endswith(".gz")))
    return path
