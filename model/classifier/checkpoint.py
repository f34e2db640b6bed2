"""Checkpoints: fp16 safetensors with all metadata inside, written atomically.

Reading the metadata and the tensors as NumPy arrays needs no torch (the app's first answer,
``model.classifier.engines.graph``); torch is imported by the functions that make or load tensors.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Sequence

import numpy as np
from safetensors import safe_open

from ..results import atomic_write

if TYPE_CHECKING:
    import torch

METADATA_KEY = "brain_mri_classifier"
REQUIRED_METADATA = ("arch", "classes", "preprocess")
#: Key prefix of the "not a brain MRI" guard's tensors (``model.classifier.guard``), stored beside the weights.
GUARD_PREFIX = "ood."


class CheckpointError(ValueError):
    """The file is not a usable classifier checkpoint."""


def save_checkpoint(path: str | Path, state_dict: dict[str, torch.Tensor], metadata: dict[str, Any],
                    dtype: torch.dtype | None = None, keep_fp32: tuple[str, ...] = (GUARD_PREFIX,)) -> None:
    """Save weights (floating tensors cast to ``dtype``, float16 when ``None``) and JSON metadata.

    Args:
        path: destination ``.safetensors`` file.
        state_dict: model weights.
        metadata: must hold ``arch``, ``classes`` and ``preprocess``; anything
            JSON-serialisable may be added (config, fingerprint, metrics).
        keep_fp32: key prefixes stored in float32 (statistics that fp16 would blur).
    """
    import torch
    from safetensors.torch import save_file

    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    if missing:
        raise CheckpointError(f"metadata lacks {missing}")
    dtype = torch.float16 if dtype is None else dtype
    tensors = {
        k: (v.detach().to(torch.float32 if k.startswith(keep_fp32) else dtype) if v.is_floating_point()
            else v.detach()).contiguous().cpu()
        for k, v in state_dict.items()
    }
    header = {METADATA_KEY: json.dumps(metadata, sort_keys=True)}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=header))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Metadata only, without loading the weights."""
    try:
        with safe_open(str(path), framework="numpy") as f:
            header = f.metadata() or {}
    except FileNotFoundError:
        raise
    except Exception as err:
        raise CheckpointError(f"{path} is not a safetensors checkpoint: {err}") from err
    if METADATA_KEY not in header:
        raise CheckpointError(f"{path} has no {METADATA_KEY!r} metadata")
    return json.loads(header[METADATA_KEY])


def load_checkpoint(path: str | Path, channels_last: bool = False) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights as float32 plus metadata.

    Args:
        channels_last: give 4-D tensors (convolution kernels) the channels_last layout in
            the same copy that widens them to float32. Converting a loaded model afterwards
            copies every kernel once more, and glibc keeps the freed copies: ~100 MiB of
            peak and resident memory for the ResNet50.
    """
    import torch

    metadata = read_metadata(path)
    tensors = {}
    with safe_open(str(path), framework="pt") as f:
        for key in f.keys():
            t = f.get_tensor(key)
            layout = torch.channels_last if channels_last and t.dim() == 4 else torch.contiguous_format
            tensors[key] = t.to(torch.float32, memory_format=layout) if t.is_floating_point() else t
    return tensors, metadata


def read_arrays(path: str | Path, prefix: str = "", keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The tensors named ``keys``, or else those whose keys start with ``prefix``, as NumPy arrays as
    stored (no torch)."""
    with safe_open(str(path), framework="numpy") as f:
        wanted = keys if keys is not None else [key for key in f.keys() if key.startswith(prefix)]
        return {key: f.get_tensor(key) for key in wanted}


def read_raw_header(f: BinaryIO) -> bytes:
    """A safetensors file's JSON header as stored (read from the start of ``f``, which is left at the
    first tensor's bytes): the 8-byte length, then that many bytes."""
    size = struct.unpack("<Q", f.read(8))[0]
    return f.read(size)


def save_training_state(path: str | Path, state: dict[str, Any]) -> None:
    """Full-precision resume state (model, optimiser, schedule, EMA, RNG), atomically."""
    import torch

    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_training_state(path: str | Path) -> dict[str, Any]:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def load_initial_weights(model: torch.nn.Module, path: str, arch: str) -> None:
    """Copy a checkpoint's weights into ``model``; refuse another architecture or head."""
    weights, metadata = load_checkpoint(path)
    if metadata.get("arch") != arch:
        raise ValueError(f"--init-from {path} holds a {metadata.get('arch')!r}, not a {arch!r}")
    weights, _guard = split_guard_tensors(weights)  # a release's "not an MRI" guard is no weight
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        raise ValueError(f"--init-from {path} does not fit this model: {err}") from err


def split_guard_tensors(tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
    """``(model weights, guard tensors)`` from a checkpoint's tensors."""
    model = {k: v for k, v in tensors.items() if not k.startswith(GUARD_PREFIX)}
    guard = {k: v for k, v in tensors.items() if k.startswith(GUARD_PREFIX)}
    return model, guard
