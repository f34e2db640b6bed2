"""The public inference API: load a checkpoint, predict, explain."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from ..paths import DEFAULT_CHECKPOINT
from ..results import SEQUENCE
from .answers import NOT_LIKE_TRAINING, AnswerRules
from .backend_choice import BATCH
from .backend_runtime import TrunkBackends
from .checkpoint import CheckpointError, load_checkpoint, split_guard_tensors
from .factory import create_model, to_channels_last
from .explanation import Explanation
from .gradcam import heat_map_explainer
from .heat_map_methods import HEAT_MAP_METHODS
from .guard import FeatureGuard, PenultimateFeatures
from .preprocess import CropBox, GreySlice, PreprocessSpec, uint8_to_float
from .sequence import SequenceModel

#: Batches of at least this many images use the backend measured fastest for batches: the size it is timed at.
BATCH_FROM = BATCH
__all__ = ["Classifier", "NOT_LIKE_TRAINING", "load_classifier"]


class Classifier(AnswerRules):
    """A trained network together with the preprocessing it was trained with, in PyTorch."""

    def __init__(self, model: torch.nn.Module, arch: str, classes: Sequence[str],
                 spec: PreprocessSpec, metadata: dict[str, Any] | None = None,
                 guard: FeatureGuard | None = None, backends: bool = True,
                 sequence_model: SequenceModel | None = None, checkpoint: Path | None = None):
        self.model = to_channels_last(model).eval()
        self.guard = guard
        self.arch = arch
        self.classes = list(classes)
        self.spec = spec
        self.metadata = metadata or {}
        self.sequence_model = sequence_model
        # One classifier serves every app session; hooks and Grad-CAM's frozen
        # parameters must not interleave between threads.
        self._lock = threading.RLock()
        #: which network runs a batch: PyTorch fp32 until a faster backend has been measured for this machine
        self.backends = TrunkBackends(self.model, arch, spec, checkpoint, self._lock, enabled=backends)

    @classmethod
    def from_checkpoint(cls, path: str | Path, backends: bool = True) -> "Classifier":
        """Load a checkpoint; ``backends=False`` keeps every batch in PyTorch fp32."""
        tensors, meta = load_checkpoint(path, channels_last=True)
        try:
            spec = PreprocessSpec.from_dict(meta["preprocess"])
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{Path(path).name}: {err}") from err
        weights, guard = split_guard_tensors(tensors)
        with torch.device("meta"):  # no random init to throw away: faster, and ~100 MB lower peak
            model = create_model(meta["arch"], len(meta["classes"]))
        model.load_state_dict(weights, assign=True)
        return cls(model, meta["arch"], meta["classes"], spec, meta, FeatureGuard.from_tensors(guard), backends,
                   SequenceModel.from_file(SEQUENCE.path(path)), Path(path))

    def _batch(self, images: Sequence[Image.Image | GreySlice]) -> torch.Tensor:
        return self.spec(list(images)).contiguous(memory_format=torch.channels_last)

    def _network(self, count: int) -> torch.nn.Module:
        """The network for a batch of ``count``: the backend measured fastest for that size on this machine
        (the first large batch makes the choice, unless it is made or being made)."""
        if count >= BATCH_FROM:
            self.backends.choose_now()
            return self.backends.batch_network
        return self.backends.single_network

    def _logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of a preprocessed batch."""
        return self._network(len(batch))(batch.contiguous(memory_format=torch.channels_last))

    def _softmax(self, logits: torch.Tensor) -> np.ndarray:
        return self.probabilities(logits.detach().float().numpy())

    @torch.inference_mode()
    def predict_proba(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
        """Class probabilities for PIL images of any size and mode.

        Returns:
            ``(N, C)`` float array in :attr:`classes` order; rows sum to 1.
        """
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        with self._lock:
            chunks = [self._softmax(self._logits(self._batch(images[i:i + batch_size])))
                      for i in range(0, len(images), batch_size)]
        return np.concatenate(chunks).astype(np.float32)

    def predict_tensor(self, batch: torch.Tensor) -> np.ndarray:
        """Probabilities for an already preprocessed ``(N, C, H, W)`` batch."""
        with torch.inference_mode(), self._lock:
            return self._softmax(self._logits(batch))

    @torch.inference_mode()
    def batch_features(self, batch: torch.Tensor) -> np.ndarray:
        """Penultimate-layer features ``(N, D)`` of an already preprocessed batch."""
        with self._lock, PenultimateFeatures(self.model) as hook:
            self._logits(batch)
        return hook.features.numpy()

    def features(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Penultimate-layer features ``(N, D)`` of PIL images."""
        return self.batch_features(self._batch(images))

    @torch.inference_mode()
    def predict_and_check(self, images: Sequence[Image.Image],
                          batch_size: int = 32) -> tuple[np.ndarray, list[str | None]]:
        """:meth:`predict_proba` and :meth:`check_inputs` together, from one forward pass per chunk.

        With a feature guard the pass stays in PyTorch, which alone gives the features. Each
        image's grey pixels and head mask are computed once for both.
        """
        if self.guard is None:
            return self.predict_proba(images, batch_size), self.check_inputs(images)
        probs, problems = [], []
        for start in range(0, len(images), batch_size):
            chunk = list(images[start:start + batch_size])
            greys = [GreySlice.of(im) for im in chunk]
            with self._lock, PenultimateFeatures(self.model) as hook:
                probs.append(self._softmax(self._logits(self._batch(greys))))
            problems += [self._problem(im, f, p) for im, f, p in zip(chunk, hook.features.numpy(), greys)]
        if not probs:
            return np.zeros((0, len(self.classes)), dtype=np.float32), []
        return np.concatenate(probs).astype(np.float32), problems

    def explain(self, image: Image.Image, class_index: int | None = None, heatmap: bool = True,
                method: str = HEAT_MAP_METHODS[0].name, prepared: GreySlice | None = None) -> Explanation:
        """Probabilities, a heat map and the input check for one image, from one forward/backward pass.

        Args:
            class_index: the class to explain; ``None`` explains the top class.
            heatmap: ``False`` skips the heat map (one forward pass; no pytorch-grad-cam import,
                so a cold app can show its answer first and add the map with :meth:`heat_map`).
            method: a name from :data:`model.classifier.heat_map_methods.HEAT_MAP_METHODS` (default Grad-CAM).
            prepared: ``GreySlice.of(image)`` when the caller has it (several models, one upload).
        """
        prepared = GreySlice.of(image) if prepared is None else prepared
        heat = box = None
        with self._lock, PenultimateFeatures(self.model) as hook:
            if heatmap:
                heat, box, logits = self._cam(prepared, class_index, method)
            else:
                with torch.inference_mode():
                    logits = self._logits(self._batch([prepared]))
        return self._explanation(image, prepared, logits.detach().float().numpy()[0], hook.features[0].numpy(),
                                 class_index, heat, box)

    def heat_map(self, image: Image.Image | GreySlice, class_index: int,
                 method: str = HEAT_MAP_METHODS[0].name) -> tuple[np.ndarray, CropBox]:
        """Only the heat map for ``class_index``: the map over the crop and the crop box.

        For an answer already given (``explain(..., heatmap=False)``); the answer and the input
        check are not computed again. Combine with :meth:`Explanation.with_heat_map`.
        """
        with self._lock:
            heat, box, _ = self._cam(GreySlice.of(image), class_index, method)
        return heat, box

    def _cam(self, prepared: GreySlice, class_index: int | None, method: str) -> tuple[np.ndarray, CropBox, torch.Tensor]:
        """One forward/backward pass: the crop's heat map, the crop box and the logits."""
        square, box = self.spec.to_square_grey(prepared)
        batch = self.spec.normalise(uint8_to_float(square[None])).contiguous(memory_format=torch.channels_last)
        with heat_map_explainer(self.model, self.arch, method, self.backends.split_network) as explainer:
            heat, logits = explainer(batch, class_index)
        return heat[0], box, logits

    def gradcam(self, image: Image.Image, class_index: int | None = None) -> np.ndarray:
        """Grad-CAM heat map ``(H, W)`` in [0, 1], the size of ``image``."""
        return self.explain(image, class_index).heatmap


def load_classifier(path: str | Path | None = None, backends: bool = True) -> Classifier:
    """Load a checkpoint; with no argument, the bundled ResNet50.

    Args:
        path: a ``.safetensors`` checkpoint written by this package.
        backends: run the network the way measured fastest on this machine (bf16, ONNX Runtime fp32 or
            int8, where each keeps the answers; ``model.classifier.backend_choice``). ``False``: PyTorch fp32.
    """
    return Classifier.from_checkpoint(path or DEFAULT_CHECKPOINT, backends)

