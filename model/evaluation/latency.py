"""CPU speed of a classifier, measured the same way for every model of the comparison.

Only the network's forward pass is timed, on an already preprocessed input at the
model's own input size, in fp32 with a fixed number of CPU threads; decoding and
cropping the image are left out (they cost the same for every model).
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import torch

from ..classifier.engines.choice import cpu_model  # noqa: F401 (benchmarks name the CPU with it from here)
from ..classifier.classifier import Classifier

LATENCY_THREADS = 2
THROUGHPUT_BATCH = 32


def machine_description() -> str:
    """One line naming the CPU, its logical cores, the OS and the torch version."""
    return (f"{cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.machine()}, "
            f"torch {torch.__version__}")


def device_description(device: torch.device | str) -> str:
    """The GPU's name for CUDA devices, else :func:`machine_description`."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    return machine_description()


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, then restore the previous setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def median_seconds(run: Callable[[], object], warmup: int = 1, repeats: int = 20) -> float:
    """Median wall time of ``run()`` over ``repeats`` calls, after ``warmup`` untimed calls
    (the first calls allocate memory and pick kernels)."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_cpu_latency(clf: Classifier, threads: int = LATENCY_THREADS,
                        warmup: int = 3, repeats: int = 20, batch_repeats: int = 5) -> dict:
    """Milliseconds per image at batch 1 and images per second at batch 32, on the CPU.

    Returns:
        JSON-ready dict with both figures, the thread count, the machine, its
        1-minute load average when measured (a busy machine reads slower) and a note.
    """
    model = clf.model.to("cpu").eval()
    size, channels, batch = clf.spec.input_size, clf.spec.channels, THROUGHPUT_BATCH
    gen = torch.Generator().manual_seed(0)

    def inputs(n: int) -> torch.Tensor:
        x = torch.randn(n, channels, size, size, generator=gen)
        return x.contiguous(memory_format=torch.channels_last)

    one_input, batch_input = inputs(1), inputs(batch)
    with torch_threads(threads), torch.inference_mode():
        one = median_seconds(lambda: model(one_input), warmup, repeats)
        many = median_seconds(lambda: model(batch_input), max(1, warmup // 2), batch_repeats)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "ms_per_image_batch1": one * 1000.0,
        "images_per_second_batch32": batch / many,
        "threads": threads,
        "machine": machine_description(),
        "logical_cores": os.cpu_count() or 1,
        "load_average_1min": load,
        "note": (f"CPU, fp32, {threads} threads, channels_last, {size}×{size} px input; network forward pass "
                 f"only (decoding and cropping excluded); median of {repeats} runs at batch 1 and "
                 f"{batch_repeats} at batch {batch}, after warm-up"),
    }
