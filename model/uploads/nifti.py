"""NIfTI uploads (``.nii``, ``.nii.gz``): read from memory with nibabel, reorient to RAS, slice three ways.

Volumes are brought to the closest canonical (RAS+) orientation, so "axial"
is always the third axis, and slices are shown the way radiology viewers show
them: anterior (axial) or superior (coronal, sagittal) up and the patient's
right on the image's left. 4-D (and higher) files are reduced to their first
volume, which ``technical_tags["Volumes"]`` says. Non-square voxels are
stretched to their physical aspect ratio for display.
"""
from __future__ import annotations

import gzip
import io
import struct
import warnings
import zlib

import numpy as np
from PIL import Image

from .limits import AUTO_WINDOW, MAX_SIDE, MAX_VOXELS, MIN_SIDE, ImageLoadError, auto_window, check_size, to_uint8
from .scan import Scan

GZIP_MAGIC = b"\x1f\x8b"
#: Header sizes (``sizeof_hdr``) of NIfTI-1 / Analyze and NIfTI-2.
HEADER_SIZES = {348: "NIfTI-1", 540: "NIfTI-2"}
#: Single-file magic strings: at byte 344 for NIfTI-1, at byte 4 for NIfTI-2.
SINGLE_FILE_MAGIC = {348: (344, b"n+1\x00"), 540: (4, b"n+2\x00")}
#: Cap on a decompressed ``.nii.gz``, against gzip bombs.
MAX_DECOMPRESSED = 300 * 2**20
#: Views in display order; the first one that is usable is the default.
VIEWS = ("axial", "coronal", "sagittal")
#: Largest stretch applied to make thick slices look their physical size.
MAX_STRETCH = 8.0


def header_size(head: bytes) -> int | None:
    """348 or 540 when ``head`` starts like a NIfTI header (either byte order), else None."""
    if len(head) < 4:
        return None
    for order in "<>":
        size = struct.unpack(order + "i", head[:4])[0]
        if size in HEADER_SIZES:
            return size
    return None


def looks_like_nifti(data: bytes, lower_name: str = "") -> bool:
    """True for a NIfTI header at byte 0, a gzip stream that starts with one, or a ``.nii``/``.nii.gz`` name."""
    if header_size(data) is not None or lower_name.endswith((".nii", ".nii.gz")):
        return True
    if data[:2] != GZIP_MAGIC:
        return False
    try:  # peek at the first decompressed bytes only
        return header_size(zlib.decompressobj(wbits=31).decompress(data[:65536], 4)) is not None
    except zlib.error:
        return False


def read_nifti(data: bytes, label: str) -> Scan:
    """Decode a NIfTI-1/NIfTI-2 file (optionally gzip-compressed) held in memory.

    Returns:
        A ``"nifti"`` :class:`~model.uploads.scan.Scan` with axes axial/coronal/sagittal (those whose
        slices fit ``MIN_SIDE``..``MAX_SIDE`` px), or no axes for a single 2-D slice.
    Raises:
        ImageLoadError: not NIfTI, a header-only ``.hdr``, damaged, too large or an unusable data type.
    """
    raw = gunzip(data, label) if data[:2] == GZIP_MAGIC else data
    size = header_size(raw)
    if size is None:
        raise ImageLoadError(f"{label} is not a NIfTI file (no NIfTI header).")
    offset, magic = SINGLE_FILE_MAGIC[size]
    if raw[offset:offset + 4] != magic:
        raise ImageLoadError(f"{label} is a header without its image data (Analyze or a .hdr/.img pair); "
                             "upload a single-file .nii or .nii.gz instead.")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # nibabel warns about odd but readable headers
        image = _open(raw, size, label)
        volume, volumes = _first_volume(image, label)
        volume, zooms, orientation = _canonical(volume, image)
        volume8 = to_uint8(volume, *auto_window(volume))
    tags = technical_tags(image, size, data[:2] == GZIP_MAGIC, volumes, orientation)
    return _scan(volume8, zooms, tags, label)


def gunzip(data: bytes, label: str, limit: int | None = None) -> bytes:
    """Decompress in memory, refusing more than ``limit`` (default :data:`MAX_DECOMPRESSED`) bytes."""
    limit = MAX_DECOMPRESSED if limit is None else limit
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            raw = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise ImageLoadError(f"{label} is a damaged or truncated .gz file ({type(err).__name__}).") from err
    if len(raw) > limit:
        raise ImageLoadError(f"{label} decompresses to more than {limit // 2**20} MB, the limit.")
    return raw


