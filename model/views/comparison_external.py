"""The Model comparison's view of each result's ``external`` block: every backbone's figures on scans from
elsewhere beside its Kaggle Testing accuracy, and what it was trained on (no Streamlit here)."""
from __future__ import annotations

from typing import Sequence

from ..comparison.results import ComparisonResult
from .external import figure_text

__all__ = ["NOT_MEASURED", "external_measured", "external_rows", "initialised_text", "trained_on_text"]

NOT_MEASURED = "not measured"


def trained_on_text(sources: Sequence[str] | None) -> str:
    """``"Kaggle + feltrin-44-dev (fitting list)"``: the first source is always the Kaggle folder."""
    if not sources:
        return "not recorded"
    return " + ".join(["Kaggle", *sources[1:]])


def initialised_text(result: ComparisonResult) -> str:
    return "from scratch" if result.trained_from_scratch else "ImageNet-pretrained"


def external_measured(results: Sequence[ComparisonResult]) -> dict[str, dict]:
    """Display name → external block, for the results that have one (for ``models_by_sequence_chart``)."""
    return {r.display_name: r.external for r in results if r.external}


def _kaggle(result: ComparisonResult) -> str:
    return figure_text({"value": result.accuracy, "ci95": result.accuracy_ci95})


def external_rows(results: Sequence[ComparisonResult]) -> list[dict[str, str]]:
    """One row per result: trained on, Kaggle Testing accuracy, and on scans from elsewhere the right
    class, tumours found and normal scans called normal ("not measured" where the result has no block)."""
    rows = []
    for r in results:
        block = r.external or {}
        rows.append({
            "model": r.display_name, "initialised": initialised_text(r),
            "trained on": trained_on_text(r.trained_on), "Kaggle Testing accuracy": _kaggle(r),
            "elsewhere: right class": figure_text(block.get("accuracy")),
            "tumours found": figure_text(block.get("sensitivity")),
            "normal called normal": figure_text(block.get("specificity")),
            "slices (cases)": f"{block['n_images']:,} ({block['n_case_groups']})" if block else NOT_MEASURED,
        })
    return rows
