"""The rule that decides whether a candidate replaces a bundled model, fixed before the runs it judges.

    python -m model bundle-rule --candidate runs/r1/best.safetensors [--bundle model/weights/resnet50.safetensors]

Written on 2026-12-07 (issue "The next model"), before any run it judges, and applied to every candidate:

1. **Primary score**, on the external validation part: the mean of 3-class balanced accuracy (glioma,
   meningioma, no tumour), tumour sensitivity and specificity. The candidate must score higher than the bundle.
2. **No secondary figure falls by more than the half-width of the bundle's own 95% interval**: Kaggle
   validation accuracy (Wilson interval), and each external figure (3-class accuracy, sensitivity,
   specificity, other tumour types called "no tumour"; case-bootstrap intervals). A small set gives a
   wide interval, so it tolerates a wide move: no fixed floor is measured on a few dozen images.
3. **Its Grad-CAM points at the tumour**: pointing game on the outlined Training slices of its own
   validation side (``python -m model localise --split validation``) at least 0.60.

It reads the result files the other commands write beside each checkpoint (``<name>.external.json``,
``<name>.localisation.json`` for the candidate's validation-side outlines) and never a Testing image.
"""
from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from scipy.stats import binomtest
from sklearn.metrics import balanced_accuracy_score

from ..classifier.checkpoint import read_metadata
from ..paths import DEFAULT_CHECKPOINT
from ..results import EXTERNAL, LOCALISATION

__all__ = ["POINTING_FLOOR", "Verdict", "balanced_accuracy", "judge", "primary_score", "main"]

POINTING_FLOOR = 0.60
#: external figure → True where higher is better
EXTERNAL_FIGURES = {"accuracy": True, "sensitivity": True, "specificity": True,
                    "other_tumour_called_no_tumour": False}


@dataclass(frozen=True)
class Verdict:
    replace: bool
    primary: dict  # candidate's and bundle's primary scores
    secondaries: list[dict]  # one row per figure: values, allowed fall, whether it holds
    pointing_game: float | None
    reasons: list[str]  # why not, empty when it replaces


def balanced_accuracy(external: dict) -> float:
    """Balanced accuracy (mean recall) over the classes the set has of ours (glioma, meningioma, no tumour),
    from a result file's answers."""
    known = set(external["classes_present"])
    rows = [p for p in external["predictions"] if p["file"].split("/")[0] in known]
    with warnings.catch_warnings():  # a pituitary answer is a class absent from the truth: counted as wrong
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score([p["file"].split("/")[0] for p in rows], [p["answer"] for p in rows]))


def primary_score(external: dict) -> float:
    return (balanced_accuracy(external) + external["sensitivity"]["value"] + external["specificity"]["value"]) / 3


def _wilson_half_width(accuracy: float, n: int) -> float:
    low, high = binomtest(round(accuracy * n), n).proportion_ci(method="wilson")
    return (high - low) / 2


def _secondary(name: str, candidate: float, bundle: float, allowed: float, higher_better: bool) -> dict:
    fall = float((bundle - candidate) if higher_better else (candidate - bundle))
    return {"figure": name, "candidate": float(candidate), "bundle": float(bundle), "fall": fall,
            "allowed_fall": float(allowed), "holds": bool(fall <= allowed)}


def judge(candidate: dict, bundle: dict) -> Verdict:
    """``candidate`` and ``bundle``: ``{"external": …, "kaggle_validation": (accuracy, n), "pointing_game": …}``."""
    rows = []
    for name, higher in EXTERNAL_FIGURES.items():
        figure = bundle["external"][name]
        rows.append(_secondary(f"external {name}", candidate["external"][name]["value"], figure["value"],
                               (figure["ci95"][1] - figure["ci95"][0]) / 2, higher))
    accuracy, n = bundle["kaggle_validation"]
    rows.append(_secondary("Kaggle validation accuracy", candidate["kaggle_validation"][0], accuracy,
                           _wilson_half_width(accuracy, n), True))
    primary = {"candidate": primary_score(candidate["external"]), "bundle": primary_score(bundle["external"])}
    reasons = [] if primary["candidate"] > primary["bundle"] else ["primary score not higher"]
    reasons += [f"{row['figure']} falls {row['fall']:.4f} > {row['allowed_fall']:.4f}"
                for row in rows if not row["holds"]]
    pointing = candidate.get("pointing_game")
    if pointing is None or pointing < POINTING_FLOOR:
        reasons.append(f"validation-side pointing game {pointing} < {POINTING_FLOOR}")
    return Verdict(not reasons, primary, rows, pointing, reasons)


def figures_of(checkpoint: Path, with_pointing: bool) -> dict:
    """The figures the rule reads for one checkpoint, from its metadata and the result files beside it."""
    metadata = read_metadata(checkpoint)
    figures = {"external": json.loads(EXTERNAL.path(checkpoint).read_text()),
               "kaggle_validation": (metadata["validation"]["val_acc"],
                                     int(metadata["data_sources"][0]["validation_images"]))}
    if with_pointing:
        localisation = LOCALISATION.path(checkpoint)
        report = json.loads(localisation.read_text()) if localisation.exists() else None
        figures["pointing_game"] = (report["maps"]["Grad-CAM"]["overall"]["pointing_game"]["mean"]
                                    if report and report.get("split") == "validation" else None)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidate", type=Path, required=True, help="a checkpoint with its result files beside it")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--out", type=Path, default=None, help="also write the verdict here (JSON)")
    args = parser.parse_args(argv)
    verdict = judge(figures_of(args.candidate, True), figures_of(args.bundle, False))
    text = json.dumps(asdict(verdict), indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)
    print("replace the bundle" if verdict.replace else "keep the bundle: " + "; ".join(verdict.reasons))
