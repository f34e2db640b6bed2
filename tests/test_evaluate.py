import json

import numpy as np
import pytest
from PIL import Image

from model import read_metadata
from model.evaluation.evaluate import main, misclassified

from .conftest import write_distinct_dataset


def test_evaluate_writes_metrics_json(tiny_dataset, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    main(["--checkpoint", str(tiny_checkpoint), "--data", str(tiny_dataset / "Testing"), "--out", str(out)])
    metrics = json.loads(out.read_text())
    assert metrics["n_images"] == 24 and 0 <= metrics["accuracy"] <= 1
    assert sum(map(sum, metrics["confusion_matrix"])) == 24
    for key in ("balanced_accuracy", "macro_f1", "weighted_f1", "macro_roc_auc_ovr", "images_per_second"):
        assert key in metrics
    assert set(metrics["per_class"]["glioma"]) == {"precision", "recall", "specificity", "f1", "roc_auc", "support"}
    assert "accuracy" in capsys.readouterr().out


def test_store_copies_headline_metrics_into_the_checkpoint(tiny_dataset, tiny_checkpoint, tmp_path):
    ckpt = tmp_path / "copy.safetensors"
    ckpt.write_bytes(tiny_checkpoint.read_bytes())
    main(["--checkpoint", str(ckpt), "--data", str(tiny_dataset / "Testing"), "--store"])
    stored = read_metadata(ckpt)["test_metrics"]
    written = json.loads(ckpt.with_suffix(".metrics.json").read_text())
    assert stored["accuracy"] == pytest.approx(written["accuracy"])


def test_clean_section_uses_a_matching_audit_only(tiny_checkpoint, tmp_path):
    from model.data.audit import main as audit_main
    from model.evaluation.evaluate import evaluate

    write_distinct_dataset(tmp_path / "Training", per_class=3, seed=0)
    write_distinct_dataset(tmp_path / "Testing", per_class=6, seed=1)
    leak = tmp_path / "Testing/glioma/glioma_000.png"
    leak.write_bytes((tmp_path / "Training/glioma/glioma_001.png").read_bytes())
    audit = tmp_path / "audit.json"
    audit_main(["--data", str(tmp_path), "--out", str(audit)])
    report = json.loads(audit.read_text())
    assert report["clean_testing_images"] == 23
    metrics = evaluate(tiny_checkpoint, tmp_path / "Testing", audit=audit)
    assert metrics["clean"]["n_images"] == report["clean_testing_images"]
    lo, hi = metrics["clean"]["accuracy_ci95"]
    assert lo <= metrics["clean"]["accuracy"] <= hi
    assert 0 <= metrics["ece"] <= 1 and sum(metrics["reliability"]["count"]) == 24

    wrong = metrics["misclassified"]
    assert len(wrong) == 24 - np.trace(np.array(metrics["confusion_matrix"]))
    assert all(w["clean"] == (w["image"] != "glioma/glioma_000.png") for w in wrong)

    report["testing_fingerprint"] = "other data"
    audit.write_text(json.dumps(report))
    assert "clean" not in evaluate(tiny_checkpoint, tmp_path / "Testing", audit=audit)


def test_misclassified_names_each_wrong_image_most_confident_first():
    classes = ["glioma", "meningioma", "notumor", "pituitary"]
    labels = np.array([0, 1, 2, 3])
    probs = np.array([[0.9, 0.1, 0, 0], [0.6, 0.4, 0, 0], [0, 0, 1, 0], [0, 0.2, 0, 0.8]])
    probs[3] = [0, 0.9, 0, 0.1]
    names = ["glioma/a.jpg", "meningioma/b.jpg", "notumor/c.jpg", "pituitary/d.jpg"]
    rows = misclassified(labels, probs, names, classes, clean_names={"pituitary/d.jpg"})
    assert [(r["image"], r["predicted"], r["clean"]) for r in rows] == [
        ("pituitary/d.jpg", "meningioma", True), ("meningioma/b.jpg", "glioma", False)]
    assert rows[0]["confidence"] == pytest.approx(0.9)
    assert misclassified(labels, probs, names, classes, None)[0]["clean"] is None


def test_mistake_thumbnails_match_the_metrics_and_replace_older_ones(tiny_dataset, tiny_checkpoint, tmp_path):
    out, thumbs = tmp_path / "metrics.json", tmp_path / "mistakes"
    thumbs.mkdir()
    (thumbs / "stale.jpg").write_bytes(b"from an earlier model")
    main(["--checkpoint", str(tiny_checkpoint), "--data", str(tiny_dataset / "Testing"), "--out", str(out),
          "--mistakes-dir", str(thumbs)])
    wrong = json.loads(out.read_text())["misclassified"]
    assert wrong, "an untrained network gets some of the tiny Testing split wrong"
    assert sorted(p.name for p in thumbs.iterdir()) == sorted(w["thumbnail"] for w in wrong)
    first = wrong[0]
    assert first["thumbnail"] == first["image"].replace("/", "_").replace(".png", ".jpg")
    with Image.open(thumbs / first["thumbnail"]) as im:
        assert im.mode == "L" and max(im.size) <= 160


def test_an_audit_with_the_mirror_check_gives_the_clean_figures_both_ways(tiny_checkpoint, tmp_path):
    from model.data.audit import audit as run_audit
    from model.evaluation.evaluate import CLEAN_BEFORE_MIRROR_CHECK, evaluate

    write_distinct_dataset(tmp_path / "Training", per_class=3, seed=0)
    write_distinct_dataset(tmp_path / "Testing", per_class=3, seed=1)
    with Image.open(tmp_path / "Training/glioma/glioma_001.png") as original:  # a mirrored copy leaks
        original.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "Testing/glioma/mirrored.png")
    report = run_audit(tmp_path, masks_manifest=tmp_path / "no-manifest.csv")
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(report))
    metrics = evaluate(tiny_checkpoint, tmp_path / "Testing", audit=path)
    assert metrics["clean"]["n_images"] == 12 and metrics["clean_before_mirror_check"]["n_images"] == 13
    del report[CLEAN_BEFORE_MIRROR_CHECK]  # an audit made before the mirror check: one clean section only
    path.write_text(json.dumps(report))
    assert "clean_before_mirror_check" not in evaluate(tiny_checkpoint, tmp_path / "Testing", audit=path)


def test_the_images_figshare_labels_otherwise_are_left_out_of_a_second_set_of_figures(tiny_checkpoint, tmp_path):
    from model.data.audit import audit as run_audit
    from model.evaluation.evaluate import evaluate

    from .test_audit import write_set_with_masks_manifest
    manifest = write_set_with_masks_manifest(tmp_path, 2, ["Testing/pituitary/pituitary_000.png,m.png,1,0,meningioma,1",
                                                           "Training/pituitary/pituitary_001.png,n.png,2,0,meningioma,1",
                                                           "Testing/glioma/glioma_000.png,g.png,3,0,glioma,0"])
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(run_audit(tmp_path, masks_manifest=manifest)))
    metrics = evaluate(tiny_checkpoint, tmp_path / "Testing", audit=path)
    without = metrics["without_label_conflicts"]
    assert without["left_out"] == ["pituitary/pituitary_000.png"]  # the Training one is not a Testing image
    assert without["n_images"] == metrics["n_images"] - 1
    path.write_text(json.dumps(run_audit(tmp_path, masks_manifest=tmp_path / "absent.csv")))
    assert "without_label_conflicts" not in evaluate(tiny_checkpoint, tmp_path / "Testing", audit=path)
