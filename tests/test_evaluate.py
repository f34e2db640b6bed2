import json

import pytest

from model import read_metadata
from model.evaluate import main

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
    from model.audit import main as audit_main
    from model.evaluate import evaluate

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

    report["testing_fingerprint"] = "other data"
    audit.write_text(json.dumps(report))
    assert "clean" not in evaluate(tiny_checkpoint, tmp_path / "Testing", audit=audit)
