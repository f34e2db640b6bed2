"""The pages' view of ``<checkpoint>.external.json`` (``python -m model external``): how the model does
on scans from other sources, by sequence and by tumour type, in charts and plain words."""
from __future__ import annotations

from math import comb
from typing import Any

import plotly.graph_objects as go

from ..figures import percent, percent_range
from ..names import NO_TUMOUR, class_name
from .charts import FONT

__all__ = ["SEQUENCE_NAMES", "by_sequence_chart", "by_tumour_type_chart", "external_reading", "figure_text",
           "interval_skew_note", "models_by_sequence_chart", "models_side_by_side", "sequence_reading",
           "sequences_named"]

SEQUENCE_NAMES = {"T1": "T1", "T1C+": "contrast-enhanced T1", "T2": "T2"}
#: The three figures charted per sequence, in the words the page uses.
MEASURES = {"accuracy": "3-class accuracy", "sensitivity": "tumours found", "specificity": "normal scans called normal"}


def figure_text(figure: dict[str, Any]) -> str:
    """``"26.39% (19.38–47.37%)"``; without an interval when the figure rests on one case group."""
    if figure is None or figure.get("value") is None:
        return "not measured"
    if not figure.get("ci95"):
        return f"{percent(figure['value'])} (one case)"
    return f"{percent(figure['value'])} ({percent_range(*figure['ci95'])})"


def _bar(name: str, labels: list[str], figures: list[dict | None], **style) -> go.Bar:
    values = [f["value"] * 100 if f and f.get("value") is not None else None for f in figures]
    upper = [(f["ci95"][1] - f["value"]) * 100 if f and f.get("ci95") else 0 for f in figures]
    lower = [(f["value"] - f["ci95"][0]) * 100 if f and f.get("ci95") else 0 for f in figures]
    return go.Bar(name=name, x=labels, y=values, error_y=dict(type="data", array=upper, arrayminus=lower),
                  hovertext=[figure_text(f) for f in figures], hovertemplate="%{x}: %{hovertext}<extra></extra>",
                  **style)


def by_sequence_chart(external: dict[str, Any]) -> go.Figure:
    """Per sequence: 3-class accuracy, tumours found and normal scans called normal, with intervals."""
    sequences = list(external["by_sequence"])
    labels = [SEQUENCE_NAMES.get(s, s) for s in sequences]
    fig = go.Figure([_bar(words, labels, [external["by_sequence"][s][key] for s in sequences])
                     for key, words in MEASURES.items()])
    fig.update_layout(barmode="group", yaxis=dict(title="%", range=[0, 100]), height=380, font=FONT,
                      margin=dict(l=10, r=10, t=10, b=40), legend=dict(orientation="h", y=1.12))
    return fig


def by_tumour_type_chart(external: dict[str, Any]) -> go.Figure:
    """Per tumour type: the share of its slices called a tumour of any kind (normal scans: called normal)."""
    types = sorted((t for t in external["by_tumour_type"] if t != "none"),
                   key=lambda t: external["by_tumour_type"][t]["called_tumour"]["value"])
    figures = [external["by_tumour_type"][t]["called_tumour"] for t in types]
    fig = go.Figure(_bar("called a tumour", types, figures, marker_color="#d1495b"))
    fig.update_layout(yaxis=dict(title="% called a tumour", range=[0, 100]), height=380, font=FONT,
                      margin=dict(l=10, r=10, t=10, b=80))
    return fig


def external_reading(external: dict[str, Any]) -> list[str]:
    """Plain-language lines: the headline, the weakest sequence, other tumour types, absent classes."""
    lines = [f"Of the tumours on these {external['n_images']} slices ({external['n_case_groups']} case groups), "
             f"the model finds {figure_text(external['sensitivity'])}; it calls "
             f"{figure_text(external['specificity'])} of the normal scans normal, and names the right class "
             f"for {figure_text(external['accuracy'])} of the slices whose class it knows."]
    found = {s: b["sensitivity"]["value"] for s, b in external["by_sequence"].items()
             if b["sensitivity"]["value"] is not None}
    if found:
        weakest = min(found, key=found.get)
        lines.append(f"It is weakest on {SEQUENCE_NAMES.get(weakest, weakest)} slices, where it finds "
                     f"{figure_text(external['by_sequence'][weakest]['sensitivity'])} of the tumours.")
    other = external["other_tumour_called_no_tumour"]
    if other["value"] is not None:
        line = (f"Tumours of kinds it was never taught (schwannoma, metastases and others) are called "
                f"\"no tumour\" {figure_text(other)} of the time")
        sure = external.get("other_tumour_called_no_tumour_confidently")
        if sure and sure.get("value") is not None:
            line += f"; {figure_text(sure)} of the time with enough confidence not to be shown as \"unsure\""
        lines.append(line + ".")
    if external["classes_absent"]:
        lines.append(f"The set has no {', '.join(external['classes_absent'])} images; "
                     f"{figure_text(external['absent_class_answers'])} of the answers named one anyway.")
    return lines


