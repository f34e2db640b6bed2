"""Training and evaluation under torchrun: 2 CPU processes (gloo, ``--standalone``) on the tiny synthetic
set, against one process (``model.training.distributed``, ``docs/distributed.md``)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from model.classifier import factory
from model.evaluation.evaluate import evaluate
from model.evaluation.latency import torch_threads
from model.training.config import TrainConfig
from model.training.distributed import DistributedContext, check_setup, default_threads, init_distributed, shard
from model.training.resume import changed_settings
from model.training.steps import augment_generator
from model.training.train import parse_args, run

REPO = Path(__file__).resolve().parent.parent
# On the CPU (gloo) also where there are GPUs: the comparison holds fp32 against fp32.
TINY = dict(arch="resnet18", input_size=32, stage_size=40, batch_size=8, lr=3e-3, ema_decay=0.5,
            val_fraction=0.25, cache_dir=None, device="cpu")
# OMP_NUM_THREADS=1: two processes on two cores (model.training.train also gives each process its share).
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
#: The learning rate of the one-against-two-processes comparison: low enough that the tiny run is not
#: chaotic, so that summation order stays far below the tolerances (test_two_processes_train_what_one_process_trains).
STABLE_LR = 1e-3
TIMING = {"images_per_second", "model_images_per_second", "threads", "processes"}
#: A ResNet18 with GroupNorm in place of BatchNorm. BatchNorm normalises each process's share of the batch
#: with that share's own statistics, so without --sync-bn (torch's SyncBatchNorm runs on CUDA only) two CPU
#: processes cannot match one exactly; GroupNorm's statistics are per picture, so there the only
#: difference left is floating-point summation order, and any difference beyond it is a bug.
GROUP_NORM = """
from dataclasses import replace
from functools import partial
from torch import nn
from torchvision import models
from model.classifier import factory
ARCH = replace(factory.ARCHS["resnet18"], builder=partial(models.resnet18, norm_layer=lambda c: nn.GroupNorm(8, c)))
"""


def train_args(data: Path, out: Path, epochs: int, arch: str = "resnet18", **settings) -> list[str]:
    args = ["--data", str(data), "--out", str(out), "--epochs", str(epochs), "--cache-dir", "none", "--device", "cpu"]
    for key, value in {**TINY, "arch": arch, **settings}.items():
        if key not in ("cache_dir", "device"):
            args += ["--" + key.replace("_", "-"), str(value)]
    return args


def torchrun(*command: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *command]



def max_weight_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())


def test_two_processes_train_what_one_process_trains(tiny_dataset, tmp_path, monkeypatch):
    """Same global batch (8: 4 per process), seed and draw, and the same augmented pictures (every process
    augments the whole global batch with the shared generator and keeps its rows). Tolerances: loss 1e-4
    relative, weights (model and EMA, fp32 in last.pt) 2e-3.

    At lr 1e-3 (``STABLE_LR``), on an AVX2-only 2-core EPYC after these two epochs: train and validation
    loss within 5.3e-7 relative, weights within 2.1e-5 (floating-point summation order). Deliberately broken
    variants (gradients not averaged, a per-process draw, per-process augmentation) moved the weights by
    0.0095 to 0.0099 and the train loss by 0.026 to 0.19 relative. At the other tests' lr 3e-3 this tiny
    run is chaotic on that CPU: one batch of 8 and two of 4 give gradients within 1.5e-6, yet the weights
    ended 0.018 apart (7.9e-5 on an AVX-512 one), too close to the broken variants' 0.028 to tell apart."""
    namespace: dict = {}
    exec(GROUP_NORM, namespace)
    script = tmp_path / "train_group_norm.py"
    script.write_text(GROUP_NORM + "import sys\nfrom model.training import train\n"
                      "factory.ARCHS['resnet18_gn'] = ARCH\ntrain.main(sys.argv[1:])\n")
    args = train_args(tiny_dataset, tmp_path / "two", 2, "resnet18_gn", lr=STABLE_LR)
    two = subprocess.run(torchrun(str(script), *args), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stdout + two.stderr
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "best.safetensors", "config.json", "history.json", "last.pt"]
    assert two.stdout.count('"train_loss"') == 2 and two.stdout.count("best checkpoint:") == 1  # rank 0 alone

    monkeypatch.setitem(factory.ARCHS, "resnet18_gn", namespace["ARCH"])
    with torch_threads(1):  # as each of the two processes: OpenMP threads on a busy 2-core machine spin, several-fold slower
        run(TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "one"), epochs=2,
                        **{**TINY, "arch": "resnet18_gn", "lr": STABLE_LR}))
    one, both = (torch.load(tmp_path / name / "last.pt", weights_only=True) for name in ("one", "two"))
    for a, b in zip(one["history"], both["history"], strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4)
    assert max_weight_difference(one["model"], both["model"]) <= 2e-3
    assert max_weight_difference(one["ema"], both["ema"]) <= 2e-3