def _open(raw: bytes, size: int, label: str):
    import nibabel as nib
    from nibabel.imageglobals import LoggingOutputSuppressor

    klass = nib.Nifti1Image if size == 348 else nib.Nifti2Image
    try:
        with LoggingOutputSuppressor():  # nibabel logs every header fix-up it makes
            image = klass.from_bytes(raw)
    except Exception as err:  # noqa: BLE001 - nibabel raises many types for bad headers
        raise ImageLoadError(f"{label} has a damaged NIfTI header ({type(err).__name__}).") from err
    shape = tuple(int(n) for n in image.shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ImageLoadError(f"{label} declares a volume of shape {shape}, which is not an image.")
    spatial = int(np.prod(shape[:3], dtype=np.float64))
    if spatial > MAX_VOXELS:
        raise ImageLoadError(f"{label} declares {' × '.join(map(str, shape[:3]))} voxels; the limit is "
                             f"{MAX_VOXELS // 1_000_000} million.")
    return image


def _first_volume(image, label: str) -> tuple[np.ndarray, int]:
    """The first 3-D volume as float32 ``(X, Y, Z)``, and how many volumes the file holds."""
    shape = image.shape
    index = (slice(None),) * min(len(shape), 3) + (0,) * max(len(shape) - 3, 0)
    try:  # slicing the proxy reads (and scales) only the first volume
        data = np.asanyarray(image.dataobj[index])
    except Exception as err:  # noqa: BLE001 - short data, bad offsets, bad scaling...
        raise ImageLoadError(f"{label}: the voxel data could not be read; the file may be truncated "
                             f"or damaged ({type(err).__name__}).") from err
    if data.dtype.kind == "c":
        data = np.abs(data)  # complex MR data: show the magnitude
    elif data.dtype.kind not in "biuf":
        raise ImageLoadError(f"{label} stores {data.dtype} voxels (e.g. RGB); only grey volumes are supported.")
    volume = data.astype(np.float32).reshape(tuple(shape[:3]) + (1,) * max(3 - len(shape), 0))
    return volume, int(np.prod(shape[3:], dtype=np.int64))


def _canonical(volume: np.ndarray, image) -> tuple[np.ndarray, tuple[float, float, float], str]:
    """Reorient to RAS+ with nibabel; voxel sizes in the new order; the file's axis codes."""
    import nibabel as nib

    try:
        codes = "".join(nib.aff2axcodes(image.affine))
        canonical = nib.as_closest_canonical(nib.Nifti1Image(volume, image.affine))
        volume = np.asarray(canonical.dataobj, dtype=np.float32)
        zooms = canonical.header.get_zooms()[:3]
    except Exception:  # noqa: BLE001 - degenerate affine: show the voxels as stored
        codes, zooms = "unknown (shown as stored)", image.header.get_zooms()[:3]
    zooms = tuple(float(z) if np.isfinite(z) and z > 0 else 1.0 for z in (tuple(zooms) + (1.0,) * 3)[:3])
    return volume, zooms, codes


def _display(plane: np.ndarray) -> np.ndarray:
    """RAS plane ``(i, j)`` → image rows/cols: ``j`` runs upward, ``i`` right to left (radiological)."""
    return np.ascontiguousarray(plane[::-1, ::-1].T)


class VolumeView:
    """Slices of a RAS uint8 volume across one axis, oriented and stretched for display."""

    def __init__(self, volume: np.ndarray, axis: int, size: tuple[int, int]):
        self.volume, self.axis, self.size = volume, axis, size

    def __len__(self) -> int:
        return self.volume.shape[self.axis]

    def __call__(self, index: int) -> Image.Image:
        image = Image.fromarray(_display(np.take(self.volume, index, axis=self.axis)))
        return image if image.size == self.size else image.resize(self.size, Image.BILINEAR)


def _view_sizes(volume: np.ndarray, zooms: tuple[float, float, float]) -> dict[str, tuple[int, int]]:
    """Display (width, height) per view at square pixels, the coarser direction stretched (≤ MAX_STRETCH×)."""
    (nx, ny, nz), (zx, zy, zz) = volume.shape, zooms
    # view → (rows, cols) of the displayed plane and their spacings (rows mm, cols mm)
    planes = {"axial": ((ny, nx), (zy, zx)), "coronal": ((nz, nx), (zz, zx)), "sagittal": ((nz, ny), (zz, zy))}
    sizes = {}
    for view, ((rows, cols), spacing) in planes.items():
        row_f, col_f = (min(s / min(spacing), MAX_STRETCH) for s in spacing)
        sizes[view] = (max(1, round(cols * col_f)), max(1, round(rows * row_f)))
    return sizes


def _scan(volume8: np.ndarray, zooms, tags: dict[str, str], label: str) -> Scan:
    sizes = _view_sizes(volume8, zooms)
    views = {view: VolumeView(volume8, axis, sizes[view]) for view, axis in zip(VIEWS, (2, 1, 0))}
    flat = [view for view in VIEWS if len(views[view]) == 1]
    if flat:  # a single 2-D slice: no axes to step through
        check_size(sizes[flat[0]], label)
        return Scan("nifti", {}, tags, single=views[flat[0]])
    planes = {view: views[view] for view in VIEWS
              if min(sizes[view]) >= MIN_SIDE and max(sizes[view]) <= MAX_SIDE}
    if not planes:
        check_size(sizes["axial"], label)
    return Scan("nifti", planes, tags)


def technical_tags(image, size: int, gzipped: bool, volumes: int, orientation: str) -> dict[str, str]:
    """Non-identifying facts from the header (never its free-text fields such as ``descrip``)."""
    header = image.header
    shape = tuple(int(n) for n in image.shape)
    tags = {"Format": HEADER_SIZES[size] + (" (gzip)" if gzipped else "")}
    tags["Volume shape"] = " × ".join(map(str, shape))
    try:
        unit = header.get_xyzt_units()[0]
        unit = {"mm": " mm", "micron": " µm", "meter": " m"}.get(unit, "")
        tags["Voxel size"] = " × ".join(f"{float(z):g}" for z in header.get_zooms()[:3]) + unit
    except Exception:  # noqa: BLE001 - odd units or pixdim: just leave the tag out
        pass
    tags["Data type"] = str(header.get_data_dtype())
    if volumes > 1:
        tags["Volumes"] = f"{volumes} (showing the first)"
    tags["Orientation (file)"] = orientation
    tags["Display"] = "radiological (patient's right on the image's left)"
    tags["Windowing"] = f"automatic ({AUTO_WINDOW[0]:g}–{AUTO_WINDOW[1]:g} percentile of the volume)"
    return tags
