import numpy as np
import torch

from model import PreprocessSpec
from model.data.folders import cached_decode, drop_listed, index_folder, split_train_val


def test_index_lists_classes_in_order(tiny_dataset):
    index = index_folder(tiny_dataset / "Training")
    assert index.classes == ["glioma", "meningioma", "notumor", "pituitary"]
    assert len(index) == 65 and np.bincount(index.labels).tolist() == [17, 16, 16, 16]


def test_fingerprint_changes_with_content(tiny_dataset, tmp_path):
    a = index_folder(tiny_dataset / "Training")
    assert a.fingerprint() == index_folder(tiny_dataset / "Training").fingerprint()
    b = a.subset(np.arange(len(a) - 1))
    assert a.fingerprint() != b.fingerprint()


def test_split_is_stratified_and_keeps_duplicates_together(tiny_dataset):
    index = index_folder(tiny_dataset / "Training")
    train, val = split_train_val(index, 0.25, seed=0)
    assert set(train).isdisjoint(val) and len(train) + len(val) == len(index)
    assert sorted(np.bincount(index.labels[val]).tolist())[0] >= 3  # every class in validation
    dup_digest = index.digests[index.paths.index(tiny_dataset / "Training/glioma/glioma_dup.png")]
    sides = {i in set(val) for i, d in enumerate(index.digests) if d == dup_digest}
    assert len(sides) == 1


def test_decoded_cache_is_reused(tiny_dataset, tmp_path):
    index = index_folder(tiny_dataset / "Testing")
    spec = PreprocessSpec(input_size=32, stage_size=40)
    first = cached_decode(index, spec, tmp_path)
    assert first.shape == (24, 40, 40) and first.dtype == torch.uint8
    assert len(list(tmp_path.glob("decoded-*.pt"))) == 1
    assert torch.equal(first, cached_decode(index, spec, tmp_path))


def test_names_are_class_slash_file(tiny_dataset):
    index = index_folder(tiny_dataset / "Training")
    assert index.names[0] == "glioma/glioma_000.png" and len(index.names) == len(index)
    assert index.subset(np.array([1])).names == [index.names[1]]


def test_drop_listed_removes_only_the_named_images(tiny_dataset):
    index = index_folder(tiny_dataset / "Training")
    idx = np.arange(len(index))
    kept = drop_listed(index, idx, {"glioma/glioma_000.png", "notumor/notumor_003.png", "glioma/absent.png"})
    assert len(kept) == len(index) - 2
    names = {index.names[i] for i in kept}
    assert "glioma/glioma_000.png" not in names and "glioma/glioma_dup.png" in names
    assert drop_listed(index, idx, set()).tolist() == idx.tolist()
