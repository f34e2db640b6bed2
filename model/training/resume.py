"""Resuming a training run: which saved settings must match, and restoring its state.

A run folder is resumed (``model.training.train``) or counted as up to date (``model.comparison.run``)
only when it was written with the settings asked for; where the files live may differ.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..classifier.checkpoint import load_training_state

if TYPE_CHECKING:
    from .config import TrainConfig

# Settings that may differ between the interrupted run and its resumption. The number of processes
# (torchrun's world size) is no setting at all: a run started on N processes resumes on M.
_RESUME_FREE = {"out", "device", "cache_dir", "data"}
# Settings added after some runs were written, as those runs had them.
_LEGACY = {"zero_init_residual": False, "teachers": [], "distill_weight": 0.5, "distill_temperature": 2.0,
           "external": None, "external_split": "training", "external_share": 0.3,
           "other_tumour": "leave_out", "external_normal_weight": 1.0, "sync_bn": False,
           "keep": "best"}
_LEGACY_AUGMENT = {"vflip": 0.0, "rot90": 0.0, "remap_p": 0.0, "remap_knots": 6, "remap_nonmonotonic": 0.5,
                   "invert_p": 0.0, "equalise_p": 0.0}


def changed_settings(cfg: TrainConfig, saved: dict) -> list[str]:
    """Settings in which a run's saved config differs from ``cfg`` (where files live aside).

    Args:
        saved: the run's config as written (``config.json``, or inside ``last.pt``); settings
            added after it was written count as they were then.
    """
    def comparable(config: dict) -> dict:
        plain = json.loads(json.dumps(config))  # a tuple read back from JSON is a list
        return {k: v for k, v in plain.items() if k not in _RESUME_FREE}

    ours, theirs = comparable(asdict(cfg)), comparable({**_LEGACY, **saved})
    theirs["augment"] = {**_LEGACY_AUGMENT, **theirs.get("augment", {})}
    return sorted(k for k in ours if ours[k] != theirs.get(k))


def resume(path: Path, cfg: TrainConfig, model, ema, optimizer, scheduler, gen) -> dict:
    """Restore weights, optimiser, schedule and random state from ``last.pt``.

    Returns:
        The loop's state: completed ``epoch``, ``history`` and the ``best`` record.
    Raises:
        ValueError: ``last.pt`` was written with other settings than ``cfg``.
    """
    saved = load_training_state(path)
    changed = changed_settings(cfg, saved["config"])
    if changed:
        raise ValueError(f"{path} was written with other settings ({', '.join(changed)}); "
                         "resume with the original command or choose another --out")
    model.load_state_dict(saved["model"])
    ema.load_state_dict(saved["ema"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    gen.set_state(saved["generator"])
    torch.set_rng_state(saved["torch_rng"])
    return {"epoch": saved["epoch"], "history": saved["history"], "best": saved["best"]}
