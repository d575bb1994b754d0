"""Metric anomalies: is the latest value of a metric far outside its recent history?

A robust z-score (Iglewicz and Hoaglin's modified z-score): the distance of the latest
value from the median of the earlier values, in units of their median absolute
deviation (MAD), scaled by 0.6745 so it reads like a standard z-score for normal
data. Robust because one earlier outlier moves neither the median nor the MAD.
When the MAD is zero (more than half the history is one value) the mean absolute
deviation (scaled by 0.7979) is used instead; when the whole history is one value,
any different latest value is an anomaly (infinite score).
"""

from __future__ import annotations

import math

from ci_mlops.dvc.values import finite_floats
from ci_mlops.escape import md_code
from ci_mlops.markdown.blocks import table

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:  # annotations only: its TypedDicts cost ~2 ms to create at start-up
    from ci_mlops.report.rows import Anomaly

MAD_SCALE = 0.6745  # the 0.75 quantile of the standard normal distribution
MEAN_AD_SCALE = 0.7979  # sqrt(2/pi): mean absolute deviation of the standard normal


def robust_z(history: list[float], latest: float) -> tuple[float, float, float]:
    """(score, median, spread) of ``latest`` against ``history``."""
    values = sorted(history)
    median = _median(values)
    deviations = [median - v if v < median else v - median for v in values]  # abs() without its call per value
    deviations.sort()
    mad = _median(deviations)
    if mad > 0:
        return MAD_SCALE * (latest - median) / mad, median, mad
    mean_ad = sum(deviations) / len(values)
    if mean_ad > 0:
        return MEAN_AD_SCALE * (latest - median) / mean_ad, median, mean_ad
    if latest == median:
        return 0.0, median, 0.0
    return math.copysign(math.inf, latest - median), median, 0.0


def metric_anomalies(
    history: dict[str, list[float]],
    *,
    threshold: float = 3.5,
    min_points: int = 5,
) -> list[Anomaly]:
    """Metrics whose latest value is an outlier against the values before it.

    ``history`` maps a metric name (e.g. ``"metrics.json:test.accuracy"`` or
    ``"test.accuracy"``) to its values oldest first, the last being the latest; pass
    only the recent window you care about (e.g. the last 20 commits on the base branch).
    Missing values (None, NaN) are skipped. A metric needs ``min_points`` earlier values
    to be judged. Returns one dict per anomalous metric, in input order::

        {"metric", "value", "median", "spread", "z", "points", "direction": "above"|"below",
         "message"}
    """
    finite = {metric: finite_floats(series)[1] for metric, series in history.items()}
    return finite_anomalies(finite, threshold=threshold, min_points=min_points)


def finite_anomalies(history: dict[str, list[float]], *, threshold: float = 3.5,
                     min_points: int = 5) -> list[Anomaly]:
    """:func:`metric_anomalies` of series that hold only their finite numbers, as floats (the report
    has them from each metric's trend)."""
    if threshold <= 0:
        raise ValueError("threshold must be positive")
    found: list[Anomaly] = []
    for metric, values in history.items():
        if len(values) < min_points + 1:
            continue
        earlier, latest = values[:-1], values[-1]
        z, median, spread = robust_z(earlier, latest)
        if abs(z) < threshold:
            continue
        direction = "above" if latest > median else "below"
        score = "constant history" if math.isinf(z) else f"robust z {z:+.1f}"
        found.append({
            "metric": metric,
            "value": latest,
            "median": median,
            "spread": spread,
            "z": z if math.isfinite(z) else None,
            "points": len(earlier),
            "direction": direction,
            "message": f"{metric} = {latest:.6g} is far {direction} its median {median:.6g} "
                       f"over the previous {len(earlier)} values ({score})",
        })
    return found


def render_anomalies(anomalies: list[Anomaly]) -> str:
    """A Markdown table for ``report["sections"]``; empty string when there is nothing to show."""
    if not anomalies:
        return ""
    rows = []
    for a in anomalies:
        z = "∞ (constant history)" if a["z"] is None else f"{a['z']:+.1f}"
        rows.append([md_code(a["metric"], cell=True), f"{a['value']:.6g}", f"{a['median']:.6g}", z, str(a["points"])])
    header = ["metric", "latest", "median of history", "robust z", "points"]
    return "\n".join(table(header, ["---", "---:", "---:", "---:", "---:"], rows)) + "\n"


def _median(sorted_values: list[float]) -> float:
    n = len(sorted_values)
    mid = n // 2
    return sorted_values[mid] if n % 2 else (sorted_values[mid - 1] + sorted_values[mid]) / 2.0

