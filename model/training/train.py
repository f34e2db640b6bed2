"""Train a classifier from a folder-of-classes dataset.

    python -m model.training.train --arch resnet50 --data ../shared/data/brain-tumor-mri --out runs/resnet50

Writes into ``--out``: ``config.json`` (resolved settings), ``last.pt``
(resume state, every epoch), ``best.safetensors`` (EMA weights with the best
validation accuracy, fp16, metadata inside) and ``history.json``.
Re-running the same command after an interruption resumes from ``last.pt``.

Under ``torchrun --nproc_per_node=N -m model.training.train …`` the N processes train the same recipe
together (DistributedDataParallel; ``--batch-size`` is the global batch): see ``docs/distributed.md``.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from ..classifier.checkpoint import load_initial_weights, save_checkpoint, save_training_state
from ..classifier.factory import (PretrainedWeightsUnavailable, count_parameters, create_model, final_linear,
                                  initialisation, to_channels_last)
from ..classifier.preprocess import PreprocessSpec, uint8_to_float
from ..data.folders import cache_dir_arg
from ..data.manifest import ManifestError
from ..names import NO_TUMOUR
from .augment import AugmentConfig, augment_batch, augment_batch_with_masks, augment_settings
from .config import TrainConfig, add_config_flags
from .distill import Teacher
from .distributed import (DistributedContext, SetupError, agree, all_reduce_sum, barrier, check_setup,
                          default_threads, init_distributed, launched_rank, local_main_first, shard, unwrap,
                          wrap_model)
from .distributed import resolve_device  # noqa: F401 (model.comparison.run names the machine with it)
from .losses import answered_right, tumour_aware_loss
from .outline_loss import LastBlockFeatures, outline_loss
from .resume import resume
from ..results import write_json
from .run_data import TrainData, load_data  # noqa: F401 (load_data: tests and tools load a run's data here)
from .sources import sampling_weights
from .steps import augment_generator, autocast_for, ema_with_warmup, evaluate_split


def epoch_order(data: TrainData, cfg: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    """One epoch's draw: a shuffle of the training side, or with two sources a weighted draw
    (``external_share`` from the external set, classes balanced within each source)."""
    if data.train_source is None:
        return torch.randperm(len(data.train_x), generator=gen)
    normal = data.classes.index(NO_TUMOUR) if NO_TUMOUR in data.classes else None
    weights = sampling_weights(data.train_source, data.train_y, cfg.external_share,
                               {normal: cfg.external_normal_weight} if normal is not None else None)
    return torch.multinomial(weights, len(data.train_x), replacement=True, generator=gen)


def batch_pictures(data: TrainData, idx: torch.Tensor, spec: PreprocessSpec, aug: AugmentConfig,
                   gen: torch.Generator, ctx: DistributedContext) -> tuple:
    """One global batch augmented, and this rank's rows of it: pictures, targets, and (with outlines)
    the outlines moved with the pictures and which rows have one (else ``None, None``)."""
    # The sampler: every rank draws the same epoch (one shared seed and generator, so the weighted
    # multi-source draw is the single process's draw) and augments the whole global batch with it,
    # then keeps its rows idx[rank::world], DistributedSampler's interleaving without padding. The
    # ranks' rows make up the one-process batch, the pictures are the ones it would see, and the
    # generators stay in step for the next batch and the next epoch's draw.
    raw = uint8_to_float(data.train_x[idx]).to(ctx.device)
    target = shard(data.train_y[idx], ctx).to(ctx.device)
    drawn = augment_generator(gen, ctx.device)
    if data.train_masks is None:
        return shard(augment_batch(raw, spec.input_size, aug, drawn), ctx), target, None, None
    pictures, masks = augment_batch_with_masks(raw, uint8_to_float(data.train_masks[idx]).to(ctx.device),
                                               spec.input_size, aug, drawn)
    return shard(pictures, ctx), target, shard(masks, ctx), shard(data.train_outlined[idx], ctx).to(ctx.device)


def train_one_epoch(model, ema, optimizer, scheduler, data: TrainData, spec: PreprocessSpec, cfg: TrainConfig,
                    gen: torch.Generator, ctx: DistributedContext, desc: str,
                    teacher: Teacher | None = None) -> tuple[float, float]:
    """One pass over the shuffled training set; returns mean loss and accuracy (over every rank).

    ``model`` may be the DistributedDataParallel wrapper (``wrap_model``): gradients are averaged over the
    ranks in ``backward``, so each step is one step of the global batch.
    """
    model.train()
    aug = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.augment.items()})
    order = epoch_order(data, cfg, gen)
    none_index = data.classes.index(NO_TUMOUR) if NO_TUMOUR in data.classes else -1  # -1: no other tumours
    steps = len(order) // cfg.batch_size  # global steps: the same on every rank as on one process
    loss_sum, correct, seen = 0.0, 0, 0
    bar = tqdm(range(steps), desc=desc, leave=False, mininterval=5.0, disable=None if ctx.is_main else True)
    # the last block's output is kept for the outline loss only: without outlines, no hook
    with LastBlockFeatures(unwrap(model), cfg.arch) if data.train_masks is not None else nullcontext() as last_block:
        for step in bar:
            pictures, target, masks, outlined = batch_pictures(
                data, order[step * cfg.batch_size:(step + 1) * cfg.batch_size], spec, aug, gen, ctx)
            with autocast_for(ctx.device, cfg.precision):
                logits = model(spec.normalise(pictures).contiguous(memory_format=torch.channels_last)).float()
                loss = tumour_aware_loss(logits, target, none_index, cfg.label_smoothing)
                if teacher is not None:
                    loss = teacher.blend(loss, logits, pictures)
                if masks is not None:
                    loss = loss + cfg.outline_weight * outline_loss(last_block.features, last_block.head.weight,
                                                                    target, masks, outlined)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            if ctx.is_main:  # the EMA lives on rank 0, which validates and saves it
                ema.update_parameters(unwrap(model))
            loss_sum += loss.item() * len(target)
            correct += answered_right(logits, target, none_index).sum().item()
            seen += len(target)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
    loss_sum, correct, seen = all_reduce_sum([loss_sum, correct, seen], ctx)
    return loss_sum / max(seen, 1), correct / max(seen, 1)


def freeze_trunk(model: torch.nn.Module, frozen: bool) -> None:
    """Train the head alone (``frozen``) or the whole network. A frozen parameter gets no gradient, so
    AdamW leaves it and its moments untouched; BatchNorm statistics still follow the new images."""
    head = {id(p) for p in final_linear(model).parameters()}
    for parameter in model.parameters():
        parameter.requires_grad_(not frozen or id(parameter) in head)


def build(cfg: TrainConfig, num_classes: int, steps_per_epoch: int, device: torch.device):
    """Model, EMA copy, AdamW and a one-cycle schedule."""
    model = create_model(cfg.arch, num_classes, pretrained=cfg.pretrained, zero_init_residual=cfg.zero_init_residual)
    if cfg.init_from:
        load_initial_weights(model, cfg.init_from, cfg.arch)
    model = to_channels_last(model).to(device)
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(cfg.ema_decay), use_buffers=True)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15)
    return model, ema, optimizer, scheduler


def export_best(out: Path, ema, cfg: TrainConfig, spec: PreprocessSpec, data: TrainData, record: dict) -> None:
    metadata = {
        "arch": cfg.arch, "classes": data.classes, "preprocess": spec.to_dict(),
        "train_config": asdict(cfg), "data_fingerprint": data.fingerprint, "data_sources": data.sources,
        "trained_from_scratch": not cfg.pretrained, "initialisation": initialisation(cfg.arch, cfg.pretrained),
        "parameters": count_parameters(ema.module),
        "validation": record,
    }
    save_checkpoint(out / "best.safetensors", ema.module.state_dict(), metadata)


def run(cfg: TrainConfig) -> Path:
    """Train (or resume) a run; returns the path of the best checkpoint.

    Under torchrun every process calls it, and they train the run together (``model.training.distributed``).
    """
    with init_distributed(cfg.device) as ctx:
        return train_run(cfg, ctx)


def train_run(cfg: TrainConfig, ctx: DistributedContext) -> Path:
    """:func:`run` in one process of ``ctx``: rank 0 validates, prints and writes; the others wait for it."""
    check_setup(cfg.batch_size, cfg.sync_bn, ctx)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    spec = PreprocessSpec(input_size=cfg.input_size, stage_size=cfg.stage_size)
    with local_main_first(ctx):
        data = load_data(cfg, spec)
    agree(data.fingerprint, ctx, "the training data")
    steps = len(data.train_x) // cfg.batch_size
    if steps == 0:
        raise ValueError(f"batch size {cfg.batch_size} exceeds the {len(data.train_x)} training images")
    model, ema, optimizer, scheduler = build(cfg, len(data.classes), steps, ctx.device)
    teacher = (Teacher.from_checkpoints(cfg.teachers, data.classes, spec, ctx.device, cfg.distill_weight,
                                        cfg.distill_temperature) if cfg.teachers else None)
    gen = torch.Generator().manual_seed(cfg.seed)
    state = {"epoch": 0, "history": [], "best": {"val_acc": -1.0, "val_loss": math.inf}}
    if (out / "last.pt").exists():  # every rank resumes from the same file, whatever the world size that wrote it
        state = resume(out / "last.pt", cfg, model, ema, optimizer, scheduler, gen)
        if ctx.is_main:
            print(f"resumed from epoch {state['epoch']}")
    agree(state["epoch"], ctx, "the epoch to resume from")
    net = wrap_model(model, ctx, cfg.sync_bn)
    if ctx.is_main:
        write_json(out / "config.json", asdict(cfg), indent=2)
        print(f"{cfg.arch}: {count_parameters(model):,} params, {len(data.train_x)} train / "
              f"{len(data.val_x)} val images, {ctx.device}" + (f" × {ctx.world} processes" if ctx.world > 1 else ""))
    for epoch in range(state["epoch"], cfg.epochs):
        started = time.perf_counter()
        freeze_trunk(model, frozen=epoch < cfg.freeze_epochs)
        tr_loss, tr_acc = train_one_epoch(net, ema, optimizer, scheduler, data, spec, cfg, gen, ctx,
                                          desc=f"epoch {epoch + 1}/{cfg.epochs}", teacher=teacher)
        if ctx.is_main:
            close_epoch(out, cfg, spec, data, state, (model, ema, optimizer, scheduler, gen), ctx.device,
                        {"epoch": epoch + 1, "train_loss": tr_loss, "train_acc": tr_acc}, started)
        state["epoch"] = epoch + 1
        barrier(ctx)  # the other ranks wait for rank 0's validation and files
    return out / "best.safetensors"


def close_epoch(out: Path, cfg: TrainConfig, spec: PreprocessSpec, data: TrainData, state: dict, parts: tuple,
                device: torch.device, record: dict, started: float) -> None:
    """Rank 0's end of an epoch: validation of the EMA, the best checkpoint, ``history.json``, ``last.pt``."""
    model, ema, optimizer, scheduler, gen = parts
    va_loss, va_acc = evaluate_split(ema, data.val_x, data.val_y, spec, device, cfg.precision)
    record = {**record, "val_loss": va_loss, "val_acc": va_acc, "seconds": time.perf_counter() - started}
    state["history"].append(record)
    print(json.dumps(record), flush=True)
    best = state["best"]
    if cfg.keep == "last" or (va_acc, -va_loss) > (best["val_acc"], -best["val_loss"]):
        state["best"] = record
        export_best(out, ema, cfg, spec, data, record)
    state["epoch"] = record["epoch"]
    write_json(out / "history.json", state["history"])
    # last.pt is the commit point of an epoch, so it is written last: once it exists, so do the
    # files it vouches for (a kill in between only makes the resumed run redo that epoch).
    save_training_state(out / "last.pt", {
        **state, "model": model.state_dict(), "ema": ema.state_dict(),
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "config": asdict(cfg),
    })


