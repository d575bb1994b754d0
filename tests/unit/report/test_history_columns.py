"""The history's columns: one per (file, key), a value per commit, None where the commit lacks it; each
commit's documents read as metrics_values reads them, the names of a file nested alike shared."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.dvc.values import ParseError, metrics_values
from ci_mlops.report.history import _columns, _Flattener


def _naive(per_commit, path):
    keys = list(dict.fromkeys(k for values in per_commit for k in values.get(path, {})))
    return {k: [values.get(path, {}).get(k) for values in per_commit] for k in keys}


@pytest.mark.parametrize("per_commit", [
    # the same keys in the same order at every commit: transposed in one go
    [{"m.json": {"a": 1, "b": 2.5}}, {"m.json": {"a": 2, "b": 3.5}}, {"m.json": {"a": 3, "b": float("nan")}}],
    # the file missing at some commits (a gap of every key there)
    [{"m.json": {"a": 1, "b": 2}}, {}, {"m.json": {"a": 3, "b": 4}}, {"o.json": {"x": 1}}],
    # a key added, one removed, and the same keys in another order
    [{"m.json": {"a": 1}}, {"m.json": {"a": 2, "c": 5}}, {"m.json": {"c": 6, "a": 3}}, {"m.json": {"c": 7}}],
    # one commit only, and no commit with the file
    [{"m.json": {"a": "text", "b": True}}],
    [{}, {"o.json": {"x": 1}}],
])
def test_columns_hold_each_value_at_its_commit(per_commit):
    flat = [{path: (list(values), list(values.values())) for path, values in files.items()} for files in per_commit]
    columns = _columns(flat, "m.json")
    assert columns == _naive(per_commit, "m.json")
    assert list(columns) == list(_naive(per_commit, "m.json"))  # keys in the order first seen
    assert all(len(column) == len(per_commit) for column in columns.values())


def test_commits_nested_alike_share_their_names_and_columns_are_transposed():
    reader = _Flattener()
    docs = [{"g": {"a": i, "b": i / 2}, "n": None, "s": "x"} for i in range(4)]
    flat = [{"m.json": reader.read(doc)} for doc in docs]
    assert all(files["m.json"][0] is flat[0]["m.json"][0] for files in flat)  # one list of names: read once
    assert _columns(flat, "m.json") == {"g.a": [0, 1, 2, 3], "g.b": [0, 0.5, 1, 1.5], "s": ["x"] * 4}


DOCS = st.lists(st.one_of(
    st.fixed_dictionaries({"g": st.fixed_dictionaries({"a": st.floats(0, 1), "b": st.integers(0, 3)})}),
    st.fixed_dictionaries({"g": st.fixed_dictionaries({"a": st.floats(0, 1)}), "c": st.booleans()}),
    st.dictionaries(st.sampled_from(["a", "b", "g", "g.a"]), st.one_of(st.none(), st.integers(0, 3), st.text(max_size=2),
                    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2)), max_size=4),
    st.lists(st.integers(), max_size=2)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(DOCS)
def test_a_file_read_commit_after_commit_is_metrics_values_of_each_document(docs):
    """Documents nested alike, a metric added or removed, keys that come and go, a list that does not
    parse: each reads as metrics_values reads it on its own."""
    reader = _Flattener()
    for doc in docs:
        try:
            expected = metrics_values(doc)
        except ParseError:
            with pytest.raises(ParseError):
                reader.read(doc)
            continue
        names, values = reader.read(doc)
        assert names == list(expected) and values == list(expected.values())
