"""The classifier: a checkpoint's network behind an engine (:mod:`model.classifier.engines`), and the one
code path that turns its outputs into answers, the "not a brain MRI" check, the sequence estimate and
every heat map. No torch unless the engine, or a heat map other than the default, needs it.

    clf = load_classifier()                          # the bundled ResNet50, in PyTorch fp32
    clf = load_classifier(path, engine="onnx-graph")  # its ONNX graph: no torch
    probs = clf.predict_proba(images)
    answer = clf.explain(image)                      # probabilities, Grad-CAM, the input check
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from PIL import Image
from scipy.special import softmax

from ..names import class_name
from ..paths import DEFAULT_CHECKPOINT
from ..results import SEQUENCE
from .checkpoint import GUARD_PREFIX, CheckpointError, read_arrays, read_metadata
from .engines import ENGINES, Engine, NetworkOutputs
from .explanation import DISPLAY_SIDE, Explanation
from .guard import FeatureGuard, PenultimateFeatures, input_problem
from .heat_maps import methods as heat_map_methods
from .heat_maps.activation_maps import class_activation_maps
from .heat_maps.methods import HEAT_MAP_METHODS, HeatMapMethod, draws_from_activations, drawn_in_numpy, heat_map_method
from .preprocess import CropBox, GreySlice, PreprocessSpec
from .sequence import SequenceModel

if TYPE_CHECKING:
    from .engines.torch_engine import TorchEngine

__all__ = ["Classifier", "NOT_LIKE_TRAINING", "classifier_with_engine", "load_classifier"]

NOT_LIKE_TRAINING = "it does not look like the brain MRI slices the model was trained on"
DEFAULT_MAP = HEAT_MAP_METHODS[0].name


class Classifier:
    """A trained network, the preprocessing it was trained with, its guard and sequence estimate."""

    def __init__(self, engine: Engine, metadata: dict[str, Any], guard: FeatureGuard | None = None,
                 sequence_model: SequenceModel | None = None, checkpoint: str | Path | None = None):
        self.engine, self.metadata, self.guard = engine, metadata, guard
        self.arch, self.classes = metadata["arch"], list(metadata["classes"])
        try:
            self.spec = PreprocessSpec.from_dict(metadata["preprocess"])
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{Path(checkpoint or 'checkpoint').name}: {err}") from err
        #: T1 / T1C+ / T2 from the same features (``<checkpoint>.sequence.json``), or None.
        self.sequence_model = sequence_model
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        # One classifier serves every app session: engine calls and heat-map hooks must not interleave.
        self._lock = threading.RLock()
        self._pytorch = engine if hasattr(engine, "model") else None  # for maps on earlier blocks
        self._activation_maps = None  # ActivationHeatMaps, with the first map of another method (torch)

    # -- probabilities -------------------------------------------------------
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

    def run_squares(self, squares: np.ndarray) -> NetworkOutputs:
        """The engine's outputs for stage-1 squares ``(N, S, S)`` (a decoded cache, say)."""
        with self._lock:
            return self.engine(squares)

    def _outputs(self, images: Sequence[Image.Image | GreySlice], batch_size: int) -> list[NetworkOutputs]:
        return [self.run_squares(self.spec.squares(images[i:i + batch_size])) for i in range(0, len(images), batch_size)]

    def predict_proba(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
        """Class probabilities ``(N, C)`` for PIL images of any size and mode, in :attr:`classes` order."""
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return np.concatenate([self.probabilities(out.logits) for out in self._outputs(images, batch_size)])

    def features(self, images: Sequence[Image.Image | GreySlice], batch_size: int = 32) -> np.ndarray:
        """Penultimate-layer features ``(N, D)``."""
        return np.concatenate([out.features for out in self._outputs(images, batch_size)])

    # -- the input check -----------------------------------------------------
    def predict_and_check(self, images: Sequence[Image.Image],
                          batch_size: int = 32) -> tuple[np.ndarray, list[str | None]]:
        """:meth:`predict_proba` and :meth:`check_inputs` from one pass per chunk; each image's grey
        pixels and head mask are computed once for both."""
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32), []
        greys = [GreySlice.of(im) for im in images]
        outputs = self._outputs(greys, batch_size)
        features = np.concatenate([out.features for out in outputs])
        problems = [self._problem(im, f, g) for im, f, g in zip(images, features, greys)]
        return np.concatenate([self.probabilities(out.logits) for out in outputs]), problems

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

    def _problem(self, image: Image.Image, features: np.ndarray | None, prepared: GreySlice | None = None) -> str | None:
        problem = input_problem(image, prepared)
        if problem is None and self.guard is not None and features is not None:
            problem = None if self.guard.accepts(features[None])[0] else NOT_LIKE_TRAINING
        return problem

    # -- one image: the answer and its heat map ------------------------------
    def explain(self, image: Image.Image, class_index: int | None = None, heatmap: bool = True,
                method: str = DEFAULT_MAP, prepared: GreySlice | None = None) -> Explanation:
        """Probabilities, a heat map and the input check for one image, from one pass of the network.

        Args:
            class_index: the class to explain; ``None`` explains the top class.
            heatmap: ``False`` skips the heat map (:meth:`with_map` adds it later).
            method: a name from :data:`HEAT_MAP_METHODS` (default Grad-CAM).
            prepared: ``GreySlice.of(image)`` when the caller has it (several models, one upload).
        """
        prepared = GreySlice.of(image) if prepared is None else prepared
        chosen = heat_map_method(method)
        if heatmap and not self._from_activations(chosen):  # an earlier block: one PyTorch pass answers too
            heat, box, logits, features = self._pytorch_pass(prepared, class_index, chosen)
            return self._explanation(image, prepared, logits, features, class_index, heat, box)
        out, box = self._run_one(prepared)
        heat = self._map(out, class_index, chosen) if heatmap else None
        return self._explanation(image, prepared, out.logits[0], out.features[0], class_index, heat, box)

    def heat_map(self, image: Image.Image | GreySlice, class_index: int,
                 method: str = DEFAULT_MAP) -> tuple[np.ndarray, CropBox]:
        """Only the heat map for ``class_index``: the map over the crop, and the crop box."""
        prepared, chosen = GreySlice.of(image), heat_map_method(method)
        if not self._from_activations(chosen):
            return self._pytorch_pass(prepared, class_index, chosen)[:2]
        out, box = self._run_one(prepared)
        return self._map(out, class_index, chosen), box

    def gradcam(self, image: Image.Image, class_index: int | None = None) -> np.ndarray:
        """Grad-CAM heat map ``(H, W)`` in [0, 1], the size of ``image``."""
        return self.explain(image, class_index).heatmap

    def draws_now(self, method: str) -> bool:
        """Can the heat map ``method`` be drawn without first importing torch and pytorch-grad-cam (~4 s on
        a cold server)? If not, a page shows the answer first (:meth:`answer_first`)."""
        if self.engine.linear_head and drawn_in_numpy(heat_map_method(method)):
            return True
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

    def _from_activations(self, method: HeatMapMethod) -> bool:
        return self.engine.linear_head and draws_from_activations(method)

    def _run_one(self, prepared: GreySlice) -> tuple[NetworkOutputs, CropBox]:
        square, box = self.spec.to_square_grey(prepared)
        return self.run_squares(square[None]), box

    def _map(self, out: NetworkOutputs, class_index: int | None, method: HeatMapMethod) -> np.ndarray:
        """The map over the crop from the last block's activations (:func:`draws_from_activations` methods)."""
        target = int(np.argmax(out.logits[0])) if class_index is None else class_index
        if drawn_in_numpy(method):  # no torch
            return class_activation_maps(out.activations, self.engine.head()[0], target, self.spec.input_size)[0]
        from .heat_maps.from_activations import ActivationHeatMaps  # torch: with the first other map only

        with self._lock:
            if self._activation_maps is None:
                self._activation_maps = ActivationHeatMaps(*self.engine.head(), self.spec.input_size)
            return self._activation_maps(out.activations, target, method)[0]

    def _pytorch_pass(self, prepared: GreySlice, class_index: int | None,
                      method: HeatMapMethod) -> tuple[np.ndarray, CropBox, np.ndarray, np.ndarray]:
        """One forward/backward pass of the PyTorch network: the map over the crop, the box, logits, features."""
        from .heat_maps.gradcam import heat_map_explainer  # torch and pytorch-grad-cam: with the first such map

        engine = self.pytorch_engine()
        square, box = self.spec.to_square_grey(prepared)
        with self._lock, PenultimateFeatures(engine.model) as kept, \
                heat_map_explainer(engine.model, self.arch, method) as explain:
            heat, logits = explain(engine.network_input(square[None]), class_index)
        return heat[0], box, logits.detach().float().numpy()[0], kept.features[0].numpy()

    def pytorch_engine(self) -> TorchEngine:
        """The PyTorch engine: the classifier's own, or the checkpoint's in fp32, loaded on first use."""
        with self._lock:
            if self._pytorch is None:
                from .engines.torch_engine import TorchEngine

                if self.checkpoint is None:
                    raise RuntimeError("this classifier has no checkpoint to load its PyTorch network from")
                self._pytorch = TorchEngine.from_checkpoint(self.checkpoint)[0]
            return self._pytorch

    @property
    def model(self):
        """The network in PyTorch fp32 (``torch.nn.Module``, eval mode): for the evaluation commands."""
        return self.pytorch_engine().model

    def _explanation(self, image: Image.Image, prepared: GreySlice, logits: np.ndarray, features: np.ndarray,
                     class_index: int | None, heat: np.ndarray | None = None, box: CropBox | None = None) -> Explanation:
        """One image's :class:`Explanation` from its logits ``(C,)`` and features ``(D,)``."""
        probs = self.probabilities(np.asarray(logits)[None])[0]
        chosen = int(np.argmax(probs)) if class_index is None else class_index
        sequence = self.sequence_model.estimate(features) if self.sequence_model else None
        return Explanation(probs, chosen, heat, self._problem(image, features, prepared), box, image.size,
                           prepared.preview(DISPLAY_SIDE), sequence)


