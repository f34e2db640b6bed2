"""The classifier: an image → an answer (preprocessing, networks, checkpoints, the "not an MRI" guard, heat maps).

Import the modules themselves (``from model.classifier.batch_engine import …``): this file loads none of them.
"""
__all__ = ["batch_engine", "checkpoint", "factory", "gradcam", "guard", "inference", "preprocess"]
