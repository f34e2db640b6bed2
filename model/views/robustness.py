"""Reading the robustness report of :mod:`model.evaluation.stress`: a chart and a plain-language summary."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from ..figures import percent
from ..names import ARCH_NAMES
from ..paths import STRESS_REPORT
from .charts import FONT

#: A model calling more than this share of Testing one class has collapsed (the largest true class is ~31%).
COLLAPSED_ABOVE = 0.6


def load_stress_report(path: str | Path = STRESS_REPORT) -> dict[str, Any] | None:
    """The committed report, or ``None`` when there is none."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def model_label(report: dict, key: str) -> str:
    return ARCH_NAMES.get(report["models"][key]["arch"], key)


def robustness_heatmap(report: dict) -> go.Figure:
    """Accuracy (%) per shift (rows) and bundled model (columns); the cell text flags collapse."""
    shifts = [s["name"] for s in report["shifts"]]
    keys = list(report["models"])
    z, text = [], []
    for shift in shifts:
        row = [report["models"][k]["results"][shift] for k in keys]
        z.append([r["accuracy"] * 100 for r in row])
        text.append([percent(r["accuracy"]) + (" ⚠ one class" if r["largest_share"] > COLLAPSED_ABOVE else "")
                     for r in row])
    fig = go.Figure(go.Heatmap(
        z=z, x=[model_label(report, k) for k in keys], y=shifts, text=text, texttemplate="%{text}",
        colorscale="RdYlGn", zmin=25, zmax=100, colorbar=dict(title="accuracy %"),
        hovertemplate="%{x}, %{y}: %{text}<extra></extra>",
    ))
    fig.update_layout(yaxis=dict(autorange="reversed"), height=90 + 32 * len(shifts),
                      margin=dict(l=10, r=10, t=10, b=40), font=FONT)
    return fig


def robustness_summary(report: dict, key: str) -> str:
    """One or two sentences on how ``key``'s accuracy holds up: worst scanner-like and orientation shift."""
    results = report["models"][key]["results"]
    kinds = {s["name"]: s["kind"] for s in report["shifts"]}
    base = results["original"]["accuracy"] if "original" in results else None

    def worst(kind: str) -> tuple[str, dict] | None:
        named = [(n, r) for n, r in results.items() if kinds.get(n) == kind]
        return min(named, key=lambda item: item[1]["accuracy"]) if named else None

    parts = [f"{model_label(report, key)} scores {percent(base)} on the unchanged images" if base is not None
             else model_label(report, key)]
    scanner, orientation = worst("scanner"), worst("orientation")
    if scanner:
        parts.append(f"its weakest scanner-like change is “{scanner[0]}” at {percent(scanner[1]['accuracy'])}")
    if orientation:
        parts.append(f"turned slices (“{orientation[0]}”) get {percent(orientation[1]['accuracy'])}")
    collapsed = [n for n, r in results.items() if r["largest_share"] > COLLAPSED_ABOVE]
    tail = (f" Under {', '.join(f'“{n}”' for n in collapsed)} it calls more than {COLLAPSED_ABOVE:.0%} of "
            "the images one class: it has stopped looking." if collapsed
            else " It never collapses onto one class.")
    return "; ".join(parts) + "." + tail
