"""model.training.sources and multi-source training: the external training list joins the Kaggle folder,
sampled so that neither source nor any class dominates, recorded in the checkpoint, resumable."""
import pytest
import torch

from model import read_metadata
from model.data.manifest import read_manifest, split_by_case, write_split
from model.training.config import TrainConfig
from model.training.losses import OTHER_TUMOUR
from model.training.sources import load_external_part, sampling_weights
from model.training.train import epoch_order, load_data, run

from .test_manifest import write_set
from .test_train import TINY

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


@pytest.fixture()
def external(tmp_path):
    manifest = write_set(tmp_path / "external", cases_per_label=4, slices=2)
    training, validation = split_by_case(read_manifest(manifest), 0.3)
    write_split(tmp_path / "lists" / "training.txt", training)
    write_split(tmp_path / "lists" / "validation.txt", validation)
    return manifest, tmp_path / "lists"


def test_the_draw_gives_each_source_its_share_and_balances_classes_within_it():
    source = torch.tensor([0] * 90 + [1] * 10)
    labels = torch.tensor([0] * 60 + [1] * 30 + [0] * 8 + [2] * 2)
    weights = sampling_weights(source, labels, external_share=0.3)
    assert weights.sum().item() == pytest.approx(1.0)
    assert weights[source == 1].sum().item() == pytest.approx(0.3)
    assert weights[:60].sum().item() == pytest.approx(weights[60:90].sum().item())  # Kaggle classes equal
    assert weights[98:].sum().item() == pytest.approx(weights[90:98].sum().item())  # even a class of two


def test_an_external_class_weight_draws_that_class_more_often_within_its_source_only():
    source = torch.tensor([0] * 90 + [1] * 10)
    labels = torch.tensor([0] * 60 + [2] * 30 + [0] * 8 + [2] * 2)
    weights = sampling_weights(source, labels, external_share=0.3, external_class_weight={2: 2.0})
    assert weights[source == 1].sum().item() == pytest.approx(0.3)
    assert weights[98:].sum().item() == pytest.approx(2 * weights[90:98].sum().item())  # normals twice as often
    assert weights[:60].sum().item() == pytest.approx(weights[60:90].sum().item())  # Kaggle's draw unchanged


def test_the_external_validation_list_is_never_read_for_training(external):
    manifest, lists = external
    with pytest.raises(ValueError, match="never reads it"):
        load_external_part(manifest, str(lists / "validation.txt"), ["glioma", "meningioma", "notumor", "pituitary"],
                           None, None)


def test_the_calibration_list_is_never_read_for_training(external):
    manifest, lists = external
    write_split(lists / "calibration.txt", (lists / "training.txt").read_text().split())
    with pytest.raises(ValueError, match="never reads it"):
        load_external_part(manifest, str(lists / "calibration.txt"), CLASSES, _spec(), None)


def test_other_tumours_join_as_not_normal_only_when_asked(external):
    manifest, lists = external
    listed = str(lists / "training.txt")
    left_out = load_external_part(manifest, listed, CLASSES, _spec(), None)
    joined = load_external_part(manifest, listed, CLASSES, _spec(), None, other_tumour="not_normal")
    assert OTHER_TUMOUR not in left_out.y.tolist() and left_out.record["left_out_labels"] == ["other_tumour"]
    others = int((joined.y == OTHER_TUMOUR).sum())
    assert others > 0 and len(joined.y) == len(left_out.y) + others
    assert joined.record["left_out_labels"] == [] and joined.record["other_tumour"] == "not_normal"
    assert joined.record["fingerprint"] != left_out.record["fingerprint"]
    with pytest.raises(ValueError, match="needs a 'notumor' class"):
        load_external_part(manifest, listed, ["glioma", "meningioma"], _spec(), None, other_tumour="not_normal")
    with pytest.raises(ValueError, match="other_tumour must be one of"):
        load_external_part(manifest, listed, CLASSES, _spec(), None, other_tumour="as_glioma")


def test_a_run_with_other_tumours_as_not_normal_trains_and_says_so(tiny_dataset, tmp_path, external):
    manifest, lists = external
    cfg = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "run"), epochs=1, external=str(manifest),
                      external_split=str(lists / "training.txt"), external_share=0.5, other_tumour="not_normal",
                      **TINY)
    meta = read_metadata(run(cfg))
    assert meta["data_sources"][1]["images"]["other_tumour (trained as not normal)"] > 0
    assert meta["train_config"]["other_tumour"] == "not_normal"


def test_a_two_source_run_records_both_sources_and_resumes(tiny_dataset, tmp_path, external):
    manifest, lists = external
    cfg = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "run"), epochs=1, external=str(manifest),
                      external_split=str(lists / "training.txt"), external_share=0.5, **TINY)
    best = run(cfg)
    meta = read_metadata(best)
    names = [s["name"] for s in meta["data_sources"]]
    assert names == [tiny_dataset.name, "external"]
    assert meta["data_sources"][1]["left_out_labels"] == ["other_tumour"]
    assert sum(meta["data_sources"][1]["images"].values()) > 0
    single = load_data(TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "x"), **TINY), _spec())
    assert meta["data_fingerprint"] != single.fingerprint
    assert run(cfg) == best  # the same command resumes (here: finds the run complete) with the same sources


def test_half_the_draws_come_from_the_external_set_when_asked(tiny_dataset, tmp_path, external):
    manifest, lists = external
    cfg = TrainConfig(data=str(tiny_dataset), out=str(tmp_path), external=str(manifest),
                      external_split=str(lists / "training.txt"), external_share=0.5, **TINY)
    data = load_data(cfg, _spec())
    order = epoch_order(data, cfg, torch.Generator().manual_seed(0))
    share = data.train_source[order].float().mean().item()
    assert len(order) == len(data.train_x) and 0.35 < share < 0.65
    assert data.train_source.float().mean().item() < 0.35  # far fewer external images than that


def _spec():
    from model.classifier.preprocess import PreprocessSpec

    return PreprocessSpec(input_size=TINY["input_size"], stage_size=TINY["stage_size"])


def test_the_training_command_names_a_malformed_external_manifest(tiny_dataset, tmp_path):
    from model.training.train import main

    (tmp_path / "bad.tsv").write_text("file\tlabel\n")
    with pytest.raises(SystemExit, match="lacks the column"):
        main(["--data", str(tiny_dataset), "--out", str(tmp_path / "run"), "--epochs", "1", "--cache-dir", "none",
              "--arch", "resnet18", "--input-size", "32", "--stage-size", "40", "--batch-size", "8",
              "--val-fraction", "0.25", "--external", str(tmp_path / "bad.tsv")])
