"""model.views.comparison_external and comparison_notes: every network once, its Kaggle figure beside its
figures on scans from elsewhere, wherever the figures live (comparison result or bundled model's files)."""
from model.comparison.results import ComparisonResult
from model.views.catalog import ModelReport
from model.views.comparison_external import (NOT_MEASURED, network_rows, networks, not_measured_note, sets_caption,
                                             takeaway, trained_on_text)
from model.views.comparison_notes import bundle_note, versions_note
from model.views.external import figure_text

from .test_comparison import synthetic_external, synthetic_result


def result(arch, seed=0, **changes) -> ComparisonResult:
    return ComparisonResult.from_dict({**synthetic_result(arch, seed=seed), **changes})


def bundled(tmp_path, arch, size, input_size=128, metrics=None, external=None, history=None, sources=()):
    """A bundled model's report whose weights file has ``size`` bytes."""
    checkpoint = tmp_path / f"{arch}.safetensors"
    checkpoint.write_bytes(b"\0" * size)
    metadata = {"arch": arch, "classes": [], "preprocess": {"input_size": input_size},
                "data_sources": [{"name": name} for name in sources]}
    return ModelReport(checkpoint, metadata, metrics, history, external=external)


def metrics(accuracy, clean=None, earlier=None) -> dict:
    block = {"n_images": 200, "accuracy": accuracy, "accuracy_ci95": [accuracy - 0.01, accuracy + 0.01]}
    if clean:
        block["clean"] = {"n_images": 40, "accuracy": clean}
    if earlier:
        block["clean_before_mirror_check"] = {"n_images": 100, "accuracy": earlier}
    return block


def test_a_bundled_copy_of_a_compared_run_is_one_row_with_the_results_kaggle_figure(tmp_path):
    """The contradiction of issue #36: a bundled network without a metrics file read "not measured" in one table
    while the comparison result beside it had its Kaggle figure."""
    compared = result("mobilenet_v2", trained_on=["brain-tumor-mri"])
    copy = bundled(tmp_path, "mobilenet_v2", compared.checkpoint_bytes, external=synthetic_external(3))
    found = networks([compared], [copy])
    assert len(found) == 1
    row = network_rows(found)[0]
    assert row["Kaggle Testing accuracy"] == figure_text({"value": compared.accuracy, "ci95": compared.accuracy_ci95})
    assert row["tumours found"] == figure_text(copy.external["sensitivity"])  # the bundled file's, the result lacks it
    assert found[0].kaggle_only and "mobilenet_v2.external.json" in found[0].source


def test_other_weights_of_a_compared_architecture_are_a_second_row_and_both_versions_are_named(tmp_path):
    compared = result("resnet50")
    history = compared.training["history"] + [{**compared.training["history"][-1], "epoch": 4}]
    later = bundled(tmp_path, "resnet50", compared.checkpoint_bytes + 1, input_size=160,
                    metrics=metrics(0.9694, clean=0.9142, earlier=0.9587), history=history,
                    external=synthetic_external(1), sources=["brain-tumor-mri", "feltrin-44-dev"])
    compared = result("resnet50", clean={**compared.clean, "n_images": 100})
    found = networks([compared], [later])
    assert [n.name for n in found] == ["ResNet50 (bundled, trained further)", "RESNET50"]
    assert found[1].why_not.startswith("its weights were trained further into “ResNet50 (bundled, trained")
    note = versions_note([compared], [later])
    # one sentence: both versions, all images and both clean subsets, each with its size
    assert ". " not in note and note.endswith(".")
    for words in (f"on all {compared.n_images:,} Kaggle Testing images", f"on the 100 of them",
                  "96.94% on all 200", "95.87% on those 100", "91.42% on the stricter clean subset of 40",
                  "trained further from it (4 epochs in all, the last at 160 px, on Kaggle + feltrin-44-dev)"):
        assert words in note, words


def test_rows_without_external_figures_say_not_measured_and_the_footnote_says_why(tmp_path):
    measured = result("resnet18", external=synthetic_external(0), trained_on=["brain-tumor-mri"])
    older = result("mobilenet_v2", seed=1, checkpoint_bytes=9 * 2**20)
    heavy = result("vgg16", seed=2, checkpoint_bytes=300 * 2**20)
    found = networks([measured, older, heavy], [])
    rows = {r["network"]: r for r in network_rows(found)}
    assert [rows["MOBILENET_V2"][k] for k in ("elsewhere: right class", "tumours found", "normal called normal")] \
        == [NOT_MEASURED] * 3
    assert rows["RESNET18"]["normal called normal"] == "80.00% (70.00–90.00%)"
    note = not_measured_note(found)
    assert "MOBILENET_V2: its weights are not bundled" in note and "VGG16: its 300 MB weights file is too big" in note
    assert "RESNET18" not in note
    assert found[0].name == "RESNET18"  # measured first
    caption = sets_caption(found)
    assert "72 slices in 24 case groups" in caption and f"{measured.n_images:,} images" in caption


def test_the_takeaway_names_the_network_that_generalises_and_the_kaggle_only_ones(tmp_path):
    wide = synthetic_external(0)
    wide["sensitivity"] = {"value": 0.92, "ci95": [0.7, 0.99], "n": 50}
    narrow = synthetic_external(1)
    narrow["sensitivity"] = {"value": 0.33, "ci95": [0.2, 0.5], "n": 50}
    general = result("efficientnet_lite0", external=wide, trained_from_scratch=False,
                     trained_on=["brain-tumor-mri", "feltrin-44-dev (fitting list)"], accuracy=0.95,
                     accuracy_ci95=[0.94, 0.96])
    local = result("efficientnet_b0", seed=1, external=narrow, trained_on=["brain-tumor-mri"], accuracy=0.985,
                   accuracy_ci95=[0.97, 0.99])
    text = takeaway(networks([general, local], []))
    assert text.startswith("On scans from other hospitals, **EFFICIENTNET_LITE0** (ImageNet-pretrained, trained on "
                           "Kaggle + feltrin-44-dev (fitting list)) finds the most tumours: 92.00% (70.00–99.00%)")
    assert "Trained on Kaggle alone, EFFICIENTNET_B0 scores 98.50% on Kaggle Testing but finds only 33.00%" in text
    assert "The best Kaggle score (EFFICIENTNET_B0, 98.50%) is not the best elsewhere" in text
    assert takeaway(networks([result("resnet18")], [])) is None


def test_trained_on_names_the_first_source_kaggle():
    assert trained_on_text(["brain-tumor-mri"]) == "Kaggle"
    assert trained_on_text(["tiny0", "feltrin-44-dev (training list)"]) == "Kaggle + feltrin-44-dev (training list)"
    assert trained_on_text(None) == "not recorded"


def test_each_row_says_how_the_network_was_initialised():
    scratch = result("resnet18", external=synthetic_external(0))
    pretrained = result("efficientnet_lite0", seed=2, trained_from_scratch=False)
    rows = network_rows(networks([scratch, pretrained], []))
    assert [row["initialised, trained on"].split(";")[0] for row in rows] == ["from scratch", "ImageNet-pretrained"]


def test_the_bundle_note_names_what_ships_and_what_never_can(tmp_path):
    heavy = result("vgg16", checkpoint_bytes=300 * 2**20)
    light = result("resnet18", checkpoint_bytes=20 * 2**20)
    note = bundle_note([heavy, light], [bundled(tmp_path, "mobilenet_v2", 10)])
    assert note == ("Bundled with the app: MobileNetV2. A compared network ships only with a weights file of at most "
                    "25 MB, so VGG16 never will.")
