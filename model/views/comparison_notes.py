"""Sentences for the Model comparison page that join its two kinds of result file (no Streamlit here):
the comparison runs (``model/weights/comparison/*.json``) and the bundled models' own files."""
from __future__ import annotations

from typing import Sequence

from ..comparison.results import BUNDLE_LIMIT_BYTES, ComparisonResult
from ..figures import percent
from ..names import arch_name
from .catalog import ModelReport
from .comparison_external import continues, joined, same_weights, trained_on_text

__all__ = ["bundle_note", "versions_note"]


def _subset(metrics: dict, n_images: int) -> dict | None:
    """The bundled model's figures on a clean subset of ``n_images`` (the current one or the earlier one)."""
    for key in ("clean", "clean_before_mirror_check"):
        block = metrics.get(key)
        if block and block.get("n_images") == n_images:
            return block
    return None


def _compared_part(result: ComparisonResult) -> str:
    text = (f"The {result.display_name} compared here ({result.training['epochs']} epochs at {result.input_size} px, "
            f"{'from scratch' if result.trained_from_scratch else 'ImageNet-pretrained'}) scores "
            f"{percent(result.accuracy)} on all {result.n_images:,} Kaggle Testing images")
    if result.clean:
        text += (f" and {percent(result.clean['accuracy'])} on the {result.clean['n_images']:,} of them with no "
                 "copy in Training as the first audit counted them")
    return text


def _bundled_part(result: ComparisonResult, report: ModelReport) -> str:
    metrics, size = report.metrics, report.metadata["preprocess"]["input_size"]
    how = "trained further from it" if continues(result, report) else "trained differently"
    sources = trained_on_text([s["name"] for s in report.metadata.get("data_sources", [])] or ["Kaggle"])
    epochs = f"{len(report.history)} epochs in all, " if report.history else ""
    text = (f"the bundled one on the Diagnose page, {how} ({epochs}the last at {size} px, on {sources}), scores "
            f"{percent(metrics['accuracy'])} on all {metrics['n_images']:,}")
    same = _subset(metrics, result.clean["n_images"]) if result.clean else None
    if same:
        text += f" and {percent(same['accuracy'])} on those {same['n_images']:,}"
    clean = metrics.get("clean")
    if clean and clean.get("n_images") and clean is not same:
        text += (f", and {percent(clean['accuracy'])} on the stricter clean subset of {clean['n_images']:,} "
                 "with no copy in Training, mirrored and turned copies counted")
    return text


def versions_note(results: Sequence[ComparisonResult], bundled: Sequence[ModelReport]) -> str | None:
    """One sentence per network that appears twice, as compared and as bundled with other weights: both
    versions' Kaggle Testing figures, on all images and on each clean subset, named."""
    notes = []
    for report in bundled:
        result = next((r for r in results if r.arch == report.arch), None)
        if result is None or same_weights(result, report) or not report.metrics:
            continue
        notes.append(f"{_compared_part(result)}; {_bundled_part(result, report)}.")
    return " ".join(notes) or None


def bundle_note(results: Sequence[ComparisonResult], bundled: Sequence[ModelReport]) -> str:
    """Which networks ship with the app, and which compared ones cannot."""
    shipped = [arch_name(r.arch) for r in bundled]
    text = f"Bundled with the app: {joined(shipped)}." if shipped else "No model is bundled yet."
    big = [r.display_name for r in results if r.checkpoint_bytes > BUNDLE_LIMIT_BYTES
           and arch_name(r.arch) not in shipped]
    if big:
        text += (f" A compared network ships only with a weights file of at most {BUNDLE_LIMIT_BYTES / 2**20:.0f} MB, "
                 f"so {joined(big)} never will.")
    return text
