"""What every classifier shares, whichever engine runs its network: names, calibrated probabilities,
the "not a brain MRI" check and the explanation built from them. No torch.

:class:`model.classifier.inference.Classifier` (PyTorch) and
:class:`model.classifier.graph_classifier.GraphClassifier` (ONNX Runtime) both derive from
:class:`AnswerRules`, so one upload gets the same answer and the same refusal from either.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from PIL import Image
from scipy.special import softmax

from ..names import class_name
from .explanation import DISPLAY_SIDE, Explanation
from .guard import FeatureGuard, input_problem
from . import heat_map_methods
from .preprocess import GreySlice

if TYPE_CHECKING:
    from .preprocess import CropBox, PreprocessSpec
    from .sequence import SequenceModel

__all__ = ["AnswerRules", "NOT_LIKE_TRAINING"]

NOT_LIKE_TRAINING = "it does not look like the brain MRI slices the model was trained on"


class AnswerRules:
    """The part of a classifier that turns its network's logits and features into an answer.

    Subclasses set the attributes below and provide :meth:`features`, ``explain`` and ``heat_map``.
    """

    classes: list[str]
    spec: PreprocessSpec
    metadata: dict[str, Any]
    guard: FeatureGuard | None
    #: T1 / T1C+ / T2 from the same features (``<checkpoint>.sequence.json``), or None.
    sequence_model: SequenceModel | None

    @property
    def temperature(self) -> float:
        """The calibration temperature the logits are divided by (1 when the checkpoint has none)."""
        return float(self.metadata.get("temperature", 1.0))

    @property
    def display_names(self) -> list[str]:
        return [class_name(c) for c in self.classes]

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities ``(N, C)`` from logits ``(N, C)``."""
        return softmax(np.asarray(logits, np.float64) / self.temperature, axis=1).astype(np.float32)

    def features(self, images: Sequence[Image.Image | GreySlice]) -> np.ndarray:
        """Penultimate-layer features ``(N, D)``."""
        raise NotImplementedError

    def draws_now(self, method: str) -> bool:
        """Can the heat map ``method`` be drawn without first importing torch and pytorch-grad-cam (~4 s on
        a cold server)? If not, a page shows the answer first (``explain(..., heatmap=False)``)."""
        return heat_map_methods.cam_library_loaded()  # looked up here, so a test can pretend either way

    def answer_first(self, image: Image.Image, method: str) -> Explanation:
        """What a page shows at once: the answer with its ``method`` map when that can be drawn now, else
        the answer alone, with the map's libraries starting to load (:meth:`with_map` adds the map)."""
        if self.draws_now(method):
            return self.explain(image, method=method)
        answer = self.explain(image, heatmap=False)
        heat_map_methods.load_cam_library_in_background()
        return answer

    def with_map(self, image: Image.Image, answer: Explanation, method: str) -> Explanation:
        """``answer`` with its ``method`` map drawn, without classifying again."""
        if answer.crop_map is not None:
            return answer
        return answer.with_heat_map(*self.heat_map(image, answer.class_index, method))

    def _problem(self, image: Image.Image, features: np.ndarray | None, prepared: GreySlice | None = None) -> str | None:
        problem = input_problem(image, prepared)
        if problem is None and self.guard is not None and features is not None:
            problem = None if self.guard.accepts(features[None])[0] else NOT_LIKE_TRAINING
        return problem

    def check_inputs(self, images: Sequence[Image.Image]) -> list[str | None]:
        """Per image: why it is not a brain MRI, or ``None`` when it looks like one."""
        if len(images) == 0:
            return []
        prepared = [GreySlice.of(im) for im in images]
        features = self.features(prepared) if self.guard is not None else [None] * len(images)
        return [self._problem(im, f, p) for im, f, p in zip(images, features, prepared)]

    def is_brain_mri(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Boolean ``(N,)``: does each image look like a brain MRI slice?"""
        return np.array([p is None for p in self.check_inputs(images)], dtype=bool)

    def _explanation(self, image: Image.Image, prepared: GreySlice, logits: np.ndarray, features: np.ndarray,
                     class_index: int | None, heat: np.ndarray | None = None, box: CropBox | None = None) -> Explanation:
        """One image's :class:`Explanation` from its logits ``(C,)`` and features ``(D,)``."""
        probs = self.probabilities(np.asarray(logits)[None])[0]
        chosen = int(np.argmax(probs)) if class_index is None else class_index
        sequence = self.sequence_model.estimate(features) if self.sequence_model else None
        return Explanation(probs, chosen, heat, self._problem(image, features, prepared), box, image.size,
                           prepared.preview(DISPLAY_SIDE), sequence)
