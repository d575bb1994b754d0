"""The history's columns: one per (file, key), a value per commit, None where the commit lacks it."""

from __future__ import annotations

import pytest

from ci_mlops.report.history import _columns


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
    columns = _columns(per_commit, "m.json")
    assert columns == _naive(per_commit, "m.json")
    assert list(columns) == list(_naive(per_commit, "m.json"))  # keys in the order first seen
    assert all(len(column) == len(per_commit) for column in columns.values())
