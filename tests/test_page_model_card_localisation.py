"""The Model card's "Does the heat map point at the tumour?" section, on a synthetic result file and on none."""
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from model.evaluation.localisation import BASELINES, bar_checks, summarise
from model.figures import percent
from model.views.localisation import localisation_rows, localisation_summary

TIMEOUT = 120
HEADING = "Does the heat map point at the tumour?"
METHODS = ["Grad-CAM", "LayerCAM"]
CLASSES = ["glioma"] * 4 + ["meningioma"] * 3 + ["pituitary"] * 3


def synthetic_report() -> dict:
    """A small localisation report: Grad-CAM clears the bars, LayerCAM misses them on meningioma."""
    pointing = {"Grad-CAM": [1] * 10, "LayerCAM": [1] * 4 + [1, 0, 1] + [1] * 3, BASELINES[0]: [1, 0] * 5,
                BASELINES[1]: [0] * 10, BASELINES[2]: [1, 0, 0, 0, 0] * 2}
    energy = {"Grad-CAM": 0.6, "LayerCAM": 0.55, BASELINES[0]: 0.15, BASELINES[1]: 0.05, BASELINES[2]: 0.1}
    rng = np.random.default_rng(0)
    maps = {name: summarise({"pointing_game": np.asarray(pointing[name], float),
                             "energy_inside": np.clip(energy[name] + rng.normal(0, 0.005, 10), 0, 1),
                             "auc": rng.uniform(0.6, 0.9, 10)}, CLASSES) for name in (*METHODS, *BASELINES)}
    return {"n_images": 10, "methods": METHODS, "baselines": list(BASELINES), "tolerance_px_at_224": 15,
            "maps": maps, "bars": {"pointing_game": 0.8, "energy_times_centre": 3.0,
                                   "checks": bar_checks(maps, METHODS)}}


def card(monkeypatch, path) -> AppTest:
    monkeypatch.setattr("model.views.localisation.REPORT_FILE", path)
    return AppTest.from_file("../pages/model_card.py", default_timeout=TIMEOUT).run()


def test_the_section_shows_the_figures_of_every_map(monkeypatch, tmp_path):
    report = synthetic_report()
    path = tmp_path / "resnet50.localisation.json"
    path.write_text(json.dumps(report))
    at = card(monkeypatch, path)
    assert not at.exception and not at.error
    assert HEADING in [h.value for h in at.subheader]
    text = " ".join(m.value for m in at.markdown)
    assert "On 10 Kaggle slices with a hand-drawn tumour outline" in text
    assert "Grad-CAM's peak fell on the tumour in 100% of them" in text
    assert "Grad-CAM **clears them**" in text and "LayerCAM misses them (meningioma)" in text
    assert not any("has not been measured" in i.value for i in at.info)
    table = at.table[-1].value
    assert list(table["map"]) == [*METHODS, *BASELINES]
    assert table["peak on the tumour"].iloc[0].startswith(percent(1.0, 0))


def test_the_section_says_when_it_has_not_been_measured(monkeypatch, tmp_path):
    at = card(monkeypatch, tmp_path / "absent.json")
    assert not at.exception
    assert HEADING in [h.value for h in at.subheader]
    assert any("has not been measured" in i.value for i in at.info)
    assert not at.table


def test_the_rows_and_words_come_from_the_report():
    report = synthetic_report()
    rows = localisation_rows(report)
    assert [row["map"] for row in rows] == [*METHODS, *BASELINES]
    assert rows[0]["images"] == "10" and "meningioma 100%" in rows[0]["peak on the tumour, by class"]
    assert "meningioma 66%" in rows[1]["peak on the tumour, by class"]  # 2 of 3, cut, never rounded up
    assert "A blob on the centre of the head" in localisation_summary(report)


def test_example_pictures_are_captioned_by_class_and_file(tmp_path):
    from PIL import Image

    from model.views.localisation import example_pictures
    Image.new("RGB", (8, 8)).save(tmp_path / "glioma_Te-gl_0012.png")
    (tmp_path / "notes.txt").write_text("not a picture")
    assert example_pictures(tmp_path) == [(tmp_path / "glioma_Te-gl_0012.png", "Glioma, Te-gl_0012")]
    assert example_pictures(tmp_path / "absent") == []


def test_the_diagnose_note_gives_the_maps_pointing_game_beside_the_centre_blob():
    from model.views.localisation import map_pointing_note
    report = synthetic_report()
    note = map_pointing_note(report, "Grad-CAM")
    assert "on 10 outlined" in note.lower() and "for 100% of them" in note and "does so for 50%" in note
    assert map_pointing_note(report, "Score-CAM") is None and map_pointing_note(None, "Grad-CAM") is None
