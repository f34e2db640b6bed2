import numpy as np
import pytest
from PIL import Image

from model.data.manifest import ManifestError
from model.data.outlines import COLUMNS, OutlineManifestError, figshare_label_conflicts, load_mask, read_outlines

ROWS = [("Testing/glioma/Te-gl_0001.jpg", "Testing/glioma/Te-gl_0001_mask.png", "7", "1", "glioma", "0"),
        ("Testing/pituitary/Te-pi_0002.jpg", "Testing/pituitary/Te-pi_0002_mask.png", "8", "0", "meningioma", "1"),
        ("Training/meningioma/Tr-me_0003.jpg", "Training/meningioma/Tr-me_0003_mask.png", "9", "0", "meningioma", "0")]


def write_set(root, rows=ROWS, header=COLUMNS, files=True):
    """A masks folder (``root/masks``, with ``manifest.csv``) and its Kaggle folder (``root/kaggle``)."""
    masks, kaggle = root / "masks", root / "kaggle"
    masks.mkdir(exist_ok=True)
    lines = [",".join(header)] + [",".join(row) for row in rows]
    (masks / "manifest.csv").write_text("\n".join(lines) + "\n")
    for row in rows if files else []:
        for folder, name in ((kaggle, row[0]), (masks, row[1])):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            Image.new("L", (224, 224)).save(folder / name)
    return masks, kaggle


def test_reads_a_good_manifest_and_selects_a_split(tmp_path):
    masks, kaggle = write_set(tmp_path)
    found = read_outlines(masks, kaggle)
    assert len(found) == 3 and found.classes == ["glioma", "pituitary", "meningioma"]
    assert found.mirrored.tolist() == [True, False, False] and found.label_conflict.tolist() == [False, True, False]
    assert found.image_paths()[0] == kaggle / ROWS[0][0] and found.mask_paths()[0] == masks / ROWS[0][1]
    testing = read_outlines(masks, kaggle, split="Testing")
    assert testing.names == ["glioma/Te-gl_0001.jpg", "pituitary/Te-pi_0002.jpg"]
    assert len(found.split("Training")) == 1 and found.split("Training").classes == ["meningioma"]
    with pytest.raises(ValueError, match="unknown split"):
        found.split("Validation")


@pytest.mark.parametrize("rows, header, message", [
    ([], COLUMNS, "lists no images"),
    (ROWS, COLUMNS[:-1], r"lacks the column\(s\) \['label_conflict'\]"),
    ([ROWS[0][:-1]], COLUMNS, "line 2: fewer fields"),
    ([(*ROWS[0][:3], "yes", *ROWS[0][4:])], COLUMNS, "line 2: mirrored and label_conflict must be 0 or 1"),
    ([("glioma/Te-gl_0001.jpg", *ROWS[0][1:])], COLUMNS, "line 2: image 'glioma/Te-gl_0001.jpg' is not"),
    ([ROWS[0], ROWS[0]], COLUMNS, "more than once"),
], ids=["empty", "missing column", "short row", "bad flag", "bad image path", "listed twice"])
def test_a_malformed_manifest_says_where_and_why(tmp_path, rows, header, message):
    masks, kaggle = write_set(tmp_path, rows, header, files=False)
    with pytest.raises(OutlineManifestError, match=message):
        read_outlines(masks, kaggle, check_files=False)


def test_a_missing_manifest_or_file_is_a_clear_error(tmp_path):
    with pytest.raises(ManifestError, match="outline manifest not found"):
        read_outlines(tmp_path / "nowhere", tmp_path)
    masks, kaggle = write_set(tmp_path)
    (masks / ROWS[1][1]).unlink()
    with pytest.raises(OutlineManifestError, match="1 mask"):
        read_outlines(masks, kaggle)
    assert len(read_outlines(masks, kaggle, check_files=False)) == 3


def test_load_mask_is_boolean_and_resized_by_nearest_neighbour(tmp_path):
    big = np.zeros((224, 224), np.uint8)
    big[40:80, 100:160] = 255
    Image.fromarray(big).save(tmp_path / "mask.png")
    full = load_mask(tmp_path / "mask.png")
    assert full.dtype == bool and full.shape == (224, 224) and np.array_equal(full, big > 0)
    half = load_mask(tmp_path / "mask.png", side=112)
    assert half.shape == (112, 112) and np.array_equal(half, big[::2, ::2] > 0)


CONFLICT_HEADER = "image,mask,figshare_index,mirrored,figshare_label,label_conflict\n"


def test_conflicts_are_read_from_a_tiny_manifest(tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(CONFLICT_HEADER + "Testing/pituitary/Te-piTr_0002.jpg,Testing/pituitary/Te-piTr_0002_mask.png,229,0,"
                        "meningioma,1\nTraining/glioma/Tr-gl_0001.jpg,Training/glioma/Tr-gl_0001_mask.png,7,1,glioma,0\n")
    found = figshare_label_conflicts(manifest)
    assert found["found"] and found["images"] == [
        {"image": "Testing/pituitary/Te-piTr_0002.jpg", "kaggle_label": "pituitary", "figshare_label": "meningioma"}]
    assert found["note"].startswith("1 of 2 manifest rows")


def test_an_absent_manifest_gives_an_empty_list_that_says_so(tmp_path):
    found = figshare_label_conflicts(tmp_path / "manifest.csv")
    assert found["images"] == [] and found["found"] is False
    assert "no masks manifest" in found["note"] and str(tmp_path) in found["note"]


@pytest.mark.parametrize("text, message", [
    ("image,figshare_label\nTesting/glioma/a.jpg,glioma\n", r"lacks the column\(s\) .*label_conflict"),
    (CONFLICT_HEADER + "Testing/glioma/a.jpg,m.png,1,0,glioma,yes\n", r"line 2: mirrored and label_conflict must be 0 or 1"),
    (CONFLICT_HEADER + "a.jpg,m.png,1,0,glioma,1\n", r"line 2: image 'a.jpg' is not <Training\|Testing>/<class>/<file>"),
], ids=["missing column", "bad flag", "bad image path"])
def test_a_malformed_manifest_is_a_clear_error(tmp_path, text, message):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(text)
    with pytest.raises(ManifestError, match=message) as err:
        figshare_label_conflicts(manifest)
    assert str(manifest) in str(err.value)
