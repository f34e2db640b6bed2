"""Tumour outlines cut the way the network sees the slice: the head crop of each image, applied to its mask.

Training with the outlines (``--outline-weight``, :mod:`model.training.outline_loss`) needs each mask on
the same ``stage_size`` square as the decoded image, so the augmentation can move both together.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..classifier.preprocess import PreprocessSpec, crop_square
from .folders import ImageFolderIndex, memoised
from .outlines import OutlineSet, load_mask

__all__ = ["cropped_mask", "decode_masks"]


def cropped_mask(image_path: Path, mask_path: Path, spec: PreprocessSpec) -> np.ndarray:
    """The mask cut by the image's own head crop and resized to ``stage_size``: uint8, 0 outside, 255 inside
    (in-between values on the rim, as bilinear resizing leaves them)."""
    with Image.open(image_path) as im:
        _, box = spec.to_square_grey(im)
        size = im.size
    mask = load_mask(mask_path)
    if mask.shape[::-1] != size:  # a mask drawn at another size than its picture: stretch it onto the picture
        mask = np.asarray(Image.fromarray(mask).resize(size, Image.NEAREST))
    square = crop_square(mask.astype(np.uint8) * 255, box)
    return np.asarray(Image.fromarray(square).resize((spec.stage_size, spec.stage_size), Image.BILINEAR))


def decode_masks(index: ImageFolderIndex, outlines: OutlineSet, spec: PreprocessSpec,
                 cache_dir: str | Path | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of ``index`` that has an outline, its mask as the network's crop sees it.

    Args:
        outlines: the outlines of ``index``'s split (``read_outlines(..., split="Training")``); images are
            matched by ``class/file``.

    Returns:
        ``masks``, uint8 ``(N, S, S)`` (zeros for images without an outline), and ``outlined``, bool ``(N,)``.
        Memoised in ``cache_dir`` by the images' fingerprint, the outlines listed and the spec.
    """
    by_name = dict(zip(outlines.names, outlines.mask_paths()))  # "class/file", as the index names its images
    pairs = [(i, by_name[name]) for i, name in enumerate(index.names) if name in by_name]
    key = hashlib.sha256((index.fingerprint() + repr(spec.to_dict()) + "|".join(str(m) for _, m in pairs))
                         .encode()).hexdigest()[:16]

    def crop_all() -> dict[str, torch.Tensor]:
        masks = torch.zeros(len(index), spec.stage_size, spec.stage_size, dtype=torch.uint8)
        outlined = torch.zeros(len(index), dtype=torch.bool)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            crops = pool.map(lambda pair: cropped_mask(index.paths[pair[0]], pair[1], spec), pairs)
            for (i, _), crop in zip(pairs, crops):
                masks[i], outlined[i] = torch.from_numpy(np.array(crop)), True
        return {"masks": masks, "outlined": outlined}

    saved = crop_all() if cache_dir is None else memoised(Path(cache_dir) / f"masks-{key}.pt", crop_all)
    return saved["masks"], saved["outlined"]
