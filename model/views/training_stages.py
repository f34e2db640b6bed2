"""Where a training history changes stage, and why, in a student's words (no Streamlit here).

A released history (``<name>.history.json``) runs through every stage behind the weights: each stage
was fine-tuned from the one before, its epochs numbered on, and every epoch names its input size. What
a history shows of a new stage:

- the input size changes (``input_size``);
- the training loss jumps up: training restarted from the weights so far on harder pictures (stronger
  augmentation or added data) with a fresh learning-rate schedule, so the training figures, measured on
  those pictures, fall at once while validation, on plain Kaggle slices, barely moves.

The checkpoint's training configuration (``train_config``, the last stage's ``config.json``) adds what
the last stage changed: scans from elsewhere mixed in, contrast curves, a frozen backbone at first.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

__all__ = ["LOSS_JUMP", "Stage", "stage_notes", "training_stages"]

#: A training loss this many times the epoch before's marks a restart on harder pictures.
LOSS_JUMP = 1.1


@dataclass(frozen=True)
class Stage:
    """A stage that begins at ``epoch`` (its first epoch): a short ``label`` for the chart and a sentence."""

    epoch: int
    label: str
    explanation: str


def _size_change(before: dict, after: dict) -> tuple[str, str] | None:
    old, new = before.get("input_size"), after.get("input_size")
    if old == new or new is None:
        return None
    return (f"{new} px", f"training goes on at {new}×{new} px (before: {old} px): finer detail, with a fresh "
                         "learning-rate schedule, so the curves jump before they settle")


def _loss_jump(before: dict, after: dict) -> tuple[str, str] | None:
    if after["train_loss"] <= LOSS_JUMP * before["train_loss"]:
        return None
    return ("harder pictures", "training restarts from the weights so far on harder pictures (stronger "
                               "augmentation or added data): measured on those pictures, the training loss rises and "
                               "its accuracy falls at once; validation, on plain Kaggle slices, is the curve to follow")


def _last_stage(config: dict) -> tuple[str, str]:
    """What the configuration says the last stage changed."""
    parts, label = [f"{config['epochs']} epochs fine-tuned from the earlier weights"], "fine-tune"
    if config.get("external"):
        source = Path(config["external"]).parent.name
        parts.append(f"{config.get('external_share', 0):.0%} of each epoch's pictures from the {source} "
                     f"{config.get('external_split', 'training')} list, MRIs from other hospitals")
        label = "+ scans from elsewhere"
    remap = config.get("augment", {}).get("remap_p", 0)
    if remap:
        parts.append(f"random contrast curves on {remap:.0%} of the pictures")
    if config.get("other_tumour"):
        parts.append("other tumour types taught as \"not normal\"")
    return label, ", ".join(parts) + ". The training figures are measured on these harder pictures, so they fall"


def _configured(history: Sequence[dict], config: dict | None) -> dict[int, tuple[str, str]]:
    """First epoch → (label, sentence) of what the configuration names: the last stage's start and the epoch
    its backbone was unfrozen."""
    if not config or not history:
        return {}
    # The configured run is the history's last ``epochs`` epochs when it was fine-tuned from earlier weights.
    start = len(history) - config.get("epochs", 0) if config.get("init_from") else 0
    if not 0 <= start < len(history):
        return {}
    found = {history[start]["epoch"]: _last_stage(config)} if start else {}
    frozen = config.get("freeze_epochs", 0)
    if frozen and config.get("pretrained") and start + frozen < len(history):
        found[history[start + frozen]["epoch"]] = (
            "backbone unfrozen", f"after {frozen} epoch{'s' * (frozen != 1)} training only the new last layer on "
                                 "the ImageNet features, the whole network learns")
    return found


def training_stages(history: Sequence[dict], config: dict | None = None) -> list[Stage]:
    """Every stage change the history (and, if given, the checkpoint's ``train_config``) shows, in order.

    Each epoch where a stage begins gets one :class:`Stage`; several reasons on one epoch are joined.
    """
    reasons: dict[int, list[tuple[str, str]]] = {}
    for before, after in zip(history, history[1:]):
        found = _size_change(before, after) or _loss_jump(before, after)  # a new size explains a jump
        if found:
            reasons[after["epoch"]] = [found]
    for epoch, found in _configured(history, config).items():
        # the configuration says what made the pictures harder
        reasons[epoch] = [r for r in reasons.get(epoch, []) if r[0] != "harder pictures"] + [found]
    return [Stage(epoch, " · ".join(label for label, _ in found),
                  f"From epoch {epoch}: " + "; ".join(words for _, words in found) + ".")
            for epoch, found in sorted(reasons.items())]


def stage_notes(history: Sequence[dict], config: dict | None = None) -> list[str]:
    """The stages' sentences, for a caption under the chart."""
    return [stage.explanation for stage in training_stages(history, config)]
