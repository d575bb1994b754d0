"""Which report row a metric key names: ``FILE:KEY`` or a bare dotted key.

Gates, the significance evidence and the sweep leaderboard all name metrics this way;
the errors (an ambiguous bare key, a key no revision has) are one line naming the key.
"""

from __future__ import annotations

from ci_mlops.errors import UserError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a report's gates; see ci_mlops/record.py)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, TypeVar

    Row = TypeVar("Row", bound=Mapping[str, Any])  # a report.rows.MetricRow, or a row read back from JSON


def resolve_metric(key: str, rows: Sequence[Row]) -> Row | None:
    """The report row a gate key names (``FILE:KEY`` or a bare key), or None when no revision has it.

    A bare key that matches rows from two files is an error naming both files.
    """
    files = {row["file"] for row in rows}
    if ":" in key:
        file, _, dotted = key.partition(":")
        if file in files:
            matches = [r for r in rows if r["file"] == file and r["key"] == dotted]
            return matches[0] if matches else None
    matches = [r for r in rows if r["key"] == key]
    found_in = sorted({r["file"] for r in matches})
    if len(found_in) > 1:
        raise UserError(
            f"metrics.{key}: ambiguous, the key is in {' and '.join(found_in)}; "
            f"write it as FILE:KEY, e.g. '{found_in[0]}:{key}'"
        )
    return matches[0] if matches else None


def unknown_metric(gate_key: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise the error for a required gate on a metric that neither revision has (a typo, usually)."""
    files = {row["file"] for row in rows}
    file, dotted = None, gate_key
    if ":" in gate_key and gate_key.partition(":")[0] in files:
        file, _, dotted = gate_key.partition(":")
    known = sorted({r["key"] for r in rows if file is None or r["file"] == file})
    import difflib  # lazy: only an error message needs it

    hint = difflib.get_close_matches(dotted, known, n=1)
    where = f" in {file}" if file else ""
    if hint:
        suggestion = f"; did you mean '{hint[0]}'?"
    elif known:
        shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        suggestion = f" (known metrics: {shown})"
    else:
        suggestion = " (no metrics found: does dvc.yaml declare metrics files, and were they produced?)"
    raise UserError(f"metrics.{gate_key}: no such metric{where} at base or head{suggestion}"
                    " (set required: false to allow it to be absent)")
