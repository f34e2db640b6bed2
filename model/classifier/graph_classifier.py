"""A classifier that runs its checkpoint's ONNX graph (``model.classifier.graph``): answers without torch.

The app's cold start is mostly imports: the CUDA build of torch that ``pip install torch`` brings takes
1.4-2.7 s and ~500 MiB to import, torchvision another ~1.5 s (docs/speed.md). This classifier answers,
checks the input, estimates the sequence and draws the default Grad-CAM (:mod:`model.classifier.activation_maps`)
with NumPy and ONNX Runtime only; torch loads with the first other heat map
(:mod:`model.classifier.graph_heat_map`), and a map on an earlier block (LayerCAM)
hands over to the PyTorch :class:`~model.classifier.inference.Classifier` of the same checkpoint.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..results import SEQUENCE
from .activation_maps import class_activation_maps
from .answers import AnswerRules
from .checkpoint import GUARD_PREFIX, CheckpointError, read_arrays, read_metadata
from .explanation import Explanation
from .graph import ClassifierGraph, GraphOutputs
from .guard import FeatureGuard
from .heat_map_methods import HEAT_MAP_METHODS, draws_from_graph, drawn_in_numpy, heat_map_method
from .preprocess import CropBox, GreySlice, PreprocessSpec
from .sequence import SequenceModel

__all__ = ["GraphClassifier"]


class GraphClassifier(AnswerRules):
    """A bundled checkpoint, run by ONNX Runtime; the same answers as the PyTorch classifier (tested)."""

    def __init__(self, checkpoint: str | Path, graph: ClassifierGraph, metadata: dict[str, Any],
                 guard: FeatureGuard | None = None, sequence_model: SequenceModel | None = None):
        self.checkpoint = Path(checkpoint)
        self.graph = graph
        self.metadata = metadata
        self.arch = metadata["arch"]
        self.classes = list(metadata["classes"])
        try:
            self.spec = PreprocessSpec.from_dict(metadata["preprocess"])
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{self.checkpoint.name}: {err}") from err
        self.guard = guard
        self.sequence_model = sequence_model
        # one classifier serves every app session: the session, the head and the fallback are shared
        self._lock = threading.RLock()
        self._weight = None  # the head's weight, with the first Grad-CAM
        self._heat_maps = None  # GraphHeatMaps, with the first map of another method (it imports torch)
        self._fallback = None  # the PyTorch Classifier, with the first map the graph cannot draw

    @classmethod
    def open(cls, path: str | Path) -> "GraphClassifier | None":
        """The checkpoint with its graph, or ``None`` when it has no graph made from these bytes (or
        ONNX Runtime is missing)."""
        graph = ClassifierGraph.open(path)
        return None if graph is None else cls.with_graph(path, graph)

    @classmethod
    def with_graph(cls, path: str | Path, graph: ClassifierGraph) -> "GraphClassifier":
        """The checkpoint ``path`` around its graph, already opened."""
        guard = FeatureGuard.from_tensors(read_arrays(path, GUARD_PREFIX))
        return cls(path, graph, read_metadata(path), guard, SequenceModel.from_file(SEQUENCE.path(path)))

    def _run(self, images: Sequence[Image.Image | GreySlice]) -> GraphOutputs:
        squares = self.spec.squares(images)
        with self._lock:
            return self.graph(squares)

    def _chunks(self, images: Sequence[Image.Image | GreySlice], batch_size: int) -> list[GraphOutputs]:
        return [self._run(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]

    def predict_proba(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
        """Class probabilities ``(N, C)`` for PIL images of any size and mode, in :attr:`classes` order."""
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return np.concatenate([self.probabilities(out.logits) for out in self._chunks(images, batch_size)])

    def features(self, images: Sequence[Image.Image | GreySlice], batch_size: int = 32) -> np.ndarray:
        """Penultimate-layer features ``(N, D)``."""
        return np.concatenate([out.features for out in self._chunks(images, batch_size)])

    def predict_and_check(self, images: Sequence[Image.Image],
                          batch_size: int = 32) -> tuple[np.ndarray, list[str | None]]:
        """:meth:`predict_proba` and :meth:`check_inputs` from one pass per chunk."""
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32), []
        greys = [GreySlice.of(im) for im in images]
        outputs = self._chunks(greys, batch_size)
        features = np.concatenate([out.features for out in outputs])
        problems = [self._problem(im, f, g) for im, f, g in zip(images, features, greys)]  # f unused without a guard
        return np.concatenate([self.probabilities(out.logits) for out in outputs]), problems

    def explain(self, image: Image.Image, class_index: int | None = None, heatmap: bool = True,
                method: str = HEAT_MAP_METHODS[0].name, prepared: GreySlice | None = None) -> Explanation:
        """As :meth:`model.classifier.inference.Classifier.explain`: probabilities, the input check and,
        unless ``heatmap=False`` (no torch), the heat map ``method``."""
        prepared = GreySlice.of(image) if prepared is None else prepared
        if heatmap and not draws_from_graph(heat_map_method(method)):  # an earlier block: one PyTorch pass
            return self._pytorch_classifier().explain(image, class_index, method=method, prepared=prepared)
        out, box = self._run_one(prepared)
        heat = None
        if heatmap:
            heat, box = self._map(out, box, class_index, method)
        return self._explanation(image, prepared, out.logits[0], out.features[0], class_index, heat, box)

    def draws_now(self, method: str) -> bool:
        return drawn_in_numpy(heat_map_method(method)) or super().draws_now(method)

    def heat_map(self, image: Image.Image | GreySlice, class_index: int,
                 method: str = HEAT_MAP_METHODS[0].name) -> tuple[np.ndarray, CropBox]:
        """Only the heat map for ``class_index``: the map over the crop, and the crop box."""
        prepared = GreySlice.of(image)
        if not draws_from_graph(heat_map_method(method)):  # the graph's activations are of no use to it
            return self._pytorch_classifier().heat_map(prepared, class_index, method)
        return self._map(*self._run_one(prepared), class_index, method)

    def _run_one(self, prepared: GreySlice) -> tuple[GraphOutputs, CropBox]:
        """One image through the graph, and its crop box."""
        square, box = self.spec.to_square_grey(prepared)
        with self._lock:
            return self.graph(square[None]), box

    def _map(self, out: GraphOutputs, box: CropBox, class_index: int | None,
             method: str) -> tuple[np.ndarray, CropBox]:
        """A map drawn from the graph's last-block activations ``out`` (:func:`draws_from_graph` methods)."""
        chosen = heat_map_method(method)
        if drawn_in_numpy(chosen):  # no torch
            target = int(np.argmax(out.logits[0])) if class_index is None else class_index
            return class_activation_maps(out.activations, self._head_weight(), target, self.spec.input_size)[0], box
        from .graph_heat_map import GraphHeatMaps  # torch: with the first other map only

        with self._lock:
            if self._heat_maps is None:
                self._heat_maps = GraphHeatMaps.from_checkpoint(self.checkpoint, self.graph.head_keys,
                                                                self.spec.input_size)
            return self._heat_maps(out.activations, class_index, chosen)[0], box

    def _head_weight(self) -> np.ndarray:
        """The final linear layer's weight ``(C, K)``, read from the checkpoint with the first map."""
        with self._lock:
            if self._weight is None:
                self._weight = read_arrays(self.checkpoint, keys=self.graph.head_keys)[self.graph.head_keys[0]]
            return self._weight

    def _pytorch_classifier(self):
        if self._fallback is None:
            from .inference import load_classifier

            self._fallback = load_classifier(self.checkpoint, backends=False)
        return self._fallback

    def gradcam(self, image: Image.Image, class_index: int | None = None) -> np.ndarray:
        """Grad-CAM heat map ``(H, W)`` in [0, 1], the size of ``image``."""
        return self.explain(image, class_index).heatmap

