"""Batched training augmentation on CPU/GPU tensors.

Works on the whole batch at once (one ``affine_grid`` + ``grid_sample``), so
it costs a small fraction of a ResNet step and needs no DataLoader workers,
which on a 2-core machine would only steal time from the network.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Strength of each random transform (0 disables it)."""

    rotate_deg: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.06
    hflip: float = 0.5
    gamma: tuple[float, float] = (0.8, 1.25)
    bias_field: float = 0.1
    noise_std: float = 0.03
    noise_p: float = 0.1
    blur_p: float = 0.1
    lowres_p: float = 0.1
    # Orientation: off by default (the runs before 2026-11-24 had neither). The robustness
    # check (model.evaluation.stress) found quarter-turned slices at ~65% accuracy without them.
    vflip: float = 0.0
    rot90: float = 0.0  # probability of a quarter turn, either way
    # Contrast-agnostic training: with probability remap_p, tissue intensities go through a random curve
    # (remap_knots knots; black stays black), non-monotonic with probability remap_nonmonotonic, so
    # that a T2-like or inverted contrast is as familiar as the Kaggle T1C+ look. Off by default.
    remap_p: float = 0.0
    remap_knots: int = 6
    remap_nonmonotonic: float = 0.5
    # Two more contrast changes, off by default: the head's intensities inverted (a T1-like slice turns
    # T2-like: fluid bright, white matter dark) and histogram equalisation (scanners that stretch contrast).
    invert_p: float = 0.0
    equalise_p: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) * (hi - lo) + lo


