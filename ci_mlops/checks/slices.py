"""Slices: a classifier's metrics per subgroup, and gates on the gap between groups.

From a predictions file (columns ``actual``, ``predicted`` and group columns) the
``slices:`` section computes accuracy, precision, recall, F1 and error rate for each
value of each ``by`` column, then checks ``min_support`` (every group has at least
that many rows), and per metric ``min`` (every group reaches it) and ``max_gap``
(best group minus worst group). One result per ``by`` column::

    {"by": "sex", "passed": false,
     "groups": [{"group": "F", "support": 120, "accuracy": 0.81, ...}, ...],
     "checks": [{"metric": "accuracy", "rule": "max_gap", "bound": 0.05, "value": 0.09,
                 "group": null, "passed": false, "message": "..."}]}

Groups are sorted by value; a missing group value is its own group, ``(missing)``.
A metric that is undefined for a group (precision with no positive prediction) is
``null`` and takes no part in that metric's gates. An empty predictions file fails
(rule ``rows``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ci_mlops.config.convert import build
from ci_mlops.config.records import SliceMetric, SliceRule, Slices
from ci_mlops.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from ci_mlops.checks.records import SliceCheck, SliceResult

METRICS = ("accuracy", "precision", "recall", "f1", "error_rate")
DEFAULT_SHOWN = ("accuracy", "precision", "recall", "f1")
MISSING = "(missing)"


def slice_metrics(frame: pd.DataFrame, spec: Slices | Mapping[str, Any], *, name: str = "slices") -> list[SliceResult]:
    """Per-group metrics and gate verdicts for every ``by`` column (pure: a DataFrame in, results out).

    ``spec`` is the ``slices:`` section as its typed record, or as written (a mapping).
    """
    import numpy as np  # heavy: loaded when data is checked, not at start-up

    spec = spec if isinstance(spec, Slices) else build(Slices, {"file": name, **spec})
    actual_col, predicted_col = spec.actual, spec.predicted
    by = list(spec.by)
    missing = [c for c in (actual_col, predicted_col, *by) if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns[:20]))
        raise UserError(f"{name}: no column {', '.join(map(repr, missing))} (named in slices; the file has: {have})")
    actual, predicted = frame[actual_col], frame[predicted_col]
    correct = _equal(actual, predicted)
    positive = spec.positive
    is_pos_actual, is_pos_pred = _equal_value(actual, positive), _equal_value(predicted, positive)
    counts = {
        "support": np.ones(len(frame), dtype=np.int64),
        "correct": correct.astype(np.int64),
        "tp": (is_pos_actual & is_pos_pred).astype(np.int64),
        "fp": (~is_pos_actual & is_pos_pred).astype(np.int64),
        "fn": (is_pos_actual & ~is_pos_pred).astype(np.int64),
    }
    # A metric with no rules ({} in the file, None from a caller) is shown, not gated.
    gates: Mapping[SliceMetric, SliceRule | None] = spec.metrics or {}
    shown = [m for m in METRICS if m in gates] or list(DEFAULT_SHOWN)
    results = [_one_by(frame, column, counts, gates, shown, spec.min_support) for column in by]
    if len(frame) == 0:  # an evaluation that wrote no predictions must not pass silently
        for result in results:
            result["checks"].insert(0, _check(None, "rows", 1, 0, None, False, f"{name}: no prediction rows"))
            result["passed"] = False
    return results


def _one_by(frame: pd.DataFrame, column: str, counts: dict[str, Any], gates: Mapping[SliceMetric, SliceRule | None],
            shown: list[str], min_support: int | None) -> SliceResult:
    import pandas as pd  # heavy: loaded when data is checked, not at start-up

    keys = frame[column].astype(object).where(frame[column].notna(), MISSING)
    table = pd.DataFrame(counts).groupby(keys.to_numpy(), sort=False).sum()
    table = table.loc[sorted(table.index, key=lambda v: (v == MISSING, str(v)))]
    groups = []
    for group, row in table.iterrows():
        n, correct, tp, fp, fn = (int(row[k]) for k in ("support", "correct", "tp", "fp", "fn"))
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        f1 = (2 * precision * recall / (precision + recall)) if precision and recall else \
            (0.0 if precision is not None and recall is not None else None)
        values = {"accuracy": correct / n, "precision": precision, "recall": recall, "f1": f1,
                  "error_rate": 1 - correct / n}
        groups.append({"group": _plain(group), "support": n, **{m: _round(values[m]) for m in shown}})

    checks: list[SliceCheck] = []
    if min_support:
        small = [g for g in groups if g["support"] < min_support]
        for g in small:
            checks.append(_check(None, "min_support", min_support, g["support"], g["group"], False,
                                 f"{column}={g['group']}: {g['support']} rows, below min_support {min_support}"))
        if not small:
            smallest = min(groups, key=lambda g: g["support"]) if groups else None
            checks.append(_check(None, "min_support", min_support, smallest and smallest["support"], None, True,
                                 f"every {column} group has at least {min_support} rows"))
    for metric, rules in gates.items():
        defined = [g for g in groups if g.get(metric) is not None]
        if rules is None:
            continue
        if rules.min is not None:
            bound = rules.min
            low = [g for g in defined if g[metric] < bound - 1e-12]
            for g in low:
                checks.append(_check(metric, "min", bound, g[metric], g["group"], False,
                                     f"{metric} for {column}={g['group']} is {_shown(g[metric], bound, False)}, below min {bound}"))
            if not low:
                worst = min((g[metric] for g in defined), default=None)
                checks.append(_check(metric, "min", bound, worst, None, True,
                                     f"{metric} >= {bound} in every {column} group"))
        if rules.max_gap is not None:
            bound = rules.max_gap
            if len(defined) < 2:
                checks.append(_check(metric, "max_gap", bound, None, None, True,
                                     f"{metric} gap: fewer than two {column} groups with a value: skipped"))
                continue
            best, worst = max(defined, key=lambda g: g[metric]), min(defined, key=lambda g: g[metric])
            gap = round(best[metric] - worst[metric], 6)
            ok = gap <= bound + 1e-12
            checks.append(_check(metric, "max_gap", bound, gap, None, ok,
                                 f"{metric} gap across {column} is {_shown(gap, bound, ok)} "
                                 f"({best['group']} {best[metric]:.4f} vs {worst['group']} {worst[metric]:.4f}; "
                                 f"max_gap {bound})"))
    return {"by": column, "passed": all(c["passed"] for c in checks), "groups": groups, "checks": checks}


def _shown(value: float, bound: float, ok: bool) -> str:
    """``value`` with the table's 4 decimals; 6 when 4 would hide why a check failed (0.0500 vs 0.05)."""
    text = f"{value:.4f}"
    if not ok and abs(float(text) - bound) <= 1e-12:
        text = f"{value:.6f}"
    return text


def _check(metric: str | None, rule: str, bound: Any, value: Any, group: Any, passed: bool,
           message: str) -> SliceCheck:
    return {"metric": metric, "rule": rule, "bound": bound, "value": value, "group": group,
            "passed": bool(passed), "message": message}


def _equal(a: pd.Series, b: pd.Series) -> Any:
    """Element-wise equality that treats 1 and "1" (one column parsed as text) as the same label."""
    if a.dtype == b.dtype or (_numeric(a) and _numeric(b)):
        return (a.to_numpy() == b.to_numpy()) & a.notna().to_numpy()
    return (a.astype(str).to_numpy() == b.astype(str).to_numpy()) & a.notna().to_numpy()


def _equal_value(series: pd.Series, value: Any) -> Any:
    import pandas as pd  # heavy: loaded when data is checked, not at start-up

    if pd.api.types.is_bool_dtype(series) and value in (0, 1):
        return series.to_numpy() == bool(value)
    if _numeric(series) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return series.to_numpy() == value
    return series.astype(str).to_numpy() == str(value)


def _numeric(series: pd.Series) -> bool:
    import pandas as pd  # heavy: loaded when data is checked, not at start-up

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value

