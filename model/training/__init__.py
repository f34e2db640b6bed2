"""Training: settings, the loop (on one process or several), resumption, augmentation, distillation,
weight soups.

Import the modules themselves (``from model.training.augment import …``): this file loads none of them.
"""
__all__ = ["augment", "config", "distill", "distributed", "resume", "soup", "steps", "train"]
