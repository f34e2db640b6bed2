"""The networks a visitor can pick on the Diagnose page, each with its figures on scans from elsewhere."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..classifier.checkpoint import read_metadata
from ..figures import cut, percent
from ..names import ARCH_NAMES
from ..paths import DEFAULT_CHECKPOINT, WEIGHTS_DIR
from ..results import EXTERNAL

__all__ = ["APP_NETWORKS", "NetworkChoice", "default_behind_note", "network_choices"]

#: The checkpoints the Diagnose page offers, the default first (the smaller comparison networks are not
#: offered: they find fewer tumours from elsewhere and are shown on Model comparison).
APP_NETWORKS = (DEFAULT_CHECKPOINT, WEIGHTS_DIR / "efficientnet_lite0.safetensors")


@dataclass(frozen=True)
class NetworkChoice:
    checkpoint: Path
    label: str  # "ResNet50 (trained from scratch)"
    external_line: str  # one line of its figures on scans from other sources, read from its result file
    external: dict | None = None  # that result file


def _origin(metadata: dict) -> str:
    return "trained from scratch" if metadata.get("trained_from_scratch", True) else "ImageNet-pretrained"


def _external_line(report: dict | None) -> str:
    if report is None:
        return "not measured on scans from other sources"
    return (f"on {report['n_images']} scans from other sources: {percent(report['sensitivity']['value'], 0)} of "
            f"tumours found, {percent(report['accuracy']['value'], 0)} right class among glioma, meningioma and "
            f"no tumour, {percent(report['specificity']['value'], 0)} of normals called normal")


def network_choices(checkpoints=APP_NETWORKS) -> list[NetworkChoice]:
    """The offered networks that are present, each labelled with its architecture, how it was initialised
    and its external figures."""
    choices = []
    for checkpoint in map(Path, checkpoints):
        if not checkpoint.exists():
            continue
        metadata = read_metadata(checkpoint)
        label = f"{ARCH_NAMES.get(metadata['arch'], metadata['arch'])} ({_origin(metadata)})"
        path = EXTERNAL.path(checkpoint)
        report = json.loads(path.read_text()) if path.exists() else None
        choices.append(NetworkChoice(checkpoint, label, _external_line(report), report))
    return choices


def default_behind_note(choices: list[NetworkChoice]) -> str | None:
    """Where the default network finds fewer tumours from elsewhere than another offered one: by how much,
    in points of the two figures a visitor reads first. ``None`` when it is not behind or nothing was measured."""
    default, *others = choices
    if default.external is None:
        return None
    notes = []
    for other in others:
        if other.external is None:
            continue
        gaps = {key: other.external[key]["value"] - default.external[key]["value"]
                for key in ("sensitivity", "accuracy")}
        if max(gaps.values()) > 0:
            notes.append(f"The default {default.label} stays behind the {other.label} on scans from other sources: "
                         f"it finds {cut(gaps['sensitivity'] * 100, 2)} points fewer of their tumours and names the "
                         f"right class {cut(gaps['accuracy'] * 100, 2)} points less often.")
    return " ".join(notes) or None
