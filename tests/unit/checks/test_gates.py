"""Metric gates on plain report dicts: every rule, direction, base handling and config errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ci_mlops.checks.gates import evaluate_gates, infer_direction, resolve_metric
from ci_mlops.errors import UserError


def row(key, head, base=None, file="metrics.json", direction=None):
    return {"file": file, "key": key, "base": base, "head": head, "change": None, "change_pct": None,
            "direction": direction, "status": "unchanged"}


def gates(metrics_cfg, rows, **kw):
    return evaluate_gates({"metrics": metrics_cfg}, {"metrics": rows}, **kw)


def by_rule(results):
    return {r["rule"]: r for r in results}


def test_min_and_max_pass_and_fail():
    out = by_rule(gates({"test.accuracy": {"min": 0.9, "max": 0.95}}, [row("test.accuracy", 0.92)]))
    assert out["min"]["passed"] and out["max"]["passed"]
    assert out["min"]["value"] == 0.92 and out["min"]["bound"] == 0.9
    out = by_rule(gates({"test.accuracy": {"min": 0.9, "max": 0.95}}, [row("test.accuracy", 0.85)]))
    assert not out["min"]["passed"] and out["max"]["passed"]
    assert "0.85 < min 0.9" in out["min"]["message"]


def test_bound_is_inclusive_despite_float_noise():
    out = gates({"m.acc": {"min": 0.3}}, [row("m.acc", 0.1 + 0.2)])
    assert out[0]["passed"]


def test_max_drop_respects_direction():
    higher = gates({"test.accuracy": {"max_drop": 0.01}}, [row("test.accuracy", 0.90, base=0.92)])
    assert not higher[0]["passed"] and "dropped 0.02" in higher[0]["message"]
    improved = gates({"test.accuracy": {"max_drop": 0.01}}, [row("test.accuracy", 0.95, base=0.92)])
    assert improved[0]["passed"]
    lower = gates({"test.loss": {"max_drop": 0.01}}, [row("test.loss", 0.30, base=0.25)])
    assert not lower[0]["passed"] and "rose 0.05" in lower[0]["message"]
    lower_better = gates({"test.loss": {"max_drop": 0.01}}, [row("test.loss", 0.20, base=0.25)])
    assert lower_better[0]["passed"]


def test_config_direction_overrides_name_and_report():
    out = gates({"test.loss": {"direction": "higher", "max_drop": 0.01}},
                [row("test.loss", 0.20, base=0.25, direction="lower")])
    assert not out[0]["passed"]


def test_max_drop_pct():
    ok = gates({"acc": {"max_drop_pct": 5}}, [row("acc", 0.96, base=1.0)])
    assert ok[0]["passed"]
    bad = gates({"acc": {"max_drop_pct": 5}}, [row("acc", 0.90, base=1.0)])
    assert not bad[0]["passed"] and "10%" in bad[0]["message"]
    zero_base = gates({"rmse": {"max_drop_pct": 5}}, [row("rmse", 0.1, base=0.0)])
    assert not zero_base[0]["passed"]


def test_no_base_skips_drop_rules_but_keeps_absolute_bounds():
    out = by_rule(gates({"test.accuracy": {"min": 0.95, "max_drop": 0.01, "max_drop_pct": 1}},
                        [row("test.accuracy", 0.9, base=None)]))
    assert out["max_drop"]["passed"] and out["max_drop"]["skipped"]
    assert "no base" in out["max_drop"]["message"]
    assert out["max_drop_pct"]["skipped"]
    assert not out["min"]["passed"] and not out["min"]["skipped"]


def test_missing_at_head_fails_required_and_skips_when_not_required():
    rows = [row("test.auc", None, base=0.8)]
    out = gates({"test.auc": {"min": 0.5}}, rows)
    assert [(r["rule"], r["passed"]) for r in out] == [("required", False)]
    assert "missing at head" in out[0]["message"] and "0.8" in out[0]["message"]
    out = gates({"test.auc": {"min": 0.5, "required": False}}, rows)
    assert out[0]["passed"] and out[0]["skipped"]


def test_unknown_metric_is_a_config_error_with_suggestion():
    rows = [row("test.accuracy", 0.9)]
    with pytest.raises(UserError, match=r"metrics\.test\.acuracy: no such metric.*did you mean 'test\.accuracy'"):
        gates({"test.acuracy": {"min": 0.5}}, rows, strict=True)
    soft = gates({"test.acuracy": {"min": 0.5}}, rows)
    assert not soft[0]["passed"] and "no such metric" in soft[0]["message"]
    skipped = gates({"test.acuracy": {"min": 0.5, "required": False}}, rows, strict=True)
    assert skipped[0]["skipped"] and skipped[0]["passed"]


def test_ambiguous_key_names_both_files_and_file_prefix_resolves():
    rows = [row("acc", 0.9, file="a/metrics.json"), row("acc", 0.5, file="b/metrics.json")]
    with pytest.raises(UserError, match="a/metrics.json and b/metrics.json"):
        gates({"acc": {"min": 0.8}}, rows, strict=True)
    out = gates({"b/metrics.json:acc": {"min": 0.8}}, rows, strict=True)
    assert out[0]["file"] == "b/metrics.json" and out[0]["metric"] == "acc" and not out[0]["passed"]
    assert out[0]["key"] == "b/metrics.json:acc"


def test_gate_without_rules_checks_presence():
    out = gates({"test.f1": {"direction": "higher"}}, [row("test.f1", 0.7)])
    assert out == [{**out[0], "rule": "required", "passed": True}]


def test_non_numeric_head_fails_numeric_rules():
    out = gates({"stage": {"min": 1}}, [row("stage", "prod")])
    assert not out[0]["passed"] and "not a number" in out[0]["message"]


def test_drop_rule_without_direction_is_a_config_error():
    with pytest.raises(UserError, match=r"metrics\.weird\.direction: needed for max_drop"):
        gates({"weird": {"max_drop": 1}}, [row("weird", 1, base=2)], strict=True)


def test_infer_direction():
    assert infer_direction("test.accuracy") == "higher"
    assert infer_direction("train.log_loss") == "lower"
    assert infer_direction("val.rmse") == "lower"
    assert infer_direction("roc_auc") == "higher"
    assert infer_direction("n_test") is None


def test_resolve_metric_file_with_colon_not_in_report_is_bare_key():
    rows = [row("a:b", 1)]
    assert resolve_metric("a:b", rows)["key"] == "a:b"


@given(base=st.integers(-10**6, 10**6), delta=st.integers(0, 1000), bound=st.integers(0, 1000))  # exact arithmetic
def test_max_drop_is_symmetric_in_direction(base, delta, bound):
    worse_higher = gates({"acc": {"max_drop": bound}}, [row("acc", base - delta, base=base)])[0]
    worse_lower = gates({"loss": {"max_drop": bound}}, [row("loss", base + delta, base=base)])[0]
    assert worse_higher["passed"] == worse_lower["passed"]
    assert worse_higher["passed"] == (delta <= bound)
    # better never fails
    assert gates({"acc": {"max_drop": bound}}, [row("acc", base + delta, base=base)])[0]["passed"]


def test_drop_messages_use_the_report_precision():
    from ci_mlops.report import render_markdown
    from ci_mlops.report.diff import diff_metrics, summarize

    rows = diff_metrics({"m.json": {"acc": 0.874}}, {"m.json": {"acc": 0.8}})
    out = by_rule(evaluate_gates({"metrics": {"acc": {"max_drop_pct": 5, "max_drop": 0.01}}}, {"metrics": rows}))
    assert out["max_drop_pct"]["message"] == "dropped 8.47%: 0.874 -> 0.8 (over max_drop_pct 5%)"
    assert out["max_drop"]["message"] == "dropped 0.074: 0.874 -> 0.8 (over max_drop 0.01)"
    table = render_markdown({"metrics": rows, "params": [], "plots": [], "summary": summarize(rows)})
    assert "(-8.47%)" in table and "-0.074" in table  # the same numbers as the gate messages


def test_drop_message_keeps_digits_that_explain_a_failure():
    # Rounded to the report's precision, 5.001% would read "dropped 5% (over max_drop_pct 5%)".
    out = gates({"acc": {"max_drop_pct": 5}}, [row("acc", 0.94999, base=1.0)])
    assert not out[0]["passed"] and "dropped 5.001%" in out[0]["message"]
    out = gates({"acc": {"max_drop": 0.01}}, [row("acc", 0.98999, base=1.0)])
    assert not out[0]["passed"] and "dropped 0.01001:" in out[0]["message"]
    out = gates({"acc": {"max_drop": 0.1}}, [row("acc", 0.5, base=1.0)])
    assert "dropped 0.5:" in out[0]["message"]


# -- non-finite values (issue: Infinity passed every gate, -inf printed as inf) -------------------


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
@pytest.mark.parametrize("rule", [{"min": 0.5}, {"max": 0.5}, {"max_drop": 0.01, "direction": "higher"},
                                  {"max_drop": 0.01, "direction": "lower"}, {"max_drop_pct": 1, "direction": "higher"},
                                  {"max_drop_pct": 1, "direction": "lower"}])
def test_non_finite_head_fails_every_rule(value, rule):
    out = gates({"m.acc": rule}, [row("m.acc", value, base=0.9)])
    assert len(out) == 1 and not out[0]["passed"] and not out[0]["skipped"], out
    shown = {float("inf"): "m.acc is inf,", float("-inf"): "m.acc is -inf,", }.get(value, "m.acc is NaN,")
    assert shown in out[0]["message"], out[0]["message"]


@pytest.mark.parametrize("base", [float("inf"), float("-inf")])
def test_non_finite_base_cannot_measure_a_drop(base):
    out = gates({"m.acc": {"max_drop": 0.01, "direction": "higher"}}, [row("m.acc", 0.9, base=base)])
    assert out[0]["skipped"] and "not a finite number" in out[0]["message"]
    assert ("-inf" in out[0]["message"]) == (base < 0)


def test_negative_infinity_keeps_its_sign_in_messages():
    from ci_mlops.checks.gates import _change_text, _fmt, _pct_text

    assert (_fmt(float("-inf")), _fmt(float("inf")), _fmt(float("nan"))) == ("-inf", "inf", "NaN")
    assert _change_text(float("-inf")) == "-inf" and _pct_text(float("-inf")) == "-inf"


def test_point_gates_leave_significance_out_and_keep_the_other_rules():
    from ci_mlops.checks.gates import evaluate_point_gates

    rows = [row("acc", 0.85, base=0.9, direction="higher")]
    config = {"metrics": {"acc": {"max_drop": 0.1, "significance": 0.95}, "loss": {"required": False}},
              "significance": {"predictions": {"file": "p.csv", "predicted": "p"}}}
    asked = evaluate_gates(config, {"metrics": rows})  # no interval on the row: the significance gate cannot judge
    assert not by_rule(asked)["max_drop"]["passed"]
    point = by_rule(evaluate_point_gates(config, rows))
    assert point["max_drop"]["passed"] and "interval" not in point["max_drop"]["message"]
    assert point["max_drop"]["message"] == by_rule(gates({"acc": {"max_drop": 0.1}}, rows))["max_drop"]["message"]
