"""One colour per class, defined once (model.views.colours), the same on every chart that colours by class,
and distinct for people with colour-vision deficiencies."""
import numpy as np
import pytest

from model.names import DISPLAY_NAMES
from model.views import charts
from model.views.colours import CLASS_COLOURS, OTHER_CLASS, class_colour

CLASSES = list(DISPLAY_NAMES)
PROBABILITIES = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.5, 0.2, 0.1], [0.1, 0.1, 0.1, 0.7]])


def _bar_colours(fig):
    return list(fig.data[0].marker.color)


def _line_colours(fig):
    return [t.line.color for t in fig.data]


#: Every chart that colours by class: how to build it from class names, and how to read its colours.
CLASS_CHARTS = {
    "probability bars (Diagnose, Model comparison)": (
        lambda names: charts.probability_bars(names, PROBABILITIES[0]), _bar_colours),
    "per-slice probabilities (Diagnose)": (
        lambda names: charts.slice_probabilities(names, PROBABILITIES, current=1), _line_colours),
}


@pytest.mark.parametrize("chart", list(CLASS_CHARTS))
@pytest.mark.parametrize("naming", ["display names", "folder names"])
def test_every_class_chart_uses_the_one_mapping(chart, naming):
    build, colours_of = CLASS_CHARTS[chart]
    names = [DISPLAY_NAMES[c] for c in CLASSES] if naming == "display names" else CLASSES
    assert colours_of(build(names)) == [CLASS_COLOURS[c] for c in CLASSES]


def test_the_chosen_class_stands_out_without_changing_its_colour():
    bar = charts.probability_bars([DISPLAY_NAMES[c] for c in CLASSES], PROBABILITIES[2]).data[0]
    assert list(bar.marker.opacity) == [0.4, 0.4, 0.4, 1.0]
    assert bar.marker.color[3] == CLASS_COLOURS["pituitary"]


def test_an_unknown_label_is_grey_not_a_class_colour():
    assert class_colour("A") == OTHER_CLASS and OTHER_CLASS not in CLASS_COLOURS.values()


# Machado, Oliveira and Fernandes (2009), severity 1, on linear RGB.
DEFICIENCIES = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def _lab(hex_colour: str, deficiency: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of the colour as seen with ``deficiency``."""
    srgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(deficiency @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(xyz / np.array([0.95047, 1.0, 1.08883]))
    f = np.where(xyz / np.array([0.95047, 1.0, 1.08883]) > 0.008856, f,
                 7.787 * xyz / np.array([0.95047, 1.0, 1.08883]) + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("deficiency", list(DEFICIENCIES))
def test_the_class_colours_stay_apart_for_colour_blind_readers(deficiency):
    """Every pair at least 20 CIELAB units apart (about what tells two chart lines apart at a glance)."""
    seen = {c: _lab(colour, DEFICIENCIES[deficiency]) for c, colour in CLASS_COLOURS.items()}
    pairs = [(a, b) for i, a in enumerate(seen) for b in list(seen)[i + 1:]]
    closest = min(pairs, key=lambda p: np.linalg.norm(seen[p[0]] - seen[p[1]]))
    assert np.linalg.norm(seen[closest[0]] - seen[closest[1]]) >= 20, closest


def test_the_glioma_and_meningioma_blues_of_issue_36_would_fail():
    """The check itself: two similar blues, like the per-slice chart's before, fall under the bar."""
    blues = {"glioma": "#1f77b4", "meningioma": "#4a90c8"}
    seen = [_lab(c, DEFICIENCIES["normal"]) for c in blues.values()]
    assert np.linalg.norm(seen[0] - seen[1]) < 20
