"""The Diagnose page's guided tour: bundled pictures that show what the networks do well and where they
fail, each with one sentence on what to look for (``assets/tour/tour.json``)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..paths import TOUR_FILE
from .catalog import Sample

__all__ = ["SampleChoice", "TourStop", "guided_tour", "sample_choices"]


@dataclass(frozen=True)
class TourStop:
    """One picture of the tour: the sample, a short title and what to look for."""

    sample: Sample
    title: str
    look_for: str


def guided_tour(path: Path = TOUR_FILE) -> list[TourStop]:
    """The stops of ``path`` whose picture exists; none for a missing or malformed file (the page then
    shows no tour rather than an error: the tour is an extra, the samples still work)."""
    try:
        stops = json.loads(path.read_text())["stops"]
        tour = [TourStop(Sample((path.parent / s["file"]).resolve(), str(s["label"])), str(s["title"]),
                         str(s["look_for"])) for s in stops]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [stop for stop in tour if stop.sample.path.is_file()]


@dataclass(frozen=True)
class SampleChoice:
    """One entry of the sample picker: the picture, and what to look for when it is a tour stop."""

    sample: Sample
    look_for: str | None = None


def sample_choices(samples: list[Sample], tour: list[TourStop]) -> dict[str, SampleChoice]:
    """The picker's entries by label: every bundled sample, then the tour's other pictures. A tour stop
    that is a bundled sample keeps the sample's label and gains its sentence."""
    by_path = {stop.sample.path.resolve(): stop for stop in tour}
    choices = {s.title: SampleChoice(s, getattr(by_path.pop(s.path.resolve(), None), "look_for", None))
               for s in samples}
    choices.update({stop.title: SampleChoice(stop.sample, stop.look_for) for stop in by_path.values()})
    return choices

