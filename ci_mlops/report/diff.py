"""Pure diffing: two revisions' flat values -> report rows with change, direction and status.

Values and ``change`` equal ``dvc metrics diff --json`` / ``dvc params diff --json``:
``change = head - base`` when both are numbers (booleans included, as in DVC), else None.
On top of DVC: each metric gets a direction (higher/lower is better, see
:mod:`ci_mlops.report.direction`) and a status. DVCLive's ``step``/``epoch`` counters get the
status ``context``: shown, never "changed", "improved" or gated.

A change within the metric's tolerance (``metrics.<key>.tolerance`` / ``tolerance_pct``,
else ``report.tolerance`` / ``report.tolerance_pct``, default 0.1 % of the base) is noise:
status ``unchanged`` with ``unchanged_reason: "within tolerance"``, never "improved" or "regressed".
A metric with a ``significance`` setting is judged by that instead of a tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ci_mlops.config.records import MetricRule, Report
from ci_mlops.dvc.values import is_finite_number, is_number
from ci_mlops.report.direction import infer_direction, is_counter

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:  # annotations only: its TypedDicts cost ~2 ms to create at start-up
    from typing import Any

    from ci_mlops.report.rows import MetricRow, ParamRow

__all__ = ["STATUSES", "diff_metrics", "diff_params", "infer_direction", "metric_status", "summarize"]

STATUSES = ("improved", "regressed", "changed", "new", "removed", "unchanged", "context")
DEFAULT_TOLERANCE = float(Report.tolerance)  # report.tolerance: absolute, in the metric's units
DEFAULT_TOLERANCE_PCT = Report.tolerance_pct  # report.tolerance_pct: percent of |base|


MetricRules = Mapping[str, MetricRule]  # the ``metrics:`` section (``Settings.metrics``)


def rules_for(metrics_config: MetricRules | None, file: str, key: str) -> tuple[MetricRule, ...]:
    """The ``metrics:`` rules of one metric, ``FILE:KEY``'s before ``KEY``'s: a setting is the first one written."""
    if not metrics_config:
        return ()
    return tuple(rule for name in (f"{file}:{key}", key) if (rule := metrics_config.get(name)) is not None)


def configured_direction(metrics_config: MetricRules | None, file: str, key: str) -> str | None:
    """``metrics.<key>.direction`` from .ci-mlops.yml; ``FILE:KEY`` wins over ``KEY``."""
    return next((r.direction for r in rules_for(metrics_config, file, key) if r.direction), None)


def tolerance_of(metrics_config: MetricRules | None, file: str, key: str,
                 defaults: tuple[float, float] = (DEFAULT_TOLERANCE, DEFAULT_TOLERANCE_PCT)) -> tuple[float, float] | None:
    """(absolute, percent) tolerance for one metric; None when ``significance`` decides instead.

    A metric that sets either ``tolerance`` or ``tolerance_pct`` replaces both defaults
    (the one it leaves out is 0).
    """
    rules = rules_for(metrics_config, file, key)
    if any(r.significance is not None for r in rules):
        return None
    absolute = next((r.tolerance for r in rules if r.tolerance is not None), None)
    pct = next((r.tolerance_pct for r in rules if r.tolerance_pct is not None), None)
    if (absolute, pct) != (None, None):
        return float(absolute or 0.0), float(pct or 0.0)
    return defaults


def within_tolerance(base: Any, change: Any, tolerance: tuple[float, float] | None) -> bool:
    """A finite, non-zero change no bigger than the absolute tolerance or the percent of ``|base|``."""
    if tolerance is None or not (is_finite_number(base) and is_finite_number(change)) or change == 0:
        return False
    absolute, pct = tolerance
    return bool(abs(change) <= absolute or (base != 0 and abs(_share(change, base)) * 100.0 <= pct))


def change_of(base: Any, head: Any) -> Any:
    """DVC's ``diff``: ``head - base`` for two numbers (bools count as numbers), else None."""
    if isinstance(base, (int, float)) and isinstance(head, (int, float)):
        return head - base
    return None


def metric_status(base: Any, head: Any, direction: str | None, present: tuple[bool, bool] = (True, True)) -> str:
    """improved / regressed / changed / unchanged / new / removed for one metric."""
    in_base, in_head = present
    if not in_base and in_head:
        return "new"
    if in_base and not in_head:
        return "removed"
    if base is None and head is not None:
        return "new"
    if head is None and base is not None:
        return "removed"
    if _same(base, head):
        return "unchanged"
    if not (is_finite_number(base) and is_finite_number(head)) or direction is None:
        return "changed"
    better = head > base if direction == "higher" else head < base
    return "improved" if better else "regressed"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def change_pct(base: Any, change: Any) -> float | None:
    """Relative change in percent of ``|base|``; None when undefined (no base, base 0, non-numbers)."""
    if not (is_finite_number(base) and is_finite_number(change)) or base == 0:
        return None
    return float(_share(change, base) * 100.0)


