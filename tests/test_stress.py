import json

import numpy as np
import pytest

from model.evaluation.shifts import SHIFTS
from model.evaluation.stress import main, shift_report


def test_shift_report_counts_collapse_rejections_and_clean_subset():
    labels = np.array([0, 1, 2, 3, 0, 1])
    probs = np.eye(4)[[0, 0, 0, 0, 0, 1]]  # nearly everything called class 0
    report = shift_report(labels, probs, [None, "blank", None, None, None, None],
                          np.array([True, True, False, False, False, False]), ["a", "b", "c", "d"])
    assert report["accuracy"] == pytest.approx(3 / 6)
    assert report["largest_share"] == pytest.approx(5 / 6)
    assert report["predicted_share"] == pytest.approx({"a": 5 / 6, "b": 1 / 6, "c": 0.0, "d": 0.0})
    assert report["rejected_share"] == pytest.approx(1 / 6)
    assert report["clean_accuracy"] == pytest.approx(0.5) and report["clean_images"] == 2
    lo, hi = report["accuracy_ci95"]
    assert lo <= report["accuracy"] <= hi


def test_stress_command_writes_every_model_and_shift(tiny_dataset, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "stress.json"
    main(["--data", str(tiny_dataset / "Testing"), "--checkpoints", str(tiny_checkpoint), "--out", str(out),
          "--shifts", "original", "upside down"])
    report = json.loads(out.read_text())
    assert [s["name"] for s in report["shifts"]] == ["original", "upside down"]
    results = report["models"][tiny_checkpoint.stem]["results"]
    assert set(results) == {"original", "upside down"}
    for figures in results.values():
        assert figures["n_images"] == 24 and 0 <= figures["accuracy"] <= 1
        assert sum(figures["predicted_share"].values()) == pytest.approx(1.0)
    assert "upside down" in capsys.readouterr().out


def test_every_shift_has_a_known_kind():
    assert {s.kind for s in SHIFTS} == {"none", "scanner", "orientation"}
    assert SHIFTS[0].kind == "none" and len({s.name for s in SHIFTS}) == len(SHIFTS)


def test_stress_command_rejects_an_unknown_shift(capsys):
    with pytest.raises(SystemExit):
        main(["--shifts", "sideways"])
    assert "choose from" in capsys.readouterr().err
