import numpy as np
import pytest
from PIL import Image

from model.classifier.preprocess import PreprocessSpec
from model.evaluation.shifts import SHIFTS, shift_by_name

from .conftest import synthetic_mri


@pytest.fixture(scope="module")
def grey() -> Image.Image:
    return synthetic_mri(0, seed=3, size=80).convert("L")


@pytest.mark.parametrize("shift", SHIFTS, ids=lambda s: s.name)
def test_every_shift_gives_a_grey_picture_the_pipeline_accepts(shift, grey):
    out = shift.apply(grey)
    assert out.mode == "L" and min(out.size) >= 1
    batch = PreprocessSpec(input_size=32, stage_size=40)([out])
    assert batch.shape == (1, 3, 32, 32) and torch_finite(batch)


def torch_finite(batch) -> bool:
    return bool(np.isfinite(batch.numpy()).all())


@pytest.mark.parametrize("shift", SHIFTS, ids=lambda s: s.name)
def test_shifts_are_deterministic(shift, grey):
    assert np.array_equal(np.asarray(shift.apply(grey)), np.asarray(shift.apply(grey)))


def test_shifts_change_the_picture_except_the_original(grey):
    for shift in SHIFTS:
        same = shift.apply(grey).size == grey.size and np.array_equal(np.asarray(shift.apply(grey)), np.asarray(grey))
        assert same == (shift.kind == "none"), shift.name


def test_geometry_of_named_shifts(grey):
    w, h = grey.size
    assert shift_by_name("zoomed out").apply(grey).size == (w + 2 * (w // 2), h + 2 * (h // 2))
    assert shift_by_name("rotated 90°").apply(grey).size == (h, w)
    assert max(shift_by_name("small (96 px)").apply(grey.resize((400, 300))).size) == 96
    assert max(shift_by_name("large (1024 px)").apply(grey).size) == 1024
    darker = np.asarray(shift_by_name("darker (gamma 1.6)").apply(grey), dtype=float)
    assert darker.mean() < np.asarray(grey, dtype=float).mean()


def test_unknown_shift_names_the_choices():
    with pytest.raises(KeyError, match="choose from"):
        shift_by_name("sideways")
