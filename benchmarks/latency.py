"""Time the bundled classifier on this machine and print ratios from one run.

    python benchmarks/latency.py [--repeats 20]

Measures load time, one prediction (batch 1), one prediction + Grad-CAM
(what the Diagnose page does per upload), the same with LayerCAM (the page's other
heat map) and batch-32 throughput.
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
from model import load_classifier  # noqa: E402
from model.evaluation.latency import median_seconds  # noqa: E402
from model.views.catalog import bundled_samples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    clf = load_classifier()
    load_s = time.perf_counter() - started
    images = [Image.open(s.path).convert("RGB") for s in bundled_samples()]
    batch = (images * 8)[:32]
    one = median_seconds(lambda: clf.predict_proba(images[:1]), repeats=args.repeats)
    explain = median_seconds(lambda: clf.explain(images[0]), repeats=args.repeats)
    layercam = median_seconds(lambda: clf.explain(images[0], method="LayerCAM"), repeats=args.repeats)
    many = median_seconds(lambda: clf.predict_proba(batch), repeats=max(3, args.repeats // 5))
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}")
    print(f"model: {clf.arch} at {clf.spec.input_size} px")
    print(f"load checkpoint:                 {load_s * 1000:8.1f} ms")
    print(f"predict, batch 1:                {one * 1000:8.1f} ms/image")
    print(f"predict + Grad-CAM, batch 1:     {explain * 1000:8.1f} ms/image")
    print(f"predict + LayerCAM, batch 1:     {layercam * 1000:8.1f} ms/image")
    print(f"predict, batch 32:               {many / len(batch) * 1000:8.1f} ms/image "
          f"({len(batch) / many:.1f} images/s)")
    print(f"ratio Grad-CAM upload / predict:  {explain / one:.2f}x")
    print(f"ratio LayerCAM upload / Grad-CAM upload: {layercam / explain:.2f}x")
    print(f"ratio batch-32 / batch-1 throughput: {(len(batch) / many) / (1 / one):.2f}x")


if __name__ == "__main__":
    main()
