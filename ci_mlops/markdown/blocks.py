"""GitHub-flavoured Markdown tables and ``<details>`` folds, written one way everywhere."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ci_mlops.escape import md_cell

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any


def row(cells: Iterable[str]) -> str:
    """One table row from cells that are already escaped for a table cell."""
    return "| " + " | ".join(cells) + " |"


def rule(align: Sequence[str]) -> str:
    """The delimiter row: ``align`` holds one cell per column, ``---`` (left), ``--:`` (right),
    ``:-:`` (centre) or any longer dash run, written as given."""
    bad = [cell for cell in align if not _rule_cell(cell)]
    if bad or not align:
        raise ValueError(f"not a Markdown table delimiter: {bad or 'no columns'}")
    return "|" + "|".join(align) + "|"


def _rule_cell(cell: str) -> bool:
    """Whether ``cell`` is ``:?-+:?``: dashes, with a colon at either end or both (no pattern to compile)."""
    dashes = cell.removeprefix(":").removesuffix(":")
    return bool(dashes) and not dashes.strip("-")


def table(header: Sequence[str], align: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Header, delimiter and body lines of a table; every row has the header's width."""
    if len(align) != len(header):
        raise ValueError(f"{len(header)} columns but {len(align)} alignments")
    lines = [row(header), rule(align)]
    for cells in rows:
        if len(cells) != len(header):
            raise ValueError(f"a row of {len(cells)} cells in a table of {len(header)} columns")
        lines.append(row(cells))
    return lines


def details(summary: str, body: str, *, open: bool = False) -> str:
    """``body`` folded under ``summary`` (HTML, escaped by the caller); GitHub renders Markdown inside."""
    return f"<details{' open' if open else ''}><summary>{summary}</summary>\n\n{body}\n\n</details>"


def value_cell(value: Any) -> str:
    """A metric, param or bound as a table cell: 6 significant digits, ``–`` for none, at most 40 characters."""
    if isinstance(value, float):  # most cells (a report of 200 metrics writes 800): the one test first
        if math.isfinite(value):
            return f"{value:.6g}"
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = md_cell(value)
    return text if len(text) <= 40 else text[:39] + "…"
