"""drift.performance: a release's metrics files read by the one metrics parser (ci_mlops.dvc.values)."""

from __future__ import annotations

import pytest

from ci_mlops.drift.performance import _release_metrics, find_metric


@pytest.mark.parametrize("path, blob", [
    ("eval/metrics.json", b'{"test": {"accuracy": 0.8, "labels": [1, 2]}}'),
    ("eval/metrics.yaml", b"test:\n  accuracy: 0.8\n"),
    ("eval/metrics.toml", b"[test]\naccuracy = 0.8\n"),  # DVC reads TOML metrics too
])
def test_every_format_dvc_reads_gives_the_baseline(path, blob):
    metrics = {path: _release_metrics(path, blob)}
    assert find_metric(metrics, "test.accuracy") == 0.8
    assert find_metric(metrics, f"{path}:test.accuracy") == 0.8 and find_metric(metrics, "other.json:test.accuracy") is None


@pytest.mark.parametrize("blob", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_an_unreadable_file_holds_no_baseline(blob):
    assert _release_metrics("m.json", blob) == {}


def test_only_finite_numbers_are_a_baseline():
    metrics = {"m.json": _release_metrics("m.json", b'{"a": true, "b": "high", "c": NaN, "d": 3}')}
    assert [find_metric(metrics, k) for k in "abcd"] == [None, None, None, 3.0]
