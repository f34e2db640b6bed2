import numpy as np
import pytest
import torch
from PIL import Image

from model.classifier.preprocess import CropBox, PreprocessSpec, crop_square, head_box, to_grey_uint8, uncrop_map

from .conftest import synthetic_mri


def framed_head(pad: int = 100) -> Image.Image:
    """A head in the middle of a large black canvas, with a thin white frame line."""
    canvas = Image.new("L", (64 + 2 * pad, 64 + 2 * pad))
    canvas.paste(synthetic_mri(0, seed=1), (pad, pad))
    arr = np.array(canvas)
    arr[:, 3] = 255  # a frame line must not widen the crop
    return Image.fromarray(arr)


def test_head_box_finds_the_head_not_the_frame():
    box = head_box(np.asarray(framed_head()))
    centre = (box.left + box.side / 2, box.top + box.side / 2)
    assert all(abs(c - 132) < 8 for c in centre), box
    assert box.side < 120, box  # about the 48 px head plus margin, not the 264 px canvas


def test_blank_image_falls_back_to_full_box():
    box = head_box(np.zeros((50, 80), np.uint8))
    assert box == CropBox(left=0, top=-15, side=80)


def test_crop_square_pads_outside_the_image():
    grey = np.full((10, 10), 7, np.uint8)
    out = crop_square(grey, CropBox(left=-5, top=-5, side=20))
    assert out.shape == (20, 20) and out[0, 0] == 0 and out[10, 10] == 7


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I;16", "I", "F"])
def test_every_mode_becomes_uint8_grey(mode):
    base = synthetic_mri(1, seed=2)
    image = Image.fromarray(np.asarray(base, np.uint16) * 200) if mode == "I;16" else base.convert(mode)
    assert image.mode == mode
    grey = to_grey_uint8(image)
    assert grey.dtype == np.uint8 and grey.shape == (64, 64)
    assert grey.max() > grey.min()


def test_sixteen_bit_keeps_contrast():
    arr = (np.asarray(synthetic_mri(0, seed=3), np.uint16) * 250)  # values up to ~60000
    grey = to_grey_uint8(Image.fromarray(arr))
    assert grey.max() >= 250 and grey.min() <= 5


def test_spec_output_shape_and_per_image_normalisation():
    spec = PreprocessSpec(input_size=48, stage_size=56)
    batch = spec([synthetic_mri(0, seed=4), synthetic_mri(3, seed=5).resize((300, 200))])
    assert batch.shape == (2, 3, 48, 48)
    assert torch.allclose(batch.mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-4)
    assert torch.allclose(batch.std(dim=(1, 2, 3)), torch.ones(2), atol=1e-2)


def test_normalisation_ignores_global_brightness_and_contrast():
    spec = PreprocessSpec(input_size=32, stage_size=40, crop_to_head=False)
    image = synthetic_mri(1, seed=6)
    dimmer = Image.fromarray((np.asarray(image, float) * 0.5 + 10).astype(np.uint8))
    assert torch.allclose(spec([image]), spec([dimmer]), atol=0.1)


def test_constant_image_gives_finite_zeros():
    blank = Image.new("L", (40, 40), 128)
    assert torch.isfinite(PreprocessSpec(input_size=32, stage_size=40)([blank])).all()
    out = PreprocessSpec(input_size=32, stage_size=40, crop_to_head=False)([blank])
    assert out.abs().max() < 1e-2  # no noise amplified out of a flat image


def test_spec_round_trips_through_dict():
    spec = PreprocessSpec(input_size=64, stage_size=72, crop_margin=0.1)
    assert PreprocessSpec.from_dict(spec.to_dict()) == spec


def test_spec_refuses_settings_it_does_not_know():
    """A setting from a newer version would change the inputs: refuse it rather than drop it."""
    spec = PreprocessSpec(input_size=64, stage_size=72)
    with pytest.raises(ValueError, match="unknown_future_key"):
        PreprocessSpec.from_dict({**spec.to_dict(), "unknown_future_key": 1})


def test_uncrop_map_places_heat_inside_the_box():
    heat = np.ones((8, 8), np.float32)
    out = uncrop_map(heat, CropBox(left=10, top=5, side=20), size=(50, 40))
    assert out.shape == (40, 50)
    assert out[5:25, 10:30].min() == 1 and out.sum() == 400


def test_an_elongated_strip_is_shrunk_before_padding_and_maps_back():
    from model.classifier.preprocess import MAX_WORK_SIDE, uncrop_map

    spec = PreprocessSpec(input_size=32, stage_size=40)
    strip = Image.new("L", (MAX_WORK_SIDE * 8, 64), 0)
    strip.paste(200, (MAX_WORK_SIDE * 4, 8, MAX_WORK_SIDE * 4 + 48, 56))
    square, box = spec.to_square_grey(strip)
    assert square.shape == (40, 40)
    heat = uncrop_map(np.ones((40, 40), np.float32), box, strip.size)
    assert heat.shape == (64, MAX_WORK_SIDE * 8)
    assert heat[32, MAX_WORK_SIDE * 4 + 24] == 1.0 and heat.max() == 1.0 and heat.min() >= 0.0


def test_uncrop_map_places_the_crop_and_zeroes_the_rest():
    from model.classifier.preprocess import uncrop_map

    heat = uncrop_map(np.ones((10, 10), np.float32), CropBox(left=20, top=-10, side=40), (100, 50))
    assert heat.shape == (50, 100)
    assert heat[0:30, 20:60].min() == 1.0
    assert heat[:, :20].max() == 0.0 and heat[:, 60:].max() == 0.0 and heat[30:].max() == 0.0


def test_a_lazily_opened_picture_listed_many_times_is_cropped_once_per_row(tmp_path):
    """The crop pool runs a batch's pictures on several threads: one lazily opened file listed twice
    used to be decoded by two threads at once ("I/O operation on closed file")."""
    path = tmp_path / "slice.png"
    synthetic_mri(0, 3).save(path)
    spec = PreprocessSpec(input_size=32, stage_size=36)
    for _ in range(30):  # a race: without the fix about one try in three fails
        picture = Image.open(path)  # not loaded yet
        squares = spec.squares([picture] * 8)
        assert squares.shape == (8, 36, 36) and (squares == squares[0]).all()
