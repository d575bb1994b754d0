"""Drift detection: per-column statistical tests, performance monitoring and metric anomalies.

``detect_drift(reference_df, current_df, ...)`` returns the JSON of ``ci-mlops drift
--format json``; ``metric_anomalies(history)`` flags metrics whose latest value is far
outside their recent history. Both are pure: DataFrames and numbers in, plain data out.
"""

from __future__ import annotations

from ci_mlops.drift.anomaly import metric_anomalies
from ci_mlops.drift.engine import compare_column, default_test, detect_drift

__all__ = ["compare_column", "default_test", "detect_drift", "metric_anomalies"]
