import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import model.data.outline_crops as outline_crops
from model.classifier.preprocess import PreprocessSpec
from model.data.folders import index_folder
from model.data.outline_crops import cropped_mask, decode_masks
from model.data.outlines import read_outlines

from .test_localisation import write_outlined_set

SPEC = PreprocessSpec(input_size=32, stage_size=48)
SPOT = (28, 36, 44, 52)  # a bright square inside the head, and the outline drawn on it


def off_centre_slice(root, mask_size=(160, 120)):
    """A 160x120 picture whose head sits on the left (so the head crop moves everything) and its mask."""
    picture = Image.new("L", (160, 120))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((8, 14, 88, 106), fill=90)
    draw.rectangle(SPOT, fill=240)
    picture.save(root / "slice.png")
    mask = Image.new("L", (160, 120))
    ImageDraw.Draw(mask).rectangle(SPOT, fill=255)
    mask.resize(mask_size, Image.NEAREST).save(root / "mask.png")
    return root / "slice.png", root / "mask.png"


@pytest.mark.parametrize("mask_size", [(160, 120), (320, 240)], ids=["same size", "drawn at twice the size"])
def test_the_mask_lands_where_the_cropped_picture_has_the_outlined_spot(tmp_path, mask_size):
    image, mask = off_centre_slice(tmp_path, mask_size)
    square, box = SPEC.to_square_grey(Image.open(image))
    assert (box.left, box.top) != (0, 0) and box.side < 160  # the head crop did move and zoom the slice
    crop = cropped_mask(image, mask, SPEC)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    spot, outlined = square > 165, crop > 127
    assert outlined.sum() > 20 and (spot & outlined).sum() / (spot | outlined).sum() > 0.9
    np.testing.assert_allclose(np.argwhere(outlined).mean(0), np.argwhere(spot).mean(0), atol=0.5)


def test_decode_marks_exactly_the_outlined_images_and_reads_its_cache_the_second_time(tmp_path, monkeypatch):
    masks_dir, kaggle = write_outlined_set(tmp_path, labels=(0, 2, 3, 1, 0), split="Training")
    index = index_folder(kaggle / "Training")
    outlines = read_outlines(masks_dir, kaggle, "Training")
    outlines = outlines.subset([i for i, name in enumerate(outlines.names) if name != "glioma/Tr-0004.png"])
    masks, outlined = decode_masks(index, outlines, SPEC, tmp_path / "cache")
    assert masks.shape == (5, 48, 48) and masks.dtype == torch.uint8
    wanted = {"glioma/Tr-0000.png", "pituitary/Tr-0002.png", "meningioma/Tr-0003.png"}  # not notumor, not the one left out
    assert {name for name, flag in zip(index.names, outlined.tolist()) if flag} == wanted
    for i, name in enumerate(index.names):
        if name in wanted:
            mask_path = outlines.mask_paths()[outlines.names.index(name)]
            assert np.array_equal(masks[i].numpy(), cropped_mask(index.paths[i], mask_path, SPEC))
            assert masks[i].max() == 255
        else:
            assert masks[i].max() == 0
    assert len(list((tmp_path / "cache").glob("masks-*.pt"))) == 1

    def no_decoding(*_args):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(outline_crops, "cropped_mask", no_decoding)
    again, again_outlined = decode_masks(index, outlines, SPEC, tmp_path / "cache")
    assert torch.equal(again, masks) and torch.equal(again_outlined, outlined)
    with pytest.raises(AssertionError, match="decoded again"):  # another list of outlines is another key
        decode_masks(index, read_outlines(masks_dir, kaggle, "Training"), SPEC, tmp_path / "cache")
