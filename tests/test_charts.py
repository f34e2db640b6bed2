"""The Diagnose and model-card figures build from small hand-made inputs."""
import json

import numpy as np

from model.paths import WEIGHTS_DIR
from model.views import charts
from model.views.colours import OTHER_CLASS
from model.views.training_stages import stage_notes, training_stages


def _epoch(n: int, size: int, loss: float | None = None) -> dict:
    loss = 1.0 / n if loss is None else loss
    return {"epoch": n, "train_loss": loss, "val_loss": 1.2 * loss, "train_acc": 0.5, "val_acc": 0.6,
            "input_size": size}


def test_training_curves_mark_where_a_later_stage_changes_the_input_size():
    fig = charts.training_curves([_epoch(1, 128), _epoch(2, 128), _epoch(3, 160)])
    assert len(fig.data) == 4
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].x0 == 2.5
    assert "160 px" in fig.layout.annotations[0].text


def test_training_curves_of_a_single_stage_have_no_marks():
    fig = charts.training_curves([_epoch(1, 128), _epoch(2, 128)])
    assert not fig.layout.shapes and not fig.layout.annotations


def test_training_curves_have_clean_axes_and_no_label_over_the_curves():
    fig = charts.training_curves([_epoch(1, 128), _epoch(2, 128), _epoch(3, 160)])
    assert fig.layout.yaxis.tickformat == ".2~f"  # 0.2, 0.4 …, never 0.119
    assert fig.layout.yaxis2.tickformat == ".0%" and list(fig.layout.yaxis2.range) == [0, 1.02]
    for note in fig.layout.annotations:  # above the plot area, in the top margin
        assert note.yref == "paper" and note.y == 1 and note.yanchor == "bottom" and note.hovertext
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0  # under the axes


def test_a_restart_on_harder_pictures_is_a_stage_even_at_the_same_size():
    history = [_epoch(1, 160, 0.5), _epoch(2, 160, 0.4), _epoch(3, 160, 0.9), _epoch(4, 160, 0.8)]
    [stage] = training_stages(history)
    assert stage.epoch == 3 and stage.label == "harder pictures"
    assert "validation, on plain Kaggle slices, is the curve to follow" in stage.explanation


def test_the_configuration_says_what_the_last_stage_changed():
    history = [_epoch(1, 160, 0.5), _epoch(2, 160, 0.4), _epoch(3, 160, 0.9), _epoch(4, 160, 0.8)]
    config = {"epochs": 2, "init_from": "model/weights/resnet50.safetensors",
              "external": "../shared/data/feltrin-44-dev/manifest.tsv", "external_split": "training",
              "external_share": 0.3, "augment": {"remap_p": 0.5}}
    [stage] = training_stages(history, config)
    assert stage.epoch == 3 and stage.label == "+ scans from elsewhere"
    assert "30% of each epoch's pictures from the feltrin-44-dev training list" in stage.explanation
    assert "random contrast curves on 50% of the pictures" in stage.explanation


def test_a_frozen_backbone_marks_the_epoch_it_is_unfrozen():
    history = [_epoch(1, 224, 1.4), _epoch(2, 224, 0.8), _epoch(3, 224, 0.6)]
    [stage] = training_stages(history, {"epochs": 3, "pretrained": True, "freeze_epochs": 1, "init_from": None})
    assert stage.epoch == 2 and stage.label == "backbone unfrozen"


def test_the_bundled_resnet50s_history_marks_each_stage_and_the_drop_at_epoch_44():
    history = json.loads((WEIGHTS_DIR / "resnet50.history.json").read_text())
    config = json.loads((WEIGHTS_DIR / "resnet50.config.json").read_text())
    stages = {s.epoch: s for s in training_stages(history, config)}
    drops = [b["epoch"] for a, b in zip(history, history[1:]) if b["train_acc"] < a["train_acc"] - 0.05]
    assert drops and set(drops) <= set(stages)  # every sudden drop of training accuracy is explained
    last = history[-config["epochs"]]["epoch"]
    assert last in stages and "+ scans from elsewhere" in stages[last].label  # epoch 44: the external list
    sizes = [b["epoch"] for a, b in zip(history, history[1:]) if a["input_size"] != b["input_size"]]
    assert all(f"{history[e - 1]['input_size']} px" in stages[e].label for e in sizes)
    fig = charts.training_curves(history, config)
    assert len(fig.layout.shapes) == len(stages) == len(stage_notes(history, config))
    assert fig.layout.annotations[-1].xanchor == "right"  # the last label runs left, inside the plot


def test_stage_labels_close_together_go_to_rows_of_their_own():
    history = [_epoch(n, 128 + 32 * (n > 10) + 32 * (n > 11) + 32 * (n > 12)) for n in range(1, 49)]
    fig = charts.training_curves(history)
    assert [n.yshift for n in fig.layout.annotations] == [2, 20, 38]
    assert fig.layout.margin.t == 10 + 3 * 18  # room above the plot for the three rows


def test_probability_bars_show_every_class_in_percent_with_the_top_one_highlighted():
    bar = charts.probability_bars(["A", "B"], np.array([0.25, 0.75])).data[0]
    assert list(bar.y) == ["A", "B"] and list(bar.x) == [25.0, 75.0]
    assert list(bar.text) == ["25.0%", "75.0%"] and list(bar.marker.opacity) == [0.4, 1.0]
    assert list(bar.marker.color) == [OTHER_CLASS] * 2  # not classes of the app: no class colour
