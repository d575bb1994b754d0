"""The one-walk readers of metric values agree with the step-by-step definitions they replace."""

from __future__ import annotations

import datetime
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.dvc.values import (
    extract_metrics,
    finite_numbers,
    flatten,
    format_lists,
    is_finite_number,
    metrics_values,
)

LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=3), st.dates(), st.lists(st.integers(), max_size=2))
KEYS = st.one_of(st.sampled_from(["a", "b", "a.b", "c", "0"]), st.integers(0, 2), st.booleans(), st.none())
TREES = st.recursive(LEAVES, lambda inner: st.dictionaries(KEYS, inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, TREES, max_size=5))
def test_metrics_values_is_dvcs_extract_format_flatten(data):
    expected = flatten(format_lists(extract_metrics(data)))
    got = metrics_values(data)
    assert list(got.items()) == list(expected.items()) or _same_with_nan(got, expected)


def _same_with_nan(got, expected):
    return list(got) == list(expected) and all(
        a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
        for a, b in zip(got.values(), expected.values(), strict=True))


def test_metrics_values_examples():
    data = {"a": {"b": 1, "empty": {}, "lists": [1, 2], "deep": {"only": [3]}}, "a.b": 2, 3: {"x": True},
            "when": datetime.date(2024, 1, 1), "none": None, "s": "text"}
    assert metrics_values(data) == {"a.b": 2, "3.x": True, "s": "text"}
    assert list(metrics_values(data)) == ["a.b", "3.x", "s"]


@given(st.lists(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=2)), max_size=30))
def test_finite_numbers_is_is_finite_number_of_each(values):
    assert finite_numbers(values) == [v for v in values if is_finite_number(v)]
    assert all(type(a) is type(b) for a, b in zip(finite_numbers(values), [v for v in values if is_finite_number(v)],
                                                  strict=True))
