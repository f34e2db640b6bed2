import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from model.data.audit import audit, main, save_examples

from .conftest import CLASSES, write_dataset, write_distinct_dataset


def test_audit_finds_planted_exact_and_near_duplicates(tmp_path):
    write_distinct_dataset(tmp_path / "Training", per_class=3, seed=0)
    write_distinct_dataset(tmp_path / "Testing", per_class=2, seed=5)
    # exact copy of a training image into testing, same class
    (tmp_path / "Testing/glioma/leak.png").write_bytes((tmp_path / "Training/glioma/glioma_000.png").read_bytes())
    # near copy: slightly blurred and re-saved as JPEG
    near = Image.open(tmp_path / "Training/pituitary/pituitary_001.png").filter(ImageFilter.GaussianBlur(0.6))
    near.save(tmp_path / "Testing/pituitary/near.jpg", quality=90)
    # the same image under another class: a label conflict
    (tmp_path / "Testing/notumor/conflict.png").write_bytes(
        (tmp_path / "Training/meningioma/meningioma_002.png").read_bytes())

    report = audit(tmp_path)
    leaked = {n for c in report["clusters"] for n in c}
    assert "Testing/glioma/leak.png" in leaked and "Testing/pituitary/near.jpg" in leaked
    assert report["pairs"]["exact"] >= 2 and report["pairs"]["near"] >= 1
    assert report["label_conflict_clusters"] == 1
    assert "Testing/glioma/leak.png" not in {"Testing/" + n.split("/", 1)[1] for n in report["clean_testing"]}
    assert report["testing_with_training_duplicate"] == 3
    assert report["clean_testing_images"] == report["testing_images"] - 3


def test_different_images_are_not_merged(tmp_path):
    write_distinct_dataset(tmp_path / "Training", per_class=4, seed=1)
    write_distinct_dataset(tmp_path / "Testing", per_class=4, seed=2)
    report = audit(tmp_path, masks_manifest=tmp_path / "no-manifest.csv")
    assert report["pairs"] == {"exact": 0, "near": 0} and report["clusters"] == []
    # nor mirrored or turned: no two different pictures become one
    assert set(report["transformed_pairs"].values()) == {0} and report["clusters_with_transforms"] == []
    assert report["clean_testing_images"] == report["clean_testing_images_before_mirror_check"] == 16


def plant_transformed_copies(root) -> dict[str, str]:
    """A mirrored (and re-saved as JPEG) and a quarter-turned copy of two Training images in Testing;
    returns each copy's name → the Training image it came from."""
    write_distinct_dataset(root / "Training", per_class=3, seed=0)
    write_distinct_dataset(root / "Testing", per_class=2, seed=5)
    with Image.open(root / "Training/meningioma/meningioma_000.png") as original:
        original.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "Testing/meningioma/mirrored.jpg", quality=90)
    with Image.open(root / "Training/glioma/glioma_001.png") as original:
        original.transpose(Image.Transpose.ROTATE_90).save(root / "Testing/glioma/turned.png")
    return {"Testing/meningioma/mirrored.jpg": "Training/meningioma/meningioma_000.png",
            "Testing/glioma/turned.png": "Training/glioma/glioma_001.png"}


def test_audit_finds_a_mirrored_and_a_turned_copy_across_the_splits(tmp_path):
    planted = plant_transformed_copies(tmp_path)
    report = audit(tmp_path, masks_manifest=tmp_path / "no-manifest.csv")
    # the hash of the picture as it is misses both
    assert report["pairs"] == {"exact": 0, "near": 0} and report["testing_with_training_duplicate"] == 0
    found = {(p["a"], p["b"]): p["transform"] for p in report["transformed_pair_list"]}
    assert found == {(planted["Testing/meningioma/mirrored.jpg"], "Testing/meningioma/mirrored.jpg"): "mirrored",
                     (planted["Testing/glioma/turned.png"], "Testing/glioma/turned.png"): "rot90"}
    assert report["transformed_pairs"] == {**dict.fromkeys(report["transformed_pairs"], 0), "mirrored": 1, "rot90": 1}
    assert report["testing_leaked_by_transform"] == {
        **dict.fromkeys(report["testing_leaked_by_transform"], 0), "mirrored": 1, "rot90": 1}
    assert report["testing_leaked_by_transform_per_class"] == {"glioma": {"rot90": 1}, "meningioma": {"mirrored": 1}}
    assert {(leak["image"], leak["training"]) for leak in report["testing_leaked_through_transform"]} == set(planted.items())
    assert sorted(map(sorted, report["clusters_with_transforms"])) == sorted(sorted(p) for p in planted.items())


