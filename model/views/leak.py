"""The audit's mirror check and Figshare's label conflicts as the Data & evaluation page shows them.

Both read keys that audits made before the mirror check lack (``model.data.audit``); each function
then returns ``None`` and the page says the committed audit predates the check.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from ..figures import fixed, percent, percent_range
from ..names import NO_TUMOUR, class_name
from .charts import FONT

__all__ = ["LINKS", "clean_subset_reading", "figshare_conflicts", "mirror_check", "mirror_leak_chart", "pair_kind",
           "pair_reading"]

#: How a Testing image is tied to Training, in the order the bars stack, with their colours.
LINKS = {"twin as is": "#8d99ae", "mirrored copy": "#d1495b", "turned copy": "#edae49", "clean": "#66a182"}


def _link(transform: str) -> str:
    if transform == "as is":
        return "twin as is"
    return "mirrored copy" if transform == "mirrored" else "turned copy"  # rotN and mirrored+rotN


def mirror_check(audit: dict[str, Any] | None) -> dict[str, int] | None:
    """How many Testing images have a Training counterpart, by the kind of copy, and what stays clean.

    Returns:
        ``testing``, one count per :data:`LINKS` name, ``clean_before`` (the subset without the mirror
        check) and ``pairs_mirrored``/``pairs_turned`` (all splits); ``None`` for an audit without it.
    """
    if not audit or "testing_leaked_by_transform" not in audit:
        return None
    counts = dict.fromkeys(LINKS, 0)
    for transform, n in audit["testing_leaked_by_transform"].items():
        counts[_link(transform)] += n
    counts["clean"] = audit["clean_testing_images"]
    pairs = audit.get("transformed_pairs", {})
    return {"testing": audit["testing_images"], **counts,
            "clean_before": audit["clean_testing_images_before_mirror_check"],
            "pairs_mirrored": pairs.get("mirrored", 0),
            "pairs_turned": sum(n for name, n in pairs.items() if name != "mirrored")}


def mirror_leak_chart(audit: dict[str, Any]) -> go.Figure:
    """Testing images per class, stacked by how they are tied to Training (as is, mirrored, turned, clean)."""
    testing = audit["class_counts"]["Testing"]
    per_class = {label: dict.fromkeys(LINKS, 0) for label in testing}
    for label, by_transform in audit["testing_leaked_by_transform_per_class"].items():
        for transform, n in by_transform.items():
            per_class.setdefault(label, dict.fromkeys(LINKS, 0))[_link(transform)] += n
    for label, counts in per_class.items():
        counts["clean"] = testing.get(label, 0) - sum(counts.values())
    names = [class_name(label) for label in per_class]
    fig = go.Figure()
    for link, colour in LINKS.items():
        values = [counts[link] for counts in per_class.values()]
        fig.add_trace(go.Bar(name=link, y=names, x=values, orientation="h", marker_color=colour,
                             text=values, textposition="inside",
                             hovertemplate=f"%{{y}}, {link}: %{{x}}<extra></extra>"))
    fig.update_layout(barmode="stack", xaxis_title="Testing images", yaxis=dict(autorange="reversed"),
                      height=80 + 45 * len(names), margin=dict(l=10, r=10, t=10, b=40), font=FONT,
                      legend=dict(orientation="h", y=1.15))
    return fig


def figshare_conflicts(audit: dict[str, Any] | None) -> tuple[list[str], str] | None:
    """The images Figshare labels otherwise than their Kaggle folder, one line each, and the audit's note.

    Returns:
        ``(lines, note)``: lines such as "Testing/pituitary/x.jpg: Pituitary tumour folder, Meningioma in
        Figshare", none when the masks manifest was absent (the note says so); ``None`` for an audit
        made before the check.
    """
    if not audit or "figshare_label_conflicts" not in audit:
        return None
    found = audit["figshare_label_conflicts"]
    lines = [f"`{c['image']}`: {class_name(c['kaggle_label'])} folder, {class_name(c['figshare_label'])} in Figshare"
             for c in found["images"]]
    return lines, found["note"]


def pair_kind(pair: dict[str, Any]) -> str:
    """An example pair's kind in words: "exact duplicate", "near duplicate" or "mirrored copy" and the like."""
    transform = pair.get("transform", "as is")  # example pairs of earlier audits have no transform
    return f"{pair['kind']} duplicate" if transform == "as is" else f"{transform} copy"


def pair_reading(pair: dict[str, Any]) -> str:
    """An example pair's kind, hash distance and pixel correlation, as shown beside its two pictures."""
    return (f"**{pair_kind(pair)}**  \nhash distance {pair['hash_distance']} of 64 bits, "
            f"pixel correlation {fixed(pair['correlation'], 3)}")


def clean_subset_reading(metrics: dict[str, Any]) -> str:
    """What the clean-subset figure says, in words: its accuracy beside the subset made before the audit
    counted mirrored copies (both named in one sentence), how many normals it holds (none since the audit
    counts mirrored copies), and what leaving out the images Figshare labels otherwise changes."""
    clean = metrics["clean"]
    counts = dict(zip(clean["classes"], map(sum, clean["confusion_matrix"])))
    normals = counts.get(NO_TUMOUR, 0)
    text = (f"On the {clean['n_images']} Testing images with no copy in Training the model scores "
            f"{percent(clean['accuracy'])} (95% interval {percent_range(*clean['accuracy_ci95'])})")
    earlier = metrics.get("clean_before_mirror_check")
    if earlier and earlier.get("n_images"):
        text += (f"; on the {earlier['n_images']} images of the subset as it held before the audit counted "
                 f"mirrored and turned copies, {percent(earlier['accuracy'])}")
    text += (f". Quote the first, for the tumour classes: it holds {normals or 'no'} no-tumour image"
             f"{'s' * (normals != 1)}, so it says {'nothing' if not normals else 'little'} about that class.")
    disputed = metrics.get("without_label_conflicts")
    if disputed:
        left_out = len(disputed["left_out"])
        before, after = percent(metrics["accuracy"]), percent(disputed["accuracy"])
        them = "it" if left_out == 1 else "them"
        text += f" Without the {left_out} Testing image{'s' * (left_out != 1)} Figshare labels otherwise, "
        text += (f"accuracy on all of Testing stays {before}: leaving {them} out changes nothing at the digits shown."
                 if before == after else f"accuracy on all of Testing is {after}, against {before} with {them}.")
    return text
