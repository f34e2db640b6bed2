"""How well one heat map marks one outlined tumour: the three scores of ``python -m model localise``.

1. **Pointing game** (Zhang et al., 2018): does the map's peak lie on the tumour, within 15 px at 224 px?
2. **Energy inside**: the share of the map's (positive) heat that falls inside the outline.
3. **Pixel AUC**: the map as a pixel-wise tumour detector (scikit-learn's ROC-AUC over the slice's pixels).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt
from sklearn.metrics import roc_auc_score

__all__ = ["TOLERANCE_AT_224", "energy_inside", "pixel_auc", "pointing_game", "score_maps", "tolerance_px"]

#: How far from the outline the peak may fall and still count, at 224 px (scaled with the map's side).
TOLERANCE_AT_224 = 15


def tolerance_px(side: int) -> float:
    return TOLERANCE_AT_224 * side / 224


def _checked(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    maps, masks = np.asarray(maps, dtype=np.float64), np.asarray(masks, dtype=bool)
    if maps.shape != masks.shape or maps.ndim != 3:
        raise ValueError(f"maps {maps.shape} and masks {masks.shape} must both be (N, H, W)")
    if not masks.any(axis=(1, 2)).all() or masks.all(axis=(1, 2)).any():
        raise ValueError("every mask needs pixels inside and outside the tumour")
    return maps, masks


def pointing_game(maps: np.ndarray, masks: np.ndarray, tolerance: float | None = None) -> np.ndarray:
    """1.0 where the map's peak lies within ``tolerance`` px of the mask (default: 15 px at 224), else 0.0."""
    maps, masks = _checked(maps, masks)
    tolerance = tolerance_px(maps.shape[-1]) if tolerance is None else tolerance
    hits = []
    for heat, mask in zip(maps, masks):
        peak = np.unravel_index(np.argmax(heat), heat.shape)
        hits.append(distance_transform_edt(~mask)[peak] <= tolerance)  # 0 inside, px to the mask outside
    return np.asarray(hits, dtype=np.float64)


def energy_inside(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Share of each map's heat (clipped at 0) inside its mask; 0 for a map with no heat at all."""
    maps, masks = _checked(maps, masks)
    heat = np.clip(maps, 0, None)
    total, inside = heat.sum(axis=(1, 2)), (heat * masks).sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


def pixel_auc(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """ROC-AUC of each map's pixels as scores for "inside the tumour" (0.5: no better than chance)."""
    maps, masks = _checked(maps, masks)
    return np.asarray([roc_auc_score(mask.ravel(), heat.ravel()) for heat, mask in zip(maps, masks)])


def score_maps(maps: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:
    return {"pointing_game": pointing_game(maps, masks), "energy_inside": energy_inside(maps, masks),
            "auc": pixel_auc(maps, masks)}
