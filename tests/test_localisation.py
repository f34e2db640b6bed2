import json

import numpy as np
import pytest
from PIL import Image

from model import load_classifier
from model.classifier.heat_maps.methods import HEAT_MAP_METHODS
from model.data.duplicates import validation_split
from model.data.folders import index_folder
from model.data.outlines import COLUMNS, read_outlines
from model.evaluation.heat_map_search import all_candidates, candidate, chosen_candidates
from model.evaluation.localisation import (BASELINES, FRAME, baseline_maps, frame_maps, localisation_report, main,
                                           outline_overlay, validation_outlines)
from model.evaluation.map_scores import energy_inside, pixel_auc, pointing_game, tolerance_px

from .conftest import synthetic_mri

METHODS = [m.name for m in HEAT_MAP_METHODS]


def gaussian(row: float, col: float, sigma: float, side: int = 224) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side]
    return np.exp(-((yy - row) ** 2 + (xx - col) ** 2) / (2 * sigma ** 2))


def disk(row: float, col: float, radius: float, side: int = 224) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side]
    return (yy - row) ** 2 + (xx - col) ** 2 <= radius ** 2


def test_a_map_peaked_on_the_tumour_scores_full_marks():
    masks = np.stack([disk(60, 60, 20), disk(150, 100, 25)])
    maps = np.stack([gaussian(60, 60, 5), gaussian(150, 100, 6)])
    assert pointing_game(maps, masks).tolist() == [1.0, 1.0]
    assert np.all(energy_inside(maps, masks) > 0.99)
    np.testing.assert_allclose(pixel_auc(maps, masks), 1.0)


def test_a_map_in_the_opposite_corner_scores_nothing():
    masks = disk(60, 60, 20)[None]
    maps = gaussian(200, 200, 40)[None]
    assert pointing_game(maps, masks)[0] == 0.0
    assert energy_inside(maps, masks)[0] < 0.01
    assert pixel_auc(maps, masks)[0] < 0.2


def test_energy_ignores_negative_values_and_a_map_without_heat():
    masks = disk(60, 60, 20)[None].repeat(2, axis=0)
    maps = np.stack([np.where(disk(60, 60, 20), 1.0, -5.0), np.zeros((224, 224))])
    np.testing.assert_allclose(energy_inside(maps, masks), [1.0, 0.0])


@pytest.mark.parametrize("outside, counts", [(0, True), (10, True), (15, True), (20, False)])
def test_the_peak_may_fall_15_px_outside_the_outline_at_224_px(outside, counts):
    mask = np.zeros((1, 224, 224), bool)
    mask[0, 100:124, 100:124] = True
    heat = np.zeros((1, 224, 224))
    heat[0, 112, 123 + outside] = 1.0
    assert pointing_game(heat, mask)[0] == float(counts)


def test_the_tolerance_scales_with_the_side_of_the_map():
    assert tolerance_px(224) == 15 and tolerance_px(112) == 7.5
    mask = np.zeros((1, 112, 112), bool)
    mask[0, 50:62, 50:62] = True
    heat = np.zeros((1, 112, 112))
    heat[0, 55, 61 + 10] = 1.0  # 10 px outside: inside 15 px at 224, not inside 7.5 px at 112
    assert pointing_game(heat, mask)[0] == 0.0
    assert pointing_game(heat, mask, tolerance=10)[0] == 1.0


def test_masks_must_match_the_maps_and_hold_a_tumour():
    with pytest.raises(ValueError, match="must both be"):
        pointing_game(np.zeros((1, 10, 10)), np.ones((1, 12, 12), bool))
    with pytest.raises(ValueError, match="inside and outside"):
        energy_inside(np.zeros((1, 10, 10)), np.zeros((1, 10, 10), bool))


def test_baselines_have_the_shape_and_range_of_a_heat_map():
    squares = np.full((3, 40, 40), 50, np.uint8)
    squares[:, 5:12, 25:35] = 250  # a bright patch top right
    maps = baseline_maps(squares, 32, seed=1)
    assert list(maps) == list(BASELINES)
    for heat in maps.values():
        assert heat.shape == (3, 32, 32) and heat.min() >= 0 and heat.max() <= 1 + 1e-6
    row, col = np.unravel_index(maps[BASELINES[2]][0].argmax(), (32, 32))
    assert row < 12 and col > 18  # the brightness map peaks on the bright patch
    assert not np.allclose(maps[BASELINES[1]][0], maps[BASELINES[1]][1])


