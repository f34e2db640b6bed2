import numpy as np
import pytest

from model import classification_metrics

CLASSES = ["a", "b", "c"]


def one_hot(pred, n=3):
    probs = np.full((len(pred), n), 0.1)
    probs[np.arange(len(pred)), pred] = 0.8
    return probs


def test_against_a_hand_computed_confusion_matrix():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    m = classification_metrics(y_true, one_hot(y_pred), CLASSES)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    a, b, c = (m["per_class"][k] for k in CLASSES)
    assert (a["precision"], a["recall"], a["specificity"]) == pytest.approx((1 / 2, 1 / 2, 3 / 4))
    assert (b["precision"], b["recall"], b["specificity"]) == pytest.approx((2 / 3, 1.0, 3 / 4))
    assert (c["precision"], c["recall"], c["specificity"]) == pytest.approx((1.0, 1 / 2, 1.0))
    f1 = [2 * p * r / (p + r) for p, r in ((1 / 2, 1 / 2), (2 / 3, 1.0), (1.0, 1 / 2))]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    assert m["balanced_accuracy"] == pytest.approx(np.mean([1 / 2, 1.0, 1 / 2]))
    assert m["per_class"]["a"]["support"] == 2 and m["n_images"] == 6


def test_perfect_predictions():
    m = classification_metrics([0, 1, 2], one_hot([0, 1, 2]), CLASSES)
    assert m["accuracy"] == m["macro_f1"] == m["macro_roc_auc_ovr"] == 1.0


def test_auc_is_none_for_an_absent_class():
    m = classification_metrics([0, 1, 0], one_hot([0, 1, 2]), CLASSES)
    assert m["per_class"]["c"]["roc_auc"] is None
    defined = [m["per_class"][k]["roc_auc"] for k in ("a", "b")]
    assert defined == pytest.approx([0.75, 1.0])  # hand-ranked: a's second positive ties a negative
    assert m["macro_roc_auc_ovr"] == pytest.approx(np.mean(defined))
