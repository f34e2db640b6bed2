import json

import numpy as np
from PIL import Image, ImageFilter

from model.data.audit import audit, main

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
    report = audit(tmp_path)
    assert report["pairs"] == {"exact": 0, "near": 0} and report["clusters"] == []


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
