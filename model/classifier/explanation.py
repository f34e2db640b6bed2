"""One image's answer and heat map (:class:`Explanation`), kept small and drawn at display size."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:  # preprocess imports SciPy; the pages that only read UNSURE_BELOW need none
    from .preprocess import CropBox
    from .sequence import SequenceEstimate

__all__ = ["DISPLAY_SIDE", "UNSURE_BELOW", "Explanation"]

#: Below this top-class probability the app says the model is unsure instead of naming a class.
UNSURE_BELOW = 0.6
#: Longest side of the pictures the app shows (the slice and its overlay). A 50-megapixel upload
#: is shown, and its heat map blended, at this size, not at its own.
DISPLAY_SIDE = 640


@dataclass
class Explanation:
    """One image's prediction and where the network looked.

    Attributes:
        probabilities: ``(C,)`` class probabilities in ``classes`` order.
        class_index: the explained class (the top one unless asked otherwise).
        crop_map: the heat map in [0, 1] (Grad-CAM unless another method was asked for) over the
            square crop the network saw, or ``None`` when it was not asked for
            (``explain(..., heatmap=False)``). With no ``box`` it covers the whole image.
        problem: why the image does not look like a brain MRI, or ``None``.
        box: the crop in the image's pixels (see :meth:`PreprocessSpec.to_square_grey`).
        image_size: ``(width, height)`` of the image.
        preview: the grey picture the network saw, uint8, at most :data:`DISPLAY_SIDE` on its
            longest side: what the app shows (a 16-bit upload keeps its contrast).
        sequence: which MRI sequence the slice looks like, when the checkpoint has a sequence estimate.
    """

    probabilities: np.ndarray
    class_index: int
    crop_map: np.ndarray | None
    problem: str | None = None
    box: CropBox | None = None
    image_size: tuple[int, int] | None = None
    preview: np.ndarray | None = None
    sequence: SequenceEstimate | None = None

    @property
    def unsure(self) -> bool:
        return float(self.probabilities[self.class_index]) < UNSURE_BELOW

    @property
    def heatmap(self) -> np.ndarray | None:
        """The heat map ``(H, W)`` at the image's own size (zero outside the crop), or ``None``."""
        if self.crop_map is None or self.box is None:
            return self.crop_map
        from .preprocess import uncrop_map

        return uncrop_map(self.crop_map, self.box, self.image_size)

    def with_heat_map(self, crop_map: np.ndarray, box: CropBox) -> "Explanation":
        """This answer with a heat map drawn afterwards (:meth:`Classifier.heat_map`)."""
        return replace(self, crop_map=crop_map, box=box)

    def preview_image(self) -> Image.Image:
        if self.preview is None:
            raise ValueError("this explanation was made without a preview")
        return Image.fromarray(self.preview)

    def overlay(self, image: Image.Image | None = None, opacity: float = 0.5) -> Image.Image:
        """The heat map over the picture, at display size.

        Args:
            image: the picture to draw on, at its own size; ``None`` draws on :attr:`preview`.
            opacity: 0 shows only the picture, 1 only the heat map.
        """
        if self.crop_map is None:
            raise ValueError("this explanation was made without a heat map")
        base = self.preview if image is None else image
        width = base.shape[1] if isinstance(base, np.ndarray) else base.size[0]
        height = base.shape[0] if isinstance(base, np.ndarray) else base.size[1]
        from .heat_maps.activation_maps import overlay_heatmap  # OpenCV: loaded with the first map, not the answer

        return overlay_heatmap(base, self._map_at((width, height)), opacity)

    def _map_at(self, size: tuple[int, int]) -> np.ndarray:
        """The heat map resampled straight from the crop to ``size`` (never at the upload's full size)."""
        if self.box is None:
            return np.asarray(Image.fromarray(self.crop_map.astype(np.float32)).resize(size, Image.BILINEAR))
        from .preprocess import uncrop_map

        return uncrop_map(self.crop_map, self.box.scaled(size[0] / self.image_size[0]), size)
