"""Ways to run the network's trunk (input to the last block) on a CPU, each as a module in place of it.

The classifier splits its network at the CAM block (``factory.split_at_cam_layer``): the trunk is
almost all of the work; the head (pool, linear layer) is tiny and stays in PyTorch, so the answer,
the penultimate features of the "not a brain MRI" guard and the Grad-CAM map (whose gradient stops at
the CAM block) all follow from the trunk's output whatever ran it. The candidates:

- ``torch-fp32``: PyTorch, channels_last (the reference every other path is compared with);
- ``torch-bf16``: a bf16 copy of the trunk in PyTorch, only on CPUs with AVX-512 bf16 or AMX;
- ``onnxruntime-fp32``: the trunk exported to ONNX and run by ONNX Runtime;
- ``onnxruntime-int8``: that file with ONNX Runtime's static quantisation (QDQ, weights per channel),
  calibrated on the bundled sample pictures.

Which one runs is measured per machine (:mod:`model.classifier.backend_choice`).
"""
from __future__ import annotations

import copy
import os
import platform
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import graph

__all__ = ["CANDIDATES", "ONNX_FILES", "REDUCED_PRECISION", "REFERENCE", "Bf16Trunk", "OnnxTrunk", "bf16_capable",
           "build_runner", "cpu_flags", "cpu_model", "export_trunk", "quantise_trunk", "unsupported_here"]

REFERENCE = "torch-fp32"
CANDIDATES = (REFERENCE, "torch-bf16", "onnxruntime-fp32", "onnxruntime-int8")
#: Paths that round the arithmetic: used only where the committed Kaggle Testing check let them through.
REDUCED_PRECISION = ("torch-bf16", "onnxruntime-int8")
#: The file each ONNX Runtime path runs, in the machine's cache folder.
ONNX_FILES = {"onnxruntime-fp32": "trunk-fp32.onnx", "onnxruntime-int8": "trunk-int8.onnx"}
INPUT_NAME, OUTPUT_NAME = "image", "features"


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


def unsupported_here(name: str) -> str | None:
    """Why backend ``name`` is no candidate on this CPU, or ``None``."""
    if name == "torch-bf16" and not bf16_capable():
        return "this CPU has neither AVX-512 bf16 nor AMX"
    return None


class Bf16Trunk(nn.Module):
    """A bf16 copy of the trunk, each BatchNorm folded into its convolution first (half the fp32 weights'
    memory); its output back in fp32 for the head.

    A copy rather than autocast: autocast casts every weight to bf16 again on every call, which cost
    about a third of the time at batch 1 on the 2-core AMD EPYC. Folded first: a BatchNorm computed in
    bf16 rounds once more, and the unfolded copy changed one of the 44 calibration answers, the folded
    one none (measured 2026-12-02).
    """

    def __init__(self, trunk: nn.Module):
        super().__init__()
        from torch.fx.experimental.optimization import fuse

        try:
            folded = fuse(copy.deepcopy(trunk).eval())  # torch.fx: conv + BatchNorm → one conv (eval only)
        except Exception:  # noqa: BLE001 - a trunk torch.fx cannot trace keeps its BatchNorms
            folded = copy.deepcopy(trunk).eval()
        self.trunk = folded.to(torch.bfloat16).to(memory_format=torch.channels_last).eval()
        for parameter in self.trunk.parameters():
            parameter.requires_grad_(False)  # a copy for inference: Grad-CAM's gradient starts after it

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.trunk(batch.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)).float()

    def weight_mib(self) -> float:
        return sum(t.numel() * t.element_size() for t in (*self.trunk.parameters(), *self.trunk.buffers())) / 2 ** 20


class OnnxTrunk(nn.Module):
    """The trunk as an ONNX Runtime session (no parameters of its own, no gradient: the CAM block's
    gradient starts at its output)."""

    def __init__(self, session):
        super().__init__()
        self.session = session

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        pixels = np.ascontiguousarray(batch.detach().float().cpu().numpy())
        (features,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: pixels})
        return torch.from_numpy(features)


def export_trunk(trunk: nn.Module, input_size: int, path: Path) -> Path:
    """Write ``trunk`` (eval mode) as ONNX with a free batch size, atomically; returns ``path``."""
    tmp = path.with_suffix(".tmp")
    example = torch.zeros(1, 3, input_size, input_size)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
        torch.onnx.export(trunk.eval(), example, str(tmp), dynamo=False, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    os.replace(tmp, path)
    return path


def quantise_trunk(fp32_path: Path, int8_path: Path, calibration: np.ndarray) -> Path:
    """ONNX Runtime's static int8 quantisation of ``fp32_path``, activation ranges from ``calibration``
    (network-ready pictures, ``(N, 3, S, S)``); written atomically to ``int8_path``."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Pictures(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(calibration[i:i + 1] for i in range(len(calibration)))

        def get_next(self):
            row = next(self.rows, None)
            return None if row is None else {INPUT_NAME: np.ascontiguousarray(row, dtype=np.float32)}

    tmp = int8_path.with_name(int8_path.stem + ".tmp.onnx")
    quantize_static(str(fp32_path), str(tmp), Pictures(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    os.replace(tmp, int8_path)
    return int8_path


def open_session(path: Path, threads: int | None = None):
    return graph.open_session(path, threads or torch.get_num_threads())


def build_runner(name: str, trunk: nn.Module, input_size: int, workdir: Path,
                 calibration: np.ndarray | None = None) -> nn.Module:
    """The module that runs ``trunk`` the ``name`` way; ONNX files are kept in ``workdir`` and reused.

    Raises:
        ValueError: an unknown name, or int8 without calibration pictures.
        ImportError: onnxruntime is missing (the ONNX paths).
    """
    if name not in CANDIDATES:
        raise ValueError(f"unknown backend {name!r}; choose from {list(CANDIDATES)}")
    if name == REFERENCE:
        return trunk
    if name == "torch-bf16":
        return Bf16Trunk(trunk)
    workdir.mkdir(parents=True, exist_ok=True)
    fp32 = workdir / ONNX_FILES["onnxruntime-fp32"]
    if not fp32.exists():
        export_trunk(trunk, input_size, fp32)
    if name == "onnxruntime-fp32":
        return OnnxTrunk(open_session(fp32))
    int8 = workdir / ONNX_FILES["onnxruntime-int8"]
    if not int8.exists():
        if calibration is None or len(calibration) == 0:
            raise ValueError("int8 quantisation needs calibration pictures")
        quantise_trunk(fp32, int8, calibration)
    return OnnxTrunk(open_session(int8))
