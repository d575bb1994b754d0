"""Metric, param and plot diffs between two revisions: DVC's numbers at git speed.

``build_report(root, base, head)`` returns the dict printed by ``ci-mlops report
--format json``; ``render_markdown(report)`` turns it (plus ``sections`` added by other
commands) into Markdown. The PR comment with its gates is ``checks.render.report_markdown``,
above this package. See docs/report.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ci_mlops.errors import UserError
from ci_mlops.escape import md_code
from ci_mlops.git import Repo

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

    from ci_mlops.config import Config
    from ci_mlops.git import BlobReader
    from ci_mlops.report.collect import Snapshot
    from ci_mlops.report.document import ReportDocument
    from ci_mlops.report.markdown import DROP_ORDER, render_markdown

__all__ = ["DROP_ORDER", "build_report", "render_markdown", "to_json"]


def __getattr__(name: str) -> Any:
    """``render_markdown`` and ``DROP_ORDER`` on first use: a module of this package that needs
    neither (``image_check`` in the comment job) does not pay for the Markdown renderer."""
    if name in ("render_markdown", "DROP_ORDER"):
        from ci_mlops.report import markdown  # lazy: see above

        return getattr(markdown, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_report(root: str | os.PathLike[str] | Repo = ".", base: str | None = None, head: str | None = None, *,
                 config: Config | None = None, history: int = 0, plots: bool | None = None,
                 reader: BlobReader | None = None) -> ReportDocument:
    """Compare ``base`` with ``head`` (None = the workspace) in the repository at ``root``.

    ``base`` None picks the PR base / configured base / default branch (see
    :mod:`ci_mlops.report.revisions`). ``history`` N adds each metric's values over
    the last N first-parent commits of the base. ``root`` may be a discovered
    :class:`~ci_mlops.git.Repo` (the command has one: no second ``git rev-parse``), and ``reader`` its
    blob reader (the command's read the base branch's gates: no second ``git cat-file``), closed at the
    end. Raises UserError (exit 2) for an unknown revision or an unreadable metrics/params file, naming
    revision and file.
    """
    # lazy: the modules of this package import it first; one that needs no report (image_check
    # in the comment job) must not load the report's whole machinery
    from ci_mlops.config import find_config_file, load_config
    from ci_mlops.config.records import Report
    from ci_mlops.dvc.values import finite_float, finite_floats
    from ci_mlops.git import BlobReader
    from ci_mlops.report.collect import declared_files, snapshot
    from ci_mlops.report.diff import diff_metrics, diff_params, summarize
    from ci_mlops.report.history import collect_history, trend
    from ci_mlops.report.revisions import resolve_base, resolve_head

    repo = root if isinstance(root, Repo) else Repo.discover(root)
    if config is None:
        config = load_config(find_config_file(repo.top))
    settings = config.settings.report or Report()
    want_plots = settings.plots if plots is None else plots
    with BlobReader(repo.top) if reader is None else reader as reader:
        batched = Repo(repo.top, batch=reader)  # revisions resolved in the reader's git process
        head_rev = resolve_head(batched, head)
        base_rev = resolve_base(batched, base, config)
        base_snap = snapshot(repo.top, base_rev.rev, reader=reader, config=config, want_plots=want_plots,
                             label=_label(base_rev.ref, base_rev.sha))
        head_snap = snapshot(repo.top, head_rev.rev, reader=reader, config=config, want_plots=want_plots,
                             label=_label(head_rev.ref, head_rev.sha))
        _check_listed_files(config, base_snap, head_snap)
        tolerance = (float(settings.tolerance), float(settings.tolerance_pct))
        metrics = diff_metrics(base_snap.metrics, head_snap.metrics, config.settings.metrics, tolerance)
        params = diff_params(base_snap.params, head_snap.params)
        report: ReportDocument = {
            "base": {"ref": base_rev.ref, "sha": base_rev.sha},
            "head": {"ref": head_rev.ref, "sha": head_rev.sha},
            "metrics": metrics,
            "params": params,
            "plots": [],
            "summary": summarize(metrics),
            "metrics_files": sorted({*base_snap.metrics, *head_snap.metrics, *base_snap.missing,
                                     *head_snap.missing}),
            "notes": list(dict.fromkeys([*base_snap.notes, *head_snap.notes])),
        }
        if want_plots:
            decls = {d["id"]: d for d in base_snap.project.plots}
            decls.update({d["id"]: d for d in head_snap.project.plots})
            if decls:
                from ci_mlops.report.plots import build_plot  # lazy: with Mermaid's charts, only for declared plots

                report["plots"] = [build_plot(decls[plot_id], base_snap.raw, head_snap.raw) for plot_id in sorted(decls)]
        if history:
            paths, _ = declared_files(base_snap.project, config)
            unread: dict[tuple[str, str], list[str]] = {}
            commits, values = collect_history(repo.top, base_rev.sha, history, paths, base_snap.project, reader,
                                              unread)
            report["history"] = {"ref": base_rev.ref, "commits": commits, "requested": history}
            report["notes"].extend(_unread_note(path, why, shas, len(commits), base_rev.ref)
                                   for (path, why), shas in unread.items())
            recent: dict[str, list[float]] = {}  # each trend's finite numbers, then the head's: the anomaly check's
            for row in metrics:
                series = values.get((row["file"], row["key"]))
                if series is not None:
                    finite = finite_floats(series)  # once per series: its trend and its anomaly check read them
                    row["history"] = trend(series, finite)
                    latest = finite_float(row["head"])
                    recent[f"{row['file']}:{row['key']}"] = finite[1] if latest is None else [*finite[1], latest]
            _add_anomalies(report, recent)
    return report


def _unread_note(path: str, why: str, shas: list[str], total: int, ref: str) -> str:
    """A trend's gaps where the file was declared but could not be read: said, never silent."""
    listed = ", ".join(sha[:7] for sha in shas[:5]) + (", ..." if len(shas) > 5 else "")
    reason = ("their dvc.lock records it but the local DVC cache does not have it (the trend does not "
              "fetch; `dvc fetch` those commits to fill it)" if why == "cache" else "it does not parse there")
    return (f"{path} could not be read at {len(shas)} of the {total} commits of the trend on {ref} "
            f"({listed}): {reason}; those commits are gaps in its trend")


