"""One metric-direction function for `report` and `check`: real metric names, split suffixes, counters."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.checks import gates
from ci_mlops.errors import UserError
from ci_mlops.report import diff, direction
from ci_mlops.report.direction import infer_direction, is_counter


@pytest.mark.parametrize("name, direction", [
    # DVC's naming puts the split last
    ("roc_auc.test", "higher"), ("avg_prec.train", "higher"), ("avg_prec.test", "higher"),
    ("precision.val", "higher"), ("loss.valid", "lower"), ("rmse.validation", "lower"), ("f1.eval", "higher"),
    ("accuracy.dev", "higher"),
    # common names
    ("jaccard_coeff", "higher"), ("iou", "higher"), ("miou", "higher"), ("dice_multi", "higher"),
    ("map", "higher"), ("map@5", "higher"), ("ndcg@10", "higher"), ("bleu", "higher"), ("rougeL", "higher"),
    ("rouge1", "higher"), ("r2", "higher"), ("r2_score", "higher"), ("top5_acc", "higher"),
    # error, loss and latency families
    ("error_rate", "lower"), ("mean_absolute_error", "lower"), ("test.rmse", "lower"), ("eval.loss", "lower"),
    ("val_loss", "lower"), ("valLoss", "lower"), ("train.log_loss", "lower"), ("cross_entropy", "lower"),
    ("latency_ms", "lower"), ("inference.latency.p95", "lower"), ("test.time", "lower"),
    # aggregates name the metric before them
    ("macro avg.f1-score", "higher"), ("loss.mean", "lower"), ("f1.weighted", "higher"),
    # names that do not tell
    ("n_test", None), ("score.threshold", None), ("lr", None), ("test", None),
    # counters have no direction
    ("step", None), ("epoch", None), ("train.step", None),
])
def test_infer_direction(name, direction):
    assert infer_direction(name) == direction


def test_report_and_check_share_the_function():
    assert diff.infer_direction is infer_direction and gates.infer_direction is infer_direction


def test_report_and_check_agree_on_test_time():
    rows = diff.diff_metrics({"m.json": {"test.time": 1.0}}, {"m.json": {"test.time": 1.5}})
    assert rows[0]["direction"] == "lower" and rows[0]["status"] == "regressed"
    [gate] = gates.evaluate_gates({"metrics": {"test.time": {"max_drop": 0.1}}}, {"metrics": rows}, strict=True)
    assert not gate["passed"] and "rose 0.5" in gate["message"]


@pytest.mark.parametrize("key", ["step", "epoch", "train.step", "global_step"])
def test_counters(key):
    assert is_counter(key)


def test_counters_are_context_never_changed():
    rows = diff.diff_metrics({"m.json": {"step": 10, "acc": 0.5}}, {"m.json": {"step": 20, "acc": 0.5}})
    step = next(r for r in rows if r["key"] == "step")
    assert step["status"] == "context" and step["direction"] is None and step["change"] == 10
    assert diff.summarize(rows)["context"] == 1 and diff.summarize(rows)["changed"] == 0


def test_counter_rows_in_markdown():
    from ci_mlops.report import render_markdown

    rows = diff.diff_metrics({"m.json": {"step": 10, "acc": 0.5}}, {"m.json": {"step": 20, "acc": 0.5}})
    text = render_markdown({"base": {"ref": "a", "sha": "a" * 40}, "head": {"ref": "workspace"}, "metrics": rows,
                            "params": [], "plots": []})
    assert "none changed" in text
    line = next(x for x in text.splitlines() if x.startswith("| step"))
    assert "context" in line and "▲" not in line


def test_a_gate_on_a_counter_is_refused():
    rows = diff.diff_metrics({"m.json": {"step": 10}}, {"m.json": {"step": 20}})
    with pytest.raises(UserError, match=r"metrics.step.min: 'step' is a training counter"):
        gates.evaluate_gates({"metrics": {"step": {"min": 5}}}, {"metrics": rows}, strict=True)
    [gate] = gates.evaluate_gates({"metrics": {"step": {"min": 5}}}, {"metrics": rows})
    assert not gate["passed"]
    [present] = gates.evaluate_gates({"metrics": {"step": {}}}, {"metrics": rows}, strict=True)
    assert present["passed"] and present["rule"] == "required"


# The stems as they were written as patterns: the string tests that replaced them must agree.
HIGHER_STEMS = re.compile(r"^(rouge[0-9a-z]*|bleu[0-9]*|top[0-9]+|map[0-9]+|ndcg[0-9]+|recall[0-9]+|"
                          r"precision[0-9]+|hit(s|rate)?[0-9]+|mrr[0-9]+|f[0-9]+)$")
LOWER_STEMS = re.compile(r"^(p[0-9]{2,3}|latency[a-z0-9]*|error[a-z0-9]*)$")
STEM_PARTS = ["rouge", "bleu", "top", "map", "ndcg", "recall", "precision", "hit", "hits", "hitrate", "mrr", "f",
              "p", "latency", "error", "l", "x", "0", "5", "10", "999", "1234", "a1"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(STEM_PARTS), st.text(alphabet="abefilmoprst0159", max_size=3)),
                max_size=3).map("".join))
def test_the_stem_tests_agree_with_the_patterns_they_replace(name):
    assert direction._higher_stem(name) == bool(HIGHER_STEMS.match(name))
    assert direction._lower_stem(name) == bool(LOWER_STEMS.match(name))


def _segment_before(key: str) -> str:
    parts = [p for p in key.split(".") if p]
    while len(parts) > 1 and (parts[-1].lower() in direction.SPLITS or parts[-1].lower() in direction.QUALIFIERS):
        parts.pop()
    return parts[-1] if parts else ""


def _direction_before(key: str) -> str | None:
    """infer_direction as it was written before its string tests: two lower-cased passes, the patterns."""
    segment = _segment_before(key)
    if not segment or segment.lower() in direction.COUNTERS:
        return None
    token = re.compile(r"[a-z0-9]+")
    tokens = [t for t in token.findall(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", segment).lower())
              if t not in direction.SPLITS]
    for candidate in ["".join(token.findall(segment.lower())), *reversed(tokens)]:
        if candidate in direction.LOWER_IS_BETTER or LOWER_STEMS.match(candidate):
            return "lower"
        if candidate in direction.HIGHER_IS_BETTER or HIGHER_STEMS.match(candidate):
            return "higher"
    return None


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([*STEM_PARTS, "Loss", "L", "Acc", "val", "test", "mean", "step", "_", ".", ".", "..", ".test", "Val",
                                           "-", "@", "Σ", "K", "İ", "ß"]),
                          st.text(max_size=3)), max_size=5).map("".join))
def test_infer_direction_answers_as_it_did(key):
    assert infer_direction(key) == _direction_before(key)
    assert direction.metric_segment(key) == _segment_before(key)
    assert is_counter(key) == (_segment_before(key).lower() in direction.COUNTERS)


def test_the_module_compiles_one_pattern_at_import():
    """Start-up: every report imports direction; its stems are string tests, its only pattern splits words."""
    assert [v for v in vars(direction).values() if isinstance(v, re.Pattern)] == [direction._TOKEN]
