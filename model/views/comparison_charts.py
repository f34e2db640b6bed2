"""Plotly figures comparing models from their result files (no Streamlit here).

Every function takes a list of :class:`model.comparison.results.ComparisonResult`; each network
keeps one colour across all figures and pages (:func:`model.views.colours.model_colour`).
"""
from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..comparison.results import ComparisonResult
from ..figures import fixed, percent, percent_range
from .charts import FONT
from .colours import model_colour
from .comparison_external import Network, initialised_text
from .external import figure_text, models_by_sequence_chart

_MARGIN = dict(l=10, r=10, t=40, b=40)


def _legend() -> dict:
    return dict(orientation="h", y=-0.18)


def _error(values: Sequence[float], intervals: Sequence[Sequence[float]]) -> dict:
    return dict(type="data", symmetric=False, array=[hi - v for v, (_, hi) in zip(values, intervals)],
                arrayminus=[v - lo for v, (lo, _) in zip(values, intervals)])


def headline_bars(results: Sequence[ComparisonResult]) -> go.Figure:
    """Accuracy and macro-F1 per model, with bootstrap 95% intervals as error bars."""
    names = [r.display_name for r in results]
    fig = go.Figure()
    for label, key, shade in (("accuracy", "accuracy", "#8da9c4"), ("macro F1", "macro_f1", "#d1495b")):
        values = [getattr(r, key) for r in results]
        intervals = [getattr(r, f"{key}_ci95") for r in results]
        fig.add_trace(go.Bar(name=label, x=names, y=values, marker_color=shade, error_y=_error(values, intervals),
                             # labels at the foot of each bar, clear of the error bar at its top
                             text=[percent(v) for v in values], textposition="inside", insidetextanchor="start",
                             customdata=[percent_range(*ci) for ci in intervals],
                             hovertemplate=f"%{{x}}<br>{label} %{{text}}<br>95%: %{{customdata}}<extra></extra>"))
    low = min(min(r.accuracy_ci95[0], r.macro_f1_ci95[0]) for r in results)
    fig.update_layout(barmode="group", yaxis=dict(range=[max(0.0, low - 0.05), 1.0], tickformat=".0%"),
                      height=380, margin=_MARGIN, font=FONT, legend=_legend())
    return fig


def accuracy_vs_latency(results: Sequence[ComparisonResult]) -> go.Figure:
    """Accuracy against CPU milliseconds per image; the bubble's area grows with the parameter count.

    The names are in the legend and on hover, never written beside the bubbles (where they would overlap).
    """
    largest = max(r.parameters for r in results)
    fig = go.Figure()
    for r in results:
        fig.add_trace(go.Scatter(
            x=[r.latency["ms_per_image_batch1"]], y=[r.accuracy], name=r.display_name, mode="markers",
            marker=dict(size=[12 + 48 * math.sqrt(r.parameters / largest)], color=model_colour(r.arch), opacity=0.75,
                        line=dict(width=1, color="#333")),
            customdata=[[r.parameters / 1e6]],
            hovertemplate=f"{r.display_name}<br>%{{x:.1f}} ms per image<br>accuracy {percent(r.accuracy)}"
                          "<br>%{customdata[0]:.1f} M parameters<extra></extra>"))
    fig.update_layout(xaxis=dict(title="CPU milliseconds per image (batch 1, 2 threads)", rangemode="tozero"),
                      yaxis=dict(title="accuracy on Testing", tickformat=".0%"),
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, itemsizing="constant"),
                      height=420, margin=_MARGIN, font=FONT)
    return fig


def recall_heatmap(results: Sequence[ComparisonResult]) -> go.Figure:
    """Recall (share of each class found) per model and class."""
    classes = results[0].classes
    z = [[r.per_class[c]["recall"] for c in classes] for r in results]
    fig = go.Figure(go.Heatmap(
        z=z, x=results[0].class_names, y=[r.display_name for r in results], colorscale="Blues", zmin=0, zmax=1,
        text=[[percent(v) for v in row] for row in z], texttemplate="%{text}", showscale=False,
        hovertemplate="%{y}, %{x}: recall %{text}<extra></extra>"))
    fig.update_layout(yaxis=dict(autorange="reversed"), height=120 + 50 * len(results), margin=_MARGIN, font=FONT)
    return fig


def confusion_matrices(results: Sequence[ComparisonResult]) -> go.Figure:
    """One confusion matrix per model, side by side (rows = truth, columns = prediction)."""
    names = results[0].class_names
    fig = make_subplots(rows=1, cols=len(results), subplot_titles=[r.display_name for r in results],
                        shared_yaxes=True, horizontal_spacing=0.03)
    top = max(max(map(max, r.confusion_matrix)) for r in results)
    for col, r in enumerate(results, start=1):
        fig.add_trace(go.Heatmap(z=r.confusion_matrix, x=names, y=names, colorscale="Blues", zmin=0, zmax=top,
                                 showscale=False, text=r.confusion_matrix, texttemplate="%{text}",
                                 hovertemplate=f"{r.display_name}<br>true %{{y}}<br>predicted %{{x}}: %{{z}}"
                                               "<extra></extra>"), row=1, col=col)
        fig.update_xaxes(title_text="predicted", tickangle=-45, row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_yaxes(title_text="true", row=1, col=1)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=80), font=FONT)
    return fig


