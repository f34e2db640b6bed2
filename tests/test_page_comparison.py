"""The Model comparison page under AppTest: committed results, the pending state, a full set, bad inputs,
and every figure it shows checked against the result files it reads."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from model import bundled_checkpoints
from model.classifier.checkpoint import read_metadata
from model.comparison.results import write_result
from model.figures import percent
from model.names import arch_name
from model.paths import COMPARISON_DIR, COMPARISON_DIR_ENV as DIR_ENV, result_file

from .test_comparison import synthetic_external, synthetic_result

TIMEOUT = 120
CHARTS = 6  # headline bars, accuracy vs speed, recall heat map, confusion matrices, ROC curves, training curves
TAKEAWAY = "Which network works on scans from elsewhere?"
KAGGLE = "On Kaggle Testing, under one protocol"
ELSEWHERE = {"elsewhere: right class": "accuracy", "tumours found": "sensitivity",
             "normal called normal": "specificity"}


def page() -> AppTest:
    return AppTest.from_file("../pages/model_comparison.py", default_timeout=TIMEOUT).run()


def live_panel_shown(at: AppTest) -> bool:
    models = len(bundled_checkpoints())
    return len(at.image) == models and len(at.get("plotly_chart")) >= models


def table(at: AppTest, first_column: str):
    return next(t.value for t in at.table if t.value.columns[0] == first_column and
                (first_column != "model" or "initialised" in t.value.columns))


def chart(at: AppTest, found) -> dict:
    """The first chart on the page whose plotly spec ``found`` accepts."""
    return next(spec for spec in (json.loads(c.proto.spec) for c in at.get("plotly_chart")) if found(spec))


def read(path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def committed_files() -> dict[str, dict]:
    """The result files as JSON, read here without the app's code: display name → figures."""
    files = {}
    for path in sorted(COMPARISON_DIR.glob("*.json")):
        data = read(path)
        files[data["display_name"]] = data
    return files


def test_every_figure_on_the_page_is_the_result_files(monkeypatch):
    """Each network's Kaggle Testing accuracy, clean-subset accuracy and figures on scans from elsewhere, as
    the page shows them in every table, chart and sentence, against the JSON files behind them."""
    monkeypatch.delenv(DIR_ENV, raising=False)
    compared = committed_files()
    at = page()
    assert not at.exception and not at.error
    rows = {row["network"]: row for row in table(at, "network").to_dict("records")}
    summary = {row["model"]: row for row in table(at, "model").to_dict("records")}
    headline = chart(at, lambda spec: [t.get("name") for t in spec["data"]] == ["accuracy", "macro F1"])
    bars = dict(zip(headline["data"][0]["x"], headline["data"][0]["text"]))
    sensitivities = []
    for name, data in compared.items():
        accuracy = percent(data["accuracy"])
        assert summary[name]["accuracy (95% interval)"].startswith(accuracy + " (")
        assert summary[name]["accuracy, clean subset"] == f"{percent(data['clean']['accuracy'])} of " \
                                                          f"{data['clean']['n_images']:,}"
        assert rows[name]["Kaggle Testing accuracy"].startswith(accuracy + " (")  # the same figure everywhere
        assert bars[name] == accuracy
        external = data.get("external") or read(result_file(COMPARISON_DIR.parent / f"{data['arch']}.safetensors",
                                                            "external"))
        same_weights = (COMPARISON_DIR.parent / f"{data['arch']}.safetensors").exists() and \
            (COMPARISON_DIR.parent / f"{data['arch']}.safetensors").stat().st_size == data["checkpoint_bytes"]
        for column, key in ELSEWHERE.items():
            if data.get("external") or (external and same_weights):
                assert rows[name][column].startswith(percent(external[key]["value"]) + " ("), (name, column)
                sensitivities.append(external["sensitivity"]["value"])
            else:
                assert rows[name][column] == "not measured", (name, column)
    # every bundled model with other weights than the compared one is a row of its own, from its own files
    for path in bundled_checkpoints():
        arch = read_metadata(path)["arch"]
        data = next((d for d in compared.values() if d["arch"] == arch), None)
        if data and path.stat().st_size == data["checkpoint_bytes"]:
            continue
        metrics, external = read(result_file(path, "metrics")), read(result_file(path, "external"))
        [name] = [n for n in rows if n.split(" (")[0] == arch_name(arch) and n not in compared]
        assert rows[name]["Kaggle Testing accuracy"].startswith(percent(metrics["accuracy"]) + " (")
        assert rows[name]["tumours found"].startswith(percent(external["sensitivity"]["value"]) + " (")
        sensitivities.append(external["sensitivity"]["value"])
        if data:  # both versions, both clean subsets, in one sentence
            [note] = [i.value for i in at.info if "compared here" in i.value]
            assert note.count(". ") == 0
            for figure in (data["accuracy"], data["clean"]["accuracy"], metrics["accuracy"],
                           metrics["clean"]["accuracy"]):
                assert percent(figure) in note
            assert f"{metrics['clean']['n_images']:,}" in note and f"{data['clean']['n_images']:,}" in note
    # the takeaway names the most tumours found anywhere
    assert f"finds the most tumours: {percent(max(sensitivities))} (" in at.markdown[1].value


