"""model.classifier.sequence and model.fitting.sequence_fit: the T1 / T1C+ / T2 estimate's contract,
its fit on synthetic data, and what Diagnose says with it."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model import load_classifier
from model.classifier.sequence import SequenceEstimate, SequenceModel
from model.data.manifest import read_manifest, split_by_case
from model.fitting.sequence_fit import fit_sequence_model
from model.views.external import LOW_SENSITIVITY, sequence_note

from .test_app import diagnose

REPO = Path(__file__).resolve().parent.parent


def test_the_bundled_model_gives_every_upload_a_sequence_with_a_probability(bundled, samples):
    explanation = bundled.explain(Image.open(samples[0].path), heatmap=False)
    assert explanation.sequence.sequence in ("T1", "T1C+", "T2")
    assert 1 / 3 <= explanation.sequence.probability <= 1
    assert bundled.explain(Image.open(samples[0].path)).sequence == explanation.sequence  # same features


def test_the_committed_estimate_reports_its_own_accuracy():
    report = json.loads((REPO / "model/weights/resnet50.sequence.json").read_text())["report"]
    assert report["n_images"] > 500 and 0 <= report["accuracy_ci95"][0] <= report["accuracy"]
    assert set(report["recall"]) == {"T1", "T1C+", "T2"}


def test_a_checkpoint_without_an_estimate_says_nothing_about_sequences(tiny_checkpoint):
    clf = load_classifier(tiny_checkpoint)
    assert clf.sequence_model is None
    assert clf.explain(Image.new("L", (64, 64), 80), heatmap=False).sequence is None
    assert sequence_note(None, None, None) is None


def test_the_fit_learns_a_sequence_the_features_carry(tmp_path, tiny_checkpoint):
    """Synthetic slices whose look follows the sequence (the blob the tiny network learned to place):
    the estimate must find it from the network's features."""
    from .conftest import synthetic_mri
    from .test_manifest import HEADER
    rows, look = [], {"T1": 0, "T1C+": 1, "T2": 3}
    (tmp_path / "glioma").mkdir()
    for case in range(30):
        sequence = ("T1", "T1C+", "T2")[case % 3]
        for s in range(2):
            name = f"glioma/c{case}_{s}.png"
            synthetic_mri(look[sequence], seed=case * 7 + s).save(tmp_path / name)
            rows.append(f"{name}\tglioma\tAstrocitoma\t{sequence}\t{case}\n")
    (tmp_path / "manifest.tsv").write_text(HEADER + "".join(rows))
    manifest = read_manifest(tmp_path / "manifest.tsv")
    training, validation = split_by_case(manifest, 0.3)
    model = fit_sequence_model(load_classifier(tiny_checkpoint), manifest.subset(training), manifest.subset(validation))
    assert model.report["accuracy"] > 0.6 and model.sequences == ["T1", "T1C+", "T2"]
    again = SequenceModel.from_file(_saved(tmp_path, model))
    features = np.zeros(len(model.mean))
    assert again.estimate(features) == model.estimate(features)


def _saved(tmp_path, model):
    path = tmp_path / "m.sequence.json"
    path.write_text(json.dumps(model.to_dict()))
    return path


@pytest.mark.parametrize("found, right, low", [(0.5, 0.9, True), (0.9, 0.4, True), (0.9, 0.9, False)])
def test_the_note_warns_where_the_measured_figures_are_low_and_names_the_measured_mistake(found, right, low):
    mistake = {"truth": "glioma", "answer": "meningioma", "n": 12, "of": 30, "share": 0.4}
    external = {"by_sequence": {"T2": {"sensitivity": {"value": found, "ci95": [found - 0.1, found + 0.05]},
                                       "accuracy": {"value": right, "ci95": [right - 0.1, right + 0.05]},
                                       "commonest_mistake": mistake}}}
    text, warned = sequence_note(SequenceEstimate("T2", 0.93), external, {"accuracy": 0.87})
    assert warned is low
    assert "T2" in text and "87.00%" in text and f"{found * 100:.2f}%" in text
    assert "93" not in text  # the estimator's own probability is never shown
    assert ("naming gliomas meningioma (12 of 30 slices)" in text) is low


def test_diagnose_says_what_sequence_the_slice_looks_like():
    at = diagnose()
    assert not at.exception
    notes = [n.value for n in [*at.info, *at.warning] if "Looks like a" in n.value]
    assert len(notes) == 1 and "slices from other hospitals" in notes[0]