def random_geometry(batch: torch.Tensor, size: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Random rotation, zoom, shift and flips, resampled to ``size``."""
    n, dev = batch.shape[0], batch.device
    angle = _uniform(n, -cfg.rotate_deg, cfg.rotate_deg, gen, dev) * math.pi / 180
    zoom = torch.exp(_uniform(n, math.log(cfg.scale[0]), math.log(cfg.scale[1]), gen, dev))
    flip = torch.where(torch.rand(n, generator=gen, device=dev) < cfg.hflip, -1.0, 1.0)
    shift = _uniform(2 * n, -cfg.translate, cfg.translate, gen, dev).view(n, 2) * 2
    if cfg.vflip > 0 or cfg.rot90 > 0:  # drawn only when asked, so older runs replay unchanged
        vflip = torch.where(torch.rand(n, generator=gen, device=dev) < cfg.vflip, -1.0, 1.0)
        turn = (torch.rand(n, generator=gen, device=dev) < cfg.rot90).float()
        side = torch.where(torch.rand(n, generator=gen, device=dev) < 0.5, -1.0, 1.0)
        angle = angle + turn * side * math.pi / 2
    else:
        vflip = torch.ones(n, device=dev)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([
        torch.stack([cos * flip, -sin * vflip, shift[:, 0]], dim=1),
        torch.stack([sin * flip, cos * vflip, shift[:, 1]], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, (n, batch.shape[1], size, size), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_contrast(batch: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """A random intensity curve per picture (on ``remap_p`` of them): piecewise linear through
    ``remap_knots`` random levels, sorted (monotonic) unless drawn non-monotonic; level 0 stays 0."""
    n, dev, k = batch.shape[0], batch.device, int(cfg.remap_knots)
    levels = torch.rand(n, k, generator=gen, device=dev)
    monotonic = torch.rand(n, generator=gen, device=dev) >= cfg.remap_nonmonotonic
    levels = torch.where(monotonic[:, None], levels.sort(dim=1).values, levels)
    levels[:, 0] = 0.0  # the background stays black, as on every MRI
    chosen = (torch.rand(n, generator=gen, device=dev) < cfg.remap_p).view(n, 1, 1, 1)
    position = batch.clamp(0, 1) * (k - 1)
    low = position.floor().long().clamp(max=k - 2)
    flat = low.view(n, -1)
    start, end = levels.gather(1, flat).view_as(batch), levels.gather(1, flat + 1).view_as(batch)
    curved = start + (end - start) * (position - low)
    return torch.where(chosen, curved, batch)


#: Below this level a pixel is background: inversion and equalisation leave it black.
BACKGROUND = 0.02


def random_inversion(batch: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """On ``p`` of the pictures, tissue intensity ``x`` becomes ``1 - x``; the background stays black."""
    chosen = (torch.rand(batch.shape[0], generator=gen, device=batch.device) < p).view(-1, 1, 1, 1)
    return torch.where(chosen & (batch > BACKGROUND), 1.0 - batch, batch)


def random_equalisation(batch: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """On ``p`` of the pictures, histogram equalisation of the tissue: each tissue pixel's level becomes
    its rank among that picture's tissue pixels (the empirical CDF); the background stays black."""
    chosen = torch.rand(batch.shape[0], generator=gen, device=batch.device) < p
    if not bool(chosen.any()):
        return batch
    out = batch.clone()
    for i in chosen.nonzero().flatten().tolist():
        flat = out[i].view(-1)
        tissue = flat > BACKGROUND
        if int(tissue.sum()) > 1:
            values = flat[tissue]
            ranks = values.argsort().argsort().float()
            flat[tissue] = (ranks + 1) / len(values)
    return out


def random_intensity(batch: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Random contrast curves (when asked), gamma, smooth bias field, blur / low resolution and noise:
    scanner-to-scanner and sequence-to-sequence variety."""
    n, _, h, w = batch.shape
    dev = batch.device
    if cfg.remap_p > 0:  # drawn only when asked, so older runs replay unchanged
        batch = random_contrast(batch, cfg, gen)
    if cfg.invert_p > 0:
        batch = random_inversion(batch, cfg.invert_p, gen)
    if cfg.equalise_p > 0:
        batch = random_equalisation(batch, cfg.equalise_p, gen)
    gamma = torch.exp(_uniform(n, math.log(cfg.gamma[0]), math.log(cfg.gamma[1]), gen, dev))
    out = batch.clamp(0, 1).pow(gamma.view(n, 1, 1, 1))
    if cfg.bias_field > 0:  # coil inhomogeneity: a smooth multiplicative field
        coarse = (torch.rand(n, 1, 4, 4, generator=gen, device=dev) * 2 - 1) * cfg.bias_field
        out = out * (1 + F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False))
    pick = torch.rand(n, generator=gen, device=dev)
    blur = (pick < cfg.blur_p).view(n, 1, 1, 1)
    lowres = ((pick >= cfg.blur_p) & (pick < cfg.blur_p + cfg.lowres_p)).view(n, 1, 1, 1)
    if blur.any():
        out = torch.where(blur, F.avg_pool2d(out, 3, stride=1, padding=1, count_include_pad=False), out)
    if lowres.any():
        small = F.interpolate(out, scale_factor=0.5, mode="bilinear", antialias=True)
        out = torch.where(lowres, F.interpolate(small, size=(h, w), mode="bilinear"), out)
    noisy = (torch.rand(n, generator=gen, device=dev) < cfg.noise_p).view(n, 1, 1, 1)
    noise = torch.randn(out.shape, generator=gen, device=dev) * cfg.noise_std
    return (out + noise * noisy).clamp(0, 1)


def augment_batch(batch: torch.Tensor, size: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Geometry then intensity; input and output are ``(N, 1, *, *)`` floats in [0, 1]."""
    return random_intensity(random_geometry(batch, size, cfg, gen), cfg, gen)


def augment_batch_with_masks(batch: torch.Tensor, masks: torch.Tensor, size: int, cfg: AugmentConfig,
                             gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`augment_batch` that moves ``masks`` (``(N, 1, *, *)``, the tumour outlines) with the pictures:
    one geometry for both, the intensity changes on the pictures alone. The draws are those of
    :func:`augment_batch`, so the pictures are the same as without masks."""
    moved = random_geometry(torch.cat([batch, masks], dim=1), size, cfg, gen)
    return random_intensity(moved[:, :1].contiguous(), cfg, gen), moved[:, 1:]


def augment_settings(changes: list[str]) -> dict:
    """AugmentConfig's defaults with ``NAME=VALUE`` changes applied (tuples as ``a,b``)."""
    settings = AugmentConfig().to_dict()
    for change in changes:
        name, _, value = change.partition("=")
        if name not in settings or not value:
            raise ValueError(f"--augment {change!r}: use NAME=VALUE with NAME one of {sorted(settings)}")
        parts = [float(v) for v in value.split(",")]
        settings[name] = tuple(parts) if isinstance(settings[name], tuple) else parts[0]
    return settings
