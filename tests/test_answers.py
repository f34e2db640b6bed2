"""model.classifier.answers: calibrated probabilities and the input check, whichever engine runs the network."""
import numpy as np
from PIL import Image

from model.classifier.answers import NOT_LIKE_TRAINING, AnswerRules
from model.classifier.guard import FeatureGuard
from model.classifier.preprocess import PreprocessSpec

from .conftest import synthetic_mri


class FixedFeatures(AnswerRules):
    """Answer rules over features handed in by the test."""

    def __init__(self, temperature: float | None, guard: FeatureGuard | None, features: np.ndarray):
        self.classes, self.spec, self.guard, self.sequence_model = ["glioma", "notumor"], PreprocessSpec(), guard, None
        self.metadata = {} if temperature is None else {"temperature": temperature}
        self._features = features

    def features(self, images):
        return self._features[:len(images)]


def test_probabilities_are_the_tempered_softmax():
    logits = np.array([[2.0, 0.0], [0.0, 0.0], [-1.0, 3.0]])
    plain, tempered = FixedFeatures(None, None, logits), FixedFeatures(2.0, None, logits)
    assert plain.temperature == 1.0 and tempered.temperature == 2.0
    np.testing.assert_allclose(plain.probabilities(logits)[0], [1 / (1 + np.exp(-2)), 1 - 1 / (1 + np.exp(-2))], rtol=1e-6)
    np.testing.assert_allclose(tempered.probabilities(logits)[0], [1 / (1 + np.exp(-1)), 1 - 1 / (1 + np.exp(-1))], rtol=1e-6)
    assert tempered.probabilities(logits).dtype == np.float32 and np.allclose(tempered.probabilities(logits).sum(1), 1)
    assert plain.display_names == ["Glioma", "No tumour"]


def test_the_guard_refuses_features_far_from_training():
    guard = FeatureGuard(np.zeros(2), np.eye(2), np.zeros((1, 2)), np.eye(2), threshold=1.0)
    rules = FixedFeatures(None, guard, np.array([[0.1, 0.1], [5.0, 5.0]]))
    mri = synthetic_mri(0, 3)
    assert rules.check_inputs([mri, mri]) == [None, NOT_LIKE_TRAINING]
    assert list(rules.is_brain_mri([mri, mri])) == [True, False]
    assert rules.check_inputs([]) == []
    # the picture checks come first: a colour photo is refused for its colour, whatever its features
    assert "colour" in rules.check_inputs([Image.new("RGB", (64, 64), (200, 30, 30))])[0]