def test_the_clean_subset_leaves_out_transformed_copies_and_keeps_the_earlier_one(tmp_path):
    planted = plant_transformed_copies(tmp_path)
    report = audit(tmp_path, masks_manifest=tmp_path / "no-manifest.csv")
    assert not set(planted) & set(report["clean_testing"])
    assert set(planted) <= set(report["clean_testing_before_mirror_check"])
    assert report["testing_with_training_counterpart"] == 2
    assert report["clean_testing_images"] == len(report["clean_testing"]) == report["testing_images"] - 2
    assert report["clean_testing_images_before_mirror_check"] == report["testing_images"]
    # the same copies, looked for as is only: the earlier audit, which keeps them "clean"
    plain = audit(tmp_path, transforms=(), masks_manifest=tmp_path / "no-manifest.csv")
    assert set(planted) <= set(plain["clean_testing"]) and plain["transformed_pair_list"] == []


def test_a_mirrored_example_pair_is_saved_beside_the_others(tmp_path):
    plant_transformed_copies(tmp_path)
    report = audit(tmp_path, masks_manifest=tmp_path / "no-manifest.csv")
    chosen = save_examples(report, tmp_path, tmp_path / "examples")
    assert [p["transform"] for p in chosen] == ["mirrored"]  # no exact or near pair was planted
    assert (tmp_path / "examples" / chosen[0]["b_thumbnail"]).exists()


def write_set_with_masks_manifest(root, per_class: int, rows: list[str]):
    """Distinct Training and Testing images under ``root`` and a masks manifest of ``rows`` beside them."""
    write_distinct_dataset(root / "Training", per_class=per_class, seed=0)
    write_distinct_dataset(root / "Testing", per_class=per_class, seed=1)
    manifest = root / "masks.csv"
    manifest.write_text("image,mask,figshare_index,mirrored,figshare_label,label_conflict\n" + "\n".join(rows) + "\n")
    return manifest


def test_the_report_lists_figshare_label_conflicts_and_stops_on_a_malformed_manifest(tmp_path, capsys):
    manifest = write_set_with_masks_manifest(tmp_path, 1, ["Training/pituitary/pituitary_000.png,m.png,16,0,meningioma,1",
                                                           "Testing/glioma/glioma_000.png,g.png,3,1,glioma,0"])
    report = audit(tmp_path, masks_manifest=manifest)
    assert report["figshare_label_conflicts"]["images"] == [
        {"image": "Training/pituitary/pituitary_000.png", "kaggle_label": "pituitary", "figshare_label": "meningioma"}]
    absent = audit(tmp_path, masks_manifest=tmp_path / "elsewhere.csv")["figshare_label_conflicts"]
    assert absent["images"] == [] and not absent["found"] and "no masks manifest" in absent["note"]
    manifest.write_text("image,mask,figshare_label\nTesting/glioma/glioma_000.png,g.png,glioma\n")
    with pytest.raises(SystemExit) as stopped:
        main(["--data", str(tmp_path), "--out", str(tmp_path / "audit.json"), "--masks-manifest", str(manifest)])
    assert stopped.value.code == 2 and "lacks the column(s)" in capsys.readouterr().err
    assert not (tmp_path / "audit.json").exists()


def test_cli_writes_the_report(tmp_path, capsys):
    write_dataset(tmp_path / "Training", per_class=2)
    write_dataset(tmp_path / "Testing", per_class=1, seed=3)
    out, examples = tmp_path / "audit.json", tmp_path / "examples"
    main(["--data", str(tmp_path), "--out", str(out), "--examples-dir", str(examples)])
    report = json.loads(out.read_text())
    assert report["n_images"] == 12
    assert report["class_counts"]["Testing"] == {name: 1 for name in CLASSES}
    for pair in report["examples"]:
        assert pair["a"].split("/")[0] != pair["b"].split("/")[0]
        assert Image.open(examples / pair["a_thumbnail"]).size[0] <= 160
    assert "clean_testing_images" in capsys.readouterr().out


