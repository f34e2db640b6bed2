"""The flips and quarter turns under which the duplicate audit compares images.

A copy of a slice may be stored mirrored left-right (the Kaggle set holds many Figshare slices both
ways) or turned by a quarter; its perceptual hash then differs from the original's in about half
its bits. Each transform is applied the same way to a PIL picture (before hashing) and to a batch of
square numpy thumbnails (before the pixel correlation), so hash and confirmation agree.

``rotN`` turns N degrees anticlockwise; ``mirrored+rotN`` mirrors left-right, then turns.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

__all__ = ["AS_IS", "TRANSFORMS", "apply_to_picture", "apply_to_thumbnails", "inverse"]

AS_IS = "as is"

_MIRROR = (Image.Transpose.FLIP_LEFT_RIGHT,)
_TURNS = {"rot90": Image.Transpose.ROTATE_90, "rot180": Image.Transpose.ROTATE_180,
          "rot270": Image.Transpose.ROTATE_270}

#: Transform name → the PIL transposes it applies, in order. The order of the names is the order of
#: preference when one pair matches under several: a plain mirror is the likeliest explanation.
TRANSFORMS: dict[str, tuple[Image.Transpose, ...]] = {
    "mirrored": _MIRROR,
    **{name: (turn,) for name, turn in _TURNS.items()},
    **{f"mirrored+{name}": _MIRROR + (turn,) for name, turn in _TURNS.items()},
}

# The same steps on a batch (N, S, S) of square images: np.rot90 also turns anticlockwise.
_ON_ARRAYS: dict[Image.Transpose, Callable[[np.ndarray], np.ndarray]] = {
    Image.Transpose.FLIP_LEFT_RIGHT: lambda a: a[:, :, ::-1],
    Image.Transpose.ROTATE_90: lambda a: np.rot90(a, 1, axes=(1, 2)),
    Image.Transpose.ROTATE_180: lambda a: np.rot90(a, 2, axes=(1, 2)),
    Image.Transpose.ROTATE_270: lambda a: np.rot90(a, 3, axes=(1, 2)),
}


def apply_to_picture(image: Image.Image, name: str) -> Image.Image:
    """``image`` under the transform ``name``."""
    for step in TRANSFORMS[name]:
        image = image.transpose(step)
    return image


def apply_to_thumbnails(thumbs: np.ndarray, name: str) -> np.ndarray:
    """Flattened square thumbnails ``(N, S*S)`` under the transform ``name``, flattened again."""
    side = int(round(thumbs.shape[1] ** 0.5))
    batch = thumbs.reshape(len(thumbs), side, side)
    for step in TRANSFORMS[name]:
        batch = _ON_ARRAYS[step](batch)
    return batch.reshape(len(thumbs), side * side)


def inverse(name: str) -> str:
    """The transform that undoes ``name``: quarter turns swap; mirrors and half turns undo themselves
    (a mirror followed by any turn is a reflection, which is its own inverse)."""
    return {"rot90": "rot270", "rot270": "rot90"}.get(name, name)
