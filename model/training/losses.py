"""The training loss, with room for tumours of a type the classifier has no class for.

An "other tumour" slice (schwannoma, metastasis, …) is known to be *not normal* and nothing more, so
it is trained on a partial label: the loss is ``-log(1 - p(no tumour))``, which pushes probability
out of "no tumour" and leaves the split between the tumour classes to the network.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..names import OTHER_TUMOUR_LABEL

__all__ = ["OTHER_TUMOUR", "answered_right", "tumour_aware_loss"]

#: The training label of a tumour slice whose type is none of the classifier's classes (one value everywhere).
OTHER_TUMOUR = OTHER_TUMOUR_LABEL


def tumour_aware_loss(logits: torch.Tensor, target: torch.Tensor, none_index: int,
                      label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean over the batch of cross-entropy (known classes) and the not-normal loss (``OTHER_TUMOUR``)."""
    known = target != OTHER_TUMOUR
    if bool(known.all()):  # the common case, and exactly the loss of runs without other tumours
        return F.cross_entropy(logits, target, label_smoothing=label_smoothing)
    total = logits.new_zeros(())
    if bool(known.any()):
        total = total + F.cross_entropy(logits[known], target[known], label_smoothing=label_smoothing,
                                        reduction="sum")
    other = logits[~known]
    tumour = torch.ones(logits.shape[1], dtype=torch.bool, device=logits.device)
    tumour[none_index] = False
    total = total + (torch.logsumexp(other, 1) - torch.logsumexp(other[:, tumour], 1)).sum()
    return total / len(target)


def answered_right(logits: torch.Tensor, target: torch.Tensor, none_index: int) -> torch.Tensor:
    """Per image: the named class is right (known classes) or is any tumour class (``OTHER_TUMOUR``)."""
    answer = logits.argmax(1)
    return torch.where(target == OTHER_TUMOUR, answer != none_index, answer == target)
