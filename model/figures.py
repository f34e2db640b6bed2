"""Measured figures as text: cut to the digits shown, never rounded up.

An accuracy of 0.988558 reads "98.85%", not "98.86%": a figure is never shown better
than it was measured. The app's pages, charts and the commands' printouts all write
their figures through here, so the rule holds in one place.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

__all__ = ["cut", "fixed", "percent", "percent_range"]


def cut(value: float | Decimal, digits: int) -> Decimal:
    """``value`` cut down to ``digits`` decimals: towards zero, and away from it below zero.

    A negative figure (a confidence change, a correlation) is never shown higher either.

    The float's shortest decimal form is used, so 0.99 stays 0.99 rather than 0.98999….
    """
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_FLOOR)


def fixed(value: float, digits: int = 4) -> str:
    """A plain number: ``fixed(0.98778)`` → ``'0.9877'``."""
    return str(cut(value, digits))


def percent(fraction: float, digits: int = 2) -> str:
    """A fraction as a percentage: ``percent(0.988558)`` → ``'98.85%'``."""
    return f"{cut(Decimal(repr(float(fraction))) * 100, digits)}%"


def percent_range(low: float, high: float, digits: int = 2) -> str:
    """An interval of fractions: ``percent_range(0.98244, 0.99390)`` → ``'98.24–99.39%'``."""
    return f"{percent(low, digits)[:-1]}–{percent(high, digits)}"
