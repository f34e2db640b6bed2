"""The classifier: an image → an answer (preprocessing, networks, checkpoints, the "not an MRI" guard).

``classifier.Classifier`` is the one class that answers; ``engines/`` run its network (PyTorch, or the
checkpoint's ONNX graph), ``heat_maps/`` draw where it looked. Import the modules themselves
(``from model.classifier.classifier import load_classifier``): this file loads none of them.
"""
__all__ = ["app_classifier", "checkpoint", "classifier", "engines", "explanation", "factory", "guard", "heat_maps",
           "preprocess", "sequence", "wheel_weights"]
