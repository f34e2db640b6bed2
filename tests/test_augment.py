from dataclasses import replace

import pytest
import torch

from model.training.augment import AugmentConfig, augment_batch, augment_batch_with_masks, augment_settings


def test_augment_shapes_range_and_randomness():
    batch = torch.rand(6, 1, 40, 40)
    gen = torch.Generator().manual_seed(0)
    out = augment_batch(batch, 32, AugmentConfig(), gen)
    assert out.shape == (6, 1, 32, 32)
    assert out.min() >= 0 and out.max() <= 1
    again = augment_batch(batch, 32, AugmentConfig(), gen)
    assert not torch.allclose(out, again)


def test_disabled_augmentation_is_identity_up_to_resampling():
    batch = torch.rand(2, 1, 32, 32)
    off = AugmentConfig(rotate_deg=0, scale=(1, 1), translate=0, hflip=0, gamma=(1, 1), bias_field=0,
                        noise_p=0, blur_p=0, lowres_p=0)
    out = augment_batch(batch, 32, off, torch.Generator().manual_seed(0))
    assert torch.allclose(out, batch, atol=1e-5)


def test_seeded_generator_is_reproducible():
    batch = torch.rand(3, 1, 40, 40)
    a = augment_batch(batch, 32, AugmentConfig(), torch.Generator().manual_seed(7))
    b = augment_batch(batch, 32, AugmentConfig(), torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


ORIENTATION_ONLY = AugmentConfig(rotate_deg=0, scale=(1, 1), translate=0, hflip=0, gamma=(1, 1), bias_field=0,
                                 noise_p=0, blur_p=0, lowres_p=0)


def test_vflip_turns_every_slice_upside_down_when_certain():
    batch = torch.rand(3, 1, 32, 32)
    out = augment_batch(batch, 32, replace(ORIENTATION_ONLY, vflip=1.0), torch.Generator().manual_seed(0))
    assert torch.allclose(out, batch.flip(2), atol=1e-5)


def test_rot90_gives_quarter_turns_either_way():
    batch = torch.rand(16, 1, 32, 32)
    out = augment_batch(batch, 32, replace(ORIENTATION_ONLY, rot90=1.0), torch.Generator().manual_seed(0))
    turns = []
    for image, turned in zip(batch, out):
        match = [k for k in (1, -1) if torch.allclose(turned, torch.rot90(image, k, dims=(1, 2)), atol=1e-4)]
        assert len(match) == 1
        turns += match
    assert set(turns) == {1, -1}


def test_orientation_off_keeps_the_random_stream_of_older_runs():
    batch = torch.rand(4, 1, 40, 40)
    gen_a, gen_b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    augment_batch(batch, 32, AugmentConfig(), gen_a)
    augment_batch(batch, 32, AugmentConfig(), gen_b)
    assert torch.equal(torch.rand(1, generator=gen_a), torch.rand(1, generator=gen_b))
    # the draws for orientation happen only when asked for
    gen_c = torch.Generator().manual_seed(3)
    augment_batch(batch, 32, replace(AugmentConfig(), rot90=0.5), gen_c)
    assert not torch.equal(torch.rand(1, generator=torch.Generator().manual_seed(3)), torch.rand(1, generator=gen_c))


def test_augment_settings_parse_changes_and_refuse_unknown_names():
    settings = augment_settings(["rot90=0.25", "scale=0.8,1.2"])
    assert settings["rot90"] == 0.25 and settings["scale"] == (0.8, 1.2) and settings["vflip"] == 0.0
    with pytest.raises(ValueError, match="NAME one of"):
        augment_settings(["spin=1"])
    with pytest.raises(ValueError):
        augment_settings(["rot90=lots"])


def test_a_monotonic_contrast_curve_keeps_the_order_of_grey_levels_and_black_stays_black():
    from model.training.augment import AugmentConfig, random_contrast

    ramp = torch.linspace(0, 1, 64).repeat(3, 1, 64, 1)
    cfg = AugmentConfig(remap_p=1.0, remap_nonmonotonic=0.0)
    curved = random_contrast(ramp, cfg, torch.Generator().manual_seed(3))
    assert (curved[..., 1:] >= curved[..., :-1] - 1e-6).all() and (curved[..., 0] == 0).all()
    assert not torch.allclose(curved, ramp)
    wild = random_contrast(ramp, AugmentConfig(remap_p=1.0, remap_nonmonotonic=1.0), torch.Generator().manual_seed(3))
    assert (wild[..., 1:] < wild[..., :-1] - 1e-3).any()  # a non-monotonic curve inverts some tissue
    assert (wild[..., 0] == 0).all() and wild.min() >= 0 and wild.max() <= 1


def test_runs_without_contrast_curves_draw_the_same_random_numbers_as_before():
    from model.training.augment import AugmentConfig, augment_batch

    batch = torch.rand(4, 1, 40, 40)
    plain = augment_batch(batch, 32, AugmentConfig(), torch.Generator().manual_seed(1))
    named_off = augment_batch(batch, 32, AugmentConfig(remap_p=0.0, remap_knots=9), torch.Generator().manual_seed(1))
    assert torch.equal(plain, named_off)


def test_inversion_flips_tissue_and_keeps_the_background_black():
    from model.training.augment import random_inversion

    batch = torch.zeros(2, 1, 8, 8)
    batch[:, :, 2:6, 2:6] = torch.linspace(0.1, 0.9, 16).view(4, 4)
    out = random_inversion(batch, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(out[:, :, 0, 0], torch.zeros(2, 1))
    assert torch.allclose(out[:, :, 2:6, 2:6], 1.0 - batch[:, :, 2:6, 2:6])
    assert torch.equal(random_inversion(batch, 0.0, torch.Generator().manual_seed(0)), batch)


def test_equalisation_spreads_tissue_levels_evenly_and_keeps_their_order():
    from model.training.augment import random_equalisation

    batch = torch.zeros(1, 1, 8, 8)
    batch[0, 0, 2:6, 2:6] = (torch.linspace(0.1, 0.3, 16) ** 2).view(4, 4) + 0.05  # a dark, squeezed head
    out = random_equalisation(batch, 1.0, torch.Generator().manual_seed(0))
    tissue = out[0, 0, 2:6, 2:6].flatten()
    assert torch.allclose(tissue, torch.arange(1, 17) / 16)  # one level per rank, up to white
    assert out[0, 0, 0, 0] == 0 and torch.equal(tissue.argsort(), batch[0, 0, 2:6, 2:6].flatten().argsort())


def test_runs_without_inversion_or_equalisation_draw_the_same_random_numbers_as_before():
    batch = torch.rand(4, 1, 16, 16)
    plain = augment_batch(batch, 16, AugmentConfig(), torch.Generator().manual_seed(1))
    again = augment_batch(batch, 16, AugmentConfig(invert_p=0.0, equalise_p=0.0), torch.Generator().manual_seed(1))
    assert torch.equal(plain, again)


def test_pictures_augmented_with_masks_are_those_without_and_the_generators_stay_in_step():
    batch, masks = torch.rand(5, 1, 40, 40), (torch.rand(5, 1, 40, 40) > 0.5).float()
    cfg = AugmentConfig(rot90=0.5, vflip=0.5, remap_p=0.5, invert_p=0.3, noise_p=0.5, blur_p=0.3, lowres_p=0.3)
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    plain = augment_batch(batch, 32, cfg, gen_a)
    pictures, moved = augment_batch_with_masks(batch, masks, 32, cfg, gen_b)
    assert torch.equal(pictures, plain) and moved.shape == (5, 1, 32, 32)
    assert torch.equal(torch.rand(3, generator=gen_a), torch.rand(3, generator=gen_b))


def test_a_mask_on_the_bright_square_moves_with_it():
    geometry_only = AugmentConfig(gamma=(1, 1), bias_field=0, noise_p=0, blur_p=0, lowres_p=0, rot90=0.5)
    masks = torch.zeros(8, 1, 40, 40)
    masks[..., 6:16, 22:34] = 1.0  # off-centre, so every rotation, flip and shift shows
    pictures, moved = augment_batch_with_masks(masks * 0.8, masks, 32, geometry_only, torch.Generator().manual_seed(2))
    assert torch.allclose(pictures, moved * 0.8, atol=1e-5) and (moved.sum((1, 2, 3)) > 20).all()
    unmoved = torch.nn.functional.interpolate(masks, size=32, mode="bilinear")
    assert not torch.allclose(moved, unmoved, atol=0.1)  # the geometry did move them
