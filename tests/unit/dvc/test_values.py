"""The one-walk readers of metric values agree with the step-by-step definitions they replace."""

from __future__ import annotations

import datetime
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.dvc.values import (
    extract_metrics,
    finite_float,
    finite_floats,
    finite_numbers,
    flatten,
    format_lists,
    is_finite_number,
    metrics_row,
    metrics_shape,
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
    assert [f for f in map(finite_float, values) if f is not None] == finite_floats(values)[1]
    assert finite_float(10 ** 400) is None and finite_float(-(10 ** 400)) is None and finite_float(True) is None


class _Float(float):
    """A float subclass: read as a number by its value, never taken for a plain float."""


# what a history mostly holds: floats and gaps, with NaN, infinities, signed zeros, sums beyond a float's
# range, and now and then one value of another kind (an int, a bool, a float subclass, a string)
SERIES = st.lists(st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0.5, 0.6), st.sampled_from([1e308, -0.0, 0.0]),
    st.none()), max_size=40)
ODD = st.one_of(st.integers(-3, 3), st.sampled_from([10 ** 400, True, "x"]), st.floats(-1, 1).map(_Float))


@settings(max_examples=400, deadline=None)
@given(SERIES, st.one_of(st.none(), ODD), st.integers(0, 40))
def test_finite_floats_of_a_float_series_is_its_definition(series, odd, where):
    values = series if odd is None else [*series[:where], odd, *series[where:]]
    numbers = [v for v in values if is_finite_number(v) and _fits_float(v)]
    got = finite_floats(values)
    assert got == (numbers, [float(v) for v in numbers])
    assert [type(v) for v in got[0]] == [type(v) for v in numbers]
    assert [math.copysign(1, v) for v in got[1]] == [math.copysign(1, v) for v in numbers]  # -0.0 stays -0.0
    assert got[0] is not got[1] and got[0] is not values
    assert finite_floats(iter(values)) == got  # any iterable, read once


def _fits_float(value):
    try:
        float(value)
    except OverflowError:
        return False
    return True


NAMES = st.sampled_from(["a", "b", "a.b", "c", "0"])  # string keys only, "a.b" against {"a": {"b": ...}}
NAMED = st.recursive(LEAVES, lambda inner: st.dictionaries(NAMES, inner, max_size=4), max_leaves=30)


def _revalued(tree, data):
    """``tree`` with values drawn anew: a mapping kept (its values drawn in turn) or replaced."""
    if isinstance(tree, dict) and data.draw(st.integers(0, 5)):
        return {key: _revalued(value, data) for key, value in tree.items()}
    return data.draw(st.one_of(LEAVES, st.dictionaries(NAMES, LEAVES, max_size=2)))


def _as_text(tree):
    """``tree`` nested alike with every kept value (number, string, boolean) its text: kept again."""
    if type(tree) is dict:
        return {key: _as_text(value) for key, value in tree.items()}
    return str(tree) if type(tree) in (int, float, str, bool) else tree


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.dictionaries(NAMES, NAMED, max_size=5), st.dictionaries(KEYS, TREES, max_size=5)), st.data())
def test_a_shape_reads_a_document_as_metrics_values_does_or_not_at_all(first, data):
    flat = metrics_values(first)
    shape = metrics_shape(first, flat)
    if shape is None:  # a key that is not a string, or two entries of one name
        assert not all(type(k) is str for k in _keys(first)) or len(flat) < _kept_values(first)
        return
    assert _same_with_nan(dict(zip(shape[1], metrics_row(first, shape) or [], strict=True)), flat)
    alike = _as_text(first)  # nested alike, values of the kinds kept: always read by the shape
    assert metrics_row(alike, shape) == list(metrics_values(alike).values())
    places = _places(first)
    if places:  # one entry of another kind (kept, dropped or a mapping): never read by the shape
        assert metrics_row(_changed(first, data.draw(st.sampled_from(places))), shape) is None
    other = _revalued(first, data)
    row = metrics_row(other, shape)
    if row is not None:
        expected = metrics_values(other)
        assert shape[1] == list(expected)
        assert _same_with_nan(dict(zip(shape[1], row, strict=True)), expected)


def _places(tree, at=()):
    return [p for key, value in tree.items()
            for p in [(*at, key), *(_places(value, (*at, key)) if type(value) is dict else [])]]


def _changed(tree, place):
    """``tree`` with the entry at ``place`` of another kind: a kept value dropped, anything else kept."""
    copy = {k: (_changed(v, place[1:]) if k == place[0] and len(place) > 1 else v) for k, v in tree.items()}
    if len(place) == 1:
        value = copy[place[0]]
        copy[place[0]] = None if type(value) in (int, float, str, bool) else 1
    return copy


def _keys(tree):
    return [k for key, value in tree.items() for k in [key, *(_keys(value) if type(value) is dict else [])]]


def _kept_values(tree):
    return sum(_kept_values(v) if type(v) is dict else type(v) in (int, float, str, bool) for v in tree.values())


def test_a_shape_tells_apart_what_metrics_values_keeps_drops_and_nests():
    first = {"a": {"b": 1.5, "n": None, "l": [1]}, "c": "x", "d": {}}
    shape = metrics_shape(first, metrics_values(first))
    assert shape is not None and shape[1] == ["a.b", "c"]
    assert metrics_row({"a": {"b": 2, "n": [2], "l": None}, "c": True, "d": {}}, shape) == [2, True]
    for other in ({"a": {"b": 1.5, "n": 0, "l": [1]}, "c": "x", "d": {}},  # a value where one was dropped
                  {"a": {"b": None, "n": None, "l": [1]}, "c": "x", "d": {}},  # a value dropped
                  {"a": {"b": 1.5, "n": None, "l": [1]}, "c": "x", "d": {"e": 1}},  # a mapping grew
                  {"a": {"n": None, "b": 1.5, "l": [1]}, "c": "x", "d": {}},  # another order
                  {"a": 1, "c": "x", "d": {}}, [1], None):
        assert metrics_row(other, shape) is None
    assert metrics_shape({"a": {"b": 1}, "a.b": 2}, metrics_values({"a": {"b": 1}, "a.b": 2})) is None  # one name
    assert metrics_shape({1: 0.5}, metrics_values({1: 0.5})) is None  # YAML's 1 is True's equal, not its name
