"""The verdict the Diagnose and Model comparison pages give for one upload: refused, unsure or a named class."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ..figures import fixed
from ..names import NO_TUMOUR, class_name

if TYPE_CHECKING:  # type names only: this module needs neither torch nor the readers
    from ..classifier.explanation import Explanation
    from ..uploads.scan import Scan

__all__ = ["NO_TUMOUR_MAP_NOTE", "Verdict", "calibration_note", "refusal_reason", "verdict"]

#: Shown under the heat map of a no-tumour answer (the Model card measures why).
NO_TUMOUR_MAP_NOTE = "With no lesion to point at, a no-tumour map carries least (see the Model card)."


@dataclass(frozen=True)
class Verdict:
    """What the app says about one upload.

    Attributes:
        kind: ``"refused"`` (not a brain MRI), ``"unsure"`` (no class reaches the bar) or ``"named"``.
        top, top_probability: the network's top class (display name) and its probability.
        runner_up, runner_up_probability: the second class and its probability.
        problem: why the upload was refused (``kind == "refused"``), else ``None``.
        no_tumour: the top class is "no tumour" (its heat map carries least).
    """

    kind: str
    top: str
    top_probability: float
    runner_up: str
    runner_up_probability: float
    problem: str | None
    no_tumour: bool


def refusal_reason(scan: Scan, explanation: Explanation) -> str | None:
    """Why the app will not name a class for this upload, or ``None``.

    The file's own word comes first (a DICOM whose Modality tag names another
    kind of imaging), then the picture and feature checks of :meth:`Classifier.explain`.
    """
    return scan.problem or explanation.problem


def verdict(scan: Scan, explanation: Explanation, classes: Sequence[str]) -> Verdict:
    """The verdict on ``explanation`` of ``scan``, whose probabilities follow ``classes`` (folder names)."""
    probs = explanation.probabilities
    top = explanation.class_index
    runner_up = int(probs.argsort()[-2]) if len(probs) > 1 else top
    problem = refusal_reason(scan, explanation)
    kind = "refused" if problem else "unsure" if explanation.unsure else "named"
    return Verdict(kind, class_name(classes[top]), float(probs[top]), class_name(classes[runner_up]),
                   float(probs[runner_up]), problem, classes[top] == NO_TUMOUR)


def calibration_note(metadata: dict, metrics: dict | None, external: dict | None) -> str:
    """What the bars' calibration is worth, in the words of the figures measured on it (expected calibration
    error on Kaggle Testing and on scans from other sources), never a claim where nothing was measured."""
    if "temperature" not in metadata:
        return " They are the network's raw probabilities: their calibration was not fitted."
    fitted = metadata.get("calibration", {}).get("fitted_on", "a validation split")
    measured = [f"{fixed(ece, 4)} on Kaggle Testing" for ece in [(metrics or {}).get("ece")] if ece is not None]
    measured += [f"{fixed(ece, 4)} on scans from other sources"
                 for ece in [(external or {}).get("ece")] if ece is not None]
    if fitted is None:  # calibration --fit-on none: kept at T = 1 on purpose
        how = (" They are the network's raw probabilities: a temperature fitted on Kaggle's validation split or on "
               "the external calibration list made them worse calibrated on scans from other sources.")
    else:
        how = f" They were calibrated (temperature scaling on the {fitted})."
    if not measured:
        return how + " How well they are calibrated was not measured."
    return (how + " The expected calibration error, "
            f"the average gap between a bar and how often it is right, is {' and '.join(measured)}: "
            "read a bar as a rough guide, rougher on scans from other hospitals.")
