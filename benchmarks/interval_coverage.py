"""Coverage of 95% intervals for a share of slices, on synthetic clustered data (docs/intervals.md).

Compares the case-group percentile bootstrap the project uses (model.evaluation.metrics.cluster_rate_ci)
with scipy's BCa over the same case groups and with a bootstrap that resamples slices one by one,
on three group-size designs (model.evaluation.coverage.DESIGNS).

    python benchmarks/interval_coverage.py [--repeats 400] [--groups 197]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import bootstrap

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from model.evaluation.coverage import DESIGNS, coverage  # noqa: E402
from model.evaluation.metrics import cluster_rate_ci, rows_and_hits_per_group, share_of_rows  # noqa: E402

#: scipy's default resample count, which the two comparison methods were measured with.
SCIPY_RESAMPLES = 9999


def bca_over_groups(groups, hits, seed=0):
    per_group = rows_and_hits_per_group(groups, hits)
    return bootstrap(per_group, share_of_rows, paired=True, vectorized=True, method="BCa",
                     n_resamples=SCIPY_RESAMPLES, random_state=seed).confidence_interval


def over_slices(groups, hits, seed=0):
    """The same percentile bootstrap with every slice its own group: what ignoring the cases gives."""
    return cluster_rate_ci(np.arange(len(hits)), hits, n_resamples=SCIPY_RESAMPLES, seed=seed)


METHODS = {"percentile over case groups (used)": cluster_rate_ci, "BCa over case groups": bca_over_groups,
           "percentile over slices": over_slices}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=400)
    parser.add_argument("--groups", type=int, default=197)
    args = parser.parse_args()
    print(f"coverage of nominal 95% intervals, {args.repeats} synthetic sets of {args.groups} case groups each")
    for design in DESIGNS:
        for name, method in METHODS.items():
            held = coverage(design, args.groups, args.repeats, interval=method)
            print(f"  {design:26s} {name:36s} {held:.3f}")


if __name__ == "__main__":
    main()