def roc_curves(results: Sequence[ComparisonResult]) -> go.Figure:
    """One-vs-rest ROC curve per class (one panel each), a line per model, AUC in the legend."""
    classes, names = results[0].classes, results[0].class_names
    cols = 2 if len(classes) > 2 else len(classes)
    rows = math.ceil(len(classes) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, vertical_spacing=0.12, horizontal_spacing=0.08)
    for k, cls in enumerate(classes):
        row, col = k // cols + 1, k % cols + 1
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"),
                                 showlegend=False, hoverinfo="skip"), row=row, col=col)
        for r in results:
            curve = r.roc[cls]
            auc = "n/a" if curve["auc"] is None else f"{curve['auc']:.3f}"
            fig.add_trace(go.Scatter(
                x=curve["fpr"], y=curve["tpr"], mode="lines", name=r.display_name, legendgroup=r.arch,
                showlegend=k == 0, line=dict(color=model_colour(r.arch)),
                hovertemplate=f"{r.display_name}, {names[k]} (AUC {auc})<br>false alarms %{{x:.1%}}"
                              "<br>found %{y:.1%}<extra></extra>"), row=row, col=col)
    fig.update_xaxes(title_text="false-positive rate", range=[0, 1])
    fig.update_yaxes(title_text="true-positive rate", range=[0, 1.02])
    fig.update_layout(height=330 * rows + 60, margin=_MARGIN, font=FONT, legend=_legend())
    return fig


def training_curves(results: Sequence[ComparisonResult]) -> go.Figure:
    """Validation accuracy and loss per epoch, a line per model."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["validation accuracy", "validation loss"],
                        horizontal_spacing=0.1)
    for r in results:
        history = r.training["history"]
        epochs = [h["epoch"] for h in history]
        for col, key in ((1, "val_acc"), (2, "val_loss")):
            fig.add_trace(go.Scatter(
                x=epochs, y=[h[key] for h in history], mode="lines+markers", name=r.display_name,
                legendgroup=r.arch, showlegend=col == 1, line=dict(color=model_colour(r.arch)), marker=dict(size=5),
                hovertemplate=f"{r.display_name}, epoch %{{x}}: %{{y:.3f}}<extra></extra>"), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(tickformat=".2~f", rangemode="tozero", row=1, col=2)
    fig.update_layout(height=400, margin=_MARGIN, font=FONT, legend=_legend())
    return fig


def _odd_ones_out(results: Sequence[ComparisonResult], value, what: str, unit: str, why: str) -> str | None:
    """A sentence naming the models whose ``value`` differs from the most common one, or ``None``."""
    values = [value(r) for r in results]
    usual = max(sorted(set(values)), key=values.count)
    odd = [f"{r.display_name} was {what} {v} {unit}" for r, v in zip(results, values) if v != usual]
    if not odd:
        return None
    return (f"Not every model was trained the same way: {'; '.join(odd)}, the others {usual} {unit}. "
            f"Their scores are not a like-for-like comparison ({why}).")


def protocol_warnings(results: Sequence[ComparisonResult]) -> list[str]:
    """Plain-language notes on anything that breaks the "same protocol" promise between the results."""
    def differ(values) -> bool:
        return len(set(values)) > 1

    notes = []
    if differ((r.data_fingerprint, r.n_images) for r in results):
        notes.append("Not every model was tested on the same images, so their scores are not strictly comparable.")
    for what, unit, value, why in (
            ("trained for", "epochs", lambda r: r.training["epochs"], "a shorter training usually scores lower"),
            ("trained and tested at", "px", lambda r: r.input_size, "a larger picture shows more detail")):
        note = _odd_ones_out(results, value, what, unit, why)
        if note:
            notes.append(note)
    if differ(r.latency["machine"] for r in results):
        notes.append("The speeds were measured on different computers: compare them with care.")
    busy = [r.display_name for r in results
            if (r.latency["load_average_1min"] or 0) > r.latency["logical_cores"]]
    if busy:
        notes.append(f"The computer was busy with other work while timing {', '.join(busy)}: "
                     "those speeds read slower than they should.")
    return notes


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def summary_rows(results: Sequence[ComparisonResult]) -> list[dict]:
    """One row per model: its Kaggle Testing figures (intervals are bootstrap 95%); the clean subset's
    figure names its size, since older and newer result files hold different clean subsets."""
    return [{
        "model": r.display_name,
        "initialised": initialised_text(r),
        "input": f"{r.input_size} px",
        "accuracy (95% interval)": figure_text({"value": r.accuracy, "ci95": r.accuracy_ci95}),
        "macro F1 (95% interval)": f"{fixed(r.macro_f1)} ({fixed(r.macro_f1_ci95[0])}–{fixed(r.macro_f1_ci95[1])})",
        "accuracy, clean subset": f"{percent(r.clean['accuracy'])} of {r.clean['n_images']:,}" if r.clean else "—",
    } for r in results]


def cost_rows(results: Sequence[ComparisonResult]) -> list[dict]:
    """One row per model: what it costs to run, store and train."""
    return [{
        "model": r.display_name,
        "CPU ms / image": f"{r.latency['ms_per_image_batch1']:.1f}",
        "images / s (batch 32)": f"{r.latency['images_per_second_batch32']:.0f}",
        "parameters": f"{r.parameters / 1e6:.1f} M",
        "weights file": f"{r.checkpoint_bytes / 1e6:.0f} MB",
        "training": f"{_duration(r.training['wall_seconds'])}, {r.training['epochs']} epochs",
        "training machine": r.training["machine"] or "not recorded",
        "timed on": r.latency["machine"],
    } for r in results]


def elsewhere_by_sequence(found: Sequence[Network]) -> go.Figure:
    """Tumours found on scans from elsewhere, per sequence, one bar per measured network in its own colour
    (a bundled second version of a compared network hatched)."""
    measured = [n for n in found if n.external]
    fig = models_by_sequence_chart({n.name: n.external for n in measured})
    for trace, n in zip(fig.data, measured):
        trace.update(marker=dict(color=model_colour(n.arch), pattern_shape="/" if n.variant else ""))
    return fig
