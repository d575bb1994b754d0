"""Drift detection: per-column statistical tests, performance monitoring and metric anomalies.

``detect_drift(reference_df, current_df, ...)`` returns the JSON of ``ci-mlops drift
--format json``; ``metric_anomalies(history)`` flags metrics whose latest value is far
outside their recent history. Both are pure: DataFrames and numbers in, plain data out.
The names are loaded on first use, so the report's anomaly check never imports NumPy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compare_column", "default_test", "detect_drift", "metric_anomalies"]


def __getattr__(name: str) -> Any:
    if name == "metric_anomalies":
        from ci_mlops.drift.anomaly import metric_anomalies

        return metric_anomalies
    if name in ("compare_column", "default_test", "detect_drift"):
        from ci_mlops.drift import engine

        return getattr(engine, name)
    raise AttributeError(name)
