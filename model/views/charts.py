"""Plotly figures for the app (no Streamlit here: pages only place them)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..figures import percent
from .colours import class_colour
from .training_stages import training_stages

#: The app's chart font (Streamlit's own), shared by every chart module.
FONT = dict(family="Source Sans Pro, sans-serif", size=14)


def probability_bars(names: Sequence[str], probabilities: np.ndarray, highlight: int | None = None) -> go.Figure:
    """Horizontal bars of class probabilities in the classes' colours, the chosen class solid, the others pale."""
    highlight = int(np.argmax(probabilities)) if highlight is None else highlight
    fig = go.Figure(go.Bar(
        x=[float(p) * 100 for p in probabilities], y=list(names), orientation="h",
        marker=dict(color=[class_colour(n) for n in names],
                    opacity=[1.0 if i == highlight else 0.4 for i in range(len(names))]),
        text=[percent(p, 1) for p in probabilities], textposition="auto",
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


#: The training curves' two lines (not class colours): training solid, validation dashed.
_TRAINING, _VALIDATION = "#555555", "#E69F00"
#: Width of the chart's plot area the stage labels are spaced for (px), and of one label character.
_PLOT_PX, _CHAR_PX = 560, 7


def _label_places(stages: Sequence, first: int, last: int) -> list[tuple[int, str]]:
    """Per stage label, a row above the plot (the lowest where it clears the labels before it) and its side
    of the line: to the right, or to the left where it would run past the plot's right edge."""
    per_epoch = _PLOT_PX / max(last - first, 1)
    ends: list[float] = []  # per row, the x (px) where its last label ends
    places = []
    for stage in stages:
        line, width = (stage.epoch - 0.5 - first) * per_epoch, _CHAR_PX * len(stage.label) + 8
        side = "left" if line + width <= _PLOT_PX else "right"  # plotly's xanchor: the label's side at the line
        start = line if side == "left" else line - width
        row = next((i for i, end in enumerate(ends) if end < start), len(ends))
        ends[row:row + 1] = [start + width]
        places.append((row, side))
    return places


def training_curves(history: Sequence[dict], config: dict | None = None) -> go.Figure:
    """Loss (top) and accuracy (bottom) per epoch, training against validation, each stage change marked.

    Args:
        history: ``<name>.history.json``, every stage's epochs numbered on.
        config: the checkpoint's ``train_config`` (the last stage's settings), to say what that stage changed.
    """
    epochs = [h["epoch"] for h in history]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for row, what in ((1, "loss"), (2, "acc")):
        for split, name, colour, dash in (("train", "training", _TRAINING, "solid"),
                                          ("val", "validation", _VALIDATION, "dash")):
            fig.add_trace(go.Scatter(
                x=epochs, y=[h[f"{split}_{what}"] for h in history], name=name, legendgroup=split,
                showlegend=row == 1, mode="lines+markers", line=dict(color=colour, dash=dash), marker=dict(size=4),
                hovertemplate=f"{name} {'loss' if row == 1 else 'accuracy'}, epoch %{{x}}: "
                              f"%{{y:{'.3f' if row == 1 else '.2%'}}}<extra></extra>"), row=row, col=1)
    stages = training_stages(history, config)
    places = _label_places(stages, epochs[0], epochs[-1]) if epochs else []
    for stage, (row, side) in zip(stages, places):
        fig.add_shape(type="line", x0=stage.epoch - 0.5, x1=stage.epoch - 0.5, xref="x", y0=0, y1=1, yref="paper",
                      line=dict(dash="dot", color="grey", width=1))
        # above the plot area, clear of the curves; the whole sentence on hover
        fig.add_annotation(x=stage.epoch - 0.5, xref="x", y=1, yref="paper", yanchor="bottom", xanchor=side,
                           yshift=2 + 18 * row, text=stage.label, showarrow=False, hovertext=stage.explanation,
                           font=dict(size=12, color="#444"))
    top = 18 * (max(row for row, _ in places) + 1) if places else 0
    fig.update_yaxes(title_text="loss", tickformat=".2~f", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", tickformat=".0%", range=[0, 1.02], dtick=0.25, row=2, col=1)
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    fig.update_layout(height=480 + top, margin=dict(l=10, r=10, t=10 + top, b=80), font=FONT,
                      legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=1, xanchor="right"))
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
                                 line=dict(color=class_colour(name)),
                                 hovertemplate=f"{name}, {axis_title} %{{x}}: %{{y:.1f}}%<extra></extra>"))
    fig.add_vline(x=current, line_dash="dot", line_color="#555")
    fig.update_layout(
        xaxis_title=axis_title, yaxis=dict(title="probability (%)", range=[0, 100]),
        height=320, margin=dict(l=10, r=10, t=10, b=40), font=FONT, legend=dict(orientation="h", y=1.15),
    )
    return fig
