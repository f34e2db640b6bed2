"""DICOM uploads: decode with pydicom, window to 8 bits, expose frames, keep only technical tags.

Pixel values go through pydicom's own LUT helpers: the modality LUT (rescale
slope/intercept), then the file's VOI LUT or window centre/width when it has
one, else a robust percentile window. MONOCHROME1 is inverted so bone/air look
as on a viewer; colour and palette images become grey.
"""
from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image

from .limits import AUTO_WINDOW, MAX_VOXELS, ImageLoadError, auto_window, check_size, to_uint8
from .scan import Scan

#: Where the "DICM" marker sits in a DICOM Part 10 file (after the 128-byte preamble).
MAGIC_OFFSET = 128
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# pydicom's decoders fail with a small set of exception types; anything else is a bug.
DECODE_ERRORS = (ValueError, RuntimeError, AttributeError, KeyError, TypeError, IndexError, EOFError,
                 OSError, struct.error, MemoryError, OverflowError)
#: Luminance weights (ITU-R BT.601) for colour DICOMs shown as grey.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def has_dicom_magic(data: bytes) -> bool:
    """True when ``data`` is a DICOM Part 10 file ("DICM" after the preamble)."""
    return data[MAGIC_OFFSET:MAGIC_OFFSET + 4] == b"DICM"


def read_dicom(data: bytes, label: str, force: bool = False) -> Scan:
    """Decode a DICOM file held in memory.

    Args:
        data: the whole file.
        label: how messages name the file.
        force: read even without the "DICM" marker (files named ``.dcm`` without a preamble).
    Returns:
        A ``"dicom"`` :class:`~model.uploads.scan.Scan`: axes ``()`` for one frame, ``("frame",)`` for several.
    Raises:
        ImageLoadError: not DICOM, no pixel data, damaged, too large, or an undecodable transfer syntax.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # pydicom warns about every oddity; we report only failures
        ds = _parse(data, label, force)
        if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
            raise ImageLoadError(f"{label} is a DICOM file but has no image (pixel data); "
                                 "it may be a report, a structure set or a waveform.")
        rows, cols, frames = _declared_size(ds, label)
        syntax = _transfer_syntax(ds, label)
        pixels = _decode(ds, label, syntax)
        grey, how = _grey_frames(pixels, ds, rows, cols)
        tags = technical_tags(ds, syntax, rows, cols, frames, how)
    if len(grey) == 1:
        return Scan("dicom", {}, tags, single=Frames(grey))
    return Scan("dicom", {"frame": Frames(grey)}, tags)


class Frames:
    """The windowed ``(frames, rows, cols)`` uint8 stack as a slice source for :class:`Scan`."""

    def __init__(self, frames: np.ndarray):
        self.frames = frames

    def __len__(self) -> int:
        return len(self.frames)

    def __call__(self, index: int) -> Image.Image:
        return Image.fromarray(self.frames[index])


def _parse(data: bytes, label: str, force: bool):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(io.BytesIO(data), force=force)
    except InvalidDicomError as err:
        raise ImageLoadError(f"{label} is not a readable DICOM file.") from err
    except DECODE_ERRORS as err:
        raise ImageLoadError(f"{label} is a damaged or truncated DICOM file ({type(err).__name__}).") from err


def _declared_size(ds, label: str) -> tuple[int, int, int]:
    """Rows, columns and frames as the header declares them, checked before any decoding."""
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames") or 1)
    except DECODE_ERRORS as err:
        raise ImageLoadError(f"{label} has missing or invalid image size tags (Rows, Columns, "
                             "NumberOfFrames).") from err
    if frames < 1:
        raise ImageLoadError(f"{label} declares {frames} frames.")
    check_size((cols, rows), label)
    if rows * cols * frames > MAX_VOXELS:
        raise ImageLoadError(f"{label} declares {frames} frames of {cols}×{rows} pixels; the limit is "
                             f"{MAX_VOXELS // 1_000_000} million pixels in all.")
    return rows, cols, frames


def _transfer_syntax(ds, label: str):
    """The file's transfer syntax, inferred from how it was read when the meta header lacks it."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    uid = ds.file_meta.get("TransferSyntaxUID") if getattr(ds, "file_meta", None) is not None else None
    if not uid:
        implicit, little = ds.original_encoding
        if implicit is None:
            raise ImageLoadError(f"{label} does not say how its pixel data is encoded (no transfer syntax).")
        uid = ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        ds.file_meta.TransferSyntaxUID = uid  # pydicom's decoder reads it from there
    uid = UID(str(uid))
    try:
        available = uid.is_transfer_syntax and get_decoder(uid).is_available
    except (NotImplementedError, ValueError):
        available = False
    if not available:
        raise ImageLoadError(f"{label} uses the transfer syntax {_syntax_name(uid)}, which this app cannot "
                             "decode. Export the series uncompressed (Explicit VR Little Endian) and try again.")
    return uid


def _syntax_name(uid) -> str:
    return uid.name if uid.name and uid.name != str(uid) else f"with UID {uid}"


