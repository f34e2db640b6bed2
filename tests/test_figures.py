from decimal import Decimal

import pytest

from model.figures import cut, fixed, percent, percent_range


@pytest.mark.parametrize("fraction, text", [
    (0.988558352402746, "98.85%"),   # nearest would be 98.86%
    (0.9809523809523809, "98.09%"),  # 618 of 630
    (0.99, "99.00%"),                # no float artefact turns 99 into 98.99
    (1.0, "100.00%"),
    (0.0, "0.00%"),
    (0.4, "40.00%"),
])
def test_percent_cuts_and_never_rounds_up(fraction, text):
    assert percent(fraction) == text


def test_digits_and_plain_numbers():
    assert percent(0.988558, digits=1) == "98.8%"
    assert percent(0.07, digits=0) == "7%"
    assert fixed(0.9877813500290845) == "0.9877"
    assert fixed(0.0078074, 3) == "0.007"
    assert fixed(0.99, 2) == "0.99"
    assert percent_range(0.9824370709382151, 0.9938977879481312) == "98.24–99.38%"


def test_cut_is_never_above_the_value():
    for value in (0.123456789, 0.98765, 0.5, 0.333333333, 0.999999, -0.123456789, -0.5, -0.999999):
        for digits in range(6):
            assert cut(value, digits) <= Decimal(repr(value))
            assert Decimal(repr(value)) - cut(value, digits) < Decimal(1).scaleb(-digits)


def test_a_negative_figure_is_cut_down_too():
    assert fixed(-0.01234, 3) == "-0.013"
    assert fixed(-0.5, 2) == "-0.50"
    assert percent(-0.0012, 1) == "-0.2%"
