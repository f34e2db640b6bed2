"""Does the heat map point at the tumour? The localisation result file (``python -m model localise``,
:mod:`model.evaluation.localisation`) in the Model card's words and table."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..figures import fixed, percent, percent_range
from ..names import class_name
from ..paths import DEFAULT_CHECKPOINT, HEAT_MAP_OUTLINES_DIR
from ..results import LOCALISATION
from .heat_map_names import heat_map_name

__all__ = ["REPORT_FILE", "example_pictures", "localisation_rows", "localisation_summary", "map_cell",
           "map_pointing_note", "read_localisation"]

#: The bundled model's result file; read at call time, so a test can point it elsewhere.
REPORT_FILE = LOCALISATION.path(DEFAULT_CHECKPOINT)


def read_localisation(path: str | Path | None = None) -> dict[str, Any] | None:
    """The localisation report (default :data:`REPORT_FILE`), or ``None`` when it has not been measured."""
    path = Path(path) if path is not None else REPORT_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _with_interval(summary: dict, as_percent: bool) -> str:
    value = percent(summary["mean"], 0) if as_percent else fixed(summary["mean"], 2)
    if not summary.get("ci95"):
        return value
    low, high = summary["ci95"]
    return f"{value} ({percent_range(low, high, 0) if as_percent else f'{fixed(low, 2)}–{fixed(high, 2)}'})"


def map_cell(name: str) -> str:
    """A heat map's plain name, for a table that renders Markdown (``st.table``); a measured candidate's
    code name follows in small type, so the command that measured it can still be found."""
    plain = heat_map_name(name)
    return plain if plain == name else f"{plain} :small[`{name}`]"


def localisation_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """One row per heat map and baseline: its overall figures with their 95% intervals, and the
    pointing game per tumour class. Candidates (``GradCAMPlusPlus:fine``) read in plain words."""
    rows = []
    for name, summary in report["maps"].items():
        overall = summary["overall"]
        by_class = ", ".join(f"{class_name(c).lower()} {percent(s['pointing_game']['mean'], 0)}"
                             for c, s in summary["per_class"].items())
        rows.append({"map": map_cell(name), "images": str(overall["n"]),
                     "peak on the tumour": _with_interval(overall["pointing_game"], True),
                     "heat inside the outline": _with_interval(overall["energy_inside"], True),
                     "pixel AUC": _with_interval(overall["auc"], False), "peak on the tumour, by class": by_class})
    return rows


def localisation_summary(report: dict[str, Any]) -> str:
    """The figures in plain words: how often each heat map's peak falls on the tumour and how much of
    its heat lies inside the outline, beside the centre blob, and whether the bars are met."""
    maps, methods = report["maps"], report["methods"]
    centre = maps[report["baselines"][0]]["overall"]
    n = maps[methods[0]]["overall"]["n"]
    found = "; ".join(f"{name}'s peak fell on the tumour in {percent(overall['pointing_game']['mean'], 0)} of them, "
                      f"with {percent(overall['energy_inside']['mean'], 0)} of its heat inside the outline"
                      for name, overall in ((m, maps[m]["overall"]) for m in methods))
    bars = report["bars"]
    verdicts = []
    for name in methods:
        check = bars["checks"][name]
        missed = sorted({class_name(c).lower() for part in ("pointing_game_at_least_0.80", "energy_at_least_3x_centre")
                         for c, ok in check[part].items() if not ok})
        verdicts.append(f"{name} **clears them**" if check["met"] else f"{name} misses them ({', '.join(missed)})")
    return (f"On {n} Kaggle slices with a hand-drawn tumour outline, {found}. A blob on the centre of the head, which "
            f"knows nothing about the image, scores {percent(centre['pointing_game']['mean'], 0)} and "
            f"{percent(centre['energy_inside']['mean'], 0)}. The bars (peak within "
            f"{report['tolerance_px_at_224']} px of the tumour on at least {percent(bars['pointing_game'], 0)} of "
            f"slices, and {fixed(bars['energy_times_centre'], 0)}× the centre blob's heat inside the outline, in "
            "every tumour class): " + "; ".join(verdicts) + ".")


def example_pictures(folder: str | Path = HEAT_MAP_OUTLINES_DIR) -> list[tuple[Path, str]]:
    """The committed example pictures (``python -m model localise --examples-dir``) with a caption each:
    ``<class>_<file>.png`` → ``(path, "Glioma, Te-gl_0012")``."""
    found = sorted(Path(folder).glob("*.png")) if Path(folder).is_dir() else []
    return [(path, f"{class_name(path.stem.split('_', 1)[0])}, {path.stem.split('_', 1)[-1]}") for path in found]


def map_pointing_note(report: dict[str, Any] | None, method: str) -> str | None:
    """One line for the Diagnose page under heat map ``method``: how often its peak fell on a hand-drawn
    tumour outline, beside the centre blob; ``None`` when it has not been measured."""
    if not report or method not in report.get("maps", {}):
        return None
    ours = report["maps"][method]["overall"]
    centre = report["maps"][report["baselines"][0]]["overall"]
    return (f"Measured on {ours['n']} outlined Kaggle tumour slices, this map's peak falls on the tumour for "
            f"{percent(ours['pointing_game']['mean'], 0)} of them; a fixed blob on the centre of the head does "
            f"so for {percent(centre['pointing_game']['mean'], 0)}. Read it as where the network looked, not "
            "where the tumour is.")
