"""model.data.image_sources: a folder and a manifest are read through one interface, as the same kind of index."""
import numpy as np
import pytest

from model.data.folders import ImageFolderIndex
from model.data.image_sources import FolderSource, ImageSource, ManifestSource, open_source
from model.data.manifest import ManifestError, read_manifest, write_split
from model.names import OTHER_TUMOUR_LABEL

from .conftest import CLASSES, write_dataset
from .test_manifest import write_set


def test_a_folder_and_a_manifest_give_the_same_kind_of_index(tmp_path):
    folder = open_source(write_dataset(tmp_path / "kaggle", per_class=2))
    manifest = open_source(write_set(tmp_path / "elsewhere", cases_per_label=2, slices=1))
    assert isinstance(folder, FolderSource) and isinstance(manifest, ManifestSource)
    for source in (folder, manifest):
        assert isinstance(source, ImageSource)
        index = source.labelled_index(CLASSES)
        assert isinstance(index, ImageFolderIndex) and len(index) > 0 and index.classes == CLASSES
        assert set(index.labels.tolist()) <= set(range(len(CLASSES)))
        assert all(path.is_file() for path in index.paths)
    assert (folder.name, manifest.name) == ("kaggle", "elsewhere")


def test_other_tumour_types_come_only_when_asked_for(tmp_path):
    source = ManifestSource(write_set(tmp_path / "elsewhere", cases_per_label=2, slices=1))
    ours, every = source.labelled_index(CLASSES), source.labelled_index(CLASSES, other_tumours=True)
    others = int((every.labels == OTHER_TUMOUR_LABEL).sum())
    assert OTHER_TUMOUR_LABEL not in ours.labels and others > 0 and len(every) == len(ours) + others


def test_a_list_reads_its_rows_and_a_wrong_list_is_named(tmp_path):
    manifest_path = write_set(tmp_path / "elsewhere", cases_per_label=2, slices=1)
    files = read_manifest(manifest_path).files
    write_split(tmp_path / "some.txt", files[:3])
    assert ManifestSource(manifest_path, str(tmp_path / "some.txt")).rows().files == files[:3]
    write_split(tmp_path / "wrong.txt", files[:1] + ["glioma/absent.png"])
    with pytest.raises(ManifestError, match=r"names 1 file\(s\) the manifest lacks, e.g. glioma/absent.png"):
        ManifestSource(manifest_path, str(tmp_path / "wrong.txt")).rows()
    assert np.array_equal(ManifestSource(manifest_path).labelled_index(CLASSES).labels,
                          ManifestSource(manifest_path, None).labelled_index(CLASSES).labels)
