"""The classifier the app serves, opened as fast as a cold server can.

The checkpoint's ONNX graph where it has a current one (:class:`~model.classifier.graph_classifier.GraphClassifier`:
the first answer needs no torch), else the PyTorch classifier in fp32. This module imports only the
graph's own (NumPy, no SciPy), so that ONNX Runtime builds the session, which it does without holding
the GIL, while SciPy and the preprocessing are imported: ~0.3 s each, overlapped on a 2-core machine.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..paths import DEFAULT_CHECKPOINT
from .graph import ClassifierGraph

__all__ = ["load_app_classifier"]


def load_app_classifier(path: str | Path | None = None):
    """The graph classifier of ``path`` (default: the bundled ResNet50) or, when it has no current graph
    or ONNX Runtime is missing, ``load_classifier(path, backends=False)`` (a faster backend's second copy
    of the weights would cost the server ~200 MiB: docs/speed.md)."""
    path = path or DEFAULT_CHECKPOINT
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-graph") as pool:
        opening = pool.submit(ClassifierGraph.open, path)
        from .graph_classifier import GraphClassifier  # SciPy, PIL, the preprocessing: meanwhile

        graph = opening.result()
    if graph is not None:
        return GraphClassifier.with_graph(path, graph)
    from .inference import load_classifier

    return load_classifier(path, backends=False)
