"""The shape of a comparison result file, as data, and the checker that names the first bad field.

:mod:`model.comparison.results` holds the whole file's schema; the external block (a model's figures on
scans from elsewhere, ``python -m model external``) is here too, so the module that builds it and the
one that validates it share one description. Standard library only: the app reads these files.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["BOOL", "EXTERNAL", "EXTERNAL_FIGURE", "EXTERNAL_FIGURES", "FieldError", "INT", "Kind", "ListOf",
           "MapOf", "MayLack", "Maybe", "NUMBER", "PAIR", "STR", "check", "check_external"]


@dataclass(frozen=True)
class Kind:
    name: str
    test: Any


@dataclass(frozen=True)
class ListOf:
    item: Any
    length: int | None = None


@dataclass(frozen=True)
class MapOf:
    """An object with free keys (class names) and values of one shape."""
    value: Any


@dataclass(frozen=True)
class Maybe:
    """The value may be ``null``."""
    inner: Any


@dataclass(frozen=True)
class MayLack:
    """The key may be absent (files written before it existed); when present it must fit ``inner``."""
    inner: Any


NUMBER = Kind("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
INT = Kind("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))
STR = Kind("a string", lambda v: isinstance(v, str))
BOOL = Kind("true or false", lambda v: isinstance(v, bool))
PAIR = ListOf(NUMBER, length=2)

#: The headline figures of the external evaluation kept in a result file (``model.evaluation.external``).
EXTERNAL_FIGURES = ("accuracy", "sensitivity", "specificity", "other_tumour_called_no_tumour", "absent_class_answers")
#: One of them: a share (``null`` where nothing was there to count), its case-bootstrap interval, its count.
EXTERNAL_FIGURE = {"value": Maybe(NUMBER), "ci95": Maybe(PAIR), "n": INT}
EXTERNAL = {
    "manifest": STR, "split": STR, "data_fingerprint": STR, "command": STR,
    "n_images": INT, "n_case_groups": INT, "ece": Maybe(NUMBER),
    **{key: EXTERNAL_FIGURE for key in EXTERNAL_FIGURES},
    "by_sequence": MapOf({"sensitivity": EXTERNAL_FIGURE}),
}


class FieldError(Exception):
    def __init__(self, where: str, problem: str):
        super().__init__(f"field '{where}' {problem}")


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _check_object(value: Any, spec: dict, where: str) -> None:
    """An object with these keys (``MayLack`` ones optional; extra keys are ignored)."""
    if not isinstance(value, dict):
        raise FieldError(where or "<top level>", f"must be an object, not {_describe(value)}")
    for key, item_spec in spec.items():
        path = f"{where}.{key}" if where else key
        if isinstance(item_spec, MayLack):
            if key in value:
                check(value[key], item_spec.inner, path)
        elif key not in value:
            raise FieldError(path, "is missing")
        else:
            check(value[key], item_spec, path)


def check(value: Any, spec: Any, where: str) -> None:
    """Raise :class:`FieldError` at the first part of ``value`` that does not fit ``spec``."""
    if isinstance(spec, Maybe):
        if value is not None:
            check(value, spec.inner, where)
    elif isinstance(spec, Kind):
        if not spec.test(value):
            raise FieldError(where, f"must be {spec.name}, not {_describe(value)}")
    elif isinstance(spec, ListOf):
        if not isinstance(value, list):
            raise FieldError(where, f"must be a list, not {_describe(value)}")
        if spec.length is not None and len(value) != spec.length:
            raise FieldError(where, f"must hold {spec.length} items, not {len(value)}")
        for i, item in enumerate(value):
            check(item, spec.item, f"{where}[{i}]")
    elif isinstance(spec, MapOf):
        if not isinstance(value, dict):
            raise FieldError(where, f"must be an object, not {_describe(value)}")
        for key, item in value.items():
            check(item, spec.value, f"{where}.{key}")
    else:
        _check_object(value, spec, where)


def _check_figure(figure: dict, where: str, n_images: int) -> None:
    parts = [figure["value"], *(figure["ci95"] or [])]
    if any(v is not None and not 0 <= v <= 1 for v in parts):
        raise FieldError(where, "must hold shares between 0 and 1")
    if not 0 <= figure["n"] <= n_images:
        raise FieldError(f"{where}.n", f"must be between 0 and n_images ({n_images}), not {figure['n']}")


def check_external(block: dict, where: str = "external") -> None:
    """What the shapes alone cannot say about an (already shape-checked) external block."""
    n_images = block["n_images"]
    if n_images < 1 or not 1 <= block["n_case_groups"] <= n_images:
        raise FieldError(f"{where}.n_case_groups", "must be between 1 and n_images, and n_images at least 1")
    for key in EXTERNAL_FIGURES:
        _check_figure(block[key], f"{where}.{key}", n_images)
    for sequence, figures in block["by_sequence"].items():
        _check_figure(figures["sensitivity"], f"{where}.by_sequence.{sequence}.sensitivity", n_images)
