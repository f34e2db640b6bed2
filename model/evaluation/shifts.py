"""Deterministic "other hospital" shifts of a brain MRI picture, for the robustness check.

Each shift is applied to the picture a person would upload, before the app's own
preprocessing, so the whole path (head crop, per-image normalisation, network) is
what gets tested. They mimic what differs between sources: framing, orientation,
pixel size and aspect, contrast, coil shading, noise and compression.

Two kinds are kept apart because they mean different things:

* ``scanner``: changes a real upload from another hospital may well have.
* ``orientation``: the slice turned a quarter or upside down. Radiology viewers show
  slices upright, so these probe what the network relies on more than a likely upload.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageOps

BLACK = 0


@dataclass(frozen=True)
class Shift:
    """A named, deterministic transform of a greyscale PIL image."""

    name: str
    kind: str  # "none", "scanner" or "orientation"
    describe: str
    apply: Callable[[Image.Image], Image.Image]


def _gamma(value: float) -> Callable[[Image.Image], Image.Image]:
    table = [round(255 * (i / 255) ** value) for i in range(256)]
    return lambda im: im.point(table)


def _zoom_out(im: Image.Image) -> Image.Image:
    """Head in the middle of a frame twice its size (a wider field of view)."""
    w, h = im.size
    return ImageOps.expand(im, border=(w // 2, h // 2), fill=BLACK)


def _tight_crop(im: Image.Image) -> Image.Image:
    """The central 80%: the skull edge is cut off, as in a zoomed viewer screenshot."""
    w, h = im.size
    dx, dy = round(w * 0.1), round(h * 0.1)
    return im.crop((dx, dy, w - dx, h - dy))


def _longest_side(side: int) -> Callable[[Image.Image], Image.Image]:
    def resize(im: Image.Image) -> Image.Image:
        scale = side / max(im.size)
        return im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.BICUBIC)
    return resize


def _stretch(im: Image.Image) -> Image.Image:
    """Width × 4/3: non-square pixels, or a screenshot resized carelessly."""
    return im.resize((round(im.width * 4 / 3), im.height), Image.BICUBIC)


def _shading(im: Image.Image) -> Image.Image:
    """A smooth left-to-right gain from 0.7 to 1.3: receive-coil inhomogeneity."""
    grey = np.asarray(im, dtype=np.float32)
    gain = np.linspace(0.7, 1.3, grey.shape[1], dtype=np.float32)[None, :]
    return Image.fromarray(np.clip(grey * gain, 0, 255).astype(np.uint8))


def _noise(im: Image.Image) -> Image.Image:
    """Gaussian noise, sigma 8 grey levels; the same seed for every image keeps runs identical."""
    grey = np.asarray(im, dtype=np.float32)
    noise = np.random.default_rng(0).normal(0.0, 8.0, grey.shape).astype(np.float32)
    return Image.fromarray(np.clip(grey + noise, 0, 255).astype(np.uint8))


def _jpeg(quality: int) -> Callable[[Image.Image], Image.Image]:
    def recompress(im: Image.Image) -> Image.Image:
        buffer = io.BytesIO()
        im.save(buffer, format="JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    return recompress


SHIFTS: tuple[Shift, ...] = (
    Shift("original", "none", "the Testing image as it is", lambda im: im),
    Shift("rotated 15°", "scanner", "turned 15° (a tilted head)",
          lambda im: im.rotate(15, resample=Image.BILINEAR, expand=True, fillcolor=BLACK)),
    Shift("zoomed out", "scanner", "head in the middle of a frame twice as wide", _zoom_out),
    Shift("tight crop", "scanner", "only the central 80%, skull edge cut off", _tight_crop),
    Shift("stretched 4:3", "scanner", "width stretched by a third", _stretch),
    Shift("small (96 px)", "scanner", "longest side 96 pixels", _longest_side(96)),
    Shift("large (1024 px)", "scanner", "longest side 1,024 pixels", _longest_side(1024)),
    Shift("darker (gamma 1.6)", "scanner", "mid-greys darker", _gamma(1.6)),
    Shift("brighter (gamma 0.6)", "scanner", "mid-greys brighter", _gamma(0.6)),
    Shift("coil shading", "scanner", "gain rising from 0.7 to 1.3 across the image", _shading),
    Shift("noise", "scanner", "Gaussian noise, sigma 8 grey levels", _noise),
    Shift("JPEG quality 15", "scanner", "heavy JPEG compression", _jpeg(15)),
    Shift("rotated 90°", "orientation", "a quarter turn", lambda im: im.transpose(Image.ROTATE_90)),
    Shift("upside down", "orientation", "flipped top to bottom", lambda im: im.transpose(Image.FLIP_TOP_BOTTOM)),
)


def shift_by_name(name: str) -> Shift:
    for shift in SHIFTS:
        if shift.name == name:
            return shift
    raise KeyError(f"unknown shift {name!r}; choose from {[s.name for s in SHIFTS]}")