def sequences_named(external: dict[str, Any]) -> str:
    """The sequences the external report covers, in words: ``"T1, contrast-enhanced T1 and T2"``."""
    names = [SEQUENCE_NAMES.get(s, s) for s in external["by_sequence"]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else "none"


def sequence_reading(external: dict[str, Any], kaggle_sequences: str) -> str:
    """Under the by-sequence chart: tumours found per sequence, and what it says given what Kaggle's tumour
    slices are (``kaggle_sequences``, a sentence from :func:`model.views.dataset.kaggle_sequences`)."""
    found = {s: b["sensitivity"] for s, b in external["by_sequence"].items() if b["sensitivity"]["value"] is not None}
    text = "By sequence: tumours found " + "; ".join(
        f"on {SEQUENCE_NAMES.get(s, s)} slices {figure_text(f)}" for s, f in found.items()) + f". {kaggle_sequences}"
    best = max(found, key=lambda s: found[s]["value"]) if found else None
    if best == "T1C+" and len(found) > 1:
        text += (" A model that learned the kind of scan rather than the lesion finds tumours best on "
                 "contrast-enhanced T1 and misses more of them on the other sequences, as here.")
    return text


def interval_skew_note(external: dict[str, Any]) -> str | None:
    """Why an interval can sit off-centre around its figure, from the accuracy figure's largest case group.

    The interval is a percentile bootstrap over case groups (``model.evaluation.metrics.cluster_rate_ci``,
    docs/intervals.md): each resample draws ``case_groups`` groups with replacement, so a given group is
    drawn k times with the binomial probability C(G, k) (1/G)^k (1 - 1/G)^(G-k). One group holding a large
    share of the rows then moves the resampled figure in large steps.

    Returns:
        A sentence, or ``None`` for a report made before figures carried ``largest_case_group``.
    """
    figure = external.get("accuracy") or {}
    largest, rows, groups = figure.get("largest_case_group"), figure.get("n"), figure.get("case_groups")
    if not largest or not rows or not groups or groups < 2:
        return None
    draws = [comb(groups, k) * (1 / groups) ** k * (1 - 1 / groups) ** (groups - k) for k in range(3)]
    return (f"One chain of linked slices (one case group) holds {largest:,} of the {rows:,} slices behind the "
            f"3-class accuracy ({percent(largest / rows, 0)}); the bootstrap draws the {groups} case groups with "
            f"replacement, so it leaves that chain out of about {percent(draws[0], 0)} of its resamples, draws it "
            f"once in {percent(draws[1], 0)} and twice in {percent(draws[2], 0)}. Each count moves the figure a "
            "long way, so an interval can be wide and sit off-centre around its figure.")


def side_by_side_rows(metrics: dict[str, Any], external: dict[str, Any]) -> list[dict[str, str]]:
    """The Model card's headline: Kaggle Testing beside scans from elsewhere, one row per figure."""
    binary = metrics.get("tumour_vs_no_tumour") or {}
    kaggle = {"accuracy": {"value": metrics["accuracy"], "ci95": metrics.get("accuracy_ci95")},
              "sensitivity": {"value": binary.get("sensitivity"), "ci95": None},
              "specificity": {"value": binary.get("specificity"), "ci95": None}}
    words = {"accuracy": "right class", "sensitivity": "tumours found", "specificity": "normal scans called normal"}
    return [{"figure": words[key], f"Kaggle Testing ({metrics['n_images']:,} images)": _plain(kaggle[key]),
             f"other sources ({external['n_images']:,} slices, {external['n_case_groups']} cases)":
                 figure_text(external[key])}
            for key in words]


def models_side_by_side(named: dict[str, tuple[dict | None, dict, dict]]) -> list[dict[str, str]]:
    """The Model comparison's table: per bundled model (name → Kaggle metrics, external report,
    checkpoint metadata), what it was trained on and its Kaggle Testing accuracy beside its figures on
    scans from elsewhere."""
    rows = []
    for name, (metrics, external, metadata) in named.items():
        kaggle = {"value": metrics["accuracy"], "ci95": metrics.get("accuracy_ci95")} if metrics else {"value": None}
        others = [source["name"] for source in metadata.get("data_sources", [])[1:]]
        rows.append({"model": name, "trained on": " + ".join(["Kaggle"] + others), "Kaggle Testing": _plain(kaggle),
                     "elsewhere: right class": figure_text(external["accuracy"]),
                     "tumours found": figure_text(external["sensitivity"]),
                     "normal called normal": figure_text(external["specificity"]),
                     "other kinds called \"no tumour\"": figure_text(external["other_tumour_called_no_tumour"]),
                     "calibration error (ECE)": "not measured" if external.get("ece") is None
                     else f"{external['ece']:.3f}"})
    return rows


def models_by_sequence_chart(named: dict[str, dict]) -> go.Figure:
    """Tumours found on scans from elsewhere, per sequence, one bar per model (name → external report)."""
    sequences = list(next(iter(named.values()))["by_sequence"])
    labels = [SEQUENCE_NAMES.get(s, s) for s in sequences]
    fig = go.Figure([_bar(name, labels, [external["by_sequence"].get(s, {}).get("sensitivity") for s in sequences])
                     for name, external in named.items()])
    fig.update_layout(barmode="group", yaxis=dict(title="% of tumours found", range=[0, 100]), height=380,
                      font=FONT, margin=dict(l=10, r=10, t=10, b=40), legend=dict(orientation="h", y=1.12))
    return fig


def _plain(figure: dict) -> str:
    if figure["value"] is None:
        return "not measured"
    return figure_text(figure) if figure.get("ci95") else percent(figure["value"])


#: The issue's bar: below this share of tumours found on a sequence, the app warns.
LOW_SENSITIVITY = 0.75


def _plural(label: str) -> str:
    return "normal slices" if label == NO_TUMOUR else class_name(label).lower() + "s"


def sequence_note(sequence, external: dict[str, Any] | None, sequence_report: dict[str, Any] | None):
    """What Diagnose says about the upload's sequence: ``(text, low)``, or ``None`` without an estimate.

    Args:
        sequence: the upload's :class:`~model.classifier.sequence.SequenceEstimate` (or ``None``).
        external: the checkpoint's external evaluation (its per-sequence figures), if any.
        sequence_report: the estimate's own measured accuracy (``SequenceModel.report``), if any.
    """
    if sequence is None:
        return None
    words = SEQUENCE_NAMES.get(sequence.sequence, sequence.sequence)
    # No raw probability: the estimator's softmax is sure of itself even on pictures it has never seen the
    # like of; its measured accuracy on slices from other sources is what a reader can weigh.
    text = f"Looks like a **{words}** slice"
    if sequence_report:
        text += (f" (this estimate names the right sequence for {percent(sequence_report['accuracy'])} of slices "
                 "from other sources)")
    text += "."
    block = (external or {}).get("by_sequence", {}).get(sequence.sequence)
    if not block or block["sensitivity"]["value"] is None:
        return text, False
    found = block["sensitivity"]
    text += (f" On {words} slices from other hospitals this model finds {figure_text(found)} of tumours"
             f" and names the right class for {figure_text(block['accuracy'])}.")
    low = found["value"] < LOW_SENSITIVITY or block["accuracy"]["value"] < LOW_SENSITIVITY
    mistake = block.get("commonest_mistake")
    if low and mistake:
        text += (f" Treat its answer on this kind of scan with care: its commonest mistake there is naming "
                 f"{_plural(mistake['truth'])} {class_name(mistake['answer']).lower()} "
                 f"({mistake['n']} of {mistake['of']} slices).")
    elif low:
        text += " Treat its answer on this kind of scan with care."
    return text, low
