"""The Data & evaluation page's words on Kaggle Testing: the mistakes (each picture once, copies grouped), the
confidence and its calibration, tumour versus no tumour, and the "not a brain MRI" check, from the result files."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..figures import fixed, percent

__all__ = ["MistakeGroup", "binary_reading", "calibration_reading", "mistake_groups", "mistake_rows",
           "mistakes_reading", "ood_reading"]


@dataclass(frozen=True)
class MistakeGroup:
    """Mistakes whose thumbnails are the same file content, with the same truth and answer: one picture."""

    thumbnail: Path
    truth: str
    predicted: str
    confidence: float
    images: tuple[str, ...]

    @property
    def caption(self) -> str:
        copies = f" ×{len(self.images)}" if len(self.images) > 1 else ""
        return f"{self.truth} → {self.predicted}, {percent(self.confidence)}{copies}"


def mistake_groups(wrong: list[dict[str, Any]]) -> list[MistakeGroup]:
    """The pictured mistakes (:func:`model.views.catalog.named_mistakes`) with copies grouped: the same
    thumbnail bytes, truth and answer make one group. Groups keep the order of their first (most
    confident) mistake and the highest confidence among them."""
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for w in wrong:
        if w.get("thumbnail"):
            digest = hashlib.sha256(Path(w["thumbnail"]).read_bytes()).hexdigest()
            found.setdefault((digest, w["truth"], w["predicted"]), []).append(w)
    return [MistakeGroup(Path(ws[0]["thumbnail"]), ws[0]["truth"], ws[0]["predicted"],
                         max(w["confidence"] for w in ws), tuple(w["image"] for w in ws)) for ws in found.values()]


def mistake_rows(wrong: list[dict[str, Any]], groups: list[MistakeGroup]) -> list[dict[str, str]]:
    """The mistakes table, one row per image, with the other images whose picture is the same."""
    same = {image: [other for other in g.images if other != image] for g in groups for image in g.images}
    return [{"image": w["image"], "truth": w["truth"], "predicted": w["predicted"],
             "confidence": percent(w["confidence"]),
             "clean": {True: "yes", False: "no", None: "not audited"}[w["clean"]],
             "same picture as": ", ".join(same.get(w["image"], []))} for w in wrong]


def mistakes_reading(wrong: list[dict[str, Any]], metrics: dict[str, Any], groups: list[MistakeGroup]) -> str:
    """How many Testing images the model gets wrong, how many of them are clean, and how many are copies."""
    text = f"The model gets **{len(wrong)}** of {metrics['n_images']:,} Testing images wrong"
    if (metrics.get("clean") or {}).get("n_images"):
        text += f", {sum(bool(w['clean']) for w in wrong)} of them with no copy in Training"
    copies = sum(len(g.images) for g in groups if len(g.images) > 1)
    if copies:
        shared = sum(len(g.images) > 1 for g in groups)
        text += (f". {copies} of them show {shared} picture{'s' * (shared != 1)} stored more than once under "
                 "different names: the gallery shows each picture once, with ×N for its copies")
    return text + (". Each is named, most confident mistake first, so that you can open it in the public dataset "
                   "and judge the mistake, or the label, yourself. A confident mistake is the kind to worry "
                   "about: the model was sure and wrong.")


def calibration_reading(metrics: dict[str, Any], metadata: dict[str, Any]) -> str:
    """The expected calibration error on Testing and, where the checkpoint has one, its temperature."""
    calibration = metadata.get("calibration")
    text = f"Expected calibration error on Testing: **{fixed(metrics['ece'])}** (0 is perfect). "
    if calibration and "temperature" in metadata and calibration.get("fitted_on", "") is None:
        text += "No temperature rescales the raw scores (calibration was measured, not fitted). "  # --fit-on none
    elif calibration and "temperature" in metadata:
        text += (f"A temperature of {fixed(metadata['temperature'], 3)}, fitted on the "
                 f"{calibration.get('fitted_on', 'validation split')}, rescales the raw scores (validation ECE "
                 f"{fixed(calibration['validation_ece_before'])} → {fixed(calibration['validation_ece_after'])}). ")
    return text + "Points on the diagonal mean that a stated 90% is right 9 times in 10."


def binary_reading(binary: dict[str, Any], unsure_below: float) -> str:
    """Tumour versus no tumour: sensitivity, specificity and the Diagnose page's "unsure" threshold."""
    return (f"**Tumour versus no tumour**: sensitivity {percent(binary['sensitivity'])} "
            f"({binary['missed_tumours']} of {binary['tumours']} tumours called normal), "
            f"specificity {percent(binary['specificity'])}. Missing a tumour is the costly error. "
            f"The Diagnose page names no class when the top probability is under {unsure_below:.0%}.")


def ood_reading(ood: dict[str, Any]) -> str:
    """The "not a brain MRI" check: how many pictures that are not brain MRIs, and real MRIs, it turns away."""
    text = (f"Before naming a class the app checks that the picture looks like a brain MRI: grey, not blank, "
            f"and close to the training scans in the network's own feature space. It turned away "
            f"**{ood['ood_rejected']} of {ood['ood_images']}** pictures that are not brain MRIs (photos, drawings, "
            f"text, noise, CT and ultrasound DICOMs) and **{ood['testing_rejected']} of {ood['testing_images']:,}** "
            f"real Testing MRIs ({percent(ood['testing_rejected_rate'])}).")
    if "ood_rejected_by_pixels" in ood:
        text += (f" A DICOM file whose Modality tag names another kind of imaging (CT, ultrasound, X-ray…) is "
                 f"refused on that alone: {ood['ood_rejected_by_pixels']} of the {ood['ood_images']} were caught "
                 "by the picture checks, the rest only by their tag.")
    return text
