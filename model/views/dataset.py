"""The Data & evaluation page's words on the data: what the Kaggle set holds, its duplicate leak, its label
conflicts and its CT-like slices, each sentence built from the result files (``audit.json``, the checkpoint's
metadata, ``<checkpoint>.localisation.json``, ``ct_like.json``), never typed in."""
from __future__ import annotations

from typing import Any

from ..names import NO_TUMOUR
from .leak import figshare_conflicts

__all__ = ["ct_reading", "dataset_reading", "kaggle_sequences", "label_reading", "leak_reading", "mirror_reading",
           "training_sources"]


def kaggle_sequences(audit: dict[str, Any] | None, localisation: dict[str, Any] | None) -> str:
    """What is known of the Kaggle slices' MRI sequences. The set records none; its tumour slices are mostly
    slices of the Figshare collection, all contrast-enhanced T1 (``/work/shared/data`` READMEs), and the
    localisation report counts the Testing tumour slices matched to a Figshare slice and its outline."""
    text = ("Kaggle's tumour slices are mostly slices of the Figshare collection (Cheng et al., 2015), "
            "all contrast-enhanced T1")
    if audit and localisation and localisation.get("split") == "Testing" and localisation.get("limit") is None:
        tumours = sum(n for label, n in audit["class_counts"]["Testing"].items() if label != NO_TUMOUR)
        text += (f": {localisation['n_images']:,} of the {tumours:,} Testing tumour slices are matched to a "
                 "Figshare slice and its hand-drawn outline")
    return text + (". Its other tumour slices and its no-tumour slices come from other public sets, and the "
                   "set records no sequence for any slice.")


def dataset_reading(audit: dict[str, Any], localisation: dict[str, Any] | None) -> str:
    """The Kaggle set in one paragraph: its size, its classes, its authors' split and its sequences."""
    counts = audit["class_counts"]
    per_class = {label: sum(split.get(label, 0) for split in counts.values()) for label in counts["Testing"]}
    sizes = {split: sum(c.values()) for split, c in counts.items()}
    return (f"The Kaggle Brain Tumor MRI Dataset (CC0) holds {sum(sizes.values()):,} slices in "
            f"{len(per_class)} classes of {min(per_class.values()):,} to {max(per_class.values()):,} slices, "
            f"split by its authors into Training ({sizes['Training']:,}) and Testing ({sizes['Testing']:,}). "
            + kaggle_sequences(audit, localisation))


def training_sources(metadata: dict[str, Any]) -> str | None:
    """The bundled model's other training sources beside Kaggle, with their slice counts; ``None`` when
    it trained on the Kaggle folder alone."""
    others = metadata.get("data_sources", [])[1:]
    if not others:
        return None
    parts = [f"the {s.get('split', 'training')} part of {s['name']}"
             + (f" ({sum(s['images'].values()):,} slices)" if s.get("images") else "") for s in others]
    return ("The bundled model also trained on " + " and ".join(parts) + "; *On scans from elsewhere* below "
            "measures it on a part of that collection no model trains on.")


def leak_reading(audit: dict[str, Any]) -> str:
    """How duplicates are found and how many Testing images have a twin in Training, as is."""
    return (f"A perceptual hash finds look-alike pairs, and a pixel correlation of at least "
            f"{audit['settings']['min_correlation']} confirms them. **{audit['pairs']['exact']:,}** pairs are "
            f"byte-identical and **{audit['pairs']['near']:,}** more are the same slice re-processed or its "
            f"neighbour in the same series. **{audit['testing_with_training_duplicate']:,} of "
            f"{audit['testing_images']:,}** Testing images have such a twin in Training, so a model can score "
            "well there by memory.")


def mirror_reading(mirrored: dict[str, int]) -> str:
    """The mirror check's counts (:func:`model.views.leak.mirror_check`) in words."""
    return (f"Many slices are stored twice, once flipped left-right, and a perceptual hash of a mirrored slice "
            f"looks nothing like the original's. Hashing every image mirrored and turned by quarters as well "
            f"finds **{mirrored['pairs_mirrored']:,}** mirrored and **{mirrored['pairs_turned']:,}** turned pairs. "
            f"Of the {mirrored['testing']:,} Testing images, {mirrored['twin as is']:,} have a twin as is, "
            f"**{mirrored['mirrored copy']:,}** more a mirrored copy and {mirrored['turned copy']:,} a turned one "
            f"in Training: the clean subset shrinks from {mirrored['clean_before']:,} to "
            f"**{mirrored['clean']:,}** images.")


def label_reading(audit: dict[str, Any]) -> tuple[str, list[str]]:
    """Two different label checks, named apart in one sentence: duplicate groups that mix Kaggle classes
    (as is, and with mirrored and turned copies), and slices whose Figshare label differs from their Kaggle
    folder. Returns the sentence and one line per such slice (none when not checked)."""
    text = (f"**{audit['label_conflict_clusters']:,}** duplicate groups (exact or near copies) mix images "
            "filed under two Kaggle classes")
    if audit.get("label_conflict_clusters_with_transforms") is not None:
        text += f", **{audit['label_conflict_clusters_with_transforms']:,}** once mirrored and turned copies count"
    conflicts = figshare_conflicts(audit)
    if conflicts is None:
        return text + ".", []
    lines, note = conflicts
    if not lines and not audit["figshare_label_conflicts"].get("found", True):
        return f"{text}. Figshare labels: {note}.", []
    n = len(lines)
    text = (f"**Labels that disagree with the source.** {text}, and **{n:,}** slice{'s' * (n != 1)} "
            f"carr{'ies' if n == 1 else 'y'} a Figshare label that differs from the Kaggle folder "
            f"{'it is' if n == 1 else 'they are'} filed in")
    return text + (":" if lines else "."), lines


def ct_reading(ct: dict[str, Any]) -> str:
    """The CT-like slices (:func:`model.views.catalog.ct_like_findings`) in words: how many, filed as what,
    and what the model and the MRI check do with the Testing ones."""
    training, testing = sum(ct["counts"]["Training"].values()), ct["testing"]
    filed = ("all filed as " if len(ct["classes"]) == 1 else "filed as ") + " or ".join(ct["classes"])
    tail = ""
    if ct["testing_clean"] is not None:
        tail += f" Of the {testing} Testing CT slices, {ct['testing_clean'] or 'none'} are in the clean subset"
    if ct["testing_wrong"] is not None:
        tail += f"; the model gets {ct['testing_wrong'] or 'none'} wrong"
    if ct["testing_rejected"] is not None:
        tail += f" and the MRI check turns away {ct['testing_rejected'] or 'none'}"
    return (f"On a head CT the skull is a closed ring of near-white bone; on an MRI it is dark. Searching for that "
            f"ring finds **{training} of {ct['checked']['Training']:,}** Training and **{testing} of "
            f"{ct['checked']['Testing']:,}** Testing images that look like CT slices, not MRIs, {filed}. A network "
            "trained on them can learn \"a CT picture means no tumour\" rather than anatomy. The \"not a brain "
            "MRI\" check accepts them too, and still did when fitted on a network trained without them. Slices "
            "whose ring is open or not saturated are missed (a few CT slices filed as meningioma among them), so "
            "these counts are a floor." + tail + ("." if tail else ""))
