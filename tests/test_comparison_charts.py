"""Every comparison figure builds from synthetic results, one trace (or panel) per model where expected."""
import plotly.graph_objects as go
import pytest

from model.comparison.results import ComparisonResult
from model.views import comparison_charts as charts

from .test_comparison import synthetic_result, synthetic_results


@pytest.fixture(scope="module")
def results():
    return synthetic_results()


def test_headline_bars_have_ci_error_bars(results):
    fig = charts.headline_bars(results)
    assert [t.name for t in fig.data] == ["accuracy", "macro F1"]
    bars = fig.data[0]
    assert list(bars.x) == [r.display_name for r in results]
    assert all(up >= 0 for up in bars.error_y.array) and all(down >= 0 for down in bars.error_y.arrayminus)
    assert fig.layout.yaxis.range[0] <= min(r.accuracy_ci95[0] for r in results)


def test_accuracy_vs_latency_sizes_bubbles_by_parameters(results):
    fig = charts.accuracy_vs_latency(results)
    assert len(fig.data) == len(results)
    sizes = {t.name: t.marker.size[0] for t in fig.data}
    params = {r.display_name: r.parameters for r in results}
    ordered = sorted(params, key=params.get)
    assert [sizes[n] for n in ordered] == sorted(sizes.values())
    assert fig.data[0].x[0] == results[0].latency["ms_per_image_batch1"]


def test_the_speed_chart_names_the_networks_in_its_legend_never_beside_the_bubbles(results):
    """Names written beside the bubbles overlapped (ResNet18 on EfficientNet-B0, ResNet50 on DenseNet121)."""
    fig = charts.accuracy_vs_latency(results)
    assert all("text" not in t.mode for t in fig.data) and fig.layout.showlegend is not False
    assert fig.layout.legend.itemsizing == "constant"  # every name readable, whatever its bubble's size
    assert [t.name for t in fig.data] == [r.display_name for r in results]


def test_a_network_keeps_its_colour_whichever_networks_are_shown(results):
    every = {t.name: t.marker.color for t in charts.accuracy_vs_latency(results).data}
    fewer = {t.name: t.marker.color for t in charts.accuracy_vs_latency(results[1:]).data}
    assert all(every[name] == colour for name, colour in fewer.items())
    assert len(set(every.values())) == len(every)
    roc = {t.name: t.line.color for t in charts.roc_curves(results[1:]).data if t.name in fewer}
    assert roc == fewer


def test_recall_heatmap_is_models_by_classes(results):
    heat = charts.recall_heatmap(results).data[0]
    assert len(heat.z) == len(results) and len(heat.z[0]) == len(results[0].classes)
    assert heat.z[1][2] == results[1].per_class[results[1].classes[2]]["recall"]
    assert heat.text[1][2] == f"{heat.z[1][2] * 100:.2f}%"  # two decimals: 99.67% must not read 99.7%


def test_confusion_matrices_side_by_side(results):
    fig = charts.confusion_matrices(results)
    assert len(fig.data) == len(results)
    assert [a.text for a in fig.layout.annotations] == [r.display_name for r in results]
    assert [list(row) for row in fig.data[2].z] == results[2].confusion_matrix


def test_roc_curves_one_panel_per_class_one_line_per_model(results):
    fig = charts.roc_curves(results)
    n_classes = len(results[0].classes)
    assert len(fig.layout.annotations) == n_classes
    lines = [t for t in fig.data if t.name in {r.display_name for r in results}]
    assert len(lines) == n_classes * len(results)
    assert sum(bool(t.showlegend) for t in lines) == len(results)  # one legend entry per model


def test_training_curves_accuracy_and_loss_per_model(results):
    fig = charts.training_curves(results)
    assert len(fig.data) == 2 * len(results)
    assert list(fig.data[0].y) == [h["val_acc"] for h in results[0].training["history"]]


def test_figures_build_for_a_single_model_with_an_undefined_auc():
    data = synthetic_result("mobilenet_v2")
    data["roc"]["notumor"] = {"fpr": [], "tpr": [], "auc": None}
    single = [ComparisonResult.from_dict(data)]
    for build in (charts.headline_bars, charts.accuracy_vs_latency, charts.recall_heatmap,
                  charts.confusion_matrices, charts.roc_curves, charts.training_curves):
        assert isinstance(build(single), go.Figure)


def test_summary_rows_format_every_column(results):
    rows = charts.summary_rows(results)
    assert [r["model"] for r in rows] == [r.display_name for r in results]
    assert "(" in rows[0]["accuracy (95% interval)"] and rows[0]["input"] == "128 px"
    # the clean subset's figure names its size: older and newer result files hold different subsets
    assert rows[0]["accuracy, clean subset"] == f"{rows[0]['accuracy, clean subset'].split()[0]} of 100"
    costs = charts.cost_rows(results)
    assert costs[0]["training machine"] == "not recorded" and costs[0]["training"] == "3 min, 3 epochs"
    assert costs[0]["parameters"].endswith(" M")


def test_protocol_warnings_flag_what_differs(results):
    assert charts.protocol_warnings(results) == []
    odd = synthetic_result("densenet121", seed=5, epochs=4)
    odd["latency"].update(machine="another CPU", load_average_1min=7.5)
    odd["data_fingerprint"] = "other test set"
    notes = " ".join(charts.protocol_warnings([*results, ComparisonResult.from_dict(odd)]))
    for words in ("same images", "trained the same way: DENSENET121 was trained for 4 epochs, the others 3 epochs",
                  "different computers", "busy with other work while timing DENSENET121"):
        assert words in notes
    assert "px" not in notes  # every model here shares one input size


def test_protocol_warnings_name_a_model_with_another_input_size(results):
    odd = synthetic_result("densenet121", seed=5)
    odd["input_size"] = 160
    notes = charts.protocol_warnings([*results, ComparisonResult.from_dict(odd)])
    assert notes == ["Not every model was trained the same way: DENSENET121 was trained and tested at 160 px, "
                     "the others 128 px. Their scores are not a like-for-like comparison (a larger picture "
                     "shows more detail)."]


def test_figures_are_cut_never_rounded_up():
    raw = synthetic_result("resnet50")
    raw.update(accuracy=0.988558352402746, accuracy_ci95=[0.9824370709382151, 0.9938977879481312])
    result = ComparisonResult.from_dict(raw)
    assert charts.summary_rows([result])[0]["accuracy (95% interval)"] == "98.85% (98.24–99.38%)"
    bars = charts.headline_bars([result]).data[0]
    assert bars.text[0] == "98.85%" and bars.customdata[0] == "98.24–99.38%"


def test_the_chart_of_scans_from_elsewhere_colours_each_network_as_every_other_chart(tmp_path):
    from model.views.catalog import ModelReport
    from model.views.colours import model_colour
    from model.views.comparison_external import networks

    from .test_comparison import synthetic_external

    measured = ComparisonResult.from_dict(synthetic_result("resnet50", external=True))
    checkpoint = tmp_path / "resnet50.safetensors"
    checkpoint.write_bytes(b"\0" * 10)
    later = ModelReport(checkpoint, {"arch": "resnet50", "preprocess": {"input_size": 160}}, None, None,
                        external=synthetic_external(4))
    fig = charts.elsewhere_by_sequence(networks([measured], [later]))
    assert {t.marker.color for t in fig.data} == {model_colour("resnet50")}
    assert sorted(t.marker.pattern.shape for t in fig.data) == ["", "/"]  # the bundled second version hatched
