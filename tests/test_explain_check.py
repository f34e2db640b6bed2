import json

import numpy as np
import torch
from torch import nn

from model.classifier.heat_maps.methods import HEAT_MAP_METHODS
from model.evaluation.explain_check import (BASELINES, centre_maps, main, paired_comparison, randomised_copy,
                                            rank_correlations, road_scores, sample_per_class, smooth_random_maps)

SIDE = 16


class TopLeftNet(nn.Module):
    """Answers class 0 in proportion to the brightness of the top-left quadrant, and nothing else."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        evidence = x[:, 0, :SIDE // 2, :SIDE // 2].mean(dim=(1, 2))
        return torch.stack([4 * evidence, -4 * evidence], dim=1)


def corner_map(row: int, col: int) -> np.ndarray:
    """A smooth map that peaks at one corner of the picture."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    return np.exp(-((yy - row) ** 2 + (xx - col) ** 2) / (2 * 5.0 ** 2)).astype(np.float32)


def quadrant_batch(count: int = 3) -> torch.Tensor:
    batch = torch.zeros(count, 3, SIDE, SIDE)
    batch[:, :, :SIDE // 2, :SIDE // 2] = 1.0
    return batch


def test_road_ranks_the_map_of_the_evidence_above_random_and_above_the_opposite_corner():
    model, batch = TopLeftNet().eval(), quadrant_batch()
    answer = [0] * len(batch)

    def score(maps: np.ndarray) -> float:
        return float(road_scores(model, batch, maps, answer).mean())

    right = score(np.stack([corner_map(0, 0)] * len(batch)))
    wrong = score(np.stack([corner_map(SIDE - 1, SIDE - 1)] * len(batch)))
    random = score(smooth_random_maps(len(batch), SIDE, grid=4, seed=3))
    assert right > 0.05 > abs(random)
    assert right > random > wrong


def test_road_is_repeatable_with_its_seed():
    model, batch, maps = TopLeftNet().eval(), quadrant_batch(2), smooth_random_maps(2, SIDE, 4, seed=1)
    np.testing.assert_array_equal(road_scores(model, batch, maps, [0, 0], seed=5),
                                  road_scores(model, batch, maps, [0, 0], seed=5))


def test_rank_correlations_of_same_reversed_and_flat_maps():
    maps = smooth_random_maps(3, SIDE, 4, seed=0)
    np.testing.assert_allclose(rank_correlations(maps, maps), 1.0)
    np.testing.assert_allclose(rank_correlations(maps, 1 - maps), -1.0, atol=1e-5)
    assert rank_correlations(maps[:1], np.zeros_like(maps[:1]))[0] == 0.0


def test_baseline_maps_have_the_shape_and_range_of_a_heat_map():
    random = smooth_random_maps(4, 20, grid=5, seed=0)
    centre = centre_maps(4, 20)
    for maps in (random, centre):
        assert maps.shape == (4, 20, 20) and maps.min() >= 0 and maps.max() <= 1
    assert not np.allclose(random[0], random[1])
    assert np.unravel_index(centre[0].argmax(), (20, 20)) in {(9, 9), (9, 10), (10, 9), (10, 10)}
    np.testing.assert_array_equal(smooth_random_maps(2, 20, 5, seed=7), smooth_random_maps(2, 20, 5, seed=7))


def test_sample_per_class_is_stratified_sorted_and_repeatable():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 7)
    chosen = sample_per_class(labels, 4, seed=2)
    assert np.bincount(labels[chosen]).tolist() == [4, 3, 4]  # a class with fewer gives them all
    assert list(chosen) == sorted(chosen) and len(set(chosen)) == len(chosen)
    np.testing.assert_array_equal(chosen, sample_per_class(labels, 4, seed=2))


def test_randomised_copy_is_the_same_architecture_with_other_weights(tiny_checkpoint):
    from model import load_classifier

    trained = load_classifier(tiny_checkpoint).model.state_dict()
    fresh = randomised_copy("resnet18", 4, seed=1).state_dict()
    assert fresh.keys() == trained.keys()
    assert not torch.equal(fresh["fc.weight"], trained["fc.weight"])
    assert torch.equal(fresh["fc.weight"], randomised_copy("resnet18", 4, seed=1).state_dict()["fc.weight"])


def test_command_writes_the_three_checks(tiny_dataset, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "explain.json"
    main(["--checkpoint", str(tiny_checkpoint), "--data", str(tiny_dataset / "Testing"), "--per-class", "2",
          "--percentiles", "30", "70", "--out", str(out)])
    report = json.loads(out.read_text())
    assert len(report["images"]) == len(report["labels"]) == 8
    methods = [m.name for m in HEAT_MAP_METHODS]
    assert report["methods"] == methods and report["baselines"] == list(BASELINES)
    assert set(report["road"]) == {*methods, *BASELINES}
    for summary in report["road"].values():
        assert summary["n"] == 8 and summary["ci95"][0] <= summary["mean"] <= summary["ci95"][1]
    assert all(set(per_class) == {"glioma", "meningioma", "notumor", "pituitary"}
               for per_class in report["road_per_class"].values())
    # every method against both baselines, and every other method against the app's default
    assert set(report["versus"]["Grad-CAM"]) == set(BASELINES)
    assert set(report["versus"]["LayerCAM"]) == {"Grad-CAM", *BASELINES}
    verdicts = [v["verdict"] for comparisons in report["versus"].values() for v in comparisons.values()]
    assert set(verdicts) <= {"better", "worse", "unclear"}
    for checks in report["rank_correlation"].values():
        assert set(checks) == {"randomised weights", "runner-up class"}
        assert all(-1 <= summary["mean"] <= 1 for summary in checks.values())
    assert report["percentiles"] == [30, 70]
    assert "ROAD Grad-CAM" in capsys.readouterr().out


def test_paired_comparison_says_better_worse_or_unclear():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.1, 200)
    assert paired_comparison(base + 0.2, base)["verdict"] == "better"
    assert paired_comparison(base - 0.2, base)["verdict"] == "worse"
    assert paired_comparison(base + rng.normal(0, 0.1, 200), base)["verdict"] == "unclear"
    assert paired_comparison(base + 0.2, base)["share_better"] == 1.0
