"""The Model comparison's takeaway: every network once, its Kaggle Testing accuracy beside its figures on
scans from elsewhere, read from the comparison result files and the bundled models' own (no Streamlit here).

A bundled checkpoint that *is* a comparison run (same architecture, input size and weights file size) is
one network: its Kaggle figure is the comparison result's, its external figures the result's or, where
the result predates them, the ``<name>.external.json`` beside the weights. A bundled checkpoint of a
compared architecture with other weights (the ResNet50 trained further) is a second row of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..comparison.results import BUNDLE_LIMIT_BYTES, ComparisonResult
from ..figures import percent, percent_range
from ..names import arch_name
from .catalog import ModelReport
from .external import figure_text

__all__ = ["NOT_MEASURED", "Network", "initialised_text", "joined", "network_rows", "networks", "not_measured_note",
           "continues", "elsewhere_caption", "same_weights", "sets_caption", "takeaway", "trained_on_text"]

NOT_MEASURED = "not measured"
#: The figures on scans from elsewhere, by the takeaway table's column.
ELSEWHERE = {"elsewhere: right class": "accuracy", "tumours found": "sensitivity",
             "normal called normal": "specificity"}


@dataclass(frozen=True)
class Network:
    """One row of the takeaway: where each figure comes from is in ``source``."""

    name: str
    arch: str
    initialised: str
    trained_on: str
    kaggle: dict | None  # {"value", "ci95", "n"}: Kaggle Testing accuracy on n images, or None where not measured
    external: dict | None  # schema.EXTERNAL: the figures on scans from elsewhere, or None
    kaggle_only: bool  # trained on the Kaggle images alone
    why_not: str | None  # why ``external`` is missing
    source: str  # the result file(s) behind the row
    variant: bool = False  # a bundled second version of a compared architecture (other weights)


def trained_on_text(sources: Sequence[str] | None) -> str:
    """``"Kaggle + feltrin-44-dev (fitting list)"``: the first source is always the Kaggle folder."""
    if not sources:
        return "not recorded"
    return " + ".join(["Kaggle", *sources[1:]])


def initialised_text(result: ComparisonResult) -> str:
    return "from scratch" if result.trained_from_scratch else "ImageNet-pretrained"


def same_weights(result: ComparisonResult, report: ModelReport) -> bool:
    """Whether a bundled checkpoint is that comparison run (architecture, input size, file size)."""
    return (report.arch == result.arch and report.checkpoint.exists()
            and report.checkpoint.stat().st_size == result.checkpoint_bytes
            and report.metadata["preprocess"]["input_size"] == result.input_size)


def continues(result: ComparisonResult, report: ModelReport) -> bool:
    """Whether the bundled history starts with the compared run's epochs (it was trained further from it)."""
    compared, bundled = result.training["history"], report.history or []
    return len(bundled) > len(compared) and all(
        a["epoch"] == b["epoch"] and a["val_acc"] == b["val_acc"] for a, b in zip(compared, bundled))


def _why_not(result: ComparisonResult, later: ModelReport | None) -> str:
    if later is not None and continues(result, later):
        return f"its weights were trained further into “{_variant_name(later, result)}”, measured above"
    if result.checkpoint_bytes > BUNDLE_LIMIT_BYTES:
        return f"its {result.checkpoint_bytes / 2**20:.0f} MB weights file is too big to bundle"
    return "its weights are not bundled with the app"


def _variant_name(report: ModelReport, result: ComparisonResult) -> str:
    return f"{arch_name(report.arch)} (bundled{', trained further' if continues(result, report) else ''})"


def _compared(result: ComparisonResult, bundled: Sequence[ModelReport]) -> Network:
    copy = next((b for b in bundled if same_weights(result, b)), None)
    later = next((b for b in bundled if b.arch == result.arch and b is not copy), None)
    external = result.external or (copy.external if copy else None)
    return Network(
        name=result.display_name, arch=result.arch, initialised=initialised_text(result),
        trained_on=trained_on_text(result.trained_on),
        kaggle={"value": result.accuracy, "ci95": result.accuracy_ci95, "n": result.n_images}, external=external,
        kaggle_only=result.trained_on is not None and len(result.trained_on) == 1,
        why_not=None if external else _why_not(result, later),
        source=f"comparison/{result.arch}.json" + (f", {copy.checkpoint.stem}.external.json"
                                                   if external and not result.external else ""))


def _bundled(report: ModelReport, compared: ComparisonResult | None) -> Network:
    metrics = report.metrics
    sources = [s["name"] for s in report.metadata.get("data_sources", [])]
    return Network(
        name=_variant_name(report, compared) if compared else arch_name(report.arch), arch=report.arch,
        initialised="from scratch" if report.metadata.get("trained_from_scratch", True) else "ImageNet-pretrained",
        trained_on=trained_on_text(sources or ["Kaggle"]),
        kaggle={"value": metrics["accuracy"], "ci95": metrics.get("accuracy_ci95"), "n": metrics["n_images"]}
        if metrics else None,
        external=report.external, kaggle_only=len(sources) <= 1,
        why_not=None if report.external else "`python -m model external` has not been run on it",
        source=f"{report.checkpoint.stem}.metrics.json, {report.checkpoint.stem}.external.json",
        variant=compared is not None)


