"""README's headline figures come from the committed result files, written the way the app writes them."""
import json
import re
from pathlib import Path

import pytest

from model.figures import fixed, percent, percent_range

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
TABLE = README.split("<!-- headline figures: checked by tests/test_readme.py -->")[1].split("<!-- end of")[0]
ROWS = [[cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in TABLE.strip().splitlines()[2:]]


def looked_up(source: str):
    """The value a row names as `` `file` `key.path` ``, and the JSON object that holds it."""
    file, key = re.fullmatch(r"`([^`]+)` `([^`]+)`", source).groups()
    holder = json.loads((REPO / file).read_text())
    *parents, last = key.split(".")
    for part in parents:
        holder = holder[part]
    return holder[last], holder, last


def written(value, shown: str) -> str:
    """``value`` as the app writes a figure shaped like ``shown``."""
    if isinstance(value, int):
        return f"{value:,}"
    if shown.endswith("%"):
        return percent(value)
    return fixed(value, len(shown.split(".")[1]))


def test_the_table_has_rows():
    assert len(ROWS) >= 5 and all(len(row) == 3 for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row[0][:40] for row in ROWS])
def test_each_headline_figure_is_its_result_file_value(row):
    _, shown, source = row
    value, holder, key = looked_up(source)
    figure, _, interval = shown.partition(" (")
    assert figure == written(value, figure)
    if interval:
        low, high = holder[f"{key}_ci95"] if f"{key}_ci95" in holder else holder["ci95"]  # external: {value, ci95}
        expected = percent_range(low, high) if figure.endswith("%") else f"{fixed(low)}–{fixed(high)}"
        assert interval.rstrip(")") == expected


def test_a_wrong_figure_would_be_caught():
    value, _, _ = looked_up("`model/weights/resnet50.metrics.json` `accuracy`")
    assert written(value + 0.0001, "99.23%") != written(value, "99.23%")
