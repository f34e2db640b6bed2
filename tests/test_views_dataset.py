"""model.views.dataset, kaggle_testing, headline and card: the analysis pages' words, built from result files."""
import pytest

from model.views.card import validation_note
from model.views.dataset import dataset_reading, kaggle_sequences, label_reading, training_sources
from model.views.headline import headline_figures, takeaway
from model.views.kaggle_testing import mistake_groups, mistake_rows, mistakes_reading

AUDIT = {"class_counts": {"Training": {"glioma": 10, "notumor": 12}, "Testing": {"glioma": 4, "notumor": 3}},
         "label_conflict_clusters": 0}
CONFLICTS = {"found": True, "note": "2 of 9 rows", "images": [
    {"image": f"Training/pituitary/{n}.jpg", "kaggle_label": "pituitary", "figshare_label": "meningioma"}
    for n in ("a", "b")]}


def test_the_label_sentence_names_the_duplicate_groups_and_the_figshare_labels_apart():
    text, lines = label_reading({**AUDIT, "label_conflict_clusters_with_transforms": 2,
                                 "figshare_label_conflicts": CONFLICTS})
    assert text == ("**Labels that disagree with the source.** **0** duplicate groups (exact or near copies) mix "
                    "images filed under two Kaggle classes, **2** once mirrored and turned copies count, and **2** "
                    "slices carry a Figshare label that differs from the Kaggle folder they are filed in:")
    assert lines == [f"`Training/pituitary/{n}.jpg`: Pituitary tumour folder, Meningioma in Figshare" for n in "ab"]


def test_the_label_sentence_of_older_audits_and_of_audits_without_the_manifest():
    assert label_reading(AUDIT) == ("**0** duplicate groups (exact or near copies) mix images filed under two "
                                    "Kaggle classes.", [])
    missing = {"found": False, "note": "no masks manifest at m.csv", "images": []}
    text, lines = label_reading({**AUDIT, "figshare_label_conflicts": missing})
    assert text.endswith("Kaggle classes. Figshare labels: no masks manifest at m.csv.") and lines == []
    one = {**CONFLICTS, "images": CONFLICTS["images"][:1]}
    assert "**1** slice carries a Figshare label that differs from the Kaggle folder it is filed in:" in \
        label_reading({**AUDIT, "figshare_label_conflicts": one})[0]


def test_the_dataset_reading_counts_from_the_audit_and_the_localisation_report():
    localisation = {"split": "Testing", "limit": None, "n_images": 3}
    text = dataset_reading(AUDIT, localisation)
    assert "holds 29 slices in 2 classes of 14 to 15 slices" in text
    assert "Training (22) and Testing (7)" in text
    assert "contrast-enhanced T1: 3 of the 4 Testing tumour slices are matched to a Figshare slice" in text
    # a localisation run on part of Testing, or none at all: the share is not claimed
    assert "Testing tumour slices" not in kaggle_sequences(AUDIT, {**localisation, "limit": 2})
    assert "Testing tumour slices" not in kaggle_sequences(AUDIT, None)
    assert "FLAIR" not in text and "records no sequence" in text


def test_training_sources_name_the_other_collection_and_its_slices():
    assert training_sources({"data_sources": [{"name": "brain-tumor-mri"}]}) is None
    meta = {"data_sources": [{"name": "brain-tumor-mri"},
                             {"name": "feltrin-44-dev", "split": "training", "images": {"glioma": 2, "notumor": 3}}]}
    assert training_sources(meta).startswith("The bundled model also trained on the training part of "
                                             "feltrin-44-dev (5 slices)")


def mistake(tmp_path, name, content, confidence, truth="Glioma", clean=True):
    path = tmp_path / f"{name}.jpg"
    path.write_bytes(content)
    return {"image": f"glioma/{name}.jpg", "truth": truth, "predicted": "No tumour", "confidence": confidence,
            "clean": clean, "thumbnail": path}


