"""The drift result: what ``ci-mlops drift --format json`` prints, per column and for the dataset.

Every engine (:mod:`~ci_mlops.drift.engine`, :mod:`~ci_mlops.drift.stream`,
:mod:`~ci_mlops.drift.sql`) builds these through ``engine.judge`` and ``engine.summarise``; the
renderers, the command and the monitor's issue read them. They stay plain dicts at run time:
modules import this one only under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Histogram(TypedDict):
    """A numeric column's shares in equal-width bins (``edges`` has one more entry than the shares)."""

    kind: Literal["histogram"]
    edges: list[float]
    reference: list[float]
    current: list[float]


class Categories(TypedDict):
    """A categorical column's shares of its most frequent values (the rest as "other")."""

    kind: Literal["categories"]
    labels: list[str]
    reference: list[float]
    current: list[float]


class ColumnExtras(TypedDict, total=False):
    """What a column's verdict adds for its kind: a numeric column's means, a categorical one's
    categories that are new in the current data."""

    reference_mean: float
    current_mean: float
    new_categories: list[Any]  # the values as the data holds them (str, int, bool, ...)
    new_category_count: int
    new_category_rows: int


class Psi(TypedDict, total=False):
    """The Population Stability Index, when asked for (``--psi``)."""

    psi: float


class ColumnDrift(ColumnExtras, Psi):
    """A compared column's verdict (``engine.judge``)."""

    name: str
    type: str  # numeric, categorical, binary
    test: str  # ks, wasserstein, chisquare, ztest, jensenshannon, psi
    statistic: float
    threshold: float
    drifted: bool
    notes: list[str]
    score: str  # "p_value" (drift below the threshold) or "distance" (drift at or above it)
    reference_rows: int  # values present (missing ones are counted apart)
    current_rows: int
    reference_missing: int
    current_missing: int
    reference_distinct: int
    current_distinct: int
    distribution: Histogram | Categories


class UncomparedColumn(TypedDict):
    """A column that is not compared (text, dates, another type): ``notes`` says why."""

    name: str
    type: str
    test: None
    statistic: None
    threshold: None
    drifted: None
    notes: list[str]


ColumnResult = ColumnDrift | UncomparedColumn


class SkippedColumn(TypedDict):
    """An uncompared column as the result lists it."""

    name: str
    type: str
    reason: str


class Performance(TypedDict):
    """The model's metric on the current data against the last release's (``drift.performance``)."""

    metric: str
    value: float
    rows: int
    baseline: float | None
    baseline_source: str | None
    change: float | None
    max_drop: float | None
    degraded: bool
    message: str


class DriftResult(TypedDict):
    """The dataset's verdict and every column's."""

    dataset_drift: bool
    share_drifted: float
    drift_share: float
    drifted_columns: int
    compared_columns: int
    reference_rows: int
    current_rows: int
    columns: list[ColumnDrift]
    skipped: list[SkippedColumn]
    only_in_reference: list[str]
    only_in_current: list[str]
    reference: NotRequired[str]  # the paths compared (``compare_files``)
    current: NotRequired[str]
    performance: NotRequired[Performance]