#: TrainConfig.keep: which epoch's EMA is exported as best.safetensors.
KEEP_CHOICES = ("best", "last")


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flags(parser)
    parser.add_argument("--augment", nargs="+", default=[], metavar="NAME=VALUE",
                        help="change augmentation knobs (model.training.augment.AugmentConfig), e.g. rot90=0.25 vflip=0.25 "
                             "or scale=0.85,1.15")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per process (default: the cores, shared among torchrun's processes)")
    args = vars(parser.parse_args(argv))
    try:
        args["augment"] = augment_settings(args["augment"])
    except ValueError as err:
        parser.error(str(err))
    if args.get("keep", "best") not in KEEP_CHOICES:
        parser.error(f"--keep must be one of {', '.join(KEEP_CHOICES)}, not {args['keep']!r}")
    threads = args.pop("threads")
    torch.set_num_threads(threads or default_threads())
    args["cache_dir"] = cache_dir_arg(args.get("cache_dir"))
    return TrainConfig(**args)


def main(argv: list[str] | None = None) -> None:
    try:
        best = run(parse_args(argv))
    except (ManifestError, SetupError, PretrainedWeightsUnavailable) as err:  # a malformed --external list,
        # a launch that does not fit, --pretrained without its weights
        raise SystemExit(f"error: {err}") from None
    if launched_rank() == 0:
        print(f"best checkpoint: {best}")


if __name__ == "__main__":
    main()
