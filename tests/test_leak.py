from model.views.leak import figshare_conflicts, mirror_check, mirror_leak_chart, pair_kind

AUDIT = {
    "testing_images": 10, "clean_testing_images": 4, "clean_testing_images_before_mirror_check": 7,
    "class_counts": {"Testing": {"glioma": 6, "notumor": 4}},
    "testing_leaked_by_transform": {"as is": 3, "mirrored": 2, "rot90": 1, "rot180": 0},
    "testing_leaked_by_transform_per_class": {"glioma": {"as is": 1, "mirrored": 2, "rot90": 1},
                                              "notumor": {"as is": 2}},
    "transformed_pairs": {"mirrored": 5, "rot90": 1, "mirrored+rot90": 1},
    "figshare_label_conflicts": {"images": [{"image": "Training/pituitary/a.jpg", "kaggle_label": "pituitary",
                                             "figshare_label": "meningioma"}], "note": "1 of 9 rows"},
}


def test_the_mirror_check_in_counts_and_a_stacked_bar_per_class():
    assert mirror_check(AUDIT) == {"testing": 10, "twin as is": 3, "mirrored copy": 2, "turned copy": 1, "clean": 4,
                                   "clean_before": 7, "pairs_mirrored": 5, "pairs_turned": 2}
    bars = {trace.name: list(trace.x) for trace in mirror_leak_chart(AUDIT).data}
    assert bars == {"twin as is": [1, 2], "mirrored copy": [2, 0], "turned copy": [1, 0], "clean": [2, 2]}


def test_audits_before_the_check_give_none():
    earlier = {"testing_images": 10, "clean_testing_images": 7}
    assert mirror_check(earlier) is None and figshare_conflicts(earlier) is None and mirror_check(None) is None


def test_conflicts_and_pair_kinds_in_words():
    assert figshare_conflicts(AUDIT) == (
        ["`Training/pituitary/a.jpg`: Pituitary tumour folder, Meningioma in Figshare"], "1 of 9 rows")
    assert pair_kind({"kind": "exact"}) == "exact duplicate"
    assert pair_kind({"kind": "near", "transform": "mirrored"}) == "mirrored copy"


def test_the_clean_reading_counts_the_normals_and_gives_both_subsets_and_the_disputed_figure():
    from model.views.leak import clean_subset_reading
    metrics = {"accuracy": 0.9694, "clean": {"n_images": 245, "accuracy": 0.9142, "accuracy_ci95": [0.8775, 0.9469],
                                            "classes": ["glioma", "meningioma", "notumor", "pituitary"],
                                            "confusion_matrix": [[190, 7, 0, 0], [0, 15, 0, 0], [0, 0, 0, 0], [0, 1, 0, 32]]},
               "clean_before_mirror_check": {"n_images": 630, "accuracy": 0.9587},
               "without_label_conflicts": {"accuracy": 0.9700, "left_out": ["pituitary/Te-piTr_0002.jpg"]}}
    text = clean_subset_reading(metrics)
    assert "245 Testing images" in text and "91.42%" in text and "no no-tumour images, so it says nothing" in text
    # both subsets in one sentence
    assert "91.42% (95% interval 87.75–94.69%); on the 630 images of the subset as it held before" in text
    assert "Without the 1 Testing image Figshare labels otherwise, accuracy on all of Testing is 97.00%, " \
           "against 96.94% with it." in text
    metrics["clean"]["confusion_matrix"][2][2] = 1
    assert "1 no-tumour image, so it says little" in clean_subset_reading(metrics)


def test_the_disputed_figure_says_when_leaving_the_images_out_changes_nothing_shown():
    from model.views.leak import clean_subset_reading
    metrics = {"accuracy": 0.969488, "clean": {"n_images": 2, "accuracy": 1.0, "accuracy_ci95": [1.0, 1.0],
                                               "classes": ["glioma"], "confusion_matrix": [[2]]},
               "without_label_conflicts": {"accuracy": 0.969465, "left_out": ["a.jpg", "b.jpg"]}}
    text = clean_subset_reading(metrics)
    assert "(with:" not in text and "before the audit" not in text
    assert "Without the 2 Testing images Figshare labels otherwise, accuracy on all of Testing stays 96.94%: " \
           "leaving them out changes nothing at the digits shown." in text
