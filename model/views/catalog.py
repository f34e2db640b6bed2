"""What ships with the app: model reports beside the weights, and sample MRIs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..classifier.checkpoint import read_metadata
from ..figures import cut, fixed
from ..names import ARCH_NAMES, DISPLAY_NAMES
from ..paths import CT_LIKE_DIR, DEFAULT_CHECKPOINT, MISTAKES_DIR, SAMPLES_DIR
from ..results import EXPLAIN, EXTERNAL, HISTORY, METRICS, OOD

__all__ = ["ModelReport", "Sample", "audit_headline", "bundled_samples", "ct_like_findings", "heat_map_rows",
           "model_report", "named_mistakes"]


@dataclass
class ModelReport:
    """A checkpoint's metadata plus the result files committed beside it.

    Files beside ``name.safetensors`` (see :func:`result_file`): ``name.metrics.json``
    (evaluation), ``name.history.json`` (per-epoch curves), ``name.config.json``,
    ``name.ood.json`` (the latest "not a brain MRI" measurement, which may be newer than the
    copy in the checkpoint: re-measuring after a change to the pixel checks need not rewrite
    the weights) and ``name.explain.json`` (``model.evaluation.explain_check``: can the heat map be trusted) and
    ``name.external.json`` (``model.evaluation.external``: scans from other sources).
    """

    checkpoint: Path
    metadata: dict[str, Any]
    metrics: dict[str, Any] | None
    history: list[dict] | None
    audit: dict[str, Any] | None = None
    ood_report: dict[str, Any] | None = None
    explanation: dict[str, Any] | None = None
    external: dict[str, Any] | None = None

    @property
    def arch(self) -> str:
        return self.metadata["arch"]

    @property
    def display_names(self) -> list[str]:
        return [DISPLAY_NAMES.get(c, c) for c in self.metadata["classes"]]

    @property
    def ood(self) -> dict[str, Any] | None:
        """The out-of-distribution figures: the report file beside the checkpoint, else the checkpoint's copy."""
        return self.ood_report or self.metadata.get("ood")

    @property
    def provenance(self) -> str:
        """One honest line on how the weights came to be."""
        origin = "trained from scratch" if self.metadata.get("trained_from_scratch", True) else \
            "fine-tuned from ImageNet weights"
        size = self.metadata["preprocess"]["input_size"]
        # A run continued from another (--init-from) was trained in stages, the last at this size;
        # a soup (model.training.soup) averages the weights of several such runs.
        staged = ", the last stage" if self.metadata.get("train_config", {}).get("init_from") else ""
        if self.metadata.get("soup_of"):
            staged = f" in stages, the weights of the last {len(self.metadata['soup_of'])} averaged,"
        others = [s["name"] for s in self.metadata.get("data_sources", [])[1:]]
        extra = "".join(f" and the training part of {name}" for name in others)
        return (f"{ARCH_NAMES.get(self.arch, self.arch)}, {origin}{staged} at {size}×{size} px "
                f"on the Kaggle Brain Tumor MRI Training split{extra}")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def model_report(checkpoint: str | Path = DEFAULT_CHECKPOINT) -> ModelReport:
    checkpoint = Path(checkpoint)
    return ModelReport(
        checkpoint=checkpoint,
        metadata=read_metadata(checkpoint),
        metrics=_read_json(METRICS.path(checkpoint)),
        history=_read_json(HISTORY.path(checkpoint)),
        audit=audit_headline(checkpoint.parent / "audit.json"),
        ood_report=_read_json(OOD.path(checkpoint)),
        explanation=_read_json(EXPLAIN.path(checkpoint)),
        external=_read_json(EXTERNAL.path(checkpoint)),
    )


def audit_headline(path: Path) -> dict[str, Any] | None:
    """The audit's counts, example pairs and clean Testing names, without its long lists of pairs."""
    report = _read_json(path)
    if report is None:
        return None
    return {k: v for k, v in report.items() if not isinstance(v, list) or k in ("examples", "clean_testing")}


