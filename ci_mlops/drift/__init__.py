"""Drift detection: per-column statistical tests and performance monitoring.

``detect_drift(reference_df, current_df, ...)`` returns the JSON of ``ci-mlops drift
--format json``: pure, DataFrames in, plain data out. The names are loaded on first
use, so importing the package does not import NumPy or pandas.
(Metric anomalies for the PR report live in :mod:`ci_mlops.report.anomaly`.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["compare_column", "default_test", "detect_drift"]


def __getattr__(name: str) -> Any:
    if name in ("compare_column", "default_test", "detect_drift"):
        from ci_mlops.drift import engine  # lazy: the engine imports NumPy and pandas

        return getattr(engine, name)
    raise AttributeError(name)
