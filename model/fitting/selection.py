"""Blind model selection on the training run's validation split.

    python -m model.fitting.selection --checkpoints runs/a/best.safetensors runs/b/best.safetensors

Ranks candidate checkpoints by their validation errors, then by the validation
log-loss at each one's own fitted temperature (a finer tie-breaker than a count,
and fair to a soup whose raw logits are sharper or softer). It also prints the
validation images every candidate gets wrong: when that set is most of each
candidate's errors, the split has saturated and cannot choose between them.
No Testing image is read, so the choice stays blind.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.special import softmax
from sklearn.metrics import log_loss

from ..classifier.checkpoint import read_metadata
from ..data.folders import cache_dir_arg
from ..paths import CACHE_DIR
from .calibration import fit_temperature, validation_logits


@dataclass(frozen=True)
class ValidationRecord:
    """How one checkpoint does on its training run's validation split."""

    checkpoint: str
    n_images: int
    errors: int
    wrong: list[int]  # positions in the validation split
    temperature: float
    log_loss: float  # at ``temperature``


def split_key(checkpoint: Path) -> tuple:
    """The settings that decide which Training images form the validation split."""
    cfg = read_metadata(checkpoint)["train_config"]
    return cfg["data"], cfg["val_fraction"], cfg["seed"], cfg.get("split_group_by", "exact")


def score_logits(checkpoint: str, logits: np.ndarray, labels: np.ndarray) -> ValidationRecord:
    """Errors and temperature-scaled log-loss of validation ``logits`` (N, C) against ``labels``."""
    wrong = np.flatnonzero(logits.argmax(axis=1) != labels)
    temperature = fit_temperature(logits, labels)
    loss = log_loss(labels, softmax(logits / temperature, axis=1), labels=np.arange(logits.shape[1]))
    return ValidationRecord(checkpoint, len(labels), len(wrong), wrong.tolist(), temperature, float(loss))


def rank(records: list[ValidationRecord]) -> list[ValidationRecord]:
    """Fewest validation errors first; equal counts by the lower log-loss."""
    return sorted(records, key=lambda r: (r.errors, r.log_loss))


def shared_errors(records: list[ValidationRecord]) -> list[int]:
    """Validation images that every candidate gets wrong."""
    common = set(records[0].wrong) if records else set()
    for record in records[1:]:
        common &= set(record.wrong)
    return sorted(common)


def select(checkpoints: list[Path], cache_dir: str | None) -> list[ValidationRecord]:
    """Score and rank ``checkpoints``, which must share one validation split.

    Raises:
        ValueError: when two checkpoints were trained with different splits, so
            their validation figures would count different images.
    """
    keys = {split_key(c) for c in checkpoints}
    if len(keys) > 1:
        raise ValueError(f"the checkpoints were validated on different splits: {sorted(keys)}")
    records = [score_logits(str(c), *validation_logits(c, cache_dir)) for c in checkpoints]
    return rank(records)


def format_table(records: list[ValidationRecord]) -> str:
    """A plain-text ranking, best first, with the errors every candidate shares."""
    lines = [f"{'rank':>4}  {'errors':>9}  {'log-loss':>8}  {'T':>5}  checkpoint"]
    for i, r in enumerate(records, 1):
        lines.append(f"{i:>4}  {r.errors:>3} of {r.n_images:<3}  {r.log_loss:8.4f}  {r.temperature:5.3f}  "
                     f"{r.checkpoint}  wrong: {r.wrong}")
    common = shared_errors(records)
    lines.append(f"validation images every candidate gets wrong: {len(common)} {common}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", required=True, type=Path)
    parser.add_argument("--cache-dir", default=str(CACHE_DIR))
    parser.add_argument("--out", type=Path, help="also write the ranking as JSON here")
    args = parser.parse_args(argv)
    try:
        records = select(args.checkpoints, cache_dir_arg(args.cache_dir))
    except ValueError as err:
        parser.error(str(err))
    print(format_table(records))
    if args.out:
        args.out.write_text(json.dumps([asdict(r) for r in records], indent=1))


if __name__ == "__main__":
    main()
