"""Which backend runs the trunk on this machine: measured once, kept per machine, checked for its answers.

At first use the classifier times every candidate of :mod:`model.classifier.backends` on one picture
(an upload) and on eight (a volume's slices), and compares each one's answers with PyTorch fp32 on
the calibration pictures (the bundled samples and the pictures of the model's mistakes, each also
mirrored). It then uses, for each batch size, the fastest candidate that

1. gives every calibration picture the same answer as PyTorch fp32, and
2. if it rounds the arithmetic (bf16, int8), is listed as passing the committed Kaggle Testing check
   ``<checkpoint>.backends.json`` (``python -m model backends``: at most :data:`TOLERANCE_ANSWERS`
   changed answers of the 1,311, every one listed).

The choice is written under :data:`model.paths.BACKEND_CACHE_DIR`, keyed by CPU model and flags,
library versions and the checkpoint's contents, so the next start on the same machine skips the
measurement.
"""
from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..results import BACKENDS
from .backends import CANDIDATES, REDUCED_PRECISION, REFERENCE, cpu_flags, cpu_model, unsupported_here

__all__ = ["BATCH", "SINGLE", "SLOWER_FOR_MEMORY", "TOLERANCE_ANSWERS", "WARMUP_CALLS", "BackendChoice",
           "allowed_by_check", "fastest", "machine_facts", "machine_key", "measure_backends", "read_choice",
           "write_choice"]

#: Answers a reduced-precision path may change on Kaggle Testing (of 1,311) and still be used.
TOLERANCE_ANSWERS = 2
#: The batch sizes timed: one upload, and a volume's slices as the classifier batches them.
SINGLE, BATCH = 1, 8


@dataclass
class BackendChoice:
    """The backend for single pictures and for batches, and what the choice was made from."""

    single: str = REFERENCE
    batch: str = REFERENCE
    machine: dict = field(default_factory=dict)
    #: per candidate: ms at batch 1 and 8, the share of calibration answers it keeps, and why it was refused
    candidates: dict = field(default_factory=dict)
    from_cache: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("from_cache")
        return data


def machine_facts() -> dict:
    """What a measured speed belongs to: the CPU, its bf16/AMX/VNNI flags and the library versions."""
    try:
        import onnxruntime
        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    flags = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"})
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "flags": flags, "threads": torch.get_num_threads(),
            "torch": torch.__version__, "onnxruntime": ort_version}


def machine_key(checkpoint: Path) -> str:
    """A short key for this machine, these libraries, this checkpoint's contents and its Kaggle Testing
    check (``<checkpoint>.backends.json``: a new check may let another backend through)."""
    digest = hashlib.sha256()
    for path in (Path(checkpoint), BACKENDS.path(checkpoint)):
        if path.exists():
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    digest.update(json.dumps(machine_facts(), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def allowed_by_check(name: str, check: dict | None) -> str | None:
    """Why the committed Kaggle Testing check (``<checkpoint>.backends.json``) refuses ``name``, or ``None``."""
    if unsupported_here(name):
        return unsupported_here(name)
    if name not in REDUCED_PRECISION:
        return None
    row = (check or {}).get("backends", {}).get(name)
    if row is None:
        return "not checked on Kaggle Testing (python -m model backends)"
    if row.get("changed_answers", TOLERANCE_ANSWERS + 1) > TOLERANCE_ANSWERS:
        return f"changed {row.get('changed_answers')} Kaggle Testing answers (at most {TOLERANCE_ANSWERS} allowed)"
    return None


#: Untimed calls before the timed ones: the first calls build kernels (oneDNN's bf16 ones take a few).
WARMUP_CALLS = 3


def _median_ms(model: nn.Module, batch: torch.Tensor, repeats: int, lock: AbstractContextManager) -> float:
    times = []
    for attempt in range(WARMUP_CALLS + repeats):
        with lock, torch.inference_mode():
            started = time.perf_counter()
            model(batch)
            if attempt >= WARMUP_CALLS:
                times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure_backends(runners: dict[str, nn.Module], head: nn.Module, calibration: torch.Tensor,
                     repeats: int = 9, lock: AbstractContextManager | None = None) -> dict[str, dict]:
    """Per runner: ms per call at batch 1 and 8 (trunk and head), and the share of ``calibration``
    pictures whose answer equals the reference's (``REFERENCE`` must be among ``runners``).

    Args:
        lock: held around each call (the classifier's, so that no answer's hooks see these passes).
    """
    lock = lock or nullcontext()
    eight = calibration.repeat(-(-BATCH // len(calibration)), 1, 1, 1)[:BATCH]
    with lock, torch.inference_mode():
        reference = head(runners[REFERENCE](calibration)).argmax(1)
    rows = {}
    for name, runner in runners.items():
        network = nn.Sequential(runner, head)
        with lock, torch.inference_mode():
            same = float((network(calibration).argmax(1) == reference).float().mean())
        rows[name] = {"ms_batch_1": _median_ms(network, calibration[:SINGLE], repeats, lock),
                      "ms_batch_8": _median_ms(network, eight, repeats, lock), "same_answers": same}
    return rows


#: A candidate this much slower than the fastest still wins if it holds less memory: the server has 1 GiB,
#: and an ONNX Runtime fp32 session of the ResNet50 adds about 240 MiB where PyTorch bf16 adds none.
SLOWER_FOR_MEMORY = 0.25


def fastest(rows: dict[str, dict], refused: dict[str, str], column: str, within: float = SLOWER_FOR_MEMORY) -> str:
    """The candidate to use by ``column`` (ms): among those that keep every calibration answer and are not
    refused, the one holding the least extra memory (``extra_mib``) of those within ``within`` of the
    fastest; ``REFERENCE`` when none is usable."""
    usable = [name for name, row in rows.items() if name not in refused and row["same_answers"] == 1.0]
    if not usable:
        return REFERENCE
    best = min(rows[name][column] for name in usable)
    near = [name for name in usable if rows[name][column] <= best * (1 + within)]
    return min(near, key=lambda name: (rows[name].get("extra_mib", 0.0), rows[name][column]))


def read_choice(path: Path) -> BackendChoice | None:
    """A choice written by :func:`write_choice`, or ``None`` if absent, unreadable or naming unknown paths."""
    try:
        data = json.loads(path.read_text())
        choice = BackendChoice(**data, from_cache=True)
        known = {choice.single, choice.batch} <= set(CANDIDATES)  # a list or dict for a name: TypeError
    except (OSError, ValueError, TypeError):
        return None
    return choice if known else None


def write_choice(path: Path, choice: BackendChoice) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(choice.to_dict(), indent=1))
    os.replace(tmp, path)
