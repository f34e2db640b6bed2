"""model.views.comparison_external: every backbone's figures on scans from elsewhere beside its Kaggle ones."""
from model.comparison.results import ComparisonResult
from model.views.comparison_external import NOT_MEASURED, external_measured, external_rows, trained_on_text
from model.views.external import figure_text

from .test_comparison import synthetic_result


def test_rows_put_kaggle_beside_elsewhere_and_say_not_measured_without_the_block():
    measured = ComparisonResult.from_dict(synthetic_result("resnet18", external=True))
    older = ComparisonResult.from_dict(synthetic_result("mobilenet_v2", seed=1))
    rows = external_rows([measured, older])
    assert rows[0]["trained on"] == "Kaggle + feltrin-44-dev (fitting list)"
    assert rows[0]["Kaggle Testing accuracy"].endswith("%)") and "–" in rows[0]["Kaggle Testing accuracy"]
    assert rows[0]["tumours found"] == figure_text(measured.external["sensitivity"])
    assert rows[0]["normal called normal"] == "80.00% (70.00–90.00%)"
    assert rows[0]["slices (cases)"] == "72 (24)"
    assert rows[1]["trained on"] == "not recorded"
    assert [rows[1][k] for k in ("elsewhere: right class", "tumours found", "normal called normal")] == \
        [NOT_MEASURED] * 3
    assert list(external_measured([measured, older])) == [measured.display_name]


def test_trained_on_names_the_first_source_kaggle():
    assert trained_on_text(["brain-tumor-mri"]) == "Kaggle"
    assert trained_on_text(["tiny0", "feltrin-44-dev (training list)"]) == "Kaggle + feltrin-44-dev (training list)"
    assert trained_on_text(None) == "not recorded"


def test_each_row_says_how_the_network_was_initialised():
    scratch = ComparisonResult.from_dict(synthetic_result("resnet18", external=True))
    pretrained = ComparisonResult.from_dict({**synthetic_result("efficientnet_lite0", seed=2),
                                             "trained_from_scratch": False})
    assert [row["initialised"] for row in external_rows([scratch, pretrained])] == ["from scratch",
                                                                                  "ImageNet-pretrained"]
