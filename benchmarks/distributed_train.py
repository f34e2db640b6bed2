"""Training throughput under torchrun by process count, from one run.

    python benchmarks/distributed_train.py [--arch resnet18] [--size 128] [--batch 32] [--steps 6]

For each process count (1 and 2 on a CPU; 1, 2, 4, … and every GPU where CUDA is present) it launches
``torchrun --standalone --nproc_per_node=N`` on this script, which trains ``--steps`` steps (after two
of warm-up) of DistributedDataParallel on synthetic tensors with the global batch ``--batch`` split over
the processes, as ``model.training.train`` does (fp32 channels_last on CPUs, bf16 autocast on CUDA;
gloo or NCCL through ``model.training.distributed``). It prints images/s and each count's speed as a
ratio to 1 process. On CPUs the processes share the cores (torchrun's ``LOCAL_WORLD_SIZE`` divides them).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from model import create_model  # noqa: E402
from model.training.distributed import barrier, check_setup, default_threads, init_distributed, wrap_model  # noqa: E402
from model.training.steps import autocast_for  # noqa: E402

RESULT = "RESULT "


def worker(args: argparse.Namespace) -> None:
    """One process of a launch: time ``args.steps`` DDP steps; rank 0 prints the result line."""
    torch.set_num_threads(default_threads())
    with init_distributed("auto") as ctx:
        local = check_setup(args.batch, False, ctx)
        torch.manual_seed(ctx.rank)
        model = create_model(args.arch, 4).to(ctx.device, memory_format=torch.channels_last).train()
        net = wrap_model(model, ctx, sync_bn=False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randn(local, 3, args.size, args.size, device=ctx.device).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 4, (local,), device=ctx.device)
        for step in range(args.steps + 2):  # two steps of warm-up
            if step == 2:
                barrier(ctx)
                if ctx.device.type == "cuda":
                    torch.cuda.synchronize(ctx.device)
                started = time.perf_counter()
            with autocast_for(ctx.device):
                loss = F.cross_entropy(net(x).float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if ctx.device.type == "cuda":
            torch.cuda.synchronize(ctx.device)
        barrier(ctx)
        seconds = time.perf_counter() - started
        if ctx.is_main:
            print(RESULT + json.dumps({"processes": ctx.world, "device": str(ctx.device), "threads":
                                       torch.get_num_threads(), "images_per_second": args.batch * args.steps / seconds}),
                  flush=True)


def launch(processes: int, args: argparse.Namespace) -> dict:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               __file__, "--worker", "--arch", args.arch, "--size", str(args.size), "--batch", str(args.batch),
               "--steps", str(args.steps)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = [line for line in run.stdout.splitlines() if line.startswith(RESULT)]
    if run.returncode != 0 or not lines:
        raise SystemExit(f"{processes} processes failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}")
    return json.loads(lines[0][len(RESULT):])


def process_counts() -> list[int]:
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not gpus:
        return [1, 2]
    return sorted({2 ** k for k in range(gpus.bit_length()) if 2 ** k <= gpus} | {gpus})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=None, help="global batch (default: 32 on CPUs, 256 on GPUs)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.batch = args.batch or (256 if torch.cuda.is_available() else 32)
    if args.worker:
        return worker(args)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or platform.machine()
    load = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(f"{time.strftime('%Y-%m-%d')}  {device}, {os.cpu_count()} cores, torch {torch.__version__}{load}")
    print(f"{args.arch} at {args.size} px, global batch {args.batch}, {args.steps} timed steps after 2 of warm-up")
    baseline = None
    for processes in process_counts():
        result = launch(processes, args)
        baseline = baseline or result["images_per_second"]
        threads = f"{result['threads']} thread{'s' * (result['threads'] > 1)}{' each' * (processes > 1)}"
        where = f"{processes} process{'es' * (processes > 1)} ({result['device']}, {threads})"
        print(f"{where:36s}{result['images_per_second']:8.1f} images/s  {result['images_per_second'] / baseline:5.2f}x")


if __name__ == "__main__":
    main()
