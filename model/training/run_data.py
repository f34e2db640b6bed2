"""What a training run learns from: the Kaggle folder's training side and validation split, the tumour
outlines, and the second source's training list (:class:`TrainData`, :func:`load_data`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..classifier.preprocess import PreprocessSpec
from ..data.ct_slices import flagged_names
from ..data.duplicates import validation_split
from ..data.folders import cached_decode, drop_listed, index_folder, training_folder
from ..data.outline_crops import decode_masks
from ..data.outlines import read_outlines
from .config import TrainConfig
from .sources import combined_fingerprint, load_external_part

__all__ = ["TrainData", "add_external", "add_outlines", "load_data"]


@dataclass
class TrainData:
    classes: list[str]
    fingerprint: str
    train_x: torch.Tensor  # uint8 (N, S, S)
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    train_source: torch.Tensor | None = None  # 0: the Kaggle folder, 1: the external set (None: one source)
    sources: list[dict] = field(default_factory=list)  # each source's name, fingerprint and counts
    train_masks: torch.Tensor | None = None  # uint8 (N, S, S) tumour outlines (zeros: none), with outline_weight
    train_outlined: torch.Tensor | None = None  # bool (N,): the slice has an outline


def load_data(cfg: TrainConfig, spec: PreprocessSpec) -> TrainData:
    """Index ``<data>/Training``, split (duplicates kept together) and decode once."""
    index = index_folder(training_folder(cfg.data))
    train_idx, val_idx = validation_split(index, cfg.val_fraction, cfg.seed, cfg.split_group_by, cfg.cache_dir)
    if cfg.exclude:
        train_idx = drop_listed(index, train_idx, flagged_names(cfg.exclude, "Training"))
    images = cached_decode(index, spec, cfg.cache_dir)
    labels = torch.from_numpy(index.labels)
    # The fingerprint names the images actually used, so a run without the excluded ones differs.
    used = index.subset(np.sort(np.concatenate([train_idx, val_idx])))
    data = TrainData(index.classes, used.fingerprint(), images[train_idx], labels[train_idx],
                     images[val_idx], labels[val_idx],
                     sources=[{"name": Path(cfg.data).name, "fingerprint": used.fingerprint(),
                               "training_images": len(train_idx), "validation_images": len(val_idx)}])
    if cfg.outline_weight > 0:
        add_outlines(data, cfg, spec, index, train_idx)
    return add_external(data, cfg, spec) if cfg.external else data


def add_outlines(data: TrainData, cfg: TrainConfig, spec: PreprocessSpec, index, train_idx: np.ndarray) -> None:
    """The training side's tumour outlines, cut like their images (the validation side needs none)."""
    outlines = read_outlines(cfg.outlines, cfg.data, split="Training")
    masks, outlined = decode_masks(index, outlines, spec, cfg.cache_dir)
    data.train_masks, data.train_outlined = masks[train_idx], outlined[train_idx]
    data.sources[0]["outlined_training_images"] = int(data.train_outlined.sum())


def add_external(data: TrainData, cfg: TrainConfig, spec: PreprocessSpec) -> TrainData:
    """Append the external set's training list to the training side (validation stays Kaggle's)."""
    part = load_external_part(cfg.external, cfg.external_split, data.classes, spec, cfg.cache_dir,
                              cfg.other_tumour)
    source = torch.cat([torch.zeros(len(data.train_x), dtype=torch.int64), torch.ones(len(part.x), dtype=torch.int64)])
    masks = outlined = None
    if data.train_masks is not None:  # the other source has no outlines
        masks = torch.cat([data.train_masks, torch.zeros_like(part.x)])
        outlined = torch.cat([data.train_outlined, torch.zeros(len(part.x), dtype=torch.bool)])
    return TrainData(data.classes, combined_fingerprint(data.fingerprint, part.record["fingerprint"]),
                     torch.cat([data.train_x, part.x]), torch.cat([data.train_y, part.y]), data.val_x, data.val_y,
                     source, data.sources + [part.record], masks, outlined)
