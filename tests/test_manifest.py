"""model.data.manifest: reading manifests (good and malformed) and the fixed case-grouped split."""
import pytest

from model.data.manifest import ManifestError, read_manifest, read_split, split_by_case, write_split

from .conftest import synthetic_mri

HEADER = "file\tlabel\ttumour_type\tsequence\tcase_group\n"
LABELS = [("glioma", "Astrocitoma"), ("meningioma", "Meningioma"), ("notumor", "none"), ("other_tumour", "Schwannoma")]


def write_set(root, cases_per_label=6, slices=3):
    """A tiny external set: every case has ``slices`` slices, sequences cycle over the cases."""
    rows = []
    for label, kind in LABELS:
        (root / label).mkdir(parents=True, exist_ok=True)
        for case in range(cases_per_label):
            sequence = ("T1", "T1C+", "T2")[case % 3] if label != "notumor" else ("T1", "T2")[case % 2]
            for s in range(slices):
                name = f"{label}/{kind}_{case}_{s}.png"
                synthetic_mri(LABELS.index((label, kind)), seed=case * 10 + s, size=48).save(root / name)
                rows.append(f"{name}\t{label}\t{kind}\t{sequence}\t{label}-{case}\n")
    (root / "manifest.tsv").write_text(HEADER + "".join(rows))
    return root / "manifest.tsv"


def test_a_good_manifest_maps_labels_and_keeps_every_column(tmp_path):
    found = read_manifest(write_set(tmp_path))
    assert len(found) == 4 * 6 * 3
    assert set(found.classes) == {"glioma", "meningioma", "notumor", None}  # other_tumour is not ours
    assert found.paths()[0].is_file() and len(found.fingerprint()) == 64
    assert found.subset(found.files[:5]).files == found.files[:5]


@pytest.mark.parametrize("text, message", [
    ("", "lacks the column"),
    ("file\tlabel\tsequence\n", "lacks the column"),
    (HEADER, "lists no images"),
    (HEADER + "a.png\tpituitary\tx\tT1\t1\n", "label 'pituitary'"),
    (HEADER + "a.png\tglioma\tx\tFLAIR\t1\n", "sequence 'FLAIR'"),
    (HEADER + "a.png\tglioma\tx\tT1\t\n", "no case group"),
    (HEADER + "a.png\tglioma\tx\n", "fewer fields"),
    (HEADER + "a.png\tglioma\tx\tT1\t1\na.png\tglioma\tx\tT1\t1\n", "more than once"),
    (HEADER + "missing.png\tglioma\tx\tT1\t1\n", "not under"),
], ids=["empty", "columns", "no rows", "label", "sequence", "group", "short row", "twice", "absent file"])
def test_a_malformed_manifest_fails_with_a_clear_message(tmp_path, text, message):
    (tmp_path / "manifest.tsv").write_text(text)
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path / "manifest.tsv")


def test_a_missing_manifest_or_split_file_is_named(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        read_manifest(tmp_path / "nowhere.tsv")
    with pytest.raises(ManifestError, match="not found"):
        read_split(tmp_path / "validation.txt")


def test_the_split_keeps_cases_whole_and_is_fixed(tmp_path):
    found = read_manifest(write_set(tmp_path, cases_per_label=10))
    training, validation = split_by_case(found, 0.3, seed=0)
    assert sorted(training + validation) == sorted(found.files)
    case = dict(zip(found.files, found.case_groups))
    assert not {case[f] for f in training} & {case[f] for f in validation}
    assert 0.2 < len(validation) / len(found) < 0.4
    assert {found.labels[found.files.index(f)] for f in validation} == {label for label, _ in LABELS}
    assert split_by_case(found, 0.3, seed=0) == (training, validation)
    write_split(tmp_path / "v.txt", validation)
    assert read_split(tmp_path / "v.txt") == validation
