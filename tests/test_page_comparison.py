"""The Model comparison page under AppTest: committed results, the pending state, a full set, bad inputs."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from model import bundled_checkpoints
from model.comparison.results import load_comparison, write_result
from model.paths import COMPARISON_DIR_ENV as DIR_ENV

from .test_comparison import synthetic_result

TIMEOUT = 120
CHARTS = 6  # headline bars, accuracy vs speed, recall heat map, confusion matrices, ROC curves, training curves


def page() -> AppTest:
    return AppTest.from_file("../pages/model_comparison.py", default_timeout=TIMEOUT).run()


def live_panel_shown(at: AppTest) -> bool:
    models = len(bundled_checkpoints())
    return len(at.image) == models and len(at.get("plotly_chart")) >= models


def test_renders_committed_results_and_every_bundled_model(monkeypatch):
    monkeypatch.delenv(DIR_ENV, raising=False)
    committed = load_comparison()
    at = page()
    assert not at.exception and not at.error
    assert at.title[0].value == "Model comparison"
    pending = any("comparison runs are pending" in i.value for i in at.info)
    assert pending == (len(committed) < 2)
    # the comparison's own charts, one more when a result carries figures on scans from elsewhere, the
    # bundled models' external chart, and one per bundled model in the live panel
    external = any(r.external for r in committed)
    assert len(at.get("plotly_chart")) == (CHARTS if committed else 0) + external + 1 + len(bundled_checkpoints())
    assert live_panel_shown(at)
    # every bundled model's figures on scans from elsewhere, beside its Kaggle ones
    assert "On scans from elsewhere" in [h.value for h in at.subheader]
    table = at.dataframe[-1].value
    assert len(table) == len(bundled_checkpoints()) and "tumours found" in table.columns


def test_pending_state_with_one_result(monkeypatch, tmp_path):
    write_result(synthetic_result("mobilenet_v2"), tmp_path)
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    at = page()
    assert not at.exception and not at.error
    assert "comparison runs are pending" in at.info[0].value and "MOBILENET_V2" in at.info[0].value
    # the summary and the external table; the six comparison charts, the external one and one per model
    assert len(at.dataframe) == 2 and len(at.get("plotly_chart")) == CHARTS + 1 + len(bundled_checkpoints())


def test_full_comparison_and_an_uploaded_image(monkeypatch, tmp_path, samples):
    for i, arch in enumerate(("mobilenet_v2", "resnet50", "vgg16")):
        write_result(synthetic_result(arch, seed=i), tmp_path)
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    at = page()
    assert not at.exception and not at.error
    # The synthetic ResNet50 result is not the bundled model: the page says the app's one differs.
    assert [i.value for i in at.info] and all("Diagnose page is a later version" in i.value for i in at.info)
    headers = [h.value for h in at.subheader]
    assert headers[0] == "At a glance" and headers[-2:] == ["On scans from elsewhere", "Try them side by side"]
    assert len(headers) == CHARTS + 3
    at.radio[0].set_value("Upload your own").run()
    assert at.info and not at.image  # a prompt, no model output yet
    at.file_uploader[0].upload(samples[0].path.name, samples[0].path.read_bytes(), "image/jpeg").run()
    assert not at.exception and not at.error and live_panel_shown(at)


@pytest.mark.parametrize("payload", [b"", b"definitely not an image"], ids=["empty", "text"])
def test_bad_upload_is_a_friendly_error(monkeypatch, tmp_path, payload):
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    at = page()
    at.radio[0].set_value("Upload your own").run()
    at.file_uploader[0].upload("scan.png", payload, "image/png").run()
    assert not at.exception
    assert "could not be used" in at.error[0].value and not at.image


def test_a_malformed_result_file_is_named_and_the_page_still_works(monkeypatch, tmp_path):
    data = synthetic_result("resnet50")
    del data["latency"]["ms_per_image_batch1"]
    (tmp_path / "resnet50.json").write_text(json.dumps(data))
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    at = page()
    assert not at.exception
    assert "resnet50.json" in at.error[0].value and "latency.ms_per_image_batch1" in at.error[0].value
    assert live_panel_shown(at)


def test_each_backbone_on_scans_from_elsewhere_beside_its_kaggle_figures(monkeypatch, tmp_path):
    write_result(synthetic_result("mobilenet_v2", seed=0, external=True), tmp_path)
    write_result(synthetic_result("resnet18", seed=1), tmp_path)  # an older file: no external block
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    at = page()
    assert not at.exception and not at.error
    headers = [h.value for h in at.subheader]
    assert headers[:2] == ["At a glance", "Each backbone on scans from elsewhere"]
    table = at.dataframe[1].value
    assert {"trained on", "Kaggle Testing accuracy", "elsewhere: right class", "tumours found",
            "normal called normal"} <= set(table.columns)
    rows = {row["model"]: row for row in table.to_dict("records")}
    assert rows["MOBILENET_V2"]["trained on"] == "Kaggle + feltrin-44-dev (fitting list)"
    assert rows["MOBILENET_V2"]["tumours found"].endswith("%)")
    assert rows["RESNET18"]["tumours found"] == "not measured" and rows["RESNET18"]["trained on"] == "not recorded"
    # the summary, this table and the bundled models' one; the comparison charts, this section's, the
    # bundled models' external chart and one per bundled model
    assert len(at.dataframe) == 3 and len(at.get("plotly_chart")) == CHARTS + 2 + len(bundled_checkpoints())
    assert any("predates these figures" in c.value for c in at.caption)


def test_no_backbone_section_on_scans_from_elsewhere_without_any_block(monkeypatch, tmp_path):
    for i, arch in enumerate(("mobilenet_v2", "resnet18")):
        write_result(synthetic_result(arch, seed=i), tmp_path)
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    at = page()
    assert not at.exception and "Each backbone on scans from elsewhere" not in [h.value for h in at.subheader]
