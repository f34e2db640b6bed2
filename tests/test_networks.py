import json
import shutil

from model.paths import DEFAULT_CHECKPOINT, result_file
from model.views.networks import APP_NETWORKS, network_choices


def test_the_default_network_comes_first_with_its_external_figures():
    choices = network_choices()
    assert choices[0].checkpoint == DEFAULT_CHECKPOINT and choices[0].label.startswith("ResNet50")
    report = json.loads(result_file(DEFAULT_CHECKPOINT, "external").read_text())
    assert f"on {report['n_images']} scans from other sources" in choices[0].external_line
    assert len(choices) == sum(path.exists() for path in APP_NETWORKS)


def test_a_missing_network_is_left_out_and_an_unmeasured_one_says_so(tmp_path):
    copy = tmp_path / "copy.safetensors"
    shutil.copyfile(DEFAULT_CHECKPOINT, copy)
    choices = network_choices([tmp_path / "absent.safetensors", copy])
    assert [c.checkpoint for c in choices] == [copy]
    assert choices[0].external_line == "not measured on scans from other sources"


def test_the_page_says_by_how_much_the_default_stays_behind():
    from model.views.networks import NetworkChoice, default_behind_note

    def choice(label, found, right):
        return NetworkChoice(DEFAULT_CHECKPOINT, label, "", {"sensitivity": {"value": found},
                                                             "accuracy": {"value": right}})

    note = default_behind_note([choice("ResNet50", 0.5888, 0.5573), choice("Lite0", 0.9245, 0.7802)])
    assert "33.57 points fewer" in note and "22.29 points less often" in note
    assert default_behind_note([choice("ResNet50", 0.95, 0.9), choice("Lite0", 0.9, 0.8)]) is None
