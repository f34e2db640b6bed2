"""One preprocessing spec shared by training, evaluation and the app.

The pipeline has two stages so that training can put augmentation between them:

1. :meth:`PreprocessSpec.to_square_grey` — any PIL image → single-channel
   uint8 square crop around the head, resized to ``stage_size``
   (deterministic, cacheable).
2. :meth:`PreprocessSpec.normalise` — float batch ``(N, 1, H, W)`` in [0, 1]
   → per-image z-scored ``(N, 3, H, W)`` at ``input_size``, ready for the
   network.

Per-image normalisation (rather than fixed dataset statistics) makes the
network indifferent to the global brightness and contrast of a scanner.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

if TYPE_CHECKING:  # stage 2 imports torch when it runs: stage 1 serves the app's torch-free first answer
    import torch

# Down-sampled size on which the head mask is computed: fast, and small
# text labels or thin frame lines vanish under the morphological opening.
_MASK_SIZE = 64
# Longest side worked on at full resolution. Longer pictures are shrunk first, so
# that padding an elongated strip to a square never allocates side² pixels.
MAX_WORK_SIDE = 4096


@dataclass(frozen=True)
class CropBox:
    """Square crop in original-image pixel coordinates (may extend past edges)."""

    left: int
    top: int
    side: int

    def scaled(self, factor: float) -> "CropBox":
        return CropBox(int(round(self.left * factor)), int(round(self.top * factor)),
                       max(1, int(round(self.side * factor))))


@dataclass(frozen=True, eq=False)
class GreySlice:
    """An image's grey pixels and head mask, computed once and handed to every step that needs them:
    the crop (:meth:`PreprocessSpec.to_square_grey`), the picture checks
    (:func:`model.classifier.guard.input_problem`) and the picture the app shows.

    Attributes:
        grey: uint8 ``(H, W)``, the grey mapping the network sees (:func:`to_grey_uint8`), shrunk
            so that its longest side is at most :data:`MAX_WORK_SIDE`.
        shrink: original side over ``grey``'s side (1 when not shrunk).
        mask: :func:`head_mask` of ``grey``.
    """

    grey: np.ndarray
    shrink: float
    mask: np.ndarray

    @classmethod
    def of(cls, image: "Image.Image | GreySlice") -> "GreySlice":
        if isinstance(image, GreySlice):
            return image
        grey = to_grey_uint8(image)
        shrink = max(grey.shape) / MAX_WORK_SIDE
        if shrink > 1:
            h, w = grey.shape
            small = (max(1, round(w / shrink)), max(1, round(h / shrink)))
            grey = np.asarray(Image.fromarray(grey).resize(small, Image.BILINEAR, reducing_gap=2.0))
        return cls(grey, max(shrink, 1.0), head_mask(grey))

    def preview(self, max_side: int) -> np.ndarray:
        """``grey`` shrunk to fit ``max_side`` (never enlarged): the picture the app shows."""
        h, w = self.grey.shape
        scale = max_side / max(h, w)
        if scale >= 1:
            return self.grey
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return np.asarray(Image.fromarray(self.grey).resize(size, Image.BILINEAR, reducing_gap=2.0))


@dataclass(frozen=True)
class PreprocessSpec:
    """Everything needed to turn an image into a network input.

    Attributes:
        input_size: side of the square tensor fed to the network.
        stage_size: side of the cached grey crop (a little larger than
            ``input_size`` so that augmentation can zoom without blurring).
        crop_to_head: crop to the bounding box of the head before resizing.
        crop_margin: margin added around the head box, as a fraction of its side.
        channels: network input channels; grey is repeated to fill them.
        eps: floor on the per-image standard deviation (blank images).
    """

    input_size: int = 128
    stage_size: int = 144
    crop_to_head: bool = True
    crop_margin: float = 0.04
    channels: int = 3
    eps: float = 1e-3

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PreprocessSpec":
        """The spec a checkpoint was trained with.

        Raises:
            ValueError: ``data`` holds a setting this code does not know (written by a newer
                version, say). Dropping it would feed the network other inputs than it learned on.
        """
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown preprocessing settings {unknown}: this checkpoint needs a newer version "
                             "of the code, or was not written by it")
        return cls(**data)

    # -- stage 1 ---------------------------------------------------------
    def to_square_grey(self, image: Image.Image | GreySlice) -> tuple[np.ndarray, CropBox]:
        """Grey, head-cropped, square uint8 array of side ``stage_size``.

        Args:
            image: a PIL image, or its :class:`GreySlice` when the caller has it already.
        Returns:
            The array and the crop box (in the original image's pixels), so that heat maps can be
            mapped back onto the original image.
        """
        prepared = GreySlice.of(image)
        grey = prepared.grey
        box = head_box(grey, self.crop_margin, prepared.mask) if self.crop_to_head else full_box(grey)
        square = crop_square(grey, box)
        resized = Image.fromarray(square).resize(
            (self.stage_size, self.stage_size), Image.BILINEAR, reducing_gap=2.0
        )
        return np.array(resized, dtype=np.uint8), (box.scaled(prepared.shrink) if prepared.shrink > 1 else box)

    # -- stage 2 ---------------------------------------------------------
    def normalise(self, batch: torch.Tensor) -> torch.Tensor:
        """Resize to ``input_size``, z-score each image, repeat to ``channels``.

        Args:
            batch: float tensor ``(N, 1, H, W)``, values in [0, 1].
        Returns:
            float tensor ``(N, channels, input_size, input_size)``.
        """
        import torch.nn.functional as F

        if batch.shape[-1] != self.input_size or batch.shape[-2] != self.input_size:
            batch = F.interpolate(
                batch, size=(self.input_size, self.input_size),
                mode="bilinear", align_corners=False, antialias=True,
            )
        mean = batch.mean(dim=(1, 2, 3), keepdim=True)
        std = batch.std(dim=(1, 2, 3), keepdim=True).clamp_min(self.eps)
        return ((batch - mean) / std).expand(-1, self.channels, -1, -1).contiguous()

    def squares(self, images: Sequence[Image.Image | GreySlice]) -> np.ndarray:
        """Stage 1 for many images, uint8 ``(N, stage_size, stage_size)``; from :data:`POOL_FROM` images on
        spread over the CPU's cores (PIL's resizing and SciPy's morphology release the GIL)."""
        if len(images) < POOL_FROM:
            return np.stack([self.to_square_grey(im)[0] for im in images])
        seen: set[int] = set()
        for im in images:  # a lazily opened picture listed twice must not be decoded by two threads at once
            if isinstance(im, Image.Image) and id(im) in seen:
                im.load()
            seen.add(id(im))
        return np.stack(list(_crop_pool().map(lambda im: self.to_square_grey(im)[0], images)))

    def __call__(self, images: Sequence[Image.Image | GreySlice]) -> torch.Tensor:
        """Both stages for a list of PIL images (or their grey slices) → network-ready batch."""
        return self.normalise(uint8_to_float(self.squares(images)))


#: Batches of at least this many images are cropped by a pool of threads, one per core.
POOL_FROM = 4


@lru_cache(maxsize=1)
def _crop_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="head-crop")