def classifier_with_engine(path: str | Path, engine: Engine) -> Classifier:
    """The checkpoint ``path`` (metadata, guard, sequence estimate) around an engine already opened."""
    guard = FeatureGuard.from_tensors(read_arrays(path, GUARD_PREFIX))
    return Classifier(engine, read_metadata(path), guard, SequenceModel.from_file(SEQUENCE.path(path)), path)


def load_classifier(path: str | Path | None = None, engine: str = "torch-fp32") -> Classifier:
    """Load a checkpoint; with no ``path``, the bundled ResNet50.

    Args:
        engine: one of :data:`model.classifier.engines.ENGINES`, or ``"auto"``: the one ``python -m model
            backends`` measured fastest for this checkpoint on this machine, else PyTorch fp32.

    Raises:
        CheckpointError: not a checkpoint of this package, or ``onnx-graph`` without a current graph.
    """
    path = Path(path or DEFAULT_CHECKPOINT)
    if engine == "auto":
        from .engines.choice import chosen_engine

        try:
            return load_classifier(path, chosen_engine(path))
        except CheckpointError:  # the graph chosen then is gone or stale: PyTorch fp32
            return load_classifier(path)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {['auto', *ENGINES]}")
    if engine == "onnx-graph":
        from .engines.graph import ClassifierGraph

        graph = ClassifierGraph.open(path)
        if graph is None:
            raise CheckpointError(f"{path.name} has no current ONNX graph (python -m model graph), "
                                  "or ONNX Runtime is missing")
        return classifier_with_engine(path, graph)
    from .engines.torch_engine import TorchEngine

    network, meta, guard = TorchEngine.from_checkpoint(path, engine.removeprefix("torch-"))
    return Classifier(network, meta, FeatureGuard.from_tensors(guard), SequenceModel.from_file(SEQUENCE.path(path)), path)
