"""Knowledge distillation: trained networks' softened answers as extra training targets.

Hinton, Vinyals and Dean (2015): besides the labels, the student matches the teacher's
probabilities at a temperature ``T``, which carry how alike the classes look to it
(a glioma that looks a little like a meningioma). The training loss becomes

    (1 - w) * cross_entropy(student, labels) + w * T**2 * KL(teacher_T || student_T)

(the ``T**2`` keeps the soft term's gradients on the scale of the hard one). With several
teachers, their softened probabilities are averaged, as an ensemble's are.

Each teacher sees the same augmented picture as the student, through its own
:class:`~model.classifier.preprocess.PreprocessSpec` (its input size may differ; the head crop must not).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from ..classifier.classifier import load_classifier
from ..classifier.preprocess import PreprocessSpec

# Preprocessing settings a teacher must share with the student: its picture of the head.
_SHARED_SPEC = ("crop_to_head", "crop_margin", "channels")


def distillation_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """``T**2 * KL(teacher || student)`` at temperature ``T``, averaged over the batch."""
    log_student = F.log_softmax(student_logits.float() / temperature, dim=1)
    return F.kl_div(log_student, teacher_probs, reduction="batchmean") * temperature ** 2


@dataclass
class Teacher:
    """Frozen networks whose softened probabilities the student learns to match.

    Attributes:
        networks: the teachers, in eval mode.
        specs: each teacher's preprocessing.
        weight: share ``w`` of the distillation term in the loss (0 turns it off).
        temperature: softening temperature ``T``.
    """

    networks: list[torch.nn.Module]
    specs: list[PreprocessSpec]
    weight: float = 0.5
    temperature: float = 2.0

    @classmethod
    def from_checkpoints(cls, paths: Sequence[str | Path], classes: Sequence[str], spec: PreprocessSpec,
                         device: torch.device, weight: float = 0.5, temperature: float = 2.0) -> "Teacher":
        """Load teacher checkpoints (run or release files of any architecture).

        Raises:
            ValueError: a teacher has other classes, or crops the head otherwise than ``spec``.
        """
        if not 0.0 <= weight <= 1.0 or temperature <= 0:
            raise ValueError(f"distillation needs 0 <= weight <= 1 and temperature > 0, "
                             f"not {weight} and {temperature}")
        networks, specs = [], []
        for path in paths:
            loaded = load_classifier(path)  # the app's loader: guard tensors set aside
            if loaded.classes != list(classes):
                raise ValueError(f"teacher {path} has classes {loaded.classes}, the data has {list(classes)}")
            differ = [k for k in _SHARED_SPEC if getattr(loaded.spec, k) != getattr(spec, k)]
            if differ:
                raise ValueError(f"teacher {path} preprocesses otherwise ({', '.join(differ)})")
            networks.append(loaded.model.to(device).eval().requires_grad_(False))
            specs.append(loaded.spec)
        return cls(networks, specs, weight, temperature)

    @torch.no_grad()
    def soft_targets(self, pictures: torch.Tensor) -> torch.Tensor:
        """Mean softened probabilities ``(N, C)`` of augmented ``(N, 1, H, W)`` pictures in [0, 1]."""
        logits = [net(spec.normalise(pictures).contiguous(memory_format=torch.channels_last)).float()
                  for net, spec in zip(self.networks, self.specs)]
        probs = [torch.softmax(z / self.temperature, dim=1) for z in logits]
        return torch.stack(probs).mean(0)

    def blend(self, hard_loss: torch.Tensor, student_logits: torch.Tensor, pictures: torch.Tensor) -> torch.Tensor:
        """The training loss: the label loss blended with the distillation term."""
        soft = distillation_loss(student_logits, self.soft_targets(pictures), self.temperature)
        return (1.0 - self.weight) * hard_loss + self.weight * soft
