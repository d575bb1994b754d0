"""The report document: what ``build_report`` returns and ``ci-mlops report --format json`` prints.

The document stays a plain dict at run time (the JSON written is the dict as built); these
declarations give its keys their types for the type checker. Modules on the report's start-up
path import this module only under ``if TYPE_CHECKING:`` (it imports ``typing`` itself), so
nothing here is loaded when the report runs. The rows are :mod:`ci_mlops.report.rows`'.

Layers above add keys of their own: the checks' gate results and gate source
(``checks.records.JudgedReport``) and sections (:class:`Section`) from any layer.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from ci_mlops.report.rows import Anomaly, MetricRow, ParamRow, Revision


class Section(TypedDict):
    """A titled Markdown part of the report below the params (data checks, slices, anomalies, ...)."""

    title: str
    markdown: str
    passed: bool | None  # None: informational, no ✅/❌ mark


class Series(TypedDict):
    """One curve of a plot: x values and y values as the file holds them (numbers where its text was a
    number), ``Any`` as a metric's value is until a reader asks ``is_number``."""

    x: list[Any]
    y: list[Any]


class PlotData(TypedDict, total=False):
    """One revision's data of a plot: ``series`` for curves, the counts for a confusion matrix
    (``[x label, y label, count]`` each); ``labels`` only in an empty matrix."""

    series: dict[str, Series]
    x_values: list[str]
    y_values: list[str]
    counts: list[list[Any]]  # [x label, y label, count]: a JSON array, not a tuple
    labels: list[str]


class PlotEntry(TypedDict):
    """One plot DVC declares, at both revisions (``report.plots.build_plot``)."""

    id: str
    files: list[str]
    template: str
    title: str | None
    x: object  # the declaration's ``x``: a column, or {file: column}
    y: object  # the declaration's ``y``: a column, a list of them, or {file: column(s)}
    base: PlotData | None  # None: no file of the plot at that revision, or not drawn
    head: PlotData | None
    changed: bool
    directory: NotRequired[str]
    reason: NotRequired[str]  # why the plot is not drawn
    missing: NotRequired[bool]  # its files are at neither revision
    error: NotRequired[str]  # its data could not be read


class HistoryInfo(TypedDict):
    """What ``--history`` covered: the base branch's commits (oldest first) and how many were asked."""

    ref: str | None
    commits: list[str]
    requested: int


class ReportDocument(TypedDict):
    """The whole report: both revisions, the diffed rows, plots and what was noted on the way."""

    base: Revision
    head: Revision
    metrics: list[MetricRow]
    params: list[ParamRow]
    plots: list[PlotEntry]
    summary: dict[str, int]  # rows per status, every status present
    metrics_files: list[str]
    notes: list[str]
    history: NotRequired[HistoryInfo]
    anomalies: NotRequired[list[Anomaly]]
    sections: NotRequired[list[Section]]
