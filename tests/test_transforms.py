import numpy as np
import pytest
from PIL import Image

from model.data.transforms import TRANSFORMS, apply_to_picture, apply_to_thumbnails, inverse


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_a_thumbnail_is_transformed_as_its_picture_and_the_inverse_undoes_it(name):
    pixels = (np.random.default_rng(0).random((6, 6)) * 255).astype(np.uint8)
    picture = Image.fromarray(pixels)
    assert np.array_equal(apply_to_thumbnails(pixels.reshape(1, -1), name)[0],
                          np.asarray(apply_to_picture(picture, name)).ravel())
    assert np.array_equal(np.asarray(apply_to_picture(apply_to_picture(picture, name), inverse(name))), pixels)


def test_rot90_turns_anticlockwise_and_mirrored_flips_left_right():
    pixels = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    assert apply_to_thumbnails(pixels.reshape(1, -1), "rot90").reshape(2, 2).tolist() == [[2, 4], [1, 3]]
    assert apply_to_thumbnails(pixels.reshape(1, -1), "mirrored").reshape(2, 2).tolist() == [[2, 1], [4, 3]]