def processes_of(parent: int) -> list[int]:
    """The children of ``parent`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat and int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds torchrun's workers through /proc")
def test_a_killed_two_process_run_resumes_on_two_processes_and_on_one(tiny_dataset, tmp_path, capsys):
    out, copy = tmp_path / "run", tmp_path / "copy"
    cmd = torchrun("-m", "model.training.train", *train_args(tiny_dataset, out, 2))
    proc = subprocess.Popen(cmd, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "last.pt").exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the first epoch never finished"
        time.sleep(0.05)
    workers = processes_of(proc.pid)
    assert len(workers) == 2
    os.killpg(proc.pid, signal.SIGKILL)  # torchrun's group: its workers run in sessions of their own
    proc.wait()
    while any(alive(pid) for pid in workers):  # they die with their launcher (PR_SET_PDEATHSIG)
        assert time.monotonic() < deadline, "torchrun's workers outlived it"
        time.sleep(0.05)
    assert json.loads((out / "history.json").read_text())[-1]["epoch"] == 1
    shutil.copytree(out, copy)

    again = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("resumed from epoch") == 1
    with torch_threads(1):
        run(TrainConfig(data=str(tiny_dataset), out=str(copy), epochs=2, **TINY))  # the same run, now on one process
    assert "resumed from epoch" in capsys.readouterr().out
    for folder in (out, copy):
        assert [h["epoch"] for h in json.loads((folder / "history.json").read_text())] == [1, 2]
        assert not list(folder.glob(".*.tmp"))


def assert_same_metrics(a, b, where="metrics"):
    """Equal, floats within what another batch grouping of the same images could change."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_metrics(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_metrics(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-6, abs=1e-6), where
    else:
        assert a == b, where


def test_evaluation_sharded_over_two_processes_gives_the_metrics_of_one(tiny_dataset, tiny_checkpoint, tmp_path):
    written = tmp_path / "metrics.json"
    common = ["--checkpoint", str(tiny_checkpoint), "--data", str(tiny_dataset / "Testing"), "--batch-size", "4"]
    two = subprocess.run(torchrun("-m", "model", "evaluate", *common, "--out", str(written),
                                  "--audit", str(tmp_path / "no-audit.json")),
                         cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stdout + two.stderr
    assert two.stdout.count("wrote ") == 1  # rank 0 alone
    sharded = json.loads(written.read_text())
    with torch_threads(1):
        one = json.loads(json.dumps(evaluate(tiny_checkpoint, tiny_dataset / "Testing", batch_size=4)))
    assert sharded["processes"] == 2 and sharded["n_images"] == one["n_images"] == 24
    assert_same_metrics({k: v for k, v in one.items() if k not in TIMING},
                        {k: v for k, v in sharded.items() if k not in TIMING})


def test_each_rank_takes_every_worlds_image_and_together_the_one_process_batches():
    order = torch.randperm(37, generator=torch.Generator().manual_seed(0))
    world, batch = 3, 6
    steps = len(order) // batch
    ranks = [DistributedContext(rank=r, world=world) for r in range(world)]
    assert shard(list(range(7)), ranks[1]) == [1, 4]
    single = DistributedContext()
    assert shard(order, single) is order
    for step in range(steps):  # every rank's rows of a global batch make up that batch
        idx = order[step * batch:(step + 1) * batch]
        assert sorted(torch.cat([shard(idx, ctx) for ctx in ranks]).tolist()) == sorted(idx.tolist())
    for ctx in ranks:  # ...and a rank's batches, end to end, are order[rank::world] (DistributedSampler's split)
        mine = torch.cat([shard(order[s * batch:(s + 1) * batch], ctx) for s in range(steps)])
        assert torch.equal(mine, shard(order, ctx)[:steps * batch // world])


def test_the_global_batch_must_split_evenly_and_sync_bn_needs_cuda():
    two = DistributedContext(rank=0, world=2)
    assert check_setup(32, False, two) == 16 and check_setup(7, True, DistributedContext()) == 7
    with pytest.raises(ValueError, match=r"--batch-size 30 .* 4 processes .* 28 or 32"):
        check_setup(30, False, DistributedContext(rank=1, world=4))
    with pytest.raises(ValueError, match="--sync-bn needs CUDA"):
        check_setup(32, True, two)


def test_one_process_starts_no_process_group_and_draws_as_before(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with init_distributed("cpu") as ctx:
        assert (ctx.rank, ctx.world, ctx.is_main, ctx.device) == (0, 1, True, torch.device("cpu"))
        assert not torch.distributed.is_initialized()
    gen = torch.Generator()
    assert augment_generator(gen, torch.device("cpu")) is gen  # CPU runs draw their pictures as they always did
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(os.cpu_count() or 1))
    assert default_threads() == 1  # the cores shared among torchrun's processes


def test_the_world_size_is_no_setting_and_sync_bn_is_one():
    saved = asdict(TrainConfig())
    del saved["sync_bn"]  # a run written before the flag existed had it off
    assert changed_settings(TrainConfig(), saved) == []
    assert changed_settings(TrainConfig(sync_bn=True), saved) == ["sync_bn"]
    assert parse_args(["--sync-bn", "--cache-dir", "none", "--threads", str(torch.get_num_threads())]).sync_bn
