"""Robust z-score anomalies of a metric's latest value against its recent history."""

from __future__ import annotations

import math

import pytest

from ci_mlops.report.anomaly import metric_anomalies, render_anomalies, robust_z


def test_latest_far_below_history_is_flagged() -> None:
    history = {"test.accuracy": [0.90, 0.91, 0.905, 0.899, 0.902, 0.908, 0.80],
               "test.loss": [0.30, 0.31, 0.29, 0.30, 0.305, 0.30]}
    found = metric_anomalies(history)
    assert [a["metric"] for a in found] == ["test.accuracy"]
    a = found[0]
    assert a["direction"] == "below" and a["value"] == 0.80 and a["points"] == 6
    assert a["median"] == pytest.approx(0.9035) and a["z"] < -3.5
    assert "test.accuracy" in a["message"]


def test_modified_z_score_formula() -> None:
    z, median, mad = robust_z([1.0, 2.0, 3.0, 4.0, 5.0], 10.0)
    assert median == 3.0 and mad == 1.0 and z == pytest.approx(0.6745 * 7)


def test_one_old_outlier_does_not_hide_a_new_one() -> None:
    history = {"m": [0.5, 0.51, 0.49, 0.0, 0.5, 0.505, 0.495, 0.3]}
    assert metric_anomalies(history)[0]["direction"] == "below"


def test_min_points_and_missing_values() -> None:
    assert metric_anomalies({"m": [1.0, 1.0, 1.0, 1.0, 9.0]}) == []  # only 4 earlier points
    assert metric_anomalies({"m": [1.0, 1.1, None, 0.9, float("nan"), 1.0, 1.05, 9.0]}, min_points=5)
    assert metric_anomalies({"m": [1, 2, 3]}, min_points=2) == []


def test_constant_history() -> None:
    assert metric_anomalies({"m": [0.5] * 6}) == []
    found = metric_anomalies({"m": [0.5] * 5 + [0.6]})
    assert found[0]["z"] is None and math.isinf(robust_z([0.5] * 5, 0.6)[0])
    # MAD zero but not all equal: falls back to the mean absolute deviation
    z, _, spread = robust_z([1.0, 1.0, 1.0, 1.0, 2.0], 1.0)
    assert z == 0 and spread == pytest.approx(0.2)


def test_threshold_controls_sensitivity_and_must_be_positive() -> None:
    history = {"m": [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.2]}  # robust z 2.7
    assert metric_anomalies(history) == []
    assert metric_anomalies(history, threshold=2.0)
    with pytest.raises(ValueError):
        metric_anomalies(history, threshold=0)


def test_render_anomalies_table() -> None:
    assert render_anomalies([]) == ""
    text = render_anomalies(metric_anomalies({"acc": [0.9, 0.91, 0.9, 0.92, 0.9, 0.5]}))
    assert "| `acc` | 0.5 |" in text
