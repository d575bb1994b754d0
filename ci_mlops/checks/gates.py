"""Metric gates: the ``metrics:`` section of ``.ci-mlops.yml`` judged against a report.

Pure computation: a config (or its plain ``dict``) and the report dict of
``ci_mlops.report.build_report`` in, a list of gate results out, one per rule::

    {"metric": "test.accuracy", "file": "metrics.json", "key": "test.accuracy",
     "rule": "min", "bound": 0.9, "value": 0.93, "base": 0.94,
     "passed": true, "skipped": false, "message": "0.93 >= min 0.9"}

``key`` is the gate's key as written in the config (``FILE:KEY`` or a bare dotted
key). Rules: ``min``, ``max``, ``max_drop`` (absolute worsening against the base,
respecting ``direction``), ``max_drop_pct`` (worsening in percent of the base) and
``required`` (a gate with no other rule still checks that the metric exists).
"""

from __future__ import annotations

import math

from ci_mlops.checks.records import settings_of
from ci_mlops.config.records import MetricRule, Significance
from ci_mlops.errors import UserError
from ci_mlops.record import replace
from ci_mlops.report.direction import infer_direction, is_counter
from ci_mlops.report.lookup import resolve_metric, unknown_metric

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ci_mlops.checks.records import ConfigLike, GateResult, Metrics
    from ci_mlops.report.rows import IntervalEvidence, MetricRow

__all__ = ["RULES", "evaluate_gates", "evaluate_point_gates", "infer_direction", "resolve_metric"]

RULES = ("min", "max", "max_drop", "max_drop_pct")

_EPS = 1e-12  # float noise allowed at a bound (0.1 + 0.2 vs 0.3)


def evaluate_gates(config: ConfigLike, report: Metrics, *, strict: bool = False) -> list[GateResult]:
    """Judge every configured metric gate against ``report["metrics"]``.

    ``config`` is a :class:`ci_mlops.config.Config` or a plain mapping with a
    ``metrics`` key; each gate is read as its typed record, a ``MetricRule``. Configuration problems (a key in two files, a key that exists in
    neither revision, a drop rule without a direction) raise :class:`UserError` when
    ``strict`` (the ``check`` command); otherwise they come back as failed gates so a
    PR comment still renders.
    """
    settings = settings_of(config)
    rows = report.get("metrics") or []
    inconclusive = (settings.significance or Significance()).inconclusive
    results: list[GateResult] = []
    # A gate with no rules ({} in the file, None from a caller) only requires the metric.
    declared_gates: Mapping[str, MetricRule | None] = settings.metrics or {}
    for key, declared in declared_gates.items():
        rule = declared if declared is not None else MetricRule()
        try:
            entry = resolve_metric(key, rows)
            if entry is None and rule.required:
                unknown_metric(key, rows)
        except UserError as exc:
            if strict:
                raise
            results.append(_result(key, None, key, "required", None, None, None, False, exc.message))
            continue
        results.extend(_judge(key, rule, entry, strict, inconclusive=inconclusive))
    return results


def evaluate_point_gates(config: ConfigLike, metrics: list[MetricRow]) -> list[GateResult]:
    """The gates judged on point values alone (a sweep's experiments): a rule's ``significance``
    is left out, because no confidence interval is computed there (the PR report computes one
    from both sides' predictions) and asking for one would fail every experiment for want of it."""
    settings = settings_of(config)
    declared: Mapping[str, MetricRule | None] = settings.metrics or {}
    point = {key: replace(rule if rule is not None else MetricRule(), significance=None)
             for key, rule in declared.items()}
    return evaluate_gates(replace(settings, metrics=point), {"metrics": metrics})


