"""Can the heat map be trusted? Three checks of every heat map the app offers, on Testing images.

    python -m model.evaluation.explain_check --checkpoint model/weights/resnet50.safetensors \\
        --data ../shared/data/brain-tumor-mri/Testing

1. **Faithfulness** (ROAD: Rong et al., 2022, as pytorch-grad-cam implements it): remove the
   pixels the map ranks most relevant, or least relevant, fill them in by noisy linear
   imputation (so the network reacts to missing evidence, not to a hole) and measure how the
   answer's probability changes. The score is (change when the least relevant go − change when
   the most relevant go) / 2, averaged over thresholds: above zero, the map points at what the
   network uses. Each map is scored beside two that know nothing about the network: a
   smooth random map as coarse as Grad-CAM's, and a blob on the centre of the head.
2. **Randomisation** (Adebayo et al., 2018): the same architecture with random weights should
   give a different map (Spearman rank correlation near 0). A map that survives it shows the
   picture's outlines, not what the network learned.
3. **Class sensitivity**: the map for the runner-up class should differ from the map for the
   answer; if it does not, the map says where the network looked, not why it chose.

Each method of :data:`model.classifier.heat_maps.methods.HEAT_MAP_METHODS` (Grad-CAM on the last block, LayerCAM on
the block before it) is checked, and compared with the app's default on the same images.

The images are a seeded sample of ``--per-class`` images from each class folder, through the
app's own preprocessing. Nothing here needs a tumour outline, which the dataset does not have.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from ..classifier.factory import create_model, to_channels_last
from ..classifier.heat_maps.gradcam import heat_map_explainer
from ..classifier.heat_maps.methods import HEAT_MAP_METHODS, HeatMapMethod
from ..classifier.classifier import Classifier, load_classifier
from ..classifier.preprocess import uint8_to_float
from ..data.folders import ImageFolderIndex, decode_all, index_folder
from ..figures import fixed
from ..paths import KAGGLE_TESTING
from ..results import EXPLAIN, add_report_flags, report_path, write_report
from .latency import cpu_model
from .metrics import mean_with_ci

#: Share of pixels removed at each ROAD threshold (pytorch-grad-cam's percentiles).
DEFAULT_PERCENTILES = (20, 40, 60, 80)
#: The baselines' names, in the order the report lists them after Grad-CAM.
BASELINES = ("a smooth random map", "a blob on the centre of the head")


def sample_per_class(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Up to ``per_class`` indices of each label, drawn without replacement, in sorted order."""
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c), size=min(per_class, int(np.sum(labels == c))),
                         replace=False) for c in np.unique(labels)]
    return np.sort(np.concatenate(chosen))


def smooth_random_maps(count: int, size: int, grid: int, seed: int = 0) -> np.ndarray:
    """``(count, size, size)`` maps in [0, 1]: random values on a ``grid``² lattice, bilinearly upsampled."""
    coarse = torch.from_numpy(np.random.default_rng(seed).random((count, 1, grid, grid), dtype=np.float32))
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy()


def centre_maps(count: int, size: int, spread: float = 0.25) -> np.ndarray:
    """``(count, size, size)`` Gaussian blobs on the centre of the crop, which is the head's centre."""
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    blob = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / (2 * spread ** 2))
    return np.repeat((blob / blob.max())[None], count, axis=0)


def road_scores(model: torch.nn.Module, batch: torch.Tensor, maps: np.ndarray, classes: Sequence[int],
                percentiles: Sequence[int] = DEFAULT_PERCENTILES, seed: int = 0) -> np.ndarray:
    """ROAD-combined score per image: how much more the answer's probability falls when the map's
    most relevant pixels are removed than when its least relevant are (halved; see the module doc).

    Args:
        batch: network-ready ``(N, C, H, W)``; maps: ``(N, H, W)``; classes: the class scored per image.
    """
    from pytorch_grad_cam.metrics.road import ROADCombined
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    torch.manual_seed(seed)  # the imputer's noise
    targets = [ClassifierOutputSoftmaxTarget(int(c)) for c in classes]
    with torch.no_grad():
        return np.asarray(ROADCombined(percentiles=list(percentiles))(batch, maps, targets, model), np.float64)