def named_mistakes(metrics: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The evaluation's misclassified images (``model.evaluation.evaluate``) in the pages' words.

    Returns:
        One dict per mistake, most confident first, with display names for ``truth``
        and ``predicted`` and ``thumbnail`` as a path under ``assets/mistakes`` (``None``
        when that picture is missing); ``None`` for an evaluation that named none.
    """
    if "misclassified" not in metrics:
        return None
    named = []
    for w in metrics["misclassified"]:
        thumbnail = MISTAKES_DIR / w["thumbnail"] if w.get("thumbnail") else None
        named.append({**w, "truth": DISPLAY_NAMES.get(w["truth"], w["truth"]),
                      "predicted": DISPLAY_NAMES.get(w["predicted"], w["predicted"]),
                      "thumbnail": thumbnail if thumbnail and thumbnail.exists() else None})
    return named


def heat_map_rows(explanation: dict[str, Any]) -> list[dict[str, Any]]:
    """The heat-map check (``model.evaluation.explain_check``) as the Model card's table, one row per map.

    Returns:
        Per heat map and baseline: its ROAD score (cut to 3 decimals) and interval, and for the
        heat maps the two rank correlations ("—" for the baselines, which have none).
    """
    rank = explanation["rank_correlation"]
    checks = (("from random weights", "randomised weights"), ("for the runner-up class", "runner-up class"))
    return [{"map": name, "ROAD score": float(cut(summary["mean"], 3)),
             "95% interval": f"{fixed(summary['ci95'][0], 3)} to {fixed(summary['ci95'][1], 3)}",
             **{f"same map {label}": fixed(rank[name][key]["mean"], 2) if name in rank else "—"
                for label, key in checks}}
            for name, summary in explanation["road"].items()]


def ct_like_findings(report: ModelReport) -> dict[str, Any] | None:
    """The CT-like slices that ``model.data.ct_slices`` found, joined with what the model did on them.

    Reads ``ct_like.json`` beside the report's checkpoint; the evaluation, the "not a brain
    MRI" figures and the audit's clean subset come from ``report``.

    Returns:
        ``counts`` and ``checked`` per split as ``model.data.ct_slices`` wrote them, the ``classes``
        the flagged slices are filed under (display names, lower case); for the Testing
        CT slices, how many there are (``testing``), how many are in the clean subset, how many
        the model gets wrong and how many the "not a brain MRI" check turns away (each ``None``
        when the report lacks the figures); ``examples`` as (thumbnail path, image) pairs.
        ``None`` when there is no ``ct_like.json``.
    """
    found = _read_json(report.checkpoint.parent / "ct_like.json")
    if found is None:
        return None
    metrics, ood, audit = report.metrics or {}, report.ood, report.audit
    # Testing names as "class/file", the form the evaluation and the MRI check use.
    testing = {i["image"].split("/", 1)[1] for i in found["images"] if i["image"].startswith("Testing/")}
    clean = {name.split("/", 1)[1] for name in audit["clean_testing"]} if audit and "clean_testing" in audit else None
    wrong = {w["image"] for w in metrics["misclassified"]} if "misclassified" in metrics else None
    rejected = set(ood["testing_rejected_names"]) if ood and "testing_rejected_names" in ood else None
    examples = [(CT_LIKE_DIR / i["thumbnail"], i["image"]) for i in found["images"]
                if i.get("thumbnail") and (CT_LIKE_DIR / i["thumbnail"]).exists()]
    classes = sorted({DISPLAY_NAMES.get(c, c).lower() for per_class in found["counts"].values() for c in per_class})

    def overlap(names: set[str] | None) -> int | None:
        return None if names is None else len(testing & names)

    return {"counts": found["counts"], "checked": found["checked"], "classes": classes, "testing": len(testing),
            "testing_clean": overlap(clean), "testing_wrong": overlap(wrong), "testing_rejected": overlap(rejected),
            "examples": examples}


@dataclass(frozen=True)
class Sample:
    """A bundled example MRI; ``label`` is the class folder it came from."""

    path: Path
    label: str

    @property
    def title(self) -> str:
        return f"{DISPLAY_NAMES.get(self.label, self.label)} — {self.path.name}"


def bundled_samples() -> list[Sample]:
    """Sample MRIs in ``assets/samples/<class>_*.jpg``, sorted by name."""
    return [Sample(p, p.stem.rsplit("_", 1)[0]) for p in sorted(SAMPLES_DIR.glob("*.jpg"))]
