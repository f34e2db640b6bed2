"""The colours every chart shares: one per class and one per network, the same on every page (no Streamlit here).

The class colours are four of Okabe and Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/):
they stay apart in lightness or hue for people with protanopia, deuteranopia or tritanopia, and none is
close to the grey that marks a reference line. A chart that colours by class asks :func:`class_colour`,
with the class folder name or its display name, and never picks a colour itself. A chart with one mark
per network (the Model comparison's) asks :func:`model_colour` with the architecture name, so a network
keeps its colour whichever networks a page shows and in whatever order.
"""
from __future__ import annotations

from ..names import ARCH_NAMES, DISPLAY_NAMES, NO_TUMOUR

__all__ = ["CLASS_COLOURS", "MODEL_COLOURS", "OTHER_CLASS", "class_colour", "class_colours", "model_colour"]

#: Per class folder name: Okabe–Ito vermillion, blue, black and reddish purple, the four of its colours
#: that stay furthest apart under all three deficiencies (tests/test_class_colours.py measures it) while
#: keeping clear of white (its yellow does not).
CLASS_COLOURS = {
    "glioma": "#D55E00",
    "meningioma": "#0072B2",
    NO_TUMOUR: "#000000",
    "pituitary": "#CC79A7",
}
#: For a label that is no class of the app (a test's "A", another data set's class).
OTHER_CLASS = "#7F7F7F"

_BY_DISPLAY_NAME = {DISPLAY_NAMES[label]: colour for label, colour in CLASS_COLOURS.items()}


def class_colour(label: str) -> str:
    """The colour of a class, named by its folder name (``"notumor"``) or as a person reads it (``"No tumour"``)."""
    return CLASS_COLOURS.get(label) or _BY_DISPLAY_NAME.get(label, OTHER_CLASS)


def class_colours(labels) -> list[str]:
    return [class_colour(label) for label in labels]


#: Per architecture (:data:`model.names.ARCH_NAMES`): the Okabe–Ito colours, then a dark grey.
MODEL_COLOURS = dict(zip(ARCH_NAMES, ("#0072B2", "#56B4E9", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#444444")))
_OTHER_MODEL = "#999999"


def model_colour(arch: str) -> str:
    """The colour of a network on every chart that has one mark per network."""
    return MODEL_COLOURS.get(arch, _OTHER_MODEL)