def test_copies_in_the_gallery_are_grouped_by_their_bytes(tmp_path):
    wrong = [mistake(tmp_path, "a", b"one", 0.9), mistake(tmp_path, "b", b"two", 0.8),
             mistake(tmp_path, "c", b"one", 0.7, clean=False), mistake(tmp_path, "d", b"one", 0.6, truth="Meningioma"),
             {**mistake(tmp_path, "e", b"x", 0.5), "thumbnail": None}]
    groups = mistake_groups(wrong)
    assert [g.images for g in groups] == [("glioma/a.jpg", "glioma/c.jpg"), ("glioma/b.jpg",), ("glioma/d.jpg",)]
    assert groups[0].caption == "Glioma → No tumour, 90.00% ×2"
    assert groups[1].caption == "Glioma → No tumour, 80.00%"
    rows = mistake_rows(wrong, groups)
    assert len(rows) == 5 and rows[0]["same picture as"] == "glioma/c.jpg" and rows[1]["same picture as"] == ""
    text = mistakes_reading(wrong, {"n_images": 100, "clean": {"n_images": 50}}, groups)
    assert text.startswith("The model gets **5** of 100 Testing images wrong, 4 of them with no copy in Training. "
                           "2 of them show 1 picture stored more than once")


METRICS = {"accuracy": 0.9694, "accuracy_ci95": [0.95, 0.98], "n_images": 1311,
           "clean": {"n_images": 245, "accuracy": 0.9142, "accuracy_ci95": [0.87, 0.94]}}
EXTERNAL = {"accuracy": {"value": 0.5573, "ci95": [0.50, 0.74], "n": 314, "case_groups": 80},
            "sensitivity": {"value": 0.5888, "ci95": [0.46, 0.68], "n": 557, "case_groups": 152}}


def test_the_headline_puts_scans_from_elsewhere_first():
    figures = headline_figures(METRICS, EXTERNAL)
    assert [(f.label, f.value) for f in figures] == [
        ("Elsewhere: right class", "55.73%"), ("Elsewhere: tumours found", "58.88%"),
        ("Kaggle Testing: right class", "96.94%"), ("Kaggle Testing, no copy in Training", "91.42%")]
    assert "314 slices" in figures[0].help and "80 case groups" in figures[0].help
    assert [f.label for f in headline_figures(METRICS, None)] == ["Kaggle Testing: right class",
                                                                  "Kaggle Testing, no copy in Training"]


@pytest.mark.parametrize("elsewhere, verdict", [(0.5573, "overstate"), (0.95, "hold")])
def test_the_takeaway_compares_the_kaggle_figures_with_scans_from_elsewhere(elsewhere, verdict):
    external = {**EXTERNAL, "accuracy": {**EXTERNAL["accuracy"], "value": elsewhere}}
    text = takeaway(METRICS, external)
    assert verdict in text.split("**")[1]
    assert "96.94% of the 1,311 Kaggle Testing images and 91.42% of the 245 with no copy in Training" in text
    assert "not been measured on scans from elsewhere" in takeaway(METRICS, None)
    assert takeaway(None, external) is None


def test_the_validation_note_derives_the_held_out_share():
    meta = {"data_sources": [{"training_images": 5376, "validation_images": 336}]}
    assert "on 336 images (5.8%) held out of Training" in validation_note(meta)
    assert "on images held out of Training" in validation_note({})


def test_the_calibration_reading_names_the_temperature_or_says_there_is_none():
    from model.views.kaggle_testing import calibration_reading

    calibration = {"validation_ece_before": 0.05, "validation_ece_after": 0.02}
    fitted = calibration_reading({"ece": 0.03}, {"temperature": 0.64,
                                                 "calibration": {**calibration, "fitted_on": "validation split"}})
    assert "A temperature of 0.640, fitted on the validation split" in fitted
    raw = calibration_reading({"ece": 0.07}, {"temperature": 1.0, "calibration": {**calibration, "fitted_on": None}})
    assert "No temperature" in raw and "None" not in raw