def rank_correlations(maps_a: np.ndarray, maps_b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of maps (0 where either map is constant)."""
    rhos = [0.0 if np.ptp(a) == 0 or np.ptp(b) == 0 else spearmanr(a.ravel(), b.ravel()).statistic
            for a, b in zip(maps_a, maps_b)]
    return np.asarray(rhos, dtype=np.float64)


def randomised_copy(arch: str, num_classes: int, seed: int = 0) -> torch.nn.Module:
    """The same architecture with freshly initialised weights, for the randomisation check."""
    torch.manual_seed(seed)
    return to_channels_last(create_model(arch, num_classes)).eval()


def heat_maps(model: torch.nn.Module, arch: str, method: HeatMapMethod, batch: torch.Tensor,
              classes: Sequence[int] | None = None) -> tuple[np.ndarray, torch.Tensor]:
    """``method``'s maps as the app draws them (``classes``: one per image, ``None`` = each top class) and logits."""
    with heat_map_explainer(model, arch, method) as explain:
        return explain(batch.contiguous(memory_format=torch.channels_last), classes)


def check_batch(clf: Classifier, randomised: torch.nn.Module, batch: torch.Tensor, percentiles: Sequence[int],
                seed: int) -> dict[str, np.ndarray]:
    """Every per-image figure of the three checks, for every heat map the app offers, on one batch.

    Args:
        randomised: ``randomised_copy`` of the classifier's network.
    Returns:
        ``road/<map>`` for each method and baseline, ``<method>/randomised weights`` and
        ``<method>/runner-up class`` (rank correlations), and ``answer`` (the top class).
    """
    with torch.no_grad():
        ranked = clf.model(batch.contiguous(memory_format=torch.channels_last)).argsort(dim=1, descending=True)
    answer, runner_up = ranked[:, 0].tolist(), ranked[:, 1].tolist()
    size, count = batch.shape[-1], len(batch)
    # as coarse as Grad-CAM's own lattice: the last block of every bundled network has stride 32
    candidates = {BASELINES[0]: smooth_random_maps(count, size, max(1, size // 32), seed),
                  BASELINES[1]: centre_maps(count, size)}
    figures = {"answer": np.asarray(answer)}
    for method in HEAT_MAP_METHODS:
        maps, _ = heat_maps(clf.model, clf.arch, method, batch, answer)
        candidates[method.name] = maps
        figures[f"{method.name}/randomised weights"] = rank_correlations(
            maps, heat_maps(randomised, clf.arch, method, batch, answer)[0])
        figures[f"{method.name}/runner-up class"] = rank_correlations(
            maps, heat_maps(clf.model, clf.arch, method, batch, runner_up)[0])
    figures.update({f"road/{name}": road_scores(clf.model, batch, maps, answer, percentiles, seed)
                    for name, maps in candidates.items()})
    return figures


def paired_comparison(scores: np.ndarray, baseline: np.ndarray) -> dict:
    """One map's ROAD scores against another's on the same images.

    Returns:
        ``difference`` (:func:`mean_with_ci` of score − baseline), ``share_better`` (images where
        ``scores`` is higher) and ``verdict``: ``"better"`` or ``"worse"`` when the interval of
        the difference lies wholly above or below zero, else ``"unclear"``.
    """
    difference = mean_with_ci(scores - baseline)
    low, high = difference["ci95"]
    verdict = "better" if low > 0 else "worse" if high < 0 else "unclear"
    return {"difference": difference, "share_better": float(np.mean(scores > baseline)), "verdict": verdict}


def check_explanations(clf: Classifier, index: ImageFolderIndex, per_class: int = 25,
                       percentiles: Sequence[int] = DEFAULT_PERCENTILES, seed: int = 0,
                       batch_size: int = 16) -> dict:
    """The report: ROAD scores of every heat map and baseline, how each method compares with the
    baselines and with the app's default, and both rank correlations per method."""
    chosen = index.subset(sample_per_class(index.labels, per_class, seed))
    squares = decode_all(chosen, clf.spec)
    randomised = randomised_copy(clf.arch, len(clf.classes), seed)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(chosen), batch_size):
        batch = clf.spec.normalise(uint8_to_float(squares[start:start + batch_size]))
        for key, values in check_batch(clf, randomised, batch, percentiles, seed + start).items():
            parts.setdefault(key, []).append(values)
    figures = {key: np.concatenate(values) for key, values in parts.items()}
    methods = [m.name for m in HEAT_MAP_METHODS]
    road = {name: figures[f"road/{name}"] for name in (*methods, *BASELINES)}
    return {
        "images": chosen.names, "labels": chosen.labels.tolist(), "per_class": per_class,
        "percentiles": list(percentiles), "methods": methods, "baselines": list(BASELINES),
        "road": {name: mean_with_ci(scores) for name, scores in road.items()},
        "road_per_class": {name: {c: float(road[name][chosen.labels == i].mean()) for i, c in enumerate(clf.classes)
                                  if np.any(chosen.labels == i)} for name in methods},
        "versus": {name: {other: paired_comparison(road[name], road[other])
                          for other in (*methods[:1], *BASELINES) if other != name} for name in methods},
        "rank_correlation": {name: {check: mean_with_ci(figures[f"{name}/{check}"])
                                    for check in ("randomised weights", "runner-up class")} for name in methods},
        "answers_right": float(np.mean(figures["answer"] == chosen.labels)),
    }


def print_summary(report: dict) -> None:
    for name, summary in report["road"].items():
        print(f"  ROAD {name:34s} {fixed(summary['mean'], 4)} [{fixed(summary['ci95'][0], 4)}, "
              f"{fixed(summary['ci95'][1], 4)}]")
    for name, comparisons in report["versus"].items():
        for other, versus in comparisons.items():
            low, high = versus["difference"]["ci95"]
            print(f"  {name} minus {other}: {fixed(versus['difference']['mean'], 4)} [{fixed(low, 4)}, "
                  f"{fixed(high, 4)}], higher on {fixed(versus['share_better'] * 100, 1)}% of images: "
                  f"{versus['verdict']}")
    for name, checks in report["rank_correlation"].items():
        for check, summary in checks.items():
            print(f"  {name}: rank correlation with the {check} map: mean {fixed(summary['mean'], 3)}, "
                  f"median {fixed(summary['median'], 3)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_flags(parser, EXPLAIN)
    parser.add_argument("--data", type=Path, default=KAGGLE_TESTING)
    parser.add_argument("--per-class", type=int, default=25, help="images drawn from each class folder")
    parser.add_argument("--percentiles", type=int, nargs="+", default=list(DEFAULT_PERCENTILES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    clf = load_classifier(args.checkpoint)
    index = index_folder(args.data, classes=clf.classes)
    started = time.perf_counter()
    report = check_explanations(clf, index, args.per_class, args.percentiles, args.seed)
    report.update({"checkpoint": args.checkpoint.name, "arch": clf.arch, "data": str(args.data),
                   "data_fingerprint": index.fingerprint(), "seconds": time.perf_counter() - started,
                   "machine": cpu_model(), "command": "python -m model.evaluation.explain_check",
                   "date": time.strftime("%Y-%m-%d")})
    print_summary(report)
    write_report(report_path(args, EXPLAIN), report, EXPLAIN)


if __name__ == "__main__":
    main()
