"""How often a case-group interval holds the true share, on synthetic clustered data.

Used by ``tests/test_metrics.py`` (the interval of :func:`model.evaluation.metrics.cluster_rate_ci`
must cover about 95% of the time) and ``benchmarks/interval_coverage.py`` (the methods side by side on
designs like the external validation part). docs/intervals.md has the figures.

A synthetic set: case groups of the sizes a design gives, each with its own hit rate drawn from
Beta(a, b), slices right with that rate. The true share is a / (a + b): the sizes are drawn apart
from the rates, so the ratio estimator (hits over rows) estimates that mean rate.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .metrics import cluster_rate_ci

__all__ = ["DESIGNS", "synthetic_groups", "coverage"]


def _lognormal(rng: np.random.Generator, n_groups: int) -> np.ndarray:
    """Mostly small groups (median 3 slices) and a tail of groups 10-30 times that."""
    return np.maximum(1, rng.lognormal(1.0, 1.0, n_groups)).astype(int)


def _lognormal_and_huge(rng: np.random.Generator, n_groups: int) -> np.ndarray:
    """As above, plus three groups of 60 slices (about a fifth of all rows)."""
    sizes = _lognormal(rng, n_groups)
    sizes[:3] = 60
    return sizes


def _one_chain(rng: np.random.Generator, n_groups: int) -> np.ndarray:
    """One group holds 45% of the rows, as the 293-slice chain holds of the external validation part."""
    sizes = rng.integers(1, 6, n_groups)
    sizes[0] = int(0.45 * sizes[1:].sum() / 0.55)
    return sizes


#: Group-size designs by name.
DESIGNS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "lognormal": _lognormal, "lognormal and three huge": _lognormal_and_huge, "one chain of 45%": _one_chain}


def synthetic_groups(rng: np.random.Generator, design: str, n_groups: int, a: float = 6.0,
                     b: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic set: ``(group id per row, hit per row)``."""
    sizes = DESIGNS[design](rng, n_groups)
    rates = rng.beta(a, b, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    hits = rng.random(len(groups)) < np.repeat(rates, sizes)
    return groups, hits


def coverage(design: str, n_groups: int = 150, repeats: int = 200, seed: int = 0, a: float = 6.0,
             b: float = 2.0, interval=cluster_rate_ci) -> float:
    """Share of ``repeats`` synthetic sets whose 95% ``interval(groups, hits, seed=…)`` holds a / (a + b)."""
    rng = np.random.default_rng(seed)
    truth, held = a / (a + b), 0
    for repeat in range(repeats):
        groups, hits = synthetic_groups(rng, design, n_groups, a, b)
        low, high = interval(groups, hits, seed=repeat)
        held += low <= truth <= high
    return held / repeats
