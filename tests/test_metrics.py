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


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_more_data():
    from model.evaluation.metrics import headline_with_ci

    rng = np.random.default_rng(0)

    def noisy(n):
        y = rng.integers(0, 3, n)
        pred = np.where(rng.random(n) < 0.8, y, (y + 1) % 3)
        return y, one_hot(pred)

    y_small, p_small = noisy(60)
    y_big, p_big = noisy(2000)
    small = headline_with_ci(y_small, p_small, 3)
    big = headline_with_ci(y_big, p_big, 3)
    for y, p, ci in ((y_small, p_small, small), (y_big, p_big, big)):
        m = classification_metrics(y, p, CLASSES)
        assert ci["accuracy_ci95"][0] <= m["accuracy"] <= ci["accuracy_ci95"][1]
        assert ci["macro_f1_ci95"][0] <= m["macro_f1"] <= ci["macro_f1_ci95"][1]
    width = lambda ci: ci["accuracy_ci95"][1] - ci["accuracy_ci95"][0]  # noqa: E731
    assert width(big) < width(small) / 2


def test_tumour_versus_no_tumour():
    classes = ["glioma", "notumor", "pituitary"]
    y_true = [0, 0, 2, 2, 1, 1]
    y_pred = [0, 1, 0, 2, 1, 2]  # one tumour called normal, one normal called tumour
    binary = classification_metrics(y_true, one_hot(y_pred), classes)["tumour_vs_no_tumour"]
    assert binary == {"sensitivity": 0.75, "specificity": 0.5, "missed_tumours": 1, "tumours": 4}
    assert classification_metrics([0], one_hot([0]), CLASSES)["tumour_vs_no_tumour"] is None


def test_the_case_group_interval_holds_the_true_share_about_95_percent_of_the_time():
    # Synthetic clustered sets with a few huge groups (model.evaluation.coverage): 200 of them, so
    # a coverage of 0.95 reads 0.92-0.98 by chance, and an interval that ignores groups fails.
    from model.evaluation.coverage import coverage
    held = coverage("lognormal and three huge", n_groups=150, repeats=200)
    assert 0.90 <= held <= 0.99


def test_an_interval_over_slices_fails_the_same_coverage_check():
    from model.evaluation.coverage import coverage
    from model.evaluation.metrics import cluster_rate_ci

    def over_slices(groups, hits, seed=0):  # every slice its own group
        return cluster_rate_ci(np.arange(len(hits)), hits, seed=seed)

    assert coverage("lognormal and three huge", n_groups=150, repeats=100, interval=over_slices) < 0.85
