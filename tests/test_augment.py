import torch

from model.augment import AugmentConfig, augment_batch


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
