"""Flattening and diffing, property-tested against DVC's own functions."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ci_mlops.config.records import MetricRule
from ci_mlops.dvc.values import ParseError, metrics_values, params_values, parse
from ci_mlops.report.diff import diff_metrics, diff_params, infer_direction, metric_status
from ci_mlops.report.direction import is_counter

keys = st.text(st.characters(codec="utf-8", exclude_characters="."), min_size=1, max_size=6)
scalars = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32), st.booleans(),
    st.text(max_size=5), st.none(), st.lists(st.integers(), max_size=2),
)
trees = st.recursive(scalars, lambda children: st.dictionaries(keys, children, max_size=4), max_leaves=12)
documents = st.dictionaries(keys, trees, max_size=5)


def dvc_metrics_flat(data):
    from dvc.repo.metrics.show import _extract_metrics
    from dvc.utils.diff import _flatten, format_dict

    extracted = _extract_metrics(data, "m.json") or {}
    return dict(_flatten(format_dict(extracted)))


@settings(max_examples=150, deadline=None)
@given(documents)
def test_metrics_flatten_matches_dvc(doc):
    assert metrics_values(doc) == dvc_metrics_flat(doc)


@settings(max_examples=150, deadline=None)
@given(documents, documents)
def test_metrics_diff_matches_dvc(old_doc, new_doc):
    from dvc.utils.diff import diff as dvc_diff

    old, new = metrics_values(old_doc), metrics_values(new_doc)
    theirs = dvc_diff({"m.json": {"data": dvc_metrics_flat(old_doc)}}, {"m.json": {"data": dvc_metrics_flat(new_doc)}},
                      with_unchanged=True)
    rows = diff_metrics({"m.json": old} if old_doc else {}, {"m.json": new} if new_doc else {})
    ours = {r["key"]: r for r in rows}
    assert set(ours) == set(theirs.get("m.json", {}))
    for key, want in theirs.get("m.json", {}).items():
        row = ours[key]
        assert (row["base"], row["head"]) == (want["old"], want["new"])
        if "diff" in want:
            assert row["change"] == want["diff"]
        else:
            assert row["change"] is None


@settings(max_examples=100, deadline=None)
@given(documents, st.lists(st.sampled_from(["a", "b", "a.b", "x.y.z"]), max_size=3))
def test_params_selection_matches_dvc(doc, wanted):
    import dpath
    from dpath import merge
    from dvc.utils.diff import _flatten, format_dict

    selected: dict = {}
    for key in dict.fromkeys(wanted):
        merge(selected, dpath.search(doc, key, separator="."), separator=".")
    expected = dict(_flatten(format_dict(selected if wanted else doc)))
    assert params_values(doc, wanted) == expected


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False),
       st.sampled_from(["higher", "lower"]))
def test_status_follows_direction(base, head, direction):
    status = metric_status(base, head, direction)
    if base == head:
        assert status == "unchanged"
    elif (head > base) == (direction == "higher"):
        assert status == "improved"
    else:
        assert status == "regressed"


@given(st.dictionaries(keys, st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6), max_size=6))
@example({"EPOCH": 0.0, "acc": 1.0})
def test_diff_rows_sorted_and_complete(values):
    rows = diff_metrics({}, {"m.json": values})
    assert [r["key"] for r in rows] == sorted(values)
    # A DVCLive counter (step, epoch) is context, never a new metric.
    assert all(r["status"] == ("context" if is_counter(r["key"]) else "new") and r["change"] is None for r in rows)


FINITE = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324]),
                   st.floats(0.5, 0.51))


@settings(max_examples=400, deadline=None)
@given(FINITE, FINITE, st.sampled_from(["acc", "test.loss", "score.val", "notes", "step", "m.f1", "x"]),
       st.tuples(st.sampled_from([0.0, 1e-3, 0.01, 1.0]), st.sampled_from([0.0, 0.1, 5.0, 100.0])), st.booleans())
@example(0.5, 0.5, "acc", (0.0, 0.1), False)
@example(-1e308, 1e308, "test.loss", (0.0, 0.1), True)  # a change beyond a float's range
def test_a_row_of_two_floats_is_the_general_rows(base, head, key, tolerance, absent):
    """Two finite floats and no rule take a short way; a rule that sets nothing (the general way) gives the same row."""
    old = {} if absent else {"m.json": {key: base}}
    new = {"m.json": {key: head, "other": 1}}
    ruled = {key: MetricRule()}
    short, general = diff_metrics(old, new, None, tolerance), diff_metrics(old, new, ruled, tolerance)
    assert repr(short) == repr(general)  # the same rows, keys in the same order, -0.0 where -0.0


def test_change_pct_and_zero_base():
    rows = diff_metrics({"m": {"loss": 0.5, "acc": 0.0}}, {"m": {"loss": 0.25, "acc": 0.5}})
    loss = next(r for r in rows if r["key"] == "loss")
    assert loss["change_pct"] == pytest.approx(-50.0) and loss["status"] == "improved"
    acc = next(r for r in rows if r["key"] == "acc")
    assert acc["change_pct"] is None and acc["status"] == "improved"


def test_booleans_diff_like_dvc_but_have_no_direction():
    [row] = diff_metrics({"m": {"stable": True}}, {"m": {"stable": False}})
    assert row["change"] == -1 and row["direction"] is None and row["status"] == "changed"


def test_params_rows_shape():
    [row] = diff_params({"p.yaml": {"lr": 0.1}}, {"p.yaml": {"lr": 0.2}})
    assert set(row) == {"file", "key", "base", "head", "change"}
    assert math.isclose(row["change"], 0.1)


@pytest.mark.parametrize("name, direction", [
    ("test.accuracy", "higher"), ("val_loss", "lower"), ("eval.rmse", "lower"), ("f1_macro", "higher"),
    ("mean_absolute_error", "lower"), ("roc_auc", "higher"), ("n_samples", None), ("score.threshold", None),
    ("latency_ms", "lower"), ("r2_score", "higher"),
])
def test_infer_direction(name, direction):
    assert infer_direction(name) == direction


@pytest.mark.parametrize("path, content, expected", [
    ("m.yaml", b"", {}), ("m.json", b"0", {}), ("m.yaml", b"a: 1e-3\nb: on\n", {"a": 0.001, "b": "on"}),
    ("m.toml", b"[a]\nb = 2\n", {"a": {"b": 2}}), ("m.json", b'{"a": Infinity}', {"a": math.inf}),
])
def test_parse(path, content, expected):
    assert parse(content, path) == expected


def test_parse_errors_name_the_problem():
    with pytest.raises(ParseError, match="invalid TOML"):
        parse(b"a = = 1", "m.toml")
    with pytest.raises(ParseError, match="line 1"):
        parse(b'{"a": }', "m.json")
    with pytest.raises(ParseError, match="invalid JSON"):  # DVC fails on it too (and shows nulls)
        parse(b"", "m.json")


def test_a_rule_applies_to_the_metric_it_names_and_the_others_take_the_defaults():
    """``FILE:KEY`` names one file's metric, ``KEY`` it in every file; an unnamed metric is looked up in no rule."""
    base = {"a.json": {"loss": 0.5, "acc": 0.7, "x": 1.0}, "b.json": {"loss": 0.5}}
    head = {"a.json": {"loss": 0.52, "acc": 0.71, "x": 1.1}, "b.json": {"loss": 0.52}}
    config = {"a.json:loss": MetricRule(direction="higher", tolerance=0.1), "acc": MetricRule(tolerance_pct=5),
              "other": MetricRule(direction="lower"), "bare": None}
    rows = {(r["file"], r["key"]): (r["direction"], r["status"]) for r in diff_metrics(base, head, config, (0.0, 0.0))}
    assert rows == {("a.json", "loss"): ("higher", "unchanged"), ("a.json", "acc"): ("higher", "unchanged"),
                    ("a.json", "x"): (None, "changed"), ("b.json", "loss"): ("lower", "regressed")}
