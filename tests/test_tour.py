"""model.views.tour and the Diagnose page's "try these" row."""
import json

from PIL import Image
from streamlit.testing.v1 import AppTest

from model.views.catalog import bundled_samples
from model.views.networks import network_choices
from model.views.tour import guided_tour, sample_choices

from .test_app import TIMEOUT, VERDICTS


def test_the_tour_has_a_scan_from_elsewhere_and_a_sentence_per_stop():
    tour = guided_tour()
    assert len(tour) >= 3 and all(len(stop.look_for) > 40 for stop in tour)
    assert any("elsewhere" in stop.title for stop in tour)


def test_a_malformed_or_missing_tour_file_gives_no_tour(tmp_path):
    assert guided_tour(tmp_path / "none.json") == []
    (tmp_path / "tour.json").write_text("{not json")
    assert guided_tour(tmp_path / "tour.json") == []
    (tmp_path / "tour.json").write_text(json.dumps({"stops": [{"file": "gone.jpg", "label": "glioma",
                                                              "title": "t", "look_for": "x"}]}))
    assert guided_tour(tmp_path / "tour.json") == []  # its picture is missing


def test_a_stop_that_is_a_bundled_sample_keeps_its_label_and_gains_its_sentence():
    samples, tour = bundled_samples(), guided_tour()
    choices = sample_choices(samples, tour)
    assert list(choices)[:len(samples)] == [s.title for s in samples]
    paths = [c.sample.path.resolve() for c in choices.values()]
    assert len(paths) == len(set(paths))  # no picture twice
    told = {c.sample.path.resolve(): c.look_for for c in choices.values()}
    assert all(told[stop.sample.path.resolve()] == stop.look_for for stop in tour)


def test_every_network_answers_every_stop_rather_than_refusing_it():
    from model import load_app_classifier
    for network in network_choices():
        classifier = load_app_classifier(network.checkpoint)
        for stop in guided_tour():
            explanation = classifier.explain(Image.open(stop.sample.path), heatmap=False)
            assert explanation.problem is None, (network.label, stop.title, explanation.problem)


def test_a_tour_button_puts_its_scan_in_the_picker_and_says_what_to_look_for():
    at = AppTest.from_file("../pages/diagnose.py", default_timeout=TIMEOUT).run()
    stop = next(s for s in guided_tour() if s.sample.label == "glioma")
    at.button(key=f"tour:{stop.sample.path.name}").click().run()
    assert not at.exception
    assert at.selectbox(key="sample").value == stop.title
    assert any(stop.look_for in info.value for info in at.info)
    assert at.subheader[0].value.startswith(VERDICTS)
