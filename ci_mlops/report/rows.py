"""The typed rows of a report: what ``ci-mlops report --format json`` writes per metric and param.

The report layer makes them (``diff.diff_metrics``, ``diff.diff_params``, ``history.trend``),
significance adds an interval to a metric row, and checks, sweeps, releases and the
renderers read them. A value is whatever its metrics or params file holds (a number, a
string, a boolean, None when the revision lacks it), so it stays ``Any`` until a reader
asks ``is_number``.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class PullRequestHead(TypedDict):
    """The pull request a workspace report stands for (GitHub's merge commit is nobody's)."""

    number: int
    sha: str


class Revision(TypedDict):
    """One side of a report: the ref as given ("workspace" for the work tree) and its commit."""

    ref: str | None
    sha: str | None
    pr: NotRequired[PullRequestHead]


class Trend(TypedDict):
    """A metric's values over the base branch's recent commits (``report --history``)."""

    values: list[Any]  # oldest first, None where a commit lacks the metric
    sparkline: str
    min: float | None
    max: float | None


class IntervalEvidence(TypedDict, total=False):
    """A significance gate's confidence interval for a metric's change (``error`` when there is none)."""

    method: str  # "bootstrap" or "seeds"
    test: str  # the seeds' test, e.g. "paired t-interval"
    estimate: str | None  # the bootstrap metric
    file: str  # the predictions file
    base: float
    head: float
    change: float
    low: float
    high: float
    confidence: float
    significant: bool
    n: int
    resamples: int
    error: str


class MetricRow(TypedDict):
    """One metric at both revisions, as ``dvc metrics diff --json`` plus direction and status."""

    file: str
    key: str
    base: Any
    head: Any
    change: Any  # head - base for two numbers, else None
    change_pct: float | None
    direction: str | None  # "higher", "lower" or None (not a number, or a counter)
    status: str  # one of diff.STATUSES
    unchanged_reason: NotRequired[str]  # "within tolerance" or "not significant"
    history: NotRequired[Trend]
    interval: NotRequired[IntervalEvidence]
    ci_low: NotRequired[float]
    ci_high: NotRequired[float]
    confidence: NotRequired[float]
    significant: NotRequired[bool]


class ParamRow(TypedDict):
    """One param at both revisions, as ``dvc params diff --json``."""

    file: str
    key: str
    base: Any
    head: Any
    change: Any


class Anomaly(TypedDict):
    """A head value far outside the base branch's recent history (``report.anomaly``)."""

    metric: str
    value: float
    median: float
    spread: float
    z: float | None  # None: the history is constant
    points: int
    direction: str  # "above" or "below"
    message: str