def networks(results: Sequence[ComparisonResult], bundled: Sequence[ModelReport]) -> list[Network]:
    """Every compared network and every bundled one, once each; measured on scans from elsewhere first,
    most tumours found first."""
    found = [_compared(result, bundled) for result in results]
    for report in bundled:
        if not any(same_weights(r, report) for r in results):
            found.append(_bundled(report, next((r for r in results if r.arch == report.arch), None)))
    return sorted(found, key=lambda n: -n.external["sensitivity"]["value"] if n.external else 1)


def network_rows(found: Sequence[Network]) -> list[dict[str, str]]:
    """The takeaway table: one row per network, Kaggle Testing beside scans from elsewhere."""
    return [{"network": n.name, "initialised, trained on": f"{n.initialised}; {n.trained_on}",
             "Kaggle Testing accuracy": figure_text(n.kaggle),
             **{column: figure_text(n.external[key]) if n.external else NOT_MEASURED
                for column, key in ELSEWHERE.items()}} for n in found]


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return percent(low) if low == high else percent_range(low, high)


def joined(items: Sequence[str]) -> str:
    """``"A"``, ``"A and B"``, ``"A, B and C"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def takeaway(found: Sequence[Network]) -> str | None:
    """Which network generalises, in two or three sentences; ``None`` when none was measured elsewhere."""
    measured = [n for n in found if n.external and n.kaggle]
    if not measured:
        return None
    best = max(measured, key=lambda n: n.external["sensitivity"]["value"])
    text = (f"On scans from other hospitals, **{best.name}** ({best.initialised}, trained on {best.trained_on}) "
            f"finds the most tumours: {figure_text(best.external['sensitivity'])}, with "
            f"{percent(best.kaggle['value'])} on Kaggle Testing.")
    alone = [n for n in measured if n.kaggle_only]
    if alone:
        text += (f" Trained on Kaggle alone, {joined([n.name for n in alone])} score"
                 f"{'s' * (len(alone) == 1)} {_span([n.kaggle['value'] for n in alone])} on Kaggle Testing but "
                 f"find{'s' * (len(alone) == 1)} only {_span([n.external['sensitivity']['value'] for n in alone])} "
                 "of the tumours from elsewhere.")
    top = max(measured, key=lambda n: n.kaggle["value"])
    if top is not best:
        text += (f" The best Kaggle score ({top.name}, {percent(top.kaggle['value'])}) is not the best elsewhere: "
                 "the Kaggle test images come from the same few collections as the training ones.")
    return text


def not_measured_note(found: Sequence[Network]) -> str | None:
    """The footnote for the rows whose figures were not measured: which, and why."""
    notes = [f"{n.name}: {n.why_not}" for n in found if not n.external]
    notes += [f"{n.name}: no Kaggle Testing figure beside its weights" for n in found if not n.kaggle]
    if not notes:
        return None
    return (f"\"{NOT_MEASURED}\": a result file written before the external evaluation has no figures on scans "
            "from elsewhere, and only bundled weights can be measured afresh. " + "; ".join(notes) + ".")


def _sizes(found: Sequence[Network], of, words: str) -> str:
    """``"640 slices in 197 case groups"``, or one size per network where they differ."""
    sizes = {n.name: of(n) for n in found if of(n)}
    if len(set(sizes.values())) == 1:
        return next(iter(sizes.values()))
    return "; ".join(f"{name} on {size}" for name, size in sizes.items()) + f" ({words} differ)"


def sets_caption(found: Sequence[Network]) -> str:
    """What the takeaway table's figures were measured on, from the files behind its rows."""
    kaggle = _sizes(found, lambda n: f"{n.kaggle['n']:,} images" if n.kaggle else None, "the test sets")
    text = f"Kaggle Testing: {kaggle} of the Kaggle Testing split; intervals are bootstrap 95%."
    if any(n.external for n in found):
        elsewhere = _sizes(found, lambda n: f"{n.external['n_images']:,} slices in {n.external['n_case_groups']} case "
                                            "groups" if n.external else None, "the sets")
        text += (f" Elsewhere: {elsewhere} from other hospitals, scanners and sequences (the external validation "
                 "part, which no network trains on); intervals resample whole cases, so where two ranges overlap "
                 "the set cannot tell those networks apart.")
    return text


def elsewhere_caption(found: Sequence[Network]) -> str:
    """Under the per-sequence chart."""
    hatched = [n.name for n in found if n.external and n.variant]
    return ("Tumours found on scans from elsewhere, per sequence, one bar per network measured there"
            + (f"; hatched: a bundled second version of a compared network ({joined(hatched)})." if hatched else "."))
