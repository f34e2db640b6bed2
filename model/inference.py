"""The public inference API: load a checkpoint, predict, explain."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from .checkpoint import load_checkpoint
from .factory import cam_target_layer, create_model, to_channels_last
from .gradcam import GradCamExplainer, overlay_heatmap
from .preprocess import PreprocessSpec, uint8_to_float, uncrop_map

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_CHECKPOINT = WEIGHTS_DIR / "resnet50.safetensors"

#: Words a person reads, per class folder name.
DISPLAY_NAMES = {
    "glioma": "Glioma",
    "meningioma": "Meningioma",
    "notumor": "No tumour",
    "pituitary": "Pituitary tumour",
}


@dataclass
class Explanation:
    """One image's prediction and where the network looked.

    Attributes:
        probabilities: ``(C,)`` class probabilities in ``classes`` order.
        class_index: the explained class (the top one unless asked otherwise).
        heatmap: ``(H, W)`` Grad-CAM map in [0, 1], the size of the input image.
    """

    probabilities: np.ndarray
    class_index: int
    heatmap: np.ndarray

    def overlay(self, image: Image.Image, opacity: float = 0.5) -> Image.Image:
        return overlay_heatmap(image, self.heatmap, opacity)


class Classifier:
    """A trained network together with the preprocessing it was trained with."""

    def __init__(self, model: torch.nn.Module, arch: str, classes: Sequence[str],
                 spec: PreprocessSpec, metadata: dict[str, Any] | None = None):
        self.model = to_channels_last(model).eval()
        self.arch = arch
        self.classes = list(classes)
        self.spec = spec
        self.metadata = metadata or {}
        self.temperature = float(self.metadata.get("temperature", 1.0))

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "Classifier":
        state, meta = load_checkpoint(path)
        model = create_model(meta["arch"], len(meta["classes"]))
        model.load_state_dict(state)
        return cls(model, meta["arch"], meta["classes"], PreprocessSpec.from_dict(meta["preprocess"]), meta)

    @property
    def display_names(self) -> list[str]:
        return [DISPLAY_NAMES.get(c, c) for c in self.classes]

    def _batch(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return self.spec(list(images)).contiguous(memory_format=torch.channels_last)

    def _softmax(self, logits: torch.Tensor) -> np.ndarray:
        return torch.softmax(logits.float() / self.temperature, dim=1).numpy()

    @torch.inference_mode()
    def predict_proba(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
        """Class probabilities for PIL images of any size and mode.

        Returns:
            ``(N, C)`` float array in :attr:`classes` order; rows sum to 1.
        """
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        chunks = [self._softmax(self.model(self._batch(images[i:i + batch_size])))
                  for i in range(0, len(images), batch_size)]
        return np.concatenate(chunks).astype(np.float32)

    def predict_tensor(self, batch: torch.Tensor) -> np.ndarray:
        """Probabilities for an already preprocessed ``(N, C, H, W)`` batch."""
        with torch.inference_mode():
            return self._softmax(self.model(batch.contiguous(memory_format=torch.channels_last)))

    def explain(self, image: Image.Image, class_index: int | None = None) -> Explanation:
        """Probabilities and Grad-CAM for one image, from a single forward/backward pass."""
        square, box = self.spec.to_square_grey(image)
        batch = self.spec.normalise(uint8_to_float(square[None])).contiguous(memory_format=torch.channels_last)
        with GradCamExplainer(self.model, cam_target_layer(self.model, self.arch)) as explainer:
            heat, logits = explainer(batch, class_index)
        probs = self._softmax(logits)[0]
        chosen = int(np.argmax(probs)) if class_index is None else class_index
        return Explanation(probs, chosen, uncrop_map(heat[0], box, image.size))

    def gradcam(self, image: Image.Image, class_index: int | None = None) -> np.ndarray:
        """Grad-CAM heat map ``(H, W)`` in [0, 1], the size of ``image``."""
        return self.explain(image, class_index).heatmap


def load_classifier(path: str | Path | None = None) -> Classifier:
    """Load a checkpoint; with no argument, the bundled ResNet50."""
    return Classifier.from_checkpoint(path or DEFAULT_CHECKPOINT)


def bundled_checkpoints() -> list[Path]:
    """Every checkpoint shipped in ``model/weights``."""
    return sorted(WEIGHTS_DIR.glob("*.safetensors"))
