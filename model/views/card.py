"""The Model card's words and tables: Kaggle Testing in detail, the training curves' note and the heat-map
check, each from the checkpoint's metadata and result files (``model.views.catalog.ModelReport``)."""
from __future__ import annotations

from typing import Any

from ..figures import cut, fixed, percent, percent_range
from ..names import class_name
from .external import sequences_named

__all__ = ["elsewhere_note", "kaggle_caption", "kaggle_figures", "per_class_rows", "road_by_class", "road_figures",
           "road_reading", "road_verdicts", "validation_note"]


def kaggle_caption(metrics: dict[str, Any]) -> str:
    """What the Kaggle headline figures rest on, with their bootstrap intervals."""
    low, high = metrics["macro_f1_ci95"]
    return (f"On all {metrics['n_images']:,} images of the Kaggle Testing split, with bootstrap 95% intervals: "
            f"accuracy {percent_range(*metrics['accuracy_ci95'])}, macro F1 {fixed(low)}–{fixed(high)}.")


def kaggle_figures(metrics: dict[str, Any]) -> dict[str, str]:
    """The four Kaggle Testing headline figures, label → value as shown."""
    return {"Accuracy": percent(metrics["accuracy"]), "Balanced accuracy": percent(metrics["balanced_accuracy"]),
            "Macro F1": fixed(metrics["macro_f1"]), "ROC-AUC (one-vs-rest)": fixed(metrics["macro_roc_auc_ovr"])}


def per_class_rows(display_names: list[str], metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per class: its figures cut to 4 decimals (counts unchanged)."""
    return [{"class": name, **{k: float(cut(v, 4)) if isinstance(v, float) else v for k, v in row.items()}}
            for name, row in zip(display_names, metrics["per_class"].values())]


def elsewhere_note(external: dict[str, Any]) -> str:
    """Under the Kaggle-versus-elsewhere table: what the slices from elsewhere are."""
    return (f"The same network on {external['n_images']:,} MRI slices gathered from other hospitals and teaching "
            f"sources ({sequences_named(external)}; the external {external.get('split', 'validation')} part, "
            "which no model trains on). Intervals resample whole cases. The gap is the honest measure of how "
            "far the Kaggle figures carry: see **Data & evaluation**, *On scans from elsewhere*.")


def validation_note(metadata: dict[str, Any]) -> str:
    """Under the training curves: which weights and images the validation figures come from."""
    kaggle = (metadata.get("data_sources") or [{}])[0]
    held = kaggle.get("validation_images")
    share = (f"{held:,} images ({percent(held / (held + kaggle['training_images']), 1)}) held out of Training"
             if held and kaggle.get("training_images") else "images held out of Training")
    return (f"Validation figures use the averaged (EMA) weights on {share}; training figures are on augmented "
            "images, so they sit lower.")


def road_figures(explain: dict[str, Any]) -> dict[str, str]:
    """Each heat map's mean faithfulness (ROAD) score, label → value as shown."""
    return {f"Faithfulness of {name} (ROAD)": fixed(explain["road"][name]["mean"], 3) for name in explain["methods"]}


def road_reading(explain: dict[str, Any]) -> str:
    """How the faithfulness (ROAD) check was made, on how many images."""
    road = explain["road"]
    return (f"On {road[explain['methods'][0]]['n']} Testing images ({explain['per_class']} per class), the pixels a "
            "heat map ranks highest, or lowest, were blanked out and filled in from their neighbours (ROAD, from "
            "pytorch-grad-cam), and the change in the answer's probability measured. A score above zero means the "
            "map points at pixels the network relies on. Two maps that know nothing about the network set the bar.")


def road_verdicts(explain: dict[str, Any]) -> list[str]:
    """One line per heat map: more, less or not clearly more faithful than each other map."""
    words = {"better": "**more faithful** than", "worse": "**less faithful** than",
             "unclear": "not clearly different from"}
    return [f"{name} is " + "; ".join(f"{words[v['verdict']]} {other} (higher on {percent(v['share_better'], 0)} "
                                      "of images)" for other, v in comparisons.items()) + "."
            for name, comparisons in explain["versus"].items()]


def road_by_class(explain: dict[str, Any]) -> str:
    """The ROAD score per class, per heat map."""
    return ("By class, ROAD: " + "; ".join(
        f"{name} " + ", ".join(f"{class_name(c).lower()} {fixed(v, 3)}" for c, v in per_class.items())
        for name, per_class in explain["road_per_class"].items())
        + ". A no-tumour slice has no lesion to point at, so its map carries least.")
