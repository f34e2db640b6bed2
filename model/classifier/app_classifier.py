"""The classifier the app serves, opened as fast as a cold server can.

The checkpoint's ONNX graph as the engine where it has a current one (the ``onnx-graph`` engine: the first
answer needs no torch), else PyTorch fp32. This module imports only the
graph's own (NumPy, no SciPy), so that ONNX Runtime builds the session, which it does without holding
the GIL, while SciPy and the preprocessing are imported: ~0.3 s each, overlapped on a 2-core machine.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..paths import DEFAULT_CHECKPOINT
from .engines.graph import ClassifierGraph

__all__ = ["load_app_classifier", "start_opening"]

#: Classifiers being opened ahead of their first use (a server's start-up), by resolved checkpoint path.
_OPENING: dict[str, Future] = {}
_OPENING_LOCK = threading.Lock()


def _key(path: str | Path | None) -> str:
    return str(Path(path or DEFAULT_CHECKPOINT).resolve())


def start_opening(path: str | Path | None = None) -> None:
    """Begin opening the app's classifier of ``path`` on a thread and return at once: a server calls this
    as it starts, before any browser has connected, and the first :func:`load_app_classifier` of the
    same checkpoint then takes that one (waiting for it if need be) instead of opening a second."""
    key = _key(path)
    with _OPENING_LOCK:
        if key in _OPENING:
            return
        future: Future = Future()
        _OPENING[key] = future

    def run() -> None:
        try:
            future.set_result(_open(key))
        except BaseException as err:  # noqa: BLE001 (handed to whoever asks for the classifier)
            future.set_exception(err)

    threading.Thread(target=run, name="open-app-classifier", daemon=True).start()


def load_app_classifier(path: str | Path | None = None):
    """The classifier of ``path`` (default: the bundled ResNet50) on its ONNX graph or, when it has no
    current graph or ONNX Runtime is missing, in PyTorch fp32. One :func:`start_opening` began for the
    same checkpoint is taken over, not repeated."""
    with _OPENING_LOCK:
        opening = _OPENING.pop(_key(path), None)
    return opening.result() if opening is not None else _open(path or DEFAULT_CHECKPOINT)


def _open(path: str | Path):
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-graph") as pool:
        opening = pool.submit(ClassifierGraph.open, path)
        from .classifier import classifier_with_engine, load_classifier  # SciPy, PIL, the preprocessing: meanwhile

        graph = opening.result()
    return classifier_with_engine(path, graph) if graph is not None else load_classifier(path)