def test_the_page_leads_with_the_takeaway_and_folds_the_kaggle_details(monkeypatch):
    monkeypatch.delenv(DIR_ENV, raising=False)
    at = page()
    assert not at.exception and not at.error
    assert at.title[0].value == "Model comparison"
    headers = [h.value for h in at.subheader]
    assert headers[0] == TAKEAWAY and headers[-1] == "Try them side by side"
    assert "finds the most tumours" in at.markdown[1].value
    if committed_files():
        assert KAGGLE in headers and len(at.expander) == 1 and len(at.tabs) == 7
        # the speed chart's names are in its legend, never written beside the bubbles
        speed = chart(at, lambda spec: "CPU milliseconds" in str(spec["layout"].get("xaxis", {}).get("title")))
        assert all(trace["mode"] == "markers" for trace in speed["data"])


def test_pending_state_with_one_result(monkeypatch, tmp_path):
    write_result(synthetic_result("mobilenet_v2"), tmp_path)
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    at = page()
    assert not at.exception and not at.error
    assert "comparison runs are pending" in at.info[0].value and "MOBILENET_V2" in at.info[0].value
    # the takeaway, the Kaggle figures and their costs; the takeaway chart, the six Kaggle charts, one per model
    assert len(at.table) == 3 and len(at.get("plotly_chart")) == 1 + CHARTS + len(bundled_checkpoints())


def test_full_comparison_and_an_uploaded_image(monkeypatch, tmp_path, samples):
    for i, arch in enumerate(("mobilenet_v2", "resnet50", "vgg16")):
        write_result(synthetic_result(arch, seed=i), tmp_path)
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    at = page()
    assert not at.exception and not at.error
    # The synthetic ResNet50 is not the bundled one: the page names both versions, the bundled one a row of its own.
    assert any("The RESNET50 compared here" in i.value and "the bundled one on the Diagnose page" in i.value
               for i in at.info)
    assert "ResNet50 (bundled)" in list(table(at, "network")["network"])
    assert [h.value for h in at.subheader] == [TAKEAWAY, KAGGLE, "Try them side by side"]
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
    rows = {row["network"]: row for row in table(at, "network").to_dict("records")}
    assert rows["MOBILENET_V2"]["initialised, trained on"] == "from scratch; Kaggle + feltrin-44-dev (fitting list)"
    found = synthetic_external(0)["sensitivity"]["value"]
    assert rows["MOBILENET_V2"]["tumours found"].startswith(percent(found) + " (")
    assert rows["RESNET18"]["tumours found"] == "not measured"
    assert rows["RESNET18"]["initialised, trained on"] == "from scratch; not recorded"
    # the footnote says why a row was not measured
    assert any("\"not measured\"" in c.value and "RESNET18: its " in c.value for c in at.caption)
