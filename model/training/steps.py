"""The pieces of a training step and of validation: autocast, the augmentation's generator, the EMA's
update, the validation pass."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..classifier.preprocess import PreprocessSpec, uint8_to_float

__all__ = ["augment_generator", "autocast_for", "ema_with_warmup", "evaluate_split"]


def autocast_for(device: torch.device, precision: str = "auto"):
    """bf16 autocast (no loss scaling needed) or plain fp32.

    ``auto`` picks bf16 on CUDA and fp32 on CPU: on the 2-core CPU we train on,
    fp32 channels_last steps are faster than bf16 autocast (measured by
    ``benchmarks/train_step.py``).
    """
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)


def ema_with_warmup(decay: float):
    """EMA update whose decay ramps up as ``(1 + n) / (10 + n)`` (timm's warm-up).

    A fixed decay makes the average lag the first epochs' random weights
    for hundreds of steps; the ramp lets it follow the model early on.
    """
    @torch.no_grad()
    def update(ema_params, model_params, num_averaged) -> None:
        n = float(num_averaged)
        weight = 1.0 - min(decay, (1.0 + n) / (10.0 + n))
        floats = [(e, m) for e, m in zip(ema_params, model_params) if torch.is_floating_point(e)]
        if floats:  # AveragedModel calls once per dtype group: integer groups have none
            torch._foreach_lerp_([e for e, _ in floats], [m for _, m in floats], weight)
        for e, m in zip(ema_params, model_params):
            if not torch.is_floating_point(e):
                e.copy_(m)  # integer buffers such as BatchNorm's step counter

    return update


@torch.inference_mode()
def evaluate_split(model, x: torch.Tensor, y: torch.Tensor, spec: PreprocessSpec,
                   device: torch.device, precision: str = "auto", batch_size: int = 128) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on un-augmented images."""
    model.eval()
    losses, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        batch = spec.normalise(uint8_to_float(x[start:start + batch_size]).to(device))
        target = y[start:start + batch_size].to(device)
        with autocast_for(device, precision):
            logits = model(batch.contiguous(memory_format=torch.channels_last)).float()
        losses += F.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(1) == target).sum().item()
    return losses / len(x), correct / len(x)


def augment_generator(gen: torch.Generator, device: torch.device) -> torch.Generator:
    """The generator a batch's augmentation draws from: the run's own (CPU) ``gen`` on the CPU, as every
    run so far; on a GPU, whose tensors a CPU generator cannot draw, a generator of that device seeded
    from ``gen``, the same on every process of a distributed run."""
    if device.type == "cpu":
        return gen
    return torch.Generator(device).manual_seed(int(torch.randint(0, 2 ** 62, (1,), generator=gen)))
