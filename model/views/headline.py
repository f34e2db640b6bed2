"""The takeaway both analysis pages lead with: the bundled model on scans from elsewhere beside its Kaggle
Testing figures (all of Testing, and the images with no copy in Training), every figure from a result file."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..figures import percent, percent_range
from .external import figure_text

__all__ = ["Headline", "headline_figures", "takeaway"]


@dataclass(frozen=True)
class Headline:
    """One figure of the lead row: its label, its value as shown and a tooltip naming what it rests on."""

    label: str
    value: str
    help: str


def _value(figure: dict[str, Any] | None) -> str:
    return "not measured" if not figure or figure.get("value") is None else percent(figure["value"])


def _clean(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    clean = (metrics or {}).get("clean")
    return clean if clean and clean.get("n_images") else None


def headline_figures(metrics: dict[str, Any] | None, external: dict[str, Any] | None) -> list[Headline]:
    """Scans from elsewhere first (right class, tumours found), then Kaggle Testing (all of it, and the
    images with no copy in Training); a figure whose result file is missing is left out."""
    figures = []
    if external:
        right, found = external["accuracy"], external["sensitivity"]
        figures += [
            Headline("Elsewhere: right class", _value(right),
                     f"{right['n']:,} slices from other sources whose class the model knows, in "
                     f"{right.get('case_groups', 1)} case groups: {figure_text(right)}, 95% interval over cases."),
            Headline("Elsewhere: tumours found", _value(found),
                     f"{found['n']:,} tumour slices from other sources: {figure_text(found)}, "
                     "95% interval over cases.")]
    if metrics:
        interval = f", 95% interval {percent_range(*metrics['accuracy_ci95'])}" if metrics.get("accuracy_ci95") else ""
        figures.append(Headline("Kaggle Testing: right class", percent(metrics["accuracy"]),
                                f"All {metrics['n_images']:,} images of the Kaggle Testing split{interval}."))
        clean = _clean(metrics)
        if clean:
            figures.append(Headline(
                "Kaggle Testing, no copy in Training", percent(clean["accuracy"]),
                f"The {clean['n_images']:,} Testing images with no copy in Training, as is, mirrored or turned: "
                f"{figure_text({'value': clean['accuracy'], 'ci95': clean.get('accuracy_ci95')})}."))
    return figures


def takeaway(metrics: dict[str, Any] | None, external: dict[str, Any] | None) -> str | None:
    """One or two sentences: how the Kaggle figures compare with the figures on scans from elsewhere."""
    if not metrics:
        return None
    clean = _clean(metrics)
    kaggle = f"{percent(metrics['accuracy'])} of the {metrics['n_images']:,} Kaggle Testing images" + (
        f" and {percent(clean['accuracy'])} of the {clean['n_images']:,} with no copy in Training" if clean else "")
    right = (external or {}).get("accuracy") or {}
    if right.get("value") is None:
        return f"The model names the right class for {kaggle}. It has not been measured on scans from elsewhere."
    lowest_kaggle = min(metrics["accuracy"], clean["accuracy"] if clean else 1.0)
    verdict = ("The Kaggle figures overstate how the model does on scans from elsewhere."
               if right["value"] < lowest_kaggle else "The Kaggle figures hold on scans from elsewhere.")
    found = external["sensitivity"]
    return (f"**{verdict}** It names the right class for {kaggle}; on scans from other hospitals and teaching "
            f"sites, for {percent(right['value'])} of the {right['n']:,} slices whose class it knows, and it "
            f"finds {_value(found)} of {found['n']:,} tumour slices of any type there.")