def _judge(key: str, spec: MetricRule, entry: MetricRow | None, strict: bool, *,
           inconclusive: str = "warn") -> list[GateResult]:
    metric = entry["key"] if entry else key.partition(":")[2] if ":" in key else key
    file = entry["file"] if entry else None
    head = entry.get("head") if entry else None
    base = entry.get("base") if entry else None
    required = spec.required
    rules = [r for r in RULES if getattr(spec, r) is not None]
    if rules and is_counter(metric):
        message = (f"metrics.{key}.{rules[0]}: '{metric}' is a training counter (DVCLive's step/epoch), "
                   "shown as context in the report, not a quality metric to gate; gate a metric instead")
        if strict:
            raise UserError(message)
        return [_result(key, file, metric, rules[0], getattr(spec, rules[0]), head, base, False, message)]

    if entry is None or head is None:
        if not required:
            why = "not present at head" if entry else "no such metric"
            return [_result(key, file, metric, "required", None, None, base, True, f"{why}: skipped", skipped=True)]
        return [_result(key, file, metric, "required", None, None, base, False,
                        f"{metric} is missing at head (it was {_fmt(base)} at base)")]

    if not rules:
        return [_result(key, file, metric, "required", None, head, base, True, f"present ({_fmt(head)})")]

    direction = spec.direction or entry.get("direction") or infer_direction(metric)
    results = []
    for rule in rules:
        bound = getattr(spec, rule)
        if not _is_number(head):
            results.append(_result(key, file, metric, rule, bound, head, base, False,
                                   f"{metric} is {_fmt(head)}, not a number"))
            continue
        if not math.isfinite(head):  # inf passes `>= min` and beats any base: never a pass
            results.append(_result(key, file, metric, rule, bound, head, base, False,
                                   f"{metric} is {_fmt(head)}, not a finite number"))
            continue
        if rule == "min":
            ok = head >= bound - _EPS
            results.append(_result(key, file, metric, rule, bound, head, base, ok,
                                   f"{_fmt(head)} {'>=' if ok else '<'} min {_fmt(bound)}"))
        elif rule == "max":
            ok = head <= bound + _EPS
            results.append(_result(key, file, metric, rule, bound, head, base, ok,
                                   f"{_fmt(head)} {'<=' if ok else '>'} max {_fmt(bound)}"))
        elif spec.significance is not None:
            results.append(_judge_drop_significance(key, file, metric, rule, bound, head, base, direction, strict,
                                                    entry.get("interval"), inconclusive))
        else:
            results.append(_judge_drop(key, file, metric, rule, bound, head, base, direction, strict))
    return results


def _judge_drop(key: str, file: str | None, metric: str, rule: str, bound: float, head: float,
                base: Any, direction: str | None, strict: bool) -> GateResult:
    if direction not in ("higher", "lower"):
        message = (f"metrics.{key}.direction: needed for {rule} (cannot tell from the name "
                   f"'{metric}' whether higher or lower is better; set direction: higher|lower)")
        if strict:
            raise UserError(message)
        return _result(key, file, metric, rule, bound, head, base, False, message)
    if not _is_number(base) or not math.isfinite(base):
        why = ("no base value" if base is None else
               f"base value {_fmt(base)} is not {'a finite' if _is_number(base) else 'a'} number")
        return _result(key, file, metric, rule, bound, head, base, True, f"{why}: skipped", skipped=True)
    worsening = (base - head) if direction == "higher" else (head - base)
    word = "dropped" if direction == "higher" else "rose"
    if rule == "max_drop":
        ok = worsening <= bound + _EPS
        amount = _amount(max(worsening, 0.0), bound, ok, _change_text)
        shown = _fmt(bound)
    else:
        if base == 0:
            pct = 0.0 if worsening <= 0 else math.inf
        else:
            pct = worsening / abs(base) * 100.0
        ok = pct <= bound + _EPS
        amount = f"{_amount(max(pct, 0.0), bound, ok, _pct_text)}%"
        shown = f"{_fmt(bound)}%"
    if worsening <= 0:
        message = f"{_fmt(head)} vs base {_fmt(base)}: no worsening ({rule} {shown})"
    else:
        message = f"{word} {amount}: {_fmt(base)} -> {_fmt(head)} ({'within' if ok else 'over'} {rule} {shown})"
    return _result(key, file, metric, rule, bound, head, base, ok, message)


