"""Training: settings, the loop, resumption, augmentation, distillation, weight soups.

Import the modules themselves (``from model.training.augment import …``): this file loads none of them.
"""
__all__ = ["augment", "config", "distill", "resume", "soup", "train"]
