"""Training-step time of a backbone under CPU precision / memory-format settings, from one run.

    python benchmarks/train_step.py [--arch resnet50] [--size 128] [--batch 32] [--steps 4]

Prints seconds per step (forward, backward, AdamW) and each row's speed as a
ratio to the fp32 contiguous baseline. ``model.training.train --precision auto`` uses
the result: bf16 autocast on CUDA, fp32 on CPUs where bf16 does not pay.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from model import create_model  # noqa: E402


def seconds_per_step(arch: str, size: int, batch: int, steps: int, channels_last: bool, bf16: bool) -> float:
    torch.manual_seed(0)
    model = create_model(arch, 4).train()
    x = torch.randn(batch, 3, size, size)
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 4, (batch,))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for _ in range(steps + 1):  # the first step is warm-up
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x).float()
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{args.arch} at {args.size} px, batch {args.batch}, median of {args.steps} steps")
    baseline = None
    for channels_last in (False, True):
        for bf16 in (False, True):
            seconds = seconds_per_step(args.arch, args.size, args.batch, args.steps, channels_last, bf16)
            baseline = baseline or seconds
            name = f"{'channels_last' if channels_last else 'contiguous'} {'bf16 autocast' if bf16 else 'fp32'}"
            print(f"{name:28s} {seconds:6.2f} s/step   {baseline / seconds:5.2f}x")


if __name__ == "__main__":
    main()