def _judge_drop_significance(key: str, file: str | None, metric: str, rule: str, bound: float, head: float,
                             base: Any, direction: str | None, strict: bool, interval: IntervalEvidence | None,
                             inconclusive: str) -> GateResult:
    """A drop rule judged on the change's confidence interval instead of two point values.

    Fail when the whole interval of the worsening is over the bound (the drop exceeds it
    with that confidence), pass when the whole interval is within it, and otherwise the
    verdict is "inconclusive", decided by ``significance.inconclusive`` (pass, warn, fail).
    """
    point = _judge_drop(key, file, metric, rule, bound, head, base, direction, strict)
    if point.get("skipped") or direction not in ("higher", "lower"):
        return point  # no base value, or no direction: the point rule already said why
    if interval is None or "error" in interval:
        why = interval["error"] if interval else "no interval was computed for it"
        return _result(key, file, metric, rule, bound, head, base, False,
                       f"{rule} at {_confidence(interval)} confidence: {why}")
    low, high = interval["low"], interval["high"]
    worse_low, worse_high = (-high, -low) if direction == "higher" else (low, high)
    scale, unit = 1.0, ""
    if rule == "max_drop_pct":
        if base == 0:
            return point
        scale, unit = 100.0 / abs(base), "%"
    worse_low, worse_high = worse_low * scale, worse_high * scale
    confidence = _confidence(interval)
    span = f"{_signed_text(worse_low)}{unit} … {_signed_text(worse_high)}{unit}"
    shown = f"{rule} {_fmt(bound)}{unit}"
    if worse_low > bound + _EPS:
        verdict, ok = "fail", False
        text = f"worsening {span} at {confidence} confidence: over {shown}"
    elif worse_high <= bound + _EPS:
        verdict, ok = "pass", True
        text = f"worsening {span} at {confidence} confidence: within {shown}"
    else:
        verdict, ok = "inconclusive", inconclusive != "fail"
        text = (f"inconclusive: worsening {span} at {confidence} confidence straddles {shown} "
                f"(significance.inconclusive: {inconclusive})")
    result = _result(key, file, metric, rule, bound, head, base, ok, text)
    result.update({"verdict": verdict, "warning": verdict == "inconclusive" and inconclusive == "warn",
                   "interval": {k: interval[k] for k in ("low", "high", "confidence", "significant", "method", "test")
                                if k in interval}})
    return result


def _confidence(interval: IntervalEvidence | None) -> str:
    value = (interval or {}).get("confidence")
    return f"{value * 100:g}%" if isinstance(value, (int, float)) else "the configured"


def _signed_text(value: float) -> str:
    return "+0" if value == 0 else f"{value:+.4g}".replace("-", "−")


def _result(key: str, file: str | None, metric: str, rule: str, bound: Any, value: Any, base: Any,
            passed: bool, message: str, *, skipped: bool = False) -> GateResult:
    return {"metric": metric, "file": file, "key": key, "rule": rule, "bound": bound, "value": value,
            "base": base, "passed": bool(passed), "skipped": skipped, "message": message}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _amount(value: float, bound: float, ok: bool, text: Any) -> str:
    """``value`` as the report's change columns show it; more digits when rounding would hide why a gate failed."""
    short: str = text(value)
    if not ok and math.isfinite(value) and float(short) <= bound:
        return _fmt(value)
    return short


def _change_text(value: float) -> str:
    """An absolute change, with the Markdown report's precision (4 significant digits)."""
    return _nonfinite(value) or f"{value:.4g}"


def _pct_text(value: float) -> str:
    """A percentage, with the Markdown report's precision (2 decimals, trailing zeros dropped)."""
    return _nonfinite(value) or f"{round(value, 2):g}"


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return _nonfinite(value) or f"{value:.6g}"
    return str(value)


def _nonfinite(value: float) -> str | None:
    """"inf", "-inf" or "NaN" for a non-finite float (the sign kept), else None."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return None