def uint8_to_float(arrays: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` uint8 → ``(N, 1, H, W)`` float in [0, 1]."""
    import torch

    tensor = torch.as_tensor(arrays)
    return tensor.unsqueeze(1).float().div_(255.0)


def to_grey_uint8(image: Image.Image) -> np.ndarray:
    """Any PIL mode (1, L, P, RGB, RGBA, CMYK, I;16, I, F, LA …) → uint8 grey.

    High-bit-depth images are windowed to their 0.5–99.5 percentiles, so a
    16-bit scan keeps its contrast instead of being truncated.
    """
    image = ImageOps.exif_transpose(image) if image.mode not in ("I", "F") else image
    if image.mode in ("I", "F", "I;16", "I;16B", "I;16L", "I;16N"):
        data = np.asarray(image, dtype=np.float64)
        lo, hi = np.percentile(data, (0.5, 99.5)) if data.size else (0.0, 1.0)
        scaled = (data - lo) / max(hi - lo, 1e-9)
        return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels become black background, not arbitrary colour.
        rgba = image.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def full_box(grey: np.ndarray) -> CropBox:
    """The whole image as a square box centred on it."""
    h, w = grey.shape
    side = max(h, w)
    return CropBox(left=(w - side) // 2, top=(h - side) // 2, side=side)


def head_mask(grey: np.ndarray) -> np.ndarray:
    """The largest bright blob (the head) on a ``_MASK_SIZE`` square grid; all False if none."""
    small = np.asarray(Image.fromarray(grey).resize((_MASK_SIZE, _MASK_SIZE), Image.BILINEAR))
    threshold = max(0.1 * float(np.percentile(small, 99)), float(small.mean()) * 0.5, 8.0)
    mask = ndimage.binary_opening(small > threshold, structure=np.ones((3, 3)), iterations=2)
    labels, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = ndimage.sum(mask, labels, index=range(1, count + 1))
    return labels == int(np.argmax(sizes)) + 1


def head_box(grey: np.ndarray, margin: float = 0.04, mask: np.ndarray | None = None) -> CropBox:
    """Square box around the largest bright blob (the head).

    Falls back to the whole image when nothing stands out from the background.

    Args:
        mask: ``head_mask(grey)`` (holes filled or not: the box is the same) when the
            caller has it already, so it is not computed twice.
    """
    h, w = grey.shape
    if h < 8 or w < 8:
        return full_box(grey)
    mask = head_mask(grey) if mask is None else mask
    if not mask.any():
        return full_box(grey)
    rows, cols = np.nonzero(mask)
    sy, sx = h / _MASK_SIZE, w / _MASK_SIZE
    top, bottom = rows.min() * sy, (rows.max() + 1) * sy
    left, right = cols.min() * sx, (cols.max() + 1) * sx
    side = max(bottom - top, right - left) * (1 + 2 * margin)
    if side < 0.2 * max(h, w):  # a speck, not a head
        return full_box(grey)
    cy, cx = (top + bottom) / 2, (left + right) / 2
    return CropBox(left=int(round(cx - side / 2)), top=int(round(cy - side / 2)), side=int(round(side)))


def crop_square(grey: np.ndarray, box: CropBox) -> np.ndarray:
    """Cut ``box`` out of ``grey``, padding with black where it leaves the image."""
    out = np.zeros((box.side, box.side), dtype=grey.dtype)
    h, w = grey.shape
    y0, x0 = max(box.top, 0), max(box.left, 0)
    y1, x1 = min(box.top + box.side, h), min(box.left + box.side, w)
    if y1 > y0 and x1 > x0:
        out[y0 - box.top:y1 - box.top, x0 - box.left:x1 - box.left] = grey[y0:y1, x0:x1]
    return out


def uncrop_map(heat: np.ndarray, box: CropBox, size: tuple[int, int]) -> np.ndarray:
    """Place a square heat map computed on the crop back onto the full image.

    Args:
        heat: ``(S, S)`` float map over the crop.
        box: the crop used for that map.
        size: ``(width, height)`` of the original image.
    Returns:
        ``(height, width)`` float32 map, zero outside the crop.
    """
    w, h = size
    out = np.zeros((h, w), dtype=np.float32)
    y0, x0 = max(box.top, 0), max(box.left, 0)
    y1, x1 = min(box.top + box.side, h), min(box.left + box.side, w)
    if y1 > y0 and x1 > x0:
        # resample only the part of the crop inside the picture (never side² pixels)
        scale = heat.shape[0] / box.side
        source = ((x0 - box.left) * scale, (y0 - box.top) * scale, (x1 - box.left) * scale, (y1 - box.top) * scale)
        part = Image.fromarray(heat.astype(np.float32), mode="F").resize((x1 - x0, y1 - y0), Image.BILINEAR,
                                                                           box=source)
        out[y0:y1, x0:x1] = np.asarray(part)
    return out