def _share(change: int | float, base: int | float) -> float:
    """``change / |base|``; beyond a float's range it is infinite, as a float division gives (an
    integer division raises: a JSON integer can have hundreds of digits)."""
    try:
        return change / abs(base)
    except OverflowError:
        return math.inf if change > 0 else -math.inf


def diff_metrics(base: Mapping[str, Mapping[str, Any]], head: Mapping[str, Mapping[str, Any]],
                 metrics_config: MetricRules | None = None,
                 tolerance: tuple[float, float] = (DEFAULT_TOLERANCE, DEFAULT_TOLERANCE_PCT)) -> list[MetricRow]:
    """Rows for every (file, key) on either side, sorted by file then key.

    ``base``/``head`` map file -> {dotted key: value}; a file absent from a side
    means the side has no such metrics (first PR, a removed file). ``tolerance`` is the
    report's default (absolute, percent); see :func:`tolerance_of`.
    """
    rows: list[MetricRow] = []
    isfinite = math.isfinite
    for file in sorted(base.keys() | head.keys()):
        old, new = base.get(file, {}), head.get(file, {})
        for key in sorted(old.keys() | new.keys()):
            b, h = old.get(key), new.get(key)
            counter = is_counter(key)
            # a metric no gate names takes the defaults (200 metrics and two gates: ~1 ms of lookups less)
            ruled = bool(metrics_config and (key in metrics_config or f"{file}:{key}" in metrics_config))
            if type(b) is float and type(h) is float and isfinite(b) and isfinite(h) and not (counter or ruled):
                rows.append(_finite_row(file, key, b, h, tolerance))
                continue
            b_number, h_number = is_number(b), is_number(h)
            direction = None if counter else (configured_direction(metrics_config, file, key) if ruled
                                              else None) or (infer_direction(key) if b_number or h_number else None)
            change = change_of(b, h)
            status = "context" if counter else metric_status(b, h, direction, (key in old, key in new))
            row: MetricRow = {
                "file": file, "key": key, "base": b, "head": h, "change": change,
                "change_pct": change_pct(b, change) if b_number and h_number else None,
                "direction": direction, "status": status,
            }
            if b_number and h_number and status in ("improved", "regressed", "changed") and within_tolerance(
                    b, change, tolerance_of(metrics_config, file, key, tolerance) if ruled else tolerance):
                row["status"], row["unchanged_reason"] = "unchanged", "within tolerance"
            rows.append(row)
    return rows


def _finite_row(file: str, key: str, base: float, head: float, tolerance: tuple[float, float]) -> MetricRow:
    """The row of a metric that is a finite float on both sides and no rule names (most rows of a report):
    what diff_metrics' general lines (metric_status, change_pct, within_tolerance) give it, without their
    tests of which kinds of value the two are."""
    direction = infer_direction(key)
    change = head - base
    if base == head:
        status = "unchanged"
    elif direction is None:
        status = "changed"
    else:
        status = "improved" if (head > base if direction == "higher" else head < base) else "regressed"
    row: MetricRow = {"file": file, "key": key, "base": base, "head": head, "change": change,
                      "change_pct": change_pct(base, change), "direction": direction, "status": status}
    if status != "unchanged" and within_tolerance(base, change, tolerance):
        row["status"], row["unchanged_reason"] = "unchanged", "within tolerance"
    return row


def diff_params(base: Mapping[str, Mapping[str, Any]], head: Mapping[str, Mapping[str, Any]]) -> list[ParamRow]:
    """Rows ``{file, key, base, head, change}`` for every param on either side."""
    rows: list[ParamRow] = []
    for file in sorted(set(base) | set(head)):
        old, new = base.get(file, {}), head.get(file, {})
        for key in sorted(set(old) | set(new)):
            b, h = old.get(key), new.get(key)
            rows.append({"file": file, "key": key, "base": b, "head": h, "change": change_of(b, h)})
    return rows


def param_status(row: ParamRow) -> str:
    """changed / unchanged / new / removed for a params row."""
    return metric_status(row["base"], row["head"], None)


def summarize(rows: Iterable[MetricRow]) -> dict[str, int]:
    """Counts per status, every status present (zeros included) for a stable shape."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts
