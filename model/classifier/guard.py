""""Is this a brain MRI at all?" — an out-of-distribution guard.

Two layers, cheapest first:

1. :func:`input_problem` — plain checks on the picture: blank, or clearly
   coloured (MRI slices are grey).
2. :class:`FeatureGuard` — the classifier's penultimate features, reduced by
   PCA and scored by the Mahalanobis distance to the nearest class mean
   (shared Ledoit-Wolf covariance). Scores above a threshold calibrated on
   held-out brain MRIs mean "not like anything the network was trained on".

The guard's arrays travel inside the checkpoint as ``ood.*`` tensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy import ndimage

from .checkpoint import GUARD_PREFIX as PREFIX
from .preprocess import GreySlice, crop_square, head_box, head_mask

#: Mean HSV saturation above which a picture is a colour photo or drawing, not an MRI.
MAX_SATURATION = 0.2
#: Standard deviation (grey levels) under which an image is blank.
MIN_GREY_STD = 2.0
#: Longest over shortest side. Every Kaggle slice is square; scanners' fields of
#: view rarely pass 1.6, while panoramas, strips and screenshots do.
MAX_ASPECT = 2.0
#: Least share of dark pixels in the outer band: MRI slices sit on a black background
#: (0.5% of Kaggle Testing slices fall below 0.16; text, photos and noise mostly do).
MIN_DARK_BORDER = 0.1
#: Least share of the picture the head covers. Not a Kaggle quantile (that was 0.2, and
#: turned away 91% of Testing slices framed twice as wide, see ``model.evaluation.stress``): wide
#: fields of view and viewer screenshots with broad margins are real MRIs. 0.05 is a head
#: about a quarter of the frame wide.
MIN_HEAD_FILL = 0.05
#: Head-shape limits, set near the 0.2–0.5% quantiles of the Kaggle *Training* slices
#: (so the Testing rejection rate they cause is a held-out figure):
#: the head's area over that of the ellipse inscribed in its bounding box (1.27 is a full
#: rectangle), judged on the crop around the head so that framing does not change it,
HEAD_ELLIPSE_FIT = (0.7, 1.2)
#: and the largest share of the picture's outer ring it may touch.
MAX_HEAD_ON_EDGE = 0.4

if TYPE_CHECKING:  # the picture checks and the feature guard run without torch (the app's first answer)
    import torch
    from torch import nn


def dark_border_share(grey: np.ndarray, band: float = 0.06, dark: float = 0.25) -> float:
    """Share of the outer ``band`` of pixels darker than ``dark`` × the image's 99th percentile.

    ``dark`` = 0.25 (it was 0.15) lets noisy or brightened backgrounds count as dark. On every
    third Testing slice brightened by gamma 0.6 it cut those turned away from 33 to 10 of 437,
    and it let no extra out-of-distribution picture through this check.
    """
    h, w = grey.shape
    b = max(2, int(band * min(h, w)))
    edge = np.concatenate([grey[:b].ravel(), grey[-b:].ravel(), grey[:, :b].ravel(), grey[:, -b:].ravel()])
    return float((edge < dark * max(float(np.percentile(grey, 99)), 1.0)).mean())


def input_problem(image: Image.Image, prepared: GreySlice | None = None) -> str | None:
    """A reason why ``image`` cannot be a brain MRI, judged from its pixels alone, or ``None``.

    Args:
        prepared: ``GreySlice.of(image)`` when the caller has it already (it is not computed twice).
    """
    if image.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV"):
        hsv = np.asarray(image.convert("RGB").convert("HSV"), dtype=np.float32)
        if hsv[..., 1].mean() / 255.0 > MAX_SATURATION:
            return "it is in colour, and MRI slices are greyscale"
    width, height = image.size
    if max(width, height) > MAX_ASPECT * min(width, height):
        return f"its shape ({width}×{height} pixels) is far from the squarish frame of an MRI slice"
    prepared = GreySlice.of(image) if prepared is None else prepared
    grey = prepared.grey
    if float(grey.std()) < MIN_GREY_STD:
        return "it is blank"
    if dark_border_share(grey) < MIN_DARK_BORDER:
        return "it has no dark background around the subject, as MRI slices do"
    return head_shape_problem(grey, prepared.mask)


def head_shape_problem(grey: np.ndarray, mask: np.ndarray | None = None) -> str | None:
    """Is the largest bright region head-sized, roughly elliptical and inside the frame?

    Args:
        mask: ``head_mask(grey)`` when the caller has it already.
    """
    head = ndimage.binary_fill_holes(head_mask(grey) if mask is None else mask)
    if head.mean() < MIN_HEAD_FILL:
        return "no head-sized subject stands out from the background"
    edge = np.concatenate([head[0], head[-1], head[:, 0], head[:, -1]])
    if edge.mean() > MAX_HEAD_ON_EDGE:
        return "the subject runs off the edges of the picture, unlike a brain MRI slice"
    if not HEAD_ELLIPSE_FIT[0] <= ellipse_fit(crop_square(grey, head_box(grey, mask=head))) <= HEAD_ELLIPSE_FIT[1]:
        return "the bright region is not shaped like a head"
    return None


def ellipse_fit(grey: np.ndarray) -> float:
    """Area of the largest bright blob over that of the ellipse inscribed in its bounding box."""
    head = ndimage.binary_fill_holes(head_mask(grey))
    if not head.any():
        return 0.0
    rows, cols = np.nonzero(head)
    box_area = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    return float(head.sum() / (np.pi / 4 * box_area))


class PenultimateFeatures:
    """Context manager that records the input of the network's final linear layer."""

    def __init__(self, model: nn.Module):
        from .factory import final_linear

        self.head = final_linear(model)
        self.features: torch.Tensor | None = None
        self._handle = None

    def __enter__(self) -> "PenultimateFeatures":
        def keep(_module, inputs):
            self.features = inputs[0].detach().float()

        self._handle = self.head.register_forward_pre_hook(keep)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


@dataclass
class FeatureGuard:
    """Mahalanobis distance to the nearest class mean in a PCA space of features."""

    pca_mean: np.ndarray  # (D,)
    components: np.ndarray  # (K, D)
    class_means: np.ndarray  # (C, K)
    precision: np.ndarray  # (K, K)
    threshold: float

    def score(self, features: np.ndarray) -> np.ndarray:
        """Higher = less like the training MRIs. ``(N, D)`` → ``(N,)``."""
        z = (np.asarray(features, np.float64) - self.pca_mean) @ self.components.T
        diff = z[:, None, :] - self.class_means[None]  # (N, C, K)
        dist = np.einsum("nck,kl,ncl->nc", diff, self.precision, diff)
        return dist.min(axis=1)

    def accepts(self, features: np.ndarray) -> np.ndarray:
        return self.score(features) <= self.threshold

    def to_tensors(self) -> dict[str, torch.Tensor]:
        arrays = {"pca_mean": self.pca_mean, "components": self.components, "class_means": self.class_means,
                  "precision": self.precision, "threshold": np.array([self.threshold])}
        import torch

        return {PREFIX + k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in arrays.items()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> "FeatureGuard | None":
        """The guard stored in a checkpoint's tensors, or ``None`` if it has none."""
        if PREFIX + "threshold" not in tensors:
            return None
        get = lambda k: np.asarray(tensors[PREFIX + k], dtype=np.float64)  # noqa: E731 (torch tensors or arrays)
        return cls(get("pca_mean"), get("components"), get("class_means"), get("precision"),
                   float(get("threshold")[0]))


def fit_guard(fit_features: np.ndarray, fit_labels: np.ndarray, calibration_features: np.ndarray,
              quantile: float = 0.999, n_components: int = 64) -> FeatureGuard:
    """Fit on one set of in-distribution features, set the threshold on another.

    Args:
        fit_features, fit_labels: features ``(N, D)`` and class ids of training MRIs.
        calibration_features: features of held-out MRIs; ``quantile`` of their
            scores becomes the threshold, so about ``1 - quantile`` of real MRIs
            are rejected.
    """
    # scikit-learn only here, where the guard is fitted: importing it costs the app ~1 s at start-up
    from sklearn.covariance import LedoitWolf
    from sklearn.decomposition import PCA

    pca = PCA(n_components=min(n_components, *fit_features.shape), random_state=0).fit(fit_features)
    z = pca.transform(fit_features)
    classes = np.unique(fit_labels)
    means = np.stack([z[fit_labels == c].mean(axis=0) for c in classes])
    lookup = np.searchsorted(classes, fit_labels)
    precision = LedoitWolf().fit(z - means[lookup]).precision_
    guard = FeatureGuard(pca.mean_, pca.components_, means, precision, threshold=np.inf)
    guard.threshold = float(np.quantile(guard.score(calibration_features), quantile))
    return guard
