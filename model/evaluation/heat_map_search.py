"""The measured search for a better heat map: pytorch-grad-cam's methods on each choice of blocks.

    python -m model localise --limit 30 --candidates HiResCAM:last GradCAM:both GradCAMPlusPlus:fine
    python -m model localise --all-candidates

A candidate is ``NAME:LAYERS``: a method of :data:`~model.classifier.heat_maps.methods.CAM_CLASSES` on the last
block ("last", stride 32), the block before it ("fine", stride 16) or both ("both", the two maps
averaged). :func:`~model.evaluation.localisation.localisation_report` scores each one on the same
images, in the same 224 px frame and beside the same baselines as the heat maps the app offers, times it
(seconds per image) and checks it against the same bars. The app's own choice stays as it is
(:data:`~model.classifier.heat_maps.methods.HEAT_MAP_METHODS`); this module only names what to measure.
ScoreCAM and AblationCAM run thousands of forward passes per image (slow on a CPU): use ``--limit``.
"""
from __future__ import annotations

import argparse
from itertools import product
from typing import Sequence

from ..classifier.heat_maps.methods import CAM_CLASSES, LAYER_CHOICES, HeatMapMethod
from ..figures import fixed

__all__ = ["add_search_arguments", "all_candidates", "candidate", "chosen_candidates", "print_candidates"]


def candidate(spec: str) -> HeatMapMethod:
    """The candidate ``NAME:LAYERS`` (e.g. ``HiResCAM:last``), named as written.

    Raises:
        ValueError: the method or the layers are not among the choices (the message lists them).
    """
    name, sep, layers = spec.partition(":")
    if not sep:
        raise ValueError(f"a candidate is NAME:LAYERS, e.g. HiResCAM:last, not {spec!r}; NAME one of "
                         f"{list(CAM_CLASSES)}, LAYERS one of {list(LAYER_CHOICES)}")
    return HeatMapMethod(spec, name, layers)


def all_candidates() -> list[HeatMapMethod]:
    """Every method on every choice of blocks."""
    return [candidate(f"{name}:{layers}") for name, layers in product(CAM_CLASSES, LAYER_CHOICES)]


def chosen_candidates(specs: Sequence[str] = (), everything: bool = False) -> list[HeatMapMethod]:
    """The candidates ``--candidates`` and ``--all-candidates`` ask for, each once, in the order given."""
    chosen = all_candidates() if everything else []
    named = {c.name for c in chosen}
    for spec in specs:
        if spec not in named:
            chosen.append(candidate(spec))
            named.add(spec)
    return chosen


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--candidates", nargs="+", default=[], metavar="NAME:LAYERS",
                        help=f"heat maps to score beside the app's: NAME one of {', '.join(CAM_CLASSES)}; "
                             f"LAYERS one of {', '.join(LAYER_CHOICES)}")
    parser.add_argument("--all-candidates", action="store_true",
                        help=f"score all {len(CAM_CLASSES) * len(LAYER_CHOICES)} candidates (slow: ScoreCAM and "
                             "AblationCAM take minutes per image on a CPU; use --limit)")


def print_candidates(report: dict) -> None:
    """One line per map the report timed: seconds per image and whether it clears the bars."""
    checks = report["bars"]["checks"]
    for name, seconds in report["seconds_per_image"].items():
        kind = "candidate" if name in report.get("candidates", {}) else "app"
        print(f"  {kind:9s} {name:24s} {fixed(seconds, 3)} s per image, clears the bars: {checks[name]['met']}")
