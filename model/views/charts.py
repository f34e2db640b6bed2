"""Plotly figures for the app (no Streamlit here: pages only place them)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from ..figures import percent

#: The app's chart font (Streamlit's own), shared by every chart module.
FONT = dict(family="Source Sans Pro, sans-serif", size=14)


def probability_bars(names: Sequence[str], probabilities: np.ndarray, highlight: int | None = None) -> go.Figure:
    """Horizontal bars of class probabilities, the chosen class in a stronger colour."""
    highlight = int(np.argmax(probabilities)) if highlight is None else highlight
    colours = ["#d1495b" if i == highlight else "#8da9c4" for i in range(len(names))]
    fig = go.Figure(go.Bar(
        x=[float(p) * 100 for p in probabilities], y=list(names), orientation="h",
        marker_color=colours, text=[percent(p, 1) for p in probabilities], textposition="auto",
        hovertext=[percent(p) for p in probabilities], hovertemplate="%{y}: %{hovertext}<extra></extra>",
    ))
    fig.update_layout(
        xaxis=dict(title="probability (%)", range=[0, 100]), yaxis=dict(autorange="reversed"),
        height=60 + 45 * len(names), margin=dict(l=10, r=10, t=10, b=40), font=FONT,
    )
    return fig


def confusion_matrix_heatmap(matrix: Sequence[Sequence[int]], names: Sequence[str]) -> go.Figure:
    """Counts with truth on rows and prediction on columns."""
    z = np.asarray(matrix)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(names), y=list(names), colorscale="Blues", showscale=False,
        text=z, texttemplate="%{text}", hovertemplate="true %{y}<br>predicted %{x}: %{z}<extra></extra>",
    ))
    fig.update_layout(
        xaxis_title="predicted", yaxis_title="true", yaxis=dict(autorange="reversed"),
        height=380, margin=dict(l=10, r=10, t=10, b=40), font=FONT,
    )
    return fig


def training_curves(history: Sequence[dict]) -> go.Figure:
    """Loss and accuracy per epoch, training against validation."""
    epochs = [h["epoch"] for h in history]
    fig = go.Figure()
    for key, dash, axis in (("train_loss", "solid", "y"), ("val_loss", "dash", "y"),
                            ("train_acc", "solid", "y2"), ("val_acc", "dash", "y2")):
        fig.add_trace(go.Scatter(x=epochs, y=[h[key] for h in history], name=key.replace("_", " "),
                                 line=dict(dash=dash), yaxis=axis, mode="lines+markers"))
    for before, after in zip(history, history[1:]):  # a later stage continued at another input size
        if before.get("input_size") != after.get("input_size"):
            fig.add_vline(x=before["epoch"] + 0.5, line=dict(dash="dot", color="grey"),
                          annotation_text=f"{after['input_size']} px from here")
    fig.update_layout(
        xaxis_title="epoch", yaxis=dict(title="loss"),
        yaxis2=dict(title="accuracy", overlaying="y", side="right", range=[0, 1]),
        height=380, margin=dict(l=10, r=10, t=10, b=40), font=FONT, legend=dict(orientation="h", y=1.12),
    )
    return fig


def reliability_diagram(bins: dict) -> go.Figure:
    """Confidence against accuracy per bin; the diagonal is perfect calibration."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                             line=dict(dash="dot", color="grey")))
    fig.add_trace(go.Scatter(
        x=bins["confidence"], y=bins["accuracy"], mode="lines+markers", name="model",
        marker=dict(size=[6 + 30 * (c / max(bins["count"])) ** 0.5 for c in bins["count"]], color="#d1495b"),
        customdata=bins["count"], hovertemplate="confidence %{x:.3f}<br>accuracy %{y:.3f}<br>%{customdata} images"
                                                "<extra></extra>"))
    fig.update_layout(xaxis=dict(title="confidence of the top class", range=[0, 1.02]),
                      yaxis=dict(title="share correct", range=[0, 1.02]),
                      height=380, margin=dict(l=10, r=10, t=10, b=40), font=FONT, legend=dict(orientation="h", y=1.1))
    return fig


def class_balance(counts: dict[str, dict[str, int]], names: dict[str, str]) -> go.Figure:
    """Images per class, one group of bars per split."""
    fig = go.Figure()
    for split, per_class in counts.items():
        fig.add_trace(go.Bar(name=split, x=[names.get(c, c) for c in per_class], y=list(per_class.values()),
                             text=list(per_class.values()), textposition="auto"))
    fig.update_layout(barmode="group", yaxis_title="images", height=340,
                      margin=dict(l=10, r=10, t=10, b=40), font=FONT, legend=dict(orientation="h", y=1.12))
    return fig


def full_versus_clean(full: dict, clean: dict) -> go.Figure:
    """Accuracy and macro-F1 on all Testing images and on the clean subset, with 95% intervals."""
    fig = go.Figure()
    for label, m, colour in (("all Testing images", full, "#8da9c4"), ("clean subset", clean, "#d1495b")):
        values = [m["accuracy"], m["macro_f1"]]
        intervals = [m["accuracy_ci95"], m["macro_f1_ci95"]]
        fig.add_trace(go.Bar(
            name=f"{label} (n={m['n_images']})", x=["accuracy", "macro F1"], y=values, marker_color=colour,
            error_y=dict(type="data", symmetric=False, array=[hi - v for v, (_, hi) in zip(values, intervals)],
                         arrayminus=[v - lo for v, (lo, _) in zip(values, intervals)]),
            text=[percent(v) for v in values], textposition="inside",
            hovertemplate=f"{label}, %{{x}}: %{{text}}<extra></extra>"))
    low = min(min(full["accuracy_ci95"][0], clean["accuracy_ci95"][0]),
              min(full["macro_f1_ci95"][0], clean["macro_f1_ci95"][0]))
    fig.update_layout(barmode="group", yaxis=dict(range=[max(0.0, low - 0.05), 1.0], tickformat=".0%"),
                      height=340, margin=dict(l=10, r=10, t=10, b=40), font=FONT,
                      legend=dict(orientation="h", y=1.12))
    return fig


def slice_probabilities(names: Sequence[str], probabilities: np.ndarray, current: int,
                        axis_title: str = "slice") -> go.Figure:
    """One line per class across the slices of a volume, the shown slice marked."""
    probabilities = np.asarray(probabilities)
    slices = list(range(len(probabilities)))
    fig = go.Figure()
    for column, name in enumerate(names):
        fig.add_trace(go.Scatter(x=slices, y=probabilities[:, column] * 100, name=name, mode="lines",
                                 hovertemplate=f"{name}, {axis_title} %{{x}}: %{{y:.1f}}%<extra></extra>"))
    fig.add_vline(x=current, line_dash="dot", line_color="#555")
    fig.update_layout(
        xaxis_title=axis_title, yaxis=dict(title="probability (%)", range=[0, 100]),
        height=320, margin=dict(l=10, r=10, t=10, b=40), font=FONT, legend=dict(orientation="h", y=1.15),
    )
    return fig
