"""Does the heat map point at the tumour? Every heat map the app offers, against hand-drawn outlines.

    python -m model localise --checkpoint model/weights/resnet50.safetensors --split Testing

On the Kaggle tumour images that have a Figshare outline (:mod:`model.data.outlines`), three figures
per image, each beside three maps that know nothing about the network (a blob on the centre of the
head, a smooth random map as coarse as Grad-CAM's, the slice's own smoothed brightness):

1. **Pointing game** (Zhang et al., 2018): does the map's peak lie on the tumour, within 15 px at 224 px?
2. **Energy inside**: the share of the map's (positive) heat that falls inside the outline.
3. **Pixel AUC**: the map as a pixel-wise tumour detector (scikit-learn's ROC-AUC over the slice's pixels).
(:mod:`model.evaluation.map_scores`).

The bars the app's heat map has to clear: pointing game >= 0.80 and energy inside >= 3x the centre
blob's, in every tumour class. No-tumour slices have no outline and are not scored.

``--candidates NAME:LAYERS …`` (or ``--all-candidates``) scores other pytorch-grad-cam methods and blocks
the same way, with the seconds per image each takes (:mod:`model.evaluation.heat_map_search`).
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
from PIL import Image
from scipy.ndimage import binary_erosion, gaussian_filter
from sklearn.model_selection import train_test_split

from ..classifier.heat_maps.activation_maps import overlay_heatmap
from ..classifier.heat_maps.methods import HEAT_MAP_METHODS, HeatMapMethod
from ..classifier.classifier import Classifier, load_classifier
from ..classifier.preprocess import GreySlice, uint8_to_float, uncrop_map
from ..data.duplicates import validation_split
from ..data.folders import index_folder, training_folder
from ..data.outlines import OutlineSet, load_mask, read_outlines
from ..figures import fixed
from ..paths import KAGGLE_DIR, KAGGLE_MASKS_DIR
from ..results import LOCALISATION, add_report_flags, report_path, write_report
from .explain_check import centre_maps, heat_maps, smooth_random_maps
from .heat_map_search import add_search_arguments, chosen_candidates, print_candidates
from .map_scores import TOLERANCE_AT_224, score_maps
from .metrics import mean_with_ci

__all__ = ["BASELINES", "FRAME", "METRICS", "bar_checks", "baseline_maps", "frame_maps", "localisation_report",
           "main", "outline_overlay"]

#: Side of the frame the outlines are drawn in (the Kaggle slice) and the figures are measured in.
FRAME = 224
BASELINES = ("a blob on the centre of the head", "a smooth random map", "the slice's own brightness")
METRICS = ("pointing_game", "energy_inside", "auc")
#: The issue's bars for the app's heat maps, in every tumour class.
POINTING_BAR, ENERGY_TIMES_CENTRE = 0.80, 3.0


def baseline_maps(squares: np.ndarray, size: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The three baselines over the crop the network sees, ``(N, size, size)``.

    Args:
        squares: the crops, uint8 ``(N, S, S)`` (:meth:`PreprocessSpec.to_square_grey`).
    """
    grey = F.interpolate(uint8_to_float(squares), size=(size, size), mode="bilinear", antialias=True)[:, 0].numpy()
    # smoothed about as much as Grad-CAM's lattice (stride 32) is coarse, so only the where differs
    bright = gaussian_filter(grey, sigma=(0, size / 32, size / 32))
    count = len(squares)
    return {BASELINES[0]: centre_maps(count, size),
            BASELINES[1]: smooth_random_maps(count, size, max(1, size // 32), seed),
            BASELINES[2]: bright / np.maximum(bright.max(axis=(1, 2), keepdims=True), 1e-6)}


def frame_maps(clf: Classifier, paths: list[Path], seed: int = 0, candidates: Sequence[HeatMapMethod] = (),
               seconds: dict[str, float] | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
    """Every heat map the app offers, each of ``candidates`` and every baseline for ``paths``, in the
    slice's own 224 px frame.

    Args:
        seconds: if given, each heat map's time (s) is added to ``seconds[name]``.
    Returns:
        ``{map name: (N, FRAME, FRAME)}``, the answers (the classes the maps explain) and the grey slices.
    """
    slices, sizes = [], []
    for path in paths:
        with Image.open(path) as im:
            slices.append(GreySlice.of(im))
            sizes.append(im.size)  # the crop box is in the picture's own pixels
    crops = [clf.spec.to_square_grey(s) for s in slices]
    squares, boxes = np.stack([c[0] for c in crops]), [c[1] for c in crops]
    batch = clf.spec.normalise(uint8_to_float(squares))
    seconds = {} if seconds is None else seconds

    def timed(method: HeatMapMethod, classes: list[int] | None = None) -> tuple[np.ndarray, torch.Tensor]:
        started = time.perf_counter()
        drawn = heat_maps(clf.model, clf.arch, method, batch, classes)
        seconds[method.name] = seconds.get(method.name, 0.0) + time.perf_counter() - started
        return drawn

    # the map the app shows is the one for its answer, so that is the one scored, right or wrong
    first, logits = timed(HEAT_MAP_METHODS[0])
    answers = logits.argmax(dim=1).numpy()
    crop_maps = {HEAT_MAP_METHODS[0].name: first}
    crop_maps.update({m.name: timed(m, answers.tolist())[0] for m in (*HEAT_MAP_METHODS[1:], *candidates)})
    crop_maps.update(baseline_maps(squares, batch.shape[-1], seed))
    # The network sees the head crop (which may move, scale and pad the slice); the outline is drawn on
    # the slice. Each map goes back onto the slice through uncrop_map, as the Diagnose page draws its
    # overlay, so the figures score the picture a user sees, and the mask is never resampled.
    framed = {name: np.stack([uncrop_map(heat, box.scaled(FRAME / size[0]), (FRAME, FRAME))
                              for heat, box, size in zip(maps, boxes, sizes)]) for name, maps in crop_maps.items()}
    greys = np.stack([np.asarray(Image.fromarray(s.grey).resize((FRAME, FRAME), Image.BILINEAR)) for s in slices])
    return framed, answers, greys


def _summary(values: np.ndarray) -> dict:
    if len(values) < 2:  # no interval from one image
        return {"mean": float(values.mean()), "ci95": None, "median": float(np.median(values)), "n": len(values)}
    return mean_with_ci(values)


def summarise(scores: dict[str, np.ndarray], classes: list[str]) -> dict:
    """``{"overall": {n, metric: summary}, "per_class": {class: …}}`` for one map."""
    classes = np.asarray(classes)
    groups = {"overall": np.ones(len(classes), bool), **{c: classes == c for c in sorted(set(classes))}}
    out = {name: {"n": int(keep.sum()), **{m: _summary(scores[m][keep]) for m in METRICS}}
           for name, keep in groups.items()}
    return {"overall": out.pop("overall"), "per_class": out}


def bar_checks(maps: dict[str, dict], methods: list[str]) -> dict:
    """Per method and tumour class: pointing game >= 0.80? energy inside >= 3x the centre blob's? And both in all?"""
    centre = maps[BASELINES[0]]["per_class"]
    checks = {}
    for name in methods:
        per_class = maps[name]["per_class"]
        pointing = {c: per_class[c]["pointing_game"]["mean"] >= POINTING_BAR for c in per_class}
        energy = {c: per_class[c]["energy_inside"]["mean"]
                  >= ENERGY_TIMES_CENTRE * centre[c]["energy_inside"]["mean"] for c in per_class}
        checks[name] = {"pointing_game_at_least_0.80": pointing, "energy_at_least_3x_centre": energy,
                        "met": all(pointing.values()) and all(energy.values())}
    return checks


def localisation_report(clf: Classifier, outlines: OutlineSet, batch_size: int = 16, seed: int = 0,
                        candidates: Sequence[HeatMapMethod] = ()) -> dict:
    """The figures of every heat map (the app's and ``candidates``) and baseline on ``outlines``, per class
    and overall, each heat map's seconds per image, and the bar checks."""
    parts: dict[str, list[dict[str, np.ndarray]]] = {}
    answers, seconds = [], {}
    for start in range(0, len(outlines), batch_size):
        chunk = outlines.subset(range(start, min(start + batch_size, len(outlines))))
        maps, answer, _ = frame_maps(clf, chunk.image_paths(), seed + start, candidates, seconds)
        masks = np.stack([load_mask(p, FRAME) for p in chunk.mask_paths()])
        answers.append(answer)
        for name, heat in maps.items():
            parts.setdefault(name, []).append(score_maps(heat, masks))
    scores = {name: {m: np.concatenate([p[m] for p in chunks]) for m in METRICS} for name, chunks in parts.items()}
    methods, searched = [m.name for m in HEAT_MAP_METHODS], [c.name for c in candidates]
    summaries = {name: summarise(scores[name], outlines.classes) for name in (*methods, *searched, *BASELINES)}
    checks = bar_checks(summaries, [*methods, *searched])
    per_image = {name: seconds[name] / len(outlines) for name in (*methods, *searched)}
    truth = np.asarray([clf.classes.index(c) for c in outlines.classes])
    return {"images": outlines.names, "n_images": len(outlines), "methods": methods, "baselines": list(BASELINES),
            "candidates": {c.name: {"cam_class": c.cam_class, "layers": c.layers,
                                    "seconds_per_image": per_image[c.name], "clears_the_bars": checks[c.name]["met"]}
                           for c in candidates},
            "seconds_per_image": per_image,
            "frame_px": FRAME, "tolerance_px_at_224": TOLERANCE_AT_224, "explained": "the answer (top class)",
            "answers_right": float(np.mean(np.concatenate(answers) == truth)),
            "label_conflicts": int(outlines.label_conflict.sum()), "maps": summaries,
            "bars": {"pointing_game": POINTING_BAR, "energy_times_centre": ENERGY_TIMES_CENTRE,
                     "checks": checks}}


def outline_overlay(grey: np.ndarray, heat: np.ndarray, mask: np.ndarray, width: int = 2) -> Image.Image:
    """The heat map over the slice with the tumour outline drawn on it in white."""
    picture = np.array(overlay_heatmap(grey, heat, opacity=0.45))
    picture[mask & ~binary_erosion(mask, iterations=width)] = 255  # the mask's rim: its outline
    return Image.fromarray(picture)


def save_examples(clf: Classifier, outlines: OutlineSet, out_dir: Path, count: int = 3) -> list[Path]:
    """``count`` example pictures (the app's default map), the first image of each class in turn."""
    firsts = [outlines.classes.index(c) for c in dict.fromkeys(outlines.classes)]
    chosen = outlines.subset((firsts + [i for i in range(len(outlines)) if i not in firsts])[:count])
    maps, _, greys = frame_maps(clf, chosen.image_paths())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    default = maps[HEAT_MAP_METHODS[0].name]
    for grey, heat, mask_path, name in zip(greys, default, chosen.mask_paths(), chosen.names):
        written.append(out_dir / f"{name.replace('/', '_').rsplit('.', 1)[0]}.png")
        outline_overlay(grey, heat, load_mask(mask_path, FRAME)).save(written[-1])
    return written


def validation_outlines(outlines: OutlineSet, metadata: dict, data: Path) -> OutlineSet:
    """The outlined Training slices on the validation side of the checkpoint's own split: images the run
    never trained on, for choosing between runs without looking at the Testing images."""
    cfg = metadata.get("train_config") or {}
    if not all(k in cfg for k in ("val_fraction", "seed")):
        raise SystemExit("error: --split validation needs a checkpoint that records its training config")
    index = index_folder(training_folder(data))
    _, val_idx = validation_split(index, cfg["val_fraction"], cfg["seed"], cfg.get("split_group_by", "near"),
                                  cfg.get("cache_dir"))
    on_validation = {index.names[i] for i in val_idx}
    return outlines.subset([i for i, name in enumerate(outlines.names) if name in on_validation])


def print_summary(report: dict) -> None:
    for name, summary in report["maps"].items():
        figures = ", ".join(f"{m} {fixed(summary['overall'][m]['mean'], 3)}" for m in METRICS)
        by_class = "; ".join(f"{c} {fixed(s['pointing_game']['mean'], 2)}" for c, s in summary["per_class"].items())
        print(f"  {name:34s} n={summary['overall']['n']} {figures} (pointing by class: {by_class})")
    print_candidates(report)  # seconds per image, and which maps clear the bars in every class


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_flags(parser, LOCALISATION)
    parser.add_argument("--split", choices=("Training", "Testing", "validation"), default="Testing",
                        help="validation: the outlined Training slices on the checkpoint's own validation side")
    parser.add_argument("--masks", type=Path, default=KAGGLE_MASKS_DIR, help="the masks folder (manifest.csv)")
    parser.add_argument("--data", type=Path, default=KAGGLE_DIR, help="the Kaggle folder the manifest's images are in")
    parser.add_argument("--limit", type=int, default=None, help="a class-stratified sample of N images, for quick runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples-dir", type=Path, default=None, help="save 3 example pictures here")
    add_search_arguments(parser)
    args = parser.parse_args(argv)
    try:
        candidates = chosen_candidates(args.candidates, args.all_candidates)
    except ValueError as err:
        parser.error(str(err))
    torch.set_num_threads(os.cpu_count() or 1)
    clf = load_classifier(args.checkpoint)
    outlines = read_outlines(args.masks, args.data, "Training" if args.split == "validation" else args.split)
    if args.split == "validation":
        outlines = validation_outlines(outlines, clf.metadata, args.data)
    if args.limit and args.limit < len(outlines):
        try:  # a class-stratified draw, so a quick run still scores every tumour class
            keep, _ = train_test_split(np.arange(len(outlines)), train_size=args.limit, stratify=outlines.classes,
                                       random_state=args.seed)
        except ValueError as err:
            parser.error(f"--limit {args.limit} cannot draw from every class of {len(outlines)} images: {err}")
        outlines = outlines.subset(np.sort(keep))
    started = time.perf_counter()
    report = localisation_report(clf, outlines, seed=args.seed, candidates=candidates)
    report.update({"checkpoint": args.checkpoint.name, "arch": clf.arch, "split": args.split, "limit": args.limit,
                   "seconds": time.perf_counter() - started, "command": "python -m model localise",
                   "date": time.strftime("%Y-%m-%d")})
    print_summary(report)
    write_report(report_path(args, LOCALISATION), report, LOCALISATION)
    if args.examples_dir:
        print("examples: " + ", ".join(str(p) for p in save_examples(clf, outlines, args.examples_dir)))


if __name__ == "__main__":
    main()
