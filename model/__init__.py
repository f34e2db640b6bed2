"""Brain-tumour MRI classifier: training, evaluation and inference.

Public API::

    from model import load_classifier, load_image
    clf = load_classifier()                  # bundled ResNet50
    probs = clf.predict_proba([image])       # (N, C) in clf.classes order
    explanation = clf.explain(image)         # probabilities + Grad-CAM map
"""
from .checkpoint import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
from .factory import PretrainedWeightsUnavailable, available_models, create_model
from .gradcam import GradCamExplainer, overlay_heatmap
from .imageio import ImageLoadError, load_image
from .inference import (DEFAULT_CHECKPOINT, DISPLAY_NAMES, Classifier, Explanation, bundled_checkpoints,
                        load_classifier)
from .metrics import classification_metrics
from .preprocess import PreprocessSpec

__all__ = [
    "CheckpointError", "Classifier", "DEFAULT_CHECKPOINT", "DISPLAY_NAMES", "Explanation",
    "GradCamExplainer", "ImageLoadError", "PreprocessSpec", "PretrainedWeightsUnavailable",
    "available_models", "bundled_checkpoints", "classification_metrics", "create_model",
    "load_checkpoint", "load_classifier", "load_image", "overlay_heatmap", "read_metadata",
    "save_checkpoint",
]