def _decode(ds, label: str, syntax) -> np.ndarray:
    try:
        return ds.pixel_array
    except NotImplementedError as err:
        raise ImageLoadError(f"{label} uses the transfer syntax {_syntax_name(syntax)}, which this app "
                             "cannot decode.") from err
    except DECODE_ERRORS as err:
        reason = " ".join(str(err).split())[:160] or type(err).__name__
        raise ImageLoadError(f"{label}: the {_syntax_name(syntax)} pixel data could not be decoded; the file "
                             f"may be truncated or damaged ({reason}).") from err


def _grey_frames(pixels: np.ndarray, ds, rows: int, cols: int) -> tuple[np.ndarray, str]:
    """``(frames, rows, cols)`` uint8 ready to show, and how it was windowed."""
    from pydicom.pixels import apply_color_lut

    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    samples = int(ds.get("SamplesPerPixel") or 1)
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, ds).reshape(-1, rows, cols, 3)
        top = float(np.iinfo(rgb.dtype).max) if rgb.dtype.kind in "ui" else 1.0
        return to_uint8(rgb.astype(np.float32) @ LUMA, 0.0, top), "palette colours shown as grey"
    if samples >= 3:
        rgb = pixels.reshape(-1, rows, cols, samples)[..., :3].astype(np.float32)
        bits = int(ds.get("BitsStored") or pixels.dtype.itemsize * 8)
        return to_uint8(rgb @ LUMA, 0.0, float(2 ** min(bits, 32) - 1)), "colour shown as grey"
    grey, how = _window_monochrome(pixels.reshape(-1, rows, cols), ds)
    if photometric == "MONOCHROME1":  # low values are bright in MONOCHROME1
        grey = 255 - grey
    return grey, how


def _window_monochrome(frames: np.ndarray, ds) -> tuple[np.ndarray, str]:
    """Modality LUT, then the file's VOI (window or LUT) when present, else the automatic window."""
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    values = apply_modality_lut(frames, ds)
    if ds.get("VOILUTSequence") or ("WindowCenter" in ds and "WindowWidth" in ds):
        try:
            lo, hi = _voi_output_range(ds)
            windowed = apply_voi_lut(values, ds)
            if np.isfinite(lo) and np.isfinite(hi) and lo != hi:
                return to_uint8(windowed, lo, hi), _voi_description(ds)
        except (*DECODE_ERRORS, NotImplementedError):
            pass  # a broken window in the header: fall back to the automatic one
    lo, hi = auto_window(values)
    return to_uint8(values, lo, hi), f"automatic ({AUTO_WINDOW[0]:g}–{AUTO_WINDOW[1]:g} percentile)"


def _voi_output_range(ds) -> tuple[float, float]:
    """The values the VOI step maps the darkest and the brightest input to."""
    from pydicom.pixels import apply_windowing

    if ds.get("VOILUTSequence"):
        # PS3.3 C.11.2.1.1: LUT entries span 0 .. 2**n - 1 with n the descriptor's bit depth.
        return 0.0, float(2 ** int(ds.VOILUTSequence[0].LUTDescriptor[2]) - 1)
    # Probing far outside any window yields pydicom's own output limits (y_min, y_max).
    lo, hi = apply_windowing(np.array([-1e30, 1e30]), ds)
    return float(lo), float(hi)


def _voi_description(ds) -> str:
    if ds.get("VOILUTSequence"):
        return "from the file (VOI LUT)"
    centre, width = (_first(ds.get(k)) for k in ("WindowCenter", "WindowWidth"))
    return f"from the file (centre {centre:g}, width {width:g})"


def _first(value) -> float:
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def technical_tags(ds, syntax, rows: int, cols: int, frames: int, windowing: str) -> dict[str, str]:
    """Non-identifying acquisition facts, from an allow-list (nothing about the patient or site)."""
    tags = {"Format": "DICOM"}
    _put(tags, "Modality", lambda: str(ds.Modality))
    tags["Image size"] = f"{rows} × {cols} px"
    if frames > 1:
        tags["Frames"] = str(frames)
    _put(tags, "Pixel spacing", lambda: " × ".join(f"{float(v):g}" for v in ds.PixelSpacing) + " mm")
    _put(tags, "Slice thickness", lambda: f"{float(ds.SliceThickness):g} mm")
    _put(tags, "Bits stored", lambda: str(int(ds.BitsStored)))
    _put(tags, "Photometric interpretation", lambda: str(ds.PhotometricInterpretation))
    tags["Transfer syntax"] = syntax.name or str(syntax)
    tags["Windowing"] = windowing
    return tags


def _put(tags: dict[str, str], key: str, read) -> None:
    """Store ``read()`` under ``key`` when the element exists and is well formed."""
    try:
        value = read()
    except (*DECODE_ERRORS, NotImplementedError):
        return
    value = "".join(ch for ch in value if ch.isprintable()).strip()[:64]
    if value:
        tags[key] = value
