"""Time the bundled classifier on every engine of this machine and print ratios from one run.

    python benchmarks/latency.py [--repeats 20]

For each engine (``model.classifier.engines``: the ONNX graph the app serves, PyTorch fp32, and PyTorch
with a bf16 trunk where the CPU computes in bf16): load time, one prediction (batch 1), one prediction +
Grad-CAM (what the Diagnose page does per upload) and the network's share of it, the same with LayerCAM
(the page's other heat map) and batch-32 throughput from PIL images, each beside its target (issue "Fast
on whatever CPU"), then each engine as a ratio to PyTorch fp32.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from model.classifier.checkpoint import CheckpointError  # noqa: E402
from model.classifier.engines import ENGINES  # noqa: E402
from model.evaluation.backend_check import load_if_runnable  # noqa: E402
from model.evaluation.latency import cpu_model, median_seconds  # noqa: E402
from model.views.catalog import bundled_samples  # noqa: E402

#: The issue's bars: model time of prediction + Grad-CAM, and warm batch-32 throughput from PIL images.
GRADCAM_MODEL_MS, BATCH_IMAGES_PER_S = 25.0, 80.0


def mark(value: float, target: float, higher_is_better: bool = False) -> str:
    met = value >= target if higher_is_better else value <= target
    return f"(target {'>=' if higher_is_better else '<='} {target:g}: {'meets it' if met else 'MISSES it'})"


def engine_figures(engine: str, images: list, batch: list, repeats: int) -> dict | None:
    """Seconds of each step for the bundled checkpoint on ``engine``, printed as they come; ``None`` where
    the engine cannot run here."""
    started = time.perf_counter()
    try:
        clf = load_if_runnable(None, engine)
    except CheckpointError as err:
        print(f"{engine}: skipped ({err})")
        return None
    figures = {"load": time.perf_counter() - started}
    square, _ = clf.spec.to_square_grey(images[0])
    figures["predict"] = median_seconds(lambda: clf.predict_proba(images[:1]), repeats=repeats)
    figures["grad_cam"] = median_seconds(lambda: clf.explain(images[0]), repeats=repeats)
    # the network's share: its pass on a cropped picture, and the map from that pass
    figures["network"] = median_seconds(lambda: clf.heat_map(images[0], 0), repeats=repeats) - \
        median_seconds(lambda: clf.spec.to_square_grey(images[0]), repeats=repeats)
    figures["layer_cam"] = median_seconds(lambda: clf.explain(images[0], method="LayerCAM"), repeats=repeats)
    figures["batch"] = median_seconds(lambda: clf.predict_proba(batch), repeats=max(3, repeats // 5)) / len(batch)
    print(f"{engine} ({clf.arch} at {clf.spec.input_size} px):")
    print(f"  load checkpoint:                 {figures['load'] * 1000:8.1f} ms")
    print(f"  predict, batch 1:                {figures['predict'] * 1000:8.1f} ms/image")
    print(f"  predict + Grad-CAM, batch 1:     {figures['grad_cam'] * 1000:8.1f} ms/image (crop, guard and map included)")
    print(f"    of which the network and map:  {figures['network'] * 1000:8.1f} ms {mark(figures['network'] * 1000, GRADCAM_MODEL_MS)}")
    print(f"  predict + LayerCAM, batch 1:     {figures['layer_cam'] * 1000:8.1f} ms/image")
    print(f"  predict, batch 32 PIL images:    {figures['batch'] * 1000:8.1f} ms/image ({1 / figures['batch']:.1f} images/s, "
          f"cropping included) {mark(1 / figures['batch'], BATCH_IMAGES_PER_S, higher_is_better=True)}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    images = [Image.open(s.path).convert("RGB") for s in bundled_samples()]
    batch = (images * 8)[:32]
    print(f"machine: {cpu_model()} ({platform.machine()}), {torch.get_num_threads()} threads, torch {torch.__version__}")
    measured = {name: engine_figures(name, images, batch, args.repeats) for name in ENGINES}
    reference = measured["torch-fp32"]
    for name, figures in measured.items():
        if figures is not None and name != "torch-fp32":
            print(f"ratio {name} / torch-fp32: Grad-CAM upload {figures['grad_cam'] / reference['grad_cam']:.2f}x, "
                  f"batch 32 {figures['batch'] / reference['batch']:.2f}x of the time")
    print(f"ratio LayerCAM upload / Grad-CAM upload (torch-fp32): {reference['layer_cam'] / reference['grad_cam']:.2f}x")


if __name__ == "__main__":
    main()
