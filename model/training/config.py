"""A training run's settings (:class:`TrainConfig`) and the command-line flags that set them.

``model.training.train`` and ``model.comparison.run`` build their flags from the same fields,
so a knob added here reaches both commands.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields

from ..paths import CACHE_DIR, KAGGLE_DIR, KAGGLE_MASKS_DIR, RUNS_DIR
from .augment import AugmentConfig

__all__ = ["TrainConfig", "add_config_flags"]


@dataclass
class TrainConfig:
    """Every knob of a run; saved as ``config.json`` and inside the checkpoint."""

    arch: str = "resnet50"
    data: str = str(KAGGLE_DIR)
    out: str = str(RUNS_DIR / "resnet50")
    epochs: int = 22
    batch_size: int = 32
    lr: float = 1.5e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    grad_clip: float = 1.0
    ema_decay: float = 0.998
    val_fraction: float = 0.06
    split_group_by: str = "near"  # keep near-duplicate clusters on one side of the split
    seed: int = 0
    # Which epoch's EMA becomes best.safetensors: "best" on Kaggle validation accuracy, or "last". Kaggle
    # validation sits at 97-98% for every run, so it cannot rank a run's epochs by how they generalise.
    keep: str = "best"
    input_size: int = 128
    stage_size: int = 144
    pretrained: bool = False
    # With --pretrained: the first epochs train the new head alone, the trunk frozen, so the head's random
    # start does not send large gradients through the ImageNet weights (freeze, then unfreeze).
    freeze_epochs: int = 0
    zero_init_residual: bool = False  # ResNets: each block starts as the identity (model.classifier.factory)
    # Fine-tune: start from another run's weights (same arch and classes), e.g. a
    # lower-resolution run continued at a higher input size.
    init_from: str | None = None
    # model.data.ct_slices's JSON report: the Training images it lists (CT slices) leave the training side;
    # the validation split is left as it is, so candidates stay comparable.
    exclude: str | None = None
    # A second source (model.training.sources): a manifest-described set, the committed list of it to
    # train on, and the share of each epoch's draws that come from it (classes balanced within each source).
    external: str | None = None
    external_split: str = "training"
    external_share: float = 0.3
    # Within the external draw, its no-tumour slices this many times as often as each other class: the
    # external set has few normals, and a network that sees mostly abnormal slices of it learns to call
    # its normals abnormal.
    external_normal_weight: float = 1.0
    # Tumour types we have no class for: leave_out, or not_normal (trained as "any class but no tumour").
    other_tumour: str = "leave_out"
    # The hand-drawn outlines (model.training.outline_loss): this weight on the loss that keeps the class
    # activation map of the true class inside the outline, and the masks folder. 0 reads no masks.
    outline_weight: float = 0.0
    outlines: str = str(KAGGLE_MASKS_DIR)
    # Knowledge distillation (model.training.distill): teacher checkpoints, the soft term's share and temperature.
    teachers: list[str] = field(default_factory=list)
    distill_weight: float = 0.5
    distill_temperature: float = 2.0
    # Under torchrun: BatchNorm statistics over the global batch (torch.nn.SyncBatchNorm, CUDA only)
    # rather than each process's share of it. One process has nothing to synchronise.
    sync_bn: bool = False
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 on CUDA, fp32 on CPU (faster here: benchmarks/train_step.py)
    cache_dir: str | None = str(CACHE_DIR)
    augment: dict = field(default_factory=lambda: AugmentConfig().to_dict())




def add_config_flags(parser: argparse.ArgumentParser, skip: set[str] = frozenset(), prefix: str = "") -> None:
    """One ``--flag`` per :class:`TrainConfig` field not in ``skip`` (``--augment`` is its own flag).

    Args:
        prefix: put before each help text's default (``"training: "`` in ``model.comparison.run``).
    """
    for f in fields(TrainConfig):
        if f.name in skip or f.name == "augment":
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.name == "teachers":
            parser.add_argument(flag, nargs="+", default=[], metavar="CHECKPOINT", help="distil from these")
        elif isinstance(f.default, bool):
            parser.add_argument(flag, action="store_true", help=f"{prefix}default: {f.default}")
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=f.default, help=f"{prefix}default: {f.default}")
