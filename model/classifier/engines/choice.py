"""Which engine the commands use on this machine: measured by ``python -m model backends``, read by
``load_classifier(path, engine="auto")``. No measuring at load time, and none in the app (it runs the graph).

The choice is a small file under :data:`model.paths.BACKEND_CACHE_DIR`, keyed by the CPU, its flags,
the library versions and the checkpoint's header, so a new machine, a new torch or a re-released
checkpoint goes back to PyTorch fp32 until measured again.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

from ...paths import BACKEND_CACHE_DIR
from ...results import write_json
from ..checkpoint import read_raw_header
from . import ENGINES

__all__ = ["REFERENCE", "TOLERANCE_ANSWERS", "bf16_capable", "chosen_engine", "cpu_flags", "cpu_model",
           "machine_facts", "unsupported_here", "write_choice"]

REFERENCE = "torch-fp32"
#: Answers an engine may change on Kaggle Testing (of 1,311) and still be chosen.
TOLERANCE_ANSWERS = 2


def _cpuinfo_line(key: str) -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(key):
                return line.split(":", 1)[1].strip()
    return ""


def cpu_model() -> str:
    """The CPU's marketing name where Linux says it, else what ``platform`` knows."""
    return _cpuinfo_line("model name") or platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux), e.g. ``avx512_bf16``, ``amx_bf16``; empty where unknown."""
    return set(_cpuinfo_line("flags").split())


def bf16_capable() -> bool:
    """Does the CPU compute in bf16 natively (AVX-512 bf16 or AMX)? Elsewhere bf16 is emulated, and slow."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def unsupported_here(engine: str) -> str | None:
    """Why ``engine`` is no candidate on this CPU, or ``None``."""
    if engine == "torch-bf16" and not bf16_capable():
        return "this CPU has neither AVX-512 bf16 nor AMX"
    return None


def machine_facts() -> dict:
    """What a measured speed belongs to: the CPU, its bf16/AMX/VNNI flags and the library versions."""
    import torch

    try:
        import onnxruntime
        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    flags = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"})
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "flags": flags, "threads": torch.get_num_threads(),
            "torch": torch.__version__, "onnxruntime": ort_version}


def _choice_file(checkpoint: str | Path) -> Path:
    digest = hashlib.sha256(json.dumps(machine_facts(), sort_keys=True).encode())
    with open(checkpoint, "rb") as f:
        digest.update(read_raw_header(f))
    return BACKEND_CACHE_DIR / f"{Path(checkpoint).stem}-{digest.hexdigest()[:16]}.json"


def write_choice(checkpoint: str | Path, rows: dict[str, dict]) -> str:
    """Keep the fastest engine of ``rows`` (``python -m model backends``'s) that passes; its name."""
    passing = {name: row for name, row in rows.items() if row.get("passes")}
    best = max(passing, key=lambda name: passing[name]["images_per_second"], default=REFERENCE)
    write_json(_choice_file(checkpoint), {"engine": best, "machine": machine_facts()})
    return best


def chosen_engine(checkpoint: str | Path) -> str:
    """The engine measured best for ``checkpoint`` on this machine, or PyTorch fp32 if none was."""
    try:
        name = json.loads(_choice_file(checkpoint).read_text()).get("engine")
    except (OSError, ValueError, AttributeError):
        return REFERENCE
    return name if name in ENGINES and not unsupported_here(name) else REFERENCE
