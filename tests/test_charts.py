"""The Diagnose and model-card figures build from small hand-made inputs."""
import numpy as np

from model.views import charts


def _epoch(n: int, size: int) -> dict:
    return {"epoch": n, "train_loss": 1.0 / n, "val_loss": 1.2 / n, "train_acc": 0.5, "val_acc": 0.6,
            "input_size": size}


def test_training_curves_mark_where_a_later_stage_changes_the_input_size():
    fig = charts.training_curves([_epoch(1, 128), _epoch(2, 128), _epoch(3, 160)])
    assert len(fig.data) == 4
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].x0 == 2.5
    assert "160 px" in fig.layout.annotations[0].text


def test_training_curves_of_a_single_stage_have_no_marks():
    fig = charts.training_curves([_epoch(1, 128), _epoch(2, 128)])
    assert not fig.layout.shapes


def test_probability_bars_show_every_class_in_percent_with_the_top_one_highlighted():
    bar = charts.probability_bars(["A", "B"], np.array([0.25, 0.75])).data[0]
    assert list(bar.y) == ["A", "B"] and list(bar.x) == [25.0, 75.0]
    assert list(bar.text) == ["25.0%", "75.0%"] and bar.marker.color[1] != bar.marker.color[0]