def _check_listed_files(config: Config, base: Snapshot, head: Snapshot) -> None:
    """A ``report.metrics_files`` entry that neither revision has is a typo, not "no metrics"."""
    report = config.settings.report
    for path in (report.metrics_files if report is not None else None) or ():
        if path in base.missing and path in head.missing:
            raise UserError(f"report.metrics_files: {path} exists at neither {base.label} nor {head.label} "
                            "(a typo? paths are relative to the repository root)")


def _add_anomalies(report: ReportDocument, recent: dict[str, list[float]]) -> None:
    """Flag head values far outside the base branch's recent history (robust z-score); ``recent``: each
    metric's finite values over the history and the head, as floats."""
    from ci_mlops.report.anomaly import finite_anomalies, render_anomalies  # lazy: as in build_report

    anomalies = finite_anomalies(recent)
    report["anomalies"] = anomalies
    if anomalies:
        report.setdefault("sections", []).append({
            "title": "Anomalies against the base branch's history",
            "markdown": f"Head values far outside the last {len(report['history']['commits'])} commits "
                        f"of {md_code(report['history']['ref'])} (robust z-score, |z| >= 3.5):\n\n"
                        + render_anomalies(anomalies),
            "passed": None,
        })


def _label(ref: str, sha: str) -> str:
    return ref if ref == "workspace" or sha.startswith(ref) else f"{ref} ({sha[:7]})"


def to_json(report: Mapping[str, object], indent: int | None = 2) -> str:
    """JSON text; NaN and infinities (invalid JSON) become the strings "NaN", "Infinity", "-Infinity"."""
    from ci_mlops.report.jsontext import dumps  # lazy: only --format json writes the report as JSON

    return dumps(report, indent) + "\n"
