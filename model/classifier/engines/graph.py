"""The classifier as one ONNX graph that reads its weights from the checkpoint itself.

The graph runs the preprocessing's second stage (resize, per-image z-score) and the whole network, and
returns the last block's activations (what Grad-CAM reads), the penultimate features (what the "not a
brain MRI" guard and the sequence estimate read) and the logits. It holds no weights: each one is a
reference into the ``.safetensors`` checkpoint beside it (ONNX external data: file, offset, length), in
the fp16 it is stored in, cast to fp32 when ONNX Runtime loads it. So the graph file is ~100 KB, the
weights live once in the repository, and a first answer needs NumPy and ONNX Runtime, not torch
(1.4 s and ~500 MiB for the CUDA build torch installs as: docs/speed.md).

:func:`model.classifier.engines.graph_export.export_graph` (torch) writes ``<checkpoint>.onnx``;
:meth:`ClassifierGraph.open` (no torch) opens it, and refuses a graph written for other bytes than the
checkpoint now holds.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ...paths import graph_file
from ..checkpoint import read_arrays, read_raw_header
from . import NetworkOutputs

__all__ = ["ClassifierGraph", "open_session", "checkpoint_fingerprint"]

#: graph metadata keys: which checkpoint the graph reads, and which tensors are the final linear layer
FINGERPRINT_KEY, HEAD_KEYS = "checkpoint_header_sha256", "head_tensor_keys"
OUTPUTS = ("activations", "features", "logits")


def checkpoint_fingerprint(checkpoint: str | Path) -> str:
    """SHA-256 of a safetensors file's header: it names every tensor's dtype, shape and offsets, and holds
    the metadata (metrics, data fingerprints), so a re-released checkpoint never shares it. Reading 40 KB,
    not hashing 47 MB, keeps it off the cold start."""
    with open(checkpoint, "rb") as f:
        return hashlib.sha256(read_raw_header(f)).hexdigest()


def open_session(path: str | Path, threads: int):
    """An ONNX Runtime CPU session with ``threads`` threads that sleep when idle."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # Idle ORT threads would otherwise spin and slow the PyTorch calls (the head, LayerCAM) that follow.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class ClassifierGraph:
    """The engine of an ONNX Runtime session of ``<checkpoint>.onnx``: stage-1 squares in,
    :class:`~model.classifier.engines.NetworkOutputs` out."""

    name = "onnx-graph"
    linear_head = True  # the export refuses any other head

    def __init__(self, session, head_keys: tuple[str, str], checkpoint: str | Path):
        import onnxruntime as ort

        self.session = session
        self.checkpoint = Path(checkpoint)
        self._head: tuple[np.ndarray, np.ndarray] | None = None
        # Without this the memory arena keeps its largest batch's activations for good (~300 MiB after
        # a batch of 32 through the ResNet50); with it, the same speed (docs/speed.md).
        self.run_options = ort.RunOptions()
        self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        #: checkpoint keys of the final linear layer's weight and bias (the heat map's PyTorch head)
        self.head_keys = head_keys

    @classmethod
    def open(cls, checkpoint: str | Path, threads: int | None = None) -> "ClassifierGraph | None":
        """The checkpoint's graph, or ``None`` when there is none, it was written for other checkpoint
        bytes, ONNX Runtime cannot open it, or ONNX Runtime is missing (the caller then uses PyTorch)."""
        path = graph_file(checkpoint)
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return None
        if not path.is_file():
            return None
        try:
            session = open_session(path, threads or max(1, min(os.cpu_count() or 1, 4)))
        except Exception:  # noqa: BLE001 (ONNX Runtime's own errors: a damaged graph, weights past the file's end)
            return None
        props = session.get_modelmeta().custom_metadata_map
        if props.get(FINGERPRINT_KEY) != checkpoint_fingerprint(checkpoint):
            return None
        _release_freed_memory()
        return cls(session, tuple(json.loads(props[HEAD_KEYS])), checkpoint)

    def __call__(self, squares: np.ndarray) -> NetworkOutputs:
        """``squares``: uint8 ``(N, S, S)`` from :meth:`PreprocessSpec.squares`."""
        batch = (np.asarray(squares, dtype=np.float32) / 255.0)[:, None]
        return NetworkOutputs(*self.session.run(list(OUTPUTS), {"squares": batch}, self.run_options))

    def head(self) -> tuple[np.ndarray, np.ndarray]:
        """The final linear layer, read from the checkpoint with the first heat map."""
        if self._head is None:
            arrays = read_arrays(self.checkpoint, keys=self.head_keys)
            self._head = tuple(np.asarray(arrays[key], np.float32) for key in self.head_keys)
        return self._head


def _release_freed_memory() -> None:
    """Opening the session widens the fp16 weights and fuses each BatchNorm into its convolution: ~250 MiB
    of copies that glibc keeps after they are freed (steady state ~100 MiB). Give them back."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
