"""Batch-32 inference throughput of the bundled classifier under several CPU settings, from one run.

    python benchmarks/throughput.py [--repeats 5] [--batch 32] [--compile]

The baseline is plain eager fp32 with the default (contiguous) memory format.
Every other row is printed as a ratio to it: channels_last, bf16 autocast, optionally ``torch.compile``,
and last the classifier on each engine of ``model.classifier.engines`` (from the same stage-1 squares).
"""
from __future__ import annotations

import argparse
import copy
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from PIL import Image  # noqa: E402

from model import load_classifier  # noqa: E402
from model.classifier.checkpoint import CheckpointError  # noqa: E402
from model.classifier.engines import ENGINES  # noqa: E402
from model.evaluation.backend_check import load_if_runnable  # noqa: E402
from model.classifier.preprocess import uint8_to_float  # noqa: E402
from model.evaluation.latency import median_seconds  # noqa: E402
from model.views.catalog import bundled_samples  # noqa: E402


def compiled(model: torch.nn.Module):
    """torch.compile (inductor) with freezing: BatchNorm folded, weights pre-packed; compiles on first call."""
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True
    network = torch.compile(copy.deepcopy(model).to(memory_format=torch.channels_last).eval())

    def run(x):
        with torch.inference_mode():
            return network(x.contiguous(memory_format=torch.channels_last))

    return run


def variants(model: torch.nn.Module, size: int) -> dict:
    """Name → callable running one batch, each on its own copy of the network."""
    plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format).eval()
    fast = copy.deepcopy(model).to(memory_format=torch.channels_last).eval()
    cl = lambda x: x.contiguous(memory_format=torch.channels_last)  # noqa: E731

    def eager_fp32(x):
        with torch.no_grad():
            return plain(x)

    def channels_last_fp32(x):
        with torch.inference_mode():
            return fast(cl(x))

    def channels_last_bf16(x):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return fast(cl(x))

    return {"eager fp32 (baseline)": eager_fp32, "channels_last fp32, inference_mode": channels_last_fp32,
            "channels_last bf16 autocast, inference_mode": channels_last_bf16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile with freezing (needs a C++ compiler; compiling takes ~10-30 s)")
    args = parser.parse_args()
    clf = load_classifier()
    images = [Image.open(s.path) for s in bundled_samples()]
    squares = clf.spec.squares((images * args.batch)[:args.batch])
    batch = clf.spec.normalise(uint8_to_float(squares)).contiguous()
    print(f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"model: {clf.arch} at {clf.spec.input_size} px, batch {args.batch}")
    baseline = None
    rows = variants(clf.model, clf.spec.input_size)
    if args.compile:
        rows["torch.compile fp32, inductor freezing"] = compiled(clf.model)
    for name, fn in rows.items():
        seconds = median_seconds(lambda: fn(batch), repeats=args.repeats)
        baseline = baseline or seconds
        print(f"{name:46s} {args.batch / seconds:7.1f} images/s   {baseline / seconds:5.2f}x")
    for name in ENGINES:
        try:
            engine = load_if_runnable(None, name)
        except CheckpointError as err:
            print(f"{'engine ' + name:46s} skipped: {err}")
            continue
        seconds = median_seconds(lambda: engine.run_squares(squares), repeats=args.repeats)
        print(f"{'engine ' + name + ' (Classifier.run_squares)':46s} {args.batch / seconds:7.1f} "
              f"images/s   {baseline / seconds:5.2f}x")


if __name__ == "__main__":
    main()
