"""Which MRI sequence a slice looks like (T1, contrast-enhanced T1 or T2): a multinomial logistic
regression on the classifier's own penultimate features, fitted by ``python -m model sequence-fit`` on
the external training list and stored beside the checkpoint (``<name>.sequence.json``).

It costs nothing at run time (the features are computed for the "not an MRI" guard anyway) and tells
the app which of the measured per-sequence figures on scans from elsewhere applies to an upload.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SequenceEstimate", "SequenceModel"]


@dataclass(frozen=True)
class SequenceEstimate:
    sequence: str
    probability: float


@dataclass
class SequenceModel:
    """Standardisation and logistic-regression weights, and what they were measured to do."""

    sequences: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (K, D)
    intercept: np.ndarray  # (K,)
    report: dict

    def estimate(self, features: np.ndarray) -> SequenceEstimate:
        """The likeliest sequence for one image's penultimate features ``(D,)``."""
        z = (np.asarray(features, np.float64) - self.mean) / self.scale
        logits = self.coef @ z + self.intercept
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = int(np.argmax(probs))
        return SequenceEstimate(self.sequences[best], float(probs[best]))

    def to_dict(self) -> dict:
        return {"sequences": self.sequences, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept.tolist(), "report": self.report}

    @classmethod
    def from_file(cls, path: str | Path) -> "SequenceModel | None":
        """The stored model, or ``None`` when there is none."""
        path = Path(path)
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        return cls(data["sequences"], np.asarray(data["mean"]), np.asarray(data["scale"]),
                   np.asarray(data["coef"]), np.asarray(data["intercept"]), data.get("report", {}))
