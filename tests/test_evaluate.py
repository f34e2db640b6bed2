import json

import pytest

from model import read_metadata
from model.evaluate import main


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