def write_outlined_set(root, labels=(0, 0, 3, 3), split="Testing"):
    """Synthetic 224 px slices of ``split`` whose bright blob (``conftest.synthetic_mri``) is the outlined
    tumour; ``notumor`` slices (label 2) have no blob and no outline."""
    classes = ["glioma", "meningioma", "notumor", "pituitary"]
    centres = {0: (0.35, 0.35), 1: (0.65, 0.35), 3: (0.5, 0.7)}
    rows = []
    for i, label in enumerate(labels):
        name = f"{split}/{classes[label]}/{split[:2]}-{i:04d}"
        for folder in ("kaggle", "masks"):
            (root / folder / name).parent.mkdir(parents=True, exist_ok=True)
        synthetic_mri(label, seed=i, size=FRAME).save(root / "kaggle" / f"{name}.png")
        if label not in centres:
            continue
        cx, cy = centres[label]
        mask = disk(cy * FRAME, cx * FRAME, FRAME // 8)
        Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"{name}_mask.png")
        rows.append(f"{name}.png,{name}_mask.png,{i},0,{classes[label]},0")
    (root / "masks" / "manifest.csv").write_text("\n".join([",".join(COLUMNS), *rows]) + "\n")
    return root / "masks", root / "kaggle"


def test_the_report_scores_every_heat_map_and_baseline_per_class(tmp_path, tiny_checkpoint):
    masks, kaggle = write_outlined_set(tmp_path)
    clf = load_classifier(tiny_checkpoint)
    report = localisation_report(clf, read_outlines(masks, kaggle, "Testing"), batch_size=3)
    json.dumps(report, allow_nan=False)  # JSON-able, no NaN
    assert report["n_images"] == 4 and report["methods"] == METHODS and report["baselines"] == list(BASELINES)
    assert set(report["maps"]) == {*METHODS, *BASELINES}
    for summary in report["maps"].values():
        assert summary["overall"]["n"] == 4 and set(summary["per_class"]) == {"glioma", "pituitary"}
        for figure in ("pointing_game", "energy_inside", "auc"):
            overall = summary["overall"][figure]
            assert 0 <= overall["mean"] <= 1 and overall["ci95"][0] <= overall["mean"] <= overall["ci95"][1]
    # the slice's own brightness peaks on the blob: the maps are placed back on the slice where the outline is
    assert report["maps"][BASELINES[2]]["overall"]["pointing_game"]["mean"] == 1.0
    for method in METHODS:
        check = report["bars"]["checks"][method]
        assert set(check["pointing_game_at_least_0.80"]) == {"glioma", "pituitary"}
        assert check["met"] == (all(check["pointing_game_at_least_0.80"].values())
                                and all(check["energy_at_least_3x_centre"].values()))


def test_command_writes_the_report_and_examples(tmp_path, tiny_checkpoint, capsys):
    masks, kaggle = write_outlined_set(tmp_path, labels=(0, 1, 3, 3))
    out, examples = tmp_path / "loc.json", tmp_path / "examples"
    main(["--checkpoint", str(tiny_checkpoint), "--masks", str(masks), "--data", str(kaggle), "--out", str(out),
          "--examples-dir", str(examples)])
    report = json.loads(out.read_text())
    assert report["split"] == "Testing" and report["n_images"] == 4
    pictures = sorted(p.name for p in examples.iterdir())
    assert pictures == ["glioma_Te-0000.png", "meningioma_Te-0001.png", "pituitary_Te-0002.png"]
    assert Image.open(examples / pictures[0]).size == (FRAME, FRAME)
    assert "Grad-CAM" in capsys.readouterr().out


def test_limit_draws_from_every_class_or_says_it_cannot(tmp_path, tiny_checkpoint):
    masks, kaggle = write_outlined_set(tmp_path)
    common = ["--checkpoint", str(tiny_checkpoint), "--masks", str(masks), "--data", str(kaggle)]
    main([*common, "--limit", "2", "--out", str(tmp_path / "two.json")])
    report = json.loads((tmp_path / "two.json").read_text())
    assert report["limit"] == 2 and sorted(name.split("/")[0] for name in report["images"]) == ["glioma", "pituitary"]
    with pytest.raises(SystemExit):
        main([*common, "--limit", "1", "--out", str(tmp_path / "one.json")])


def test_the_outline_is_drawn_over_the_heat_map():
    mask = disk(112, 112, 30)
    picture = np.asarray(outline_overlay(np.full((224, 224), 80, np.uint8), gaussian(112, 112, 20), mask))
    assert picture.shape == (224, 224, 3)
    assert (picture[112, 82] == 255).all() and not (picture[112, 112] == 255).all()  # the rim, not the inside