def test_validation_split_keeps_near_duplicates_on_one_side(tmp_path):
    from model.data.duplicates import near_duplicate_groups, validation_split
    from model.data.folders import index_folder

    write_distinct_dataset(tmp_path, per_class=12, seed=5)
    originals = sorted((tmp_path / "glioma").glob("*.png"))[:4]
    for i, original in enumerate(originals):  # re-processed twins: blurred and brightened copies
        with Image.open(original) as im:
            twin = im.filter(ImageFilter.GaussianBlur(1)).point(lambda v: min(255, v + 6))
        twin.save(tmp_path / "glioma" / f"twin_{i}.png")
    index = index_folder(tmp_path)
    groups = near_duplicate_groups(index)
    names = [p.name for p in index.paths]
    for i, original in enumerate(originals):
        assert groups[names.index(original.name)] == groups[names.index(f"twin_{i}.png")]
    assert len(set(groups)) == len(index) - len(originals)
    for seed in range(4):
        train, val = validation_split(index, 0.25, seed)
        val_groups = set(groups[val])
        assert not val_groups & set(groups[train])
    exact_train, exact_val = validation_split(index, 0.25, 0, group_by="exact")
    assert len(exact_train) + len(exact_val) == len(index)


def test_near_duplicate_groups_are_hashed_once_per_data_fingerprint(tmp_path, monkeypatch):
    """Training, calibration and every selection candidate share one pHash pass over Training."""
    from model.data import duplicates
    from model.data.folders import index_folder

    data = tmp_path / "data"
    write_distinct_dataset(data, per_class=6, seed=2)
    index = index_folder(data)
    passes = []
    original = duplicates.describe_images
    monkeypatch.setattr(duplicates, "describe_images", lambda *a, **k: passes.append(1) or original(*a, **k))
    first = duplicates.near_duplicate_groups(index, cache_dir=tmp_path / "cache")
    again = duplicates.validation_split(index, 0.25, 0, cache_dir=tmp_path / "cache")
    assert len(passes) == 1 and np.array_equal(first, duplicates.near_duplicate_groups(index, cache_dir=tmp_path / "cache"))
    assert np.array_equal(np.sort(np.concatenate(again)), np.arange(len(index)))
    (data / "glioma" / sorted(p.name for p in (data / "glioma").iterdir())[0]).write_bytes(
        (data / "meningioma" / sorted(p.name for p in (data / "meningioma").iterdir())[0]).read_bytes())
    duplicates.near_duplicate_groups(index_folder(data), cache_dir=tmp_path / "cache")  # other data: hashed anew
    assert len(passes) == 2
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.suffix == ".tmp"] == []


def test_near_grouping_is_unchanged_and_near_plus_mirror_joins_mirrored_copies(tmp_path):
    """Runs so far split with group_by="near", and resume replays them: mirrored copies stay apart there."""
    from model.data.duplicates import near_duplicate_groups, validation_split
    from model.data.folders import index_folder

    write_distinct_dataset(tmp_path, per_class=8, seed=3)
    originals = sorted((tmp_path / "pituitary").glob("*.png"))[:3]
    for i, original in enumerate(originals):
        with Image.open(original) as im:
            im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "pituitary" / f"mirrored_{i}.png")
    index = index_folder(tmp_path)
    names = [p.name for p in index.paths]
    near = near_duplicate_groups(index, cache_dir=tmp_path / "cache")
    assert len(set(near)) == len(index)
    mirror = near_duplicate_groups(index, cache_dir=tmp_path / "cache", with_transforms=True)
    assert len(set(mirror)) == len(index) - len(originals)  # and no two different pictures merged
    for i, original in enumerate(originals):
        assert mirror[names.index(original.name)] == mirror[names.index(f"mirrored_{i}.png")]
    assert len(list((tmp_path / "cache").glob("near-groups-*.npy"))) == 2  # one cache file per grouping
    for seed in range(3):
        train, val = validation_split(index, 0.25, seed, group_by="near+mirror", cache_dir=tmp_path / "cache")
        assert not set(mirror[val]) & set(mirror[train])
        assert [a.tolist() for a in validation_split(index, 0.25, seed, cache_dir=tmp_path / "cache")] == \
               [a.tolist() for a in validation_split(index, 0.25, seed, group_by="near")]
    with pytest.raises(ValueError, match="near\\+mirror"):
        validation_split(index, 0.25, 0, group_by="mirror")
