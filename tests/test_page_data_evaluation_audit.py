"""The Data & evaluation page's mirror check and Figshare label conflicts, under AppTest: an audit made
before the check (an info line, nothing new) and audits with the check."""
import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from model.views import catalog

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120
CHARTS_BEFORE_THE_CHECK = 6  # class balance, full vs clean, reliability, two external, robustness
CONFLICTS = ["Testing/pituitary/Te-piTr_0002.jpg", "Training/pituitary/Tr-pi_0043.jpg",
             "Training/pituitary/Tr-pi_0515.jpg", "Training/pituitary/Tr-pi_0520.jpg"]


def with_mirror_check(committed: dict, manifest_found: bool = True) -> dict:
    """The committed audit plus the keys an audit with the mirror check adds (made-up counts)."""
    per_class = {"glioma": {"as is": 150, "mirrored": 100}, "meningioma": {"as is": 120, "rot90": 2},
                 "notumor": {"as is": 300}, "pituitary": {"as is": 111, "mirrored": 60, "mirrored+rot180": 1}}
    by_transform = {"as is": 681, "mirrored": 160, "rot90": 2, "mirrored+rot180": 1}
    images = [{"image": name, "kaggle_label": "pituitary", "figshare_label": "meningioma"} for name in CONFLICTS]
    return {**committed, "testing_leaked_by_transform": by_transform,
            "testing_leaked_by_transform_per_class": per_class,
            "transformed_pairs": {"mirrored": 480, "rot90": 2, "mirrored+rot180": 1},
            "clean_testing_images": committed["testing_images"] - sum(by_transform.values()),
            "clean_testing_images_before_mirror_check": committed["clean_testing_images"],
            "figshare_label_conflicts": {
                "manifest": "manifest.csv", "found": manifest_found, "images": images if manifest_found else [],
                "note": "4 of 4750 manifest rows label the image differently from Figshare" if manifest_found
                else "no masks manifest at manifest.csv: label conflicts with Figshare not checked"}}


@pytest.fixture
def audit_file(monkeypatch, tmp_path):
    """Point the page's report at an audit file of the test's making; the cached report is dropped
    before and after, so that no other test sees it."""
    path = tmp_path / "audit.json"
    read = catalog.audit_headline
    monkeypatch.setattr(catalog, "audit_headline", lambda _committed: read(path))
    st.cache_resource(catalog.model_report).clear()
    yield path
    st.cache_resource(catalog.model_report).clear()


def page() -> AppTest:
    return AppTest.from_file("../pages/data_evaluation.py", default_timeout=TIMEOUT).run()


def committed_audit() -> dict:
    return json.loads((REPO / "model/weights/audit.json").read_text())


#: What an audit made with the mirror check adds to one made before it.
MIRROR_CHECK_KEYS = ("testing_leaked_by_transform", "testing_leaked_by_transform_per_class", "transformed_pairs",
                     "transformed_pairs_by_splits", "transformed_pair_list", "testing_with_training_counterpart",
                     "testing_leaked_through_transform", "clusters_with_transforms", "figshare_label_conflicts",
                     "label_conflict_clusters_with_transforms", "clean_testing_before_mirror_check",
                     "clean_testing_images_before_mirror_check")


def before_mirror_check(audit: dict) -> dict:
    """An audit as made before the mirror check (the committed one was, until 2026-12-02)."""
    old = {k: v for k, v in audit.items() if k not in MIRROR_CHECK_KEYS}
    if "clean_testing_before_mirror_check" in audit:
        old["clean_testing"] = audit["clean_testing_before_mirror_check"]
        old["clean_testing_images"] = audit["clean_testing_images_before_mirror_check"]
    return old


def test_an_audit_without_the_mirror_check_shows_an_info_line_and_nothing_new(audit_file):
    audit_file.write_text(json.dumps(before_mirror_check(committed_audit())))
    at = page()
    assert not at.exception and not at.error
    assert any("predates the check for mirrored" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == CHARTS_BEFORE_THE_CHECK
    assert not [m for m in at.markdown if "Labels that disagree with the source" in m.value]


def test_an_audit_with_the_mirror_check_shows_its_chart_and_the_label_conflicts(audit_file):
    report = with_mirror_check(before_mirror_check(committed_audit()))
    audit_file.write_text(json.dumps(report))
    at = page()
    assert not at.exception and not at.error
    assert not any("predates" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == CHARTS_BEFORE_THE_CHECK + 1
    text = " ".join(m.value for m in at.markdown)
    assert "**160** more a mirrored copy and 3 a turned one" in text
    assert f"shrinks from {report['clean_testing_images_before_mirror_check']:,} to " \
           f"**{report['clean_testing_images']:,}** images" in text
    conflicts = next(m.value for m in at.markdown if "Labels that disagree" in m.value)
    assert all(f"`{name}`: Pituitary tumour folder, Meningioma in Figshare" in conflicts for name in CONFLICTS)


def test_an_audit_made_without_the_masks_manifest_says_so(audit_file):
    audit_file.write_text(json.dumps(with_mirror_check(before_mirror_check(committed_audit()), manifest_found=False)))
    at = page()
    assert not at.exception and not at.error
    assert any("Figshare labels: no masks manifest" in m.value for m in at.markdown)
