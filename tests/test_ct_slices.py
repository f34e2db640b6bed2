"""model.data.ct_slices: the skull-ring check that finds CT slices in an MRI dataset."""
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.data.ct_slices import (CT_RING_SHARE, find_ct_like, flagged_names, looks_like_ct, main, save_examples,
                                  skull_ring_share)

from .conftest import synthetic_mri, write_dataset


def synthetic_ct(size: int = 256, gap: bool = False, seed: int = 0) -> Image.Image:
    """A head CT in a brain window: a saturated skull ring around grey brain, on black."""
    im = Image.new("L", (size, size))
    draw = ImageDraw.Draw(im)
    m = size // 10
    draw.ellipse((m, m, size - m, size - m), fill=255)  # skull
    t = m + size // 25
    draw.ellipse((t, t, size - t, size - t), fill=110)  # brain
    if gap:  # a skull broken open (craniotomy, or a ring cut by the frame) encloses nothing
        draw.rectangle((size // 2 - size // 8, 0, size // 2 + size // 8, t + 4), fill=110)
        draw.rectangle((size // 2 - size // 8, 0, size // 2 + size // 8, m), fill=0)
    noise = np.random.default_rng(seed).normal(0, 4, (size, size))
    return Image.fromarray(np.clip(np.asarray(im, float) + noise, 0, 255).astype(np.uint8))


def test_a_saturated_skull_ring_around_grey_brain_looks_like_ct():
    assert skull_ring_share(synthetic_ct()) > 0.6
    assert looks_like_ct(synthetic_ct(seed=1).convert("RGB"))  # any mode


@pytest.mark.parametrize("image", [
    synthetic_ct(gap=True),  # ring open
    synthetic_mri(0, seed=3, size=256),  # bright blob, no ring
    synthetic_mri(2, seed=4, size=256),
    Image.new("L", (64, 64)),  # blank: no head at all
], ids=["open ring", "mri with blob", "mri", "blank"])
def test_pictures_without_a_closed_bright_ring_do_not(image):
    assert skull_ring_share(image) <= CT_RING_SHARE and not looks_like_ct(image)


def test_bundled_sample_mris_do_not_look_like_ct(samples):
    for sample in samples:
        with Image.open(sample.path) as image:
            assert not looks_like_ct(image), sample.path.name


def test_find_counts_planted_ct_slices_per_split_and_class(tmp_path):
    write_dataset(tmp_path / "Training", per_class=2)
    write_dataset(tmp_path / "Testing", per_class=1, seed=1)
    synthetic_ct().save(tmp_path / "Training/notumor/ct.png")
    synthetic_ct(seed=2).save(tmp_path / "Testing/meningioma/ct.jpg", quality=85)
    report = find_ct_like(tmp_path)
    assert [i["image"] for i in report["images"]] == ["Training/notumor/ct.png", "Testing/meningioma/ct.jpg"]
    assert report["counts"] == {"Training": {"notumor": 1}, "Testing": {"meningioma": 1}}
    assert report["checked"] == {"Training": 9, "Testing": 5}
    saved = tmp_path / "ct_like.json"
    saved.write_text(json.dumps(report))
    assert flagged_names(saved, "Training") == {"notumor/ct.png"}
    assert flagged_names(saved, "Testing") == {"meningioma/ct.jpg"}


def test_examples_replace_stale_thumbnails(tmp_path):
    (tmp_path / "Training/notumor").mkdir(parents=True)
    for i in range(3):
        synthetic_ct(seed=i).save(tmp_path / f"Training/notumor/ct{i}.png")
    out = tmp_path / "thumbs"
    out.mkdir()
    (out / "stale.jpg").write_bytes(b"old")
    report = {"images": [{"image": f"Training/notumor/ct{i}.png"} for i in range(3)]}
    names = save_examples(report, tmp_path, out, count=2)
    assert sorted(p.name for p in out.iterdir()) == sorted(names) and len(names) == 2
    assert [i.get("thumbnail") for i in report["images"]] == [names[0], names[1], None]


def test_cli_writes_the_report(tmp_path, capsys):
    write_dataset(tmp_path / "Training", per_class=1)
    write_dataset(tmp_path / "Testing", per_class=1, seed=2)
    synthetic_ct().save(tmp_path / "Testing/notumor/ct.png")
    out = tmp_path / "ct_like.json"
    main(["--data", str(tmp_path), "--out", str(out), "--examples-dir", str(tmp_path / "ex")])
    report = json.loads(out.read_text())
    assert report["counts"]["Testing"] == {"notumor": 1} and report["images"][0]["thumbnail"]
    assert (tmp_path / "ex" / report["images"][0]["thumbnail"]).exists()
    assert "Testing: 1 of 5 look like CT slices" in capsys.readouterr().out
