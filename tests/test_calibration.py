import numpy as np
import pytest
from scipy.special import softmax

from model.evaluation.metrics import reliability_bins
from model.fitting.calibration import fit_temperature


def overconfident_logits(n: int = 4000, seed: int = 0):
    """A 4-class model that is right 80% of the time but says ~99%."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    guess = np.where(rng.random(n) < 0.8, labels, (labels + rng.integers(1, 4, n)) % 4)
    logits = rng.normal(0, 0.5, (n, 4))
    logits[np.arange(n), guess] += 6.0
    return logits, labels


def test_ece_of_a_perfectly_calibrated_toy_is_zero():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert reliability_bins(probs, np.array([0, 1]))["ece"] == 0.0


def test_ece_hand_computed():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    bins = reliability_bins(probs, np.array([0, 1, 0, 0]), n_bins=10)
    # bin 0.9: conf 0.9, acc 0.5; bin 0.6: conf 0.6, acc 1.0 -> ECE = 0.5*0.4 + 0.5*0.4
    assert bins["ece"] == pytest.approx(0.4)
    assert sum(bins["count"]) == 4


def test_temperature_scaling_lowers_ece_of_an_overconfident_model():
    logits, labels = overconfident_logits()
    before = reliability_bins(softmax(logits, axis=1), labels)["ece"]
    t = fit_temperature(logits, labels)
    after = reliability_bins(softmax(logits / t, axis=1), labels)["ece"]
    assert t > 1.5 and after < before / 3 and after < 0.03


def test_each_source_weighs_half_however_many_images_it_has():
    from model.fitting.calibration import source_balanced

    many, few = overconfident_logits(3000, seed=1), overconfident_logits(100, seed=2)
    logits, labels, weights = source_balanced([many, (np.zeros((0, 4)), np.zeros(0, int)), few])
    assert len(labels) == 3100 and weights[:3000].sum() == pytest.approx(weights[3000:].sum())


def test_the_weights_move_the_temperature_towards_the_heavier_source():
    from model.fitting.calibration import source_balanced

    sure, _ = overconfident_logits(2000, seed=3)
    right = sure.argmax(1)  # a source the model always gets right: it wants a low temperature
    unsure, unsure_labels = overconfident_logits(200, seed=4)  # right 80%: it wants a high one
    logits, labels, weights = source_balanced([(sure, right), (unsure, unsure_labels)])
    plain = fit_temperature(logits, labels)
    balanced = fit_temperature(logits, labels, weights)
    assert plain < balanced < fit_temperature(unsure, unsure_labels)


def test_external_calibration_logits_cover_only_our_classes(tmp_path, tiny_checkpoint):
    from model.data.manifest import read_manifest, write_split
    from model.fitting.calibration import external_logits

    from .test_manifest import write_set

    manifest = write_set(tmp_path / "external", cases_per_label=2, slices=1)
    write_split(tmp_path / "calibration.txt", read_manifest(manifest).files)
    logits, labels = external_logits(tiny_checkpoint, str(manifest), str(tmp_path / "calibration.txt"))
    assert logits.shape == (6, 4) and sorted(set(labels)) == [0, 1, 2]  # the other tumours are not scored

    from model.data.manifest import ManifestError

    write_split(tmp_path / "elsewhere.txt", ["glioma/not_in_the_manifest.png"])
    with pytest.raises(ManifestError, match=r"file\(s\) the manifest lacks"):
        external_logits(tiny_checkpoint, str(manifest), str(tmp_path / "elsewhere.txt"))
