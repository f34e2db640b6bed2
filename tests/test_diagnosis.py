"""model.views.diagnosis: the verdict both Diagnose and Model comparison give."""
import numpy as np
import pytest

from model.classifier.explanation import Explanation
from model.uploads.scan import Scan
from model.views.diagnosis import refusal_reason, verdict

from .conftest import CLASSES, synthetic_mri

PICTURE = Scan.of_image(synthetic_mri(0, seed=1))


class TaggedScan(Scan):
    def __init__(self, modality: str):
        super().__init__("dicom", {}, {"Modality": modality}, single=PICTURE._single)


@pytest.mark.parametrize("probs, problem, kind, top, runner_up", [
    ([0.80, 0.10, 0.05, 0.05], None, "named", "Glioma", "Meningioma"),
    ([0.40, 0.05, 0.35, 0.20], None, "unsure", "Glioma", "No tumour"),
    ([0.10, 0.03, 0.85, 0.02], "it is blank", "refused", "No tumour", "Glioma"),
])
def test_the_verdict_names_the_answer_the_runner_up_and_the_kind(probs, problem, kind, top, runner_up):
    explanation = Explanation(np.array(probs), int(np.argmax(probs)), None, problem)
    said = verdict(PICTURE, explanation, CLASSES)
    assert (said.kind, said.top, said.runner_up, said.problem) == (kind, top, runner_up, problem)
    assert said.top_probability == pytest.approx(max(probs))
    assert said.no_tumour == (top == "No tumour")


def test_the_files_own_word_comes_before_the_picture_checks():
    explanation = Explanation(np.array([0.9, 0.05, 0.03, 0.02]), 0, None, "it is blank")
    assert "CT" in refusal_reason(TaggedScan("CT"), explanation)
    assert refusal_reason(TaggedScan("MR"), explanation) == "it is blank"
    assert verdict(TaggedScan("CT"), Explanation(np.array([0.9, 0.1]), 0, None), ["glioma", "notumor"]).kind == "refused"


def test_the_calibration_note_claims_only_what_was_measured():
    from model.views.diagnosis import calibration_note

    assert "not fitted" in calibration_note({}, {"ece": 0.01}, {"ece": 0.2})
    fitted = {"temperature": 0.8, "calibration": {"fitted_on": "validation split (336 images)"}}
    note = calibration_note(fitted, {"ece": 0.0273}, {"ece": 0.2438})
    assert "0.0273 on Kaggle Testing and 0.2438 on scans from other sources" in note
    assert "validation split (336 images)" in note
    assert "not measured" in calibration_note(fitted, None, None)
    kept_raw = {"temperature": 1.0, "calibration": {"fitted_on": None, "measured_on": "validation split"}}
    note = calibration_note(kept_raw, {"ece": 0.03}, {"ece": 0.0721})
    assert "raw probabilities" in note and "calibrated (temperature" not in note and "0.0721" in note
