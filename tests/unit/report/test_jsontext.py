"""The report's JSON text is json.dumps' text, whatever the report holds; only faster to write."""

from __future__ import annotations

import datetime
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.report import to_json
from ci_mlops.report.jsontext import dumps, finite

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10 ** 400), 10 ** 400),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-0.0, 5e-324, 1e300, 0.1]),
    st.text(max_size=6), st.sampled_from(['"', "\\", "\n\t\x00\x1f", "é€😀", "\ud800"]))
KEYS = st.one_of(st.text(max_size=4), st.sampled_from(['"q"', "a\nb", "ü"]))
PLAIN = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(inner, max_size=3).map(tuple), st.lists(st.floats(-1e6, 1e6), max_size=6),
    st.lists(st.one_of(st.floats(0, 1), st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308])),
             max_size=6),
    st.dictionaries(KEYS, inner, max_size=5)), max_leaves=40)
ODD = st.one_of(st.dates(), st.dictionaries(st.one_of(st.integers(0, 3), st.booleans(), st.none()), SCALARS,
                                            min_size=1, max_size=3))  # json.dumps' default=str, keys not strings


def json_dumps(value, indent=2):
    return json.dumps(finite(value), indent=indent, ensure_ascii=False, allow_nan=False, default=str)


@settings(max_examples=500, deadline=None)
@given(PLAIN, st.sampled_from([2, 0, 1, 4, None]))
def test_plain_data_is_written_as_json_dumps_writes_it(value, indent):
    assert dumps(value, indent) == json_dumps(value, indent)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, st.one_of(PLAIN, ODD), max_size=4), ODD)
def test_a_value_json_dumps_writes_with_default_str_or_a_key_it_converts_leaves_it_to_json(value, odd):
    value = {**value, "odd": [1.5, {"x": odd}]}
    assert dumps(value) == json_dumps(value)


def test_a_report_with_history_holds_the_same_text():
    rows = [{"file": "m.json", "key": f"k{i}", "base": 0.5, "head": float("nan") if i == 1 else i,
             "history": {"values": [0.25, None, float("inf"), 0.5, i], "sparkline": "▁█", "min": 0.25, "max": 0.5}}
            for i in range(3)]
    report = {"metrics": rows, "params": [], "plots": [], "history": {"ref": "main", "commits": ["a"], "requested": 2},
              "when": datetime.date(2026, 12, 2)}
    assert to_json(report) == json_dumps(report) + "\n"
    del report["when"]
    assert to_json(report) == json_dumps(report) + "\n"
    assert '"NaN"' in to_json(report) and '"Infinity"' in to_json(report)
    rows[0]["history"]["values"] = [0.25, float("nan"), 0.5, float("-inf"), 1e308, 1e308]  # floats only, one NaN
    assert to_json(report) == json_dumps(report) + "\n"
    assert to_json(report, indent=None) == json_dumps(report, None) + "\n"
