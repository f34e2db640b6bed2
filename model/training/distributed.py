"""Training on several processes (``torchrun``): the process group, each rank's part of a batch,
and the barrier that keeps the other ranks waiting while rank 0 validates and writes.

    torchrun --nproc_per_node=4 -m model.training.train …

torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; without it (or with one process) nothing
here starts a process group, :class:`DistributedContext` says rank 0 of 1 and every helper is a no-op,
so a single process trains exactly as it always has. See ``docs/distributed.md``.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterator

import torch
import torch.distributed as dist

__all__ = ["DistributedContext", "SetupError", "agree", "all_reduce_sum", "barrier", "check_setup", "default_threads",
           "init_distributed", "launched_rank", "local_main_first", "resolve_device", "shard", "unwrap",
           "wrap_model"]

#: How long a rank waits in a collective (rank 0 validating, the first process decoding the data).
TIMEOUT = timedelta(minutes=30)


class SetupError(ValueError):
    """The launch does not fit the run (its message is meant for the command line)."""


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands: its rank among ``world`` processes and the device it trains on."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0  # rank on this machine: the GPU it uses
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that validates, prints and writes files."""
        return self.rank == 0


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    """``auto``: CUDA when present, else the CPU. With ``local_rank`` (a process of a distributed run),
    a CUDA device without an index becomes ``cuda:<local_rank>``, one GPU per process."""
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)
    if local_rank is not None and device.type == "cuda" and device.index is None:
        if local_rank >= torch.cuda.device_count():
            raise SetupError(f"process {local_rank} on this machine has no GPU of its own ({torch.cuda.device_count()} "
                             "here): start one process per GPU (--nproc_per_node) or train with --device cpu")
        device = torch.device("cuda", local_rank)
    return device


def launched_rank() -> int:
    """This process's rank as torchrun set it (0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


def default_threads() -> int:
    """CPU threads per process: the cores shared among the processes torchrun started on this machine."""
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def _die_with_launcher() -> None:
    """torchrun starts each worker in a session of its own, so a SIGKILL to torchrun's process group
    would leave the workers training (and writing ``last.pt``) beside the run that resumes. On Linux
    the kernel kills a worker of torchrun (``TORCHELASTIC_RUN_ID`` set) when torchrun dies
    (``PR_SET_PDEATHSIG``)."""
    if not sys.platform.startswith("linux") or "TORCHELASTIC_RUN_ID" not in os.environ:
        return
    launcher = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
    except (AttributeError, OSError):
        return
    if os.getppid() != launcher:  # it died between the two calls
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def init_distributed(device: str = "auto") -> Iterator[DistributedContext]:
    """The process group of a torchrun launch (NCCL for CUDA devices, gloo on CPUs), destroyed on
    exit; a single-process context when ``WORLD_SIZE`` is unset or 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        yield DistributedContext(device=resolve_device(device))
        return
    local_rank = int(os.environ["LOCAL_RANK"])
    ctx = DistributedContext(int(os.environ["RANK"]), world, local_rank, resolve_device(device, local_rank))
    if dist.is_initialized():  # a caller's process group: theirs to destroy
        yield ctx
        return
    _die_with_launcher()
    cuda = ctx.device.type == "cuda"
    if cuda:
        torch.cuda.set_device(ctx.device)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT, device_id=ctx.device if cuda else None)
    try:
        yield ctx
    finally:
        dist.destroy_process_group()


def check_setup(batch_size: int, sync_bn: bool, ctx: DistributedContext) -> int:
    """This rank's share of the global ``batch_size``.

    Raises:
        SetupError: the batch does not split evenly over the processes, or ``--sync-bn`` on CPUs.
    """
    if batch_size % ctx.world:
        fits = [b for b in (batch_size - batch_size % ctx.world, batch_size + ctx.world - batch_size % ctx.world) if b]
        raise SetupError(f"--batch-size {batch_size} is the global batch and must split evenly over the "
                         f"{ctx.world} processes (each takes batch_size / {ctx.world}): use "
                         + " or ".join(map(str, fits)))
    if sync_bn and ctx.world > 1 and ctx.device.type != "cuda":
        raise SetupError("--sync-bn needs CUDA devices: torch's SyncBatchNorm does not run on CPUs")
    return batch_size // ctx.world


def shard(items, ctx: DistributedContext):
    """Rank ``r``'s part of ``items`` (a tensor, array or list): ``items[r::world]``, all of it alone."""
    return items if ctx.world == 1 else items[ctx.rank::ctx.world]


def barrier(ctx: DistributedContext) -> None:
    if ctx.world > 1:
        dist.barrier(device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)


@contextmanager
def local_main_first(ctx: DistributedContext) -> Iterator[None]:
    """The first process on each machine runs the block first (filling the decoded-image cache),
    the others after it (reading the cache)."""
    if ctx.local_rank != 0:
        barrier(ctx)
    yield
    if ctx.local_rank == 0:
        barrier(ctx)


def all_reduce_sum(values: list[float], ctx: DistributedContext) -> list[float]:
    """``values`` summed over every rank (float64)."""
    if ctx.world == 1:
        return list(values)
    total = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(total)
    return total.tolist()


def agree(value: Any, ctx: DistributedContext, what: str) -> None:
    """Stop when the ranks do not hold the same ``value`` (another data folder, no shared ``--out``).

    Raises:
        RuntimeError: naming ``what`` and each rank's value.
    """
    if ctx.world == 1:
        return
    values: list[Any] = [None] * ctx.world
    dist.all_gather_object(values, value)
    if any(v != values[0] for v in values):
        raise RuntimeError(f"the {ctx.world} processes disagree on {what}: {values} (rank 0 first); "
                           "every machine needs the same data and a run folder they all see")


def wrap_model(model: torch.nn.Module, ctx: DistributedContext, sync_bn: bool) -> torch.nn.Module:
    """``model`` in DistributedDataParallel (BatchNorm synchronised with ``sync_bn``); itself alone.

    The parameters stay ``model``'s own, so the optimiser, the EMA and the checkpoints keep using
    ``model`` (no ``module.`` prefix in any file).
    """
    if ctx.world == 1:
        return model
    if sync_bn:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    cuda = ctx.device.type == "cuda"
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[ctx.device.index] if cuda else None)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DistributedDataParallel wrapper (or ``model`` itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