def test_candidates_are_named_method_and_blocks_and_bad_ones_list_the_choices():
    chosen = candidate("HiResCAM:both")
    assert (chosen.name, chosen.cam_class, chosen.layers) == ("HiResCAM:both", "HiResCAM", "both")
    assert len(all_candidates()) == 24 and len({c.name for c in all_candidates()}) == 24
    assert [c.name for c in chosen_candidates(["EigenCAM:last", "GradCAM:fine", "EigenCAM:last"])] == [
        "EigenCAM:last", "GradCAM:fine"]
    with pytest.raises(ValueError, match="unknown heat map method 'GradCam'.*GradCAMPlusPlus"):
        candidate("GradCam:last")
    with pytest.raises(ValueError, match="unknown target layers 'stride16'.*'fine'"):
        candidate("GradCAM:stride16")
    with pytest.raises(ValueError, match="NAME:LAYERS.*'last', 'fine', 'both'"):
        candidate("GradCAM")


def test_candidates_on_each_choice_of_blocks_are_framed_like_the_apps_maps(tmp_path, tiny_checkpoint):
    masks, kaggle = write_outlined_set(tmp_path)
    clf = load_classifier(tiny_checkpoint)
    paths = read_outlines(masks, kaggle, "Testing").image_paths()
    picks = [candidate(s) for s in ("HiResCAM:last", "XGradCAM:fine", "GradCAMPlusPlus:both")]
    seconds = {}
    maps, answers, _ = frame_maps(clf, paths, candidates=picks, seconds=seconds)
    names = [*METHODS, *(c.name for c in picks)]
    assert set(maps) == {*names, *BASELINES} and set(seconds) == set(names)
    for pick in picks:
        assert maps[pick.name].shape == (4, FRAME, FRAME) and 0 <= maps[pick.name].min() <= maps[pick.name].max() <= 1
        assert seconds[pick.name] > 0
    assert len(answers) == 4


def test_the_report_has_an_entry_per_candidate_with_its_timing(tmp_path, tiny_checkpoint, capsys):
    masks, kaggle = write_outlined_set(tmp_path)
    out = tmp_path / "search.json"
    main(["--checkpoint", str(tiny_checkpoint), "--masks", str(masks), "--data", str(kaggle), "--out", str(out),
          "--candidates", "EigenCAM:last", "HiResCAM:both", "GradCAMPlusPlus:fine"])
    report = json.loads(out.read_text())
    searched = ["EigenCAM:last", "HiResCAM:both", "GradCAMPlusPlus:fine"]
    assert list(report["candidates"]) == searched and report["methods"] == METHODS
    assert list(report["seconds_per_image"]) == [*METHODS, *searched]
    for name in searched:
        entry = report["candidates"][name]
        assert entry["seconds_per_image"] > 0 and entry["cam_class"] == name.split(":")[0]
        assert entry["clears_the_bars"] == report["bars"]["checks"][name]["met"]
        summary = report["maps"][name]
        assert summary["overall"]["n"] == 4 and set(summary["per_class"]) == {"glioma", "pituitary"}
        assert summary["per_class"]["glioma"]["pointing_game"]["ci95"] is not None
    printed = capsys.readouterr().out
    assert "candidate GradCAMPlusPlus:fine" in printed and "s per image" in printed


def test_an_unknown_candidate_stops_the_command_before_any_work(tmp_path, tiny_checkpoint, capsys):
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(tiny_checkpoint), "--candidates", "SmoothCAM:last"])
    assert "unknown heat map method 'SmoothCAM'" in capsys.readouterr().err


def test_validation_outlines_are_the_outlined_slices_on_the_runs_own_validation_side(tmp_path):
    masks, kaggle = write_outlined_set(tmp_path, labels=(0, 1, 2, 3) * 4, split="Training")
    outlines = read_outlines(masks, kaggle, "Training")
    config = {"val_fraction": 0.5, "seed": 3, "split_group_by": "near", "cache_dir": None}
    found = validation_outlines(outlines, {"train_config": config}, kaggle)
    index = index_folder(kaggle / "Training")
    _, val_idx = validation_split(index, 0.5, 3, "near")
    expected = {index.names[i] for i in val_idx} & set(outlines.names)
    assert sorted(found.names) == sorted(expected) and 0 < len(found) < len(outlines)
    assert found.mask_paths() == [outlines.mask_paths()[outlines.names.index(name)] for name in found.names]


@pytest.mark.parametrize("metadata", [{}, {"train_config": {"epochs": 0}}], ids=["no config", "no split recorded"])
def test_validation_outlines_need_a_checkpoint_that_records_its_split(tmp_path, metadata):
    masks, kaggle = write_outlined_set(tmp_path, split="Training")
    with pytest.raises(SystemExit, match="needs a checkpoint that records its training config"):
        validation_outlines(read_outlines(masks, kaggle, "Training"), metadata, kaggle)
