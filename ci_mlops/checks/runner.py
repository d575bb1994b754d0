"""Everything ``ci-mlops check`` judges, in one call, for the command and the PR report alike.

:func:`run` returns the :class:`~ci_mlops.checks.records.Verdict`; :func:`run_all` its
document, the one ``ci-mlops check --format json`` prints::

    {"passed": bool, "gates": [...], "data": [...], "slices": [...]}

(entries typed in :mod:`ci_mlops.checks.records`; ``slices`` entries also carry ``"file"``).
:func:`add_to_report` puts the same verdicts into a report dict (``report["gates"]`` and
``report["sections"]``) so the PR comment shows exactly what ``check`` decided.
"""

from __future__ import annotations

from ci_mlops.checks.gates import evaluate_gates
from ci_mlops.checks.records import Verdict, as_judged, settings_of
from ci_mlops.checks.render import sections
from ci_mlops.errors import UserError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    from ci_mlops.checks.records import ConfigLike, DataResult, GateResult, SliceResult
    from ci_mlops.config.records import MetricRule
    from ci_mlops.report.document import ReportDocument


def run(config: ConfigLike, root: str | Path, report: ReportDocument | None, *, strict: bool = False) -> Verdict:
    """Metric gates (against ``report``), data checks and slices as configured.

    ``strict`` (the check command) raises :class:`UserError` on configuration and
    data problems; otherwise each problem becomes a failed entry naming it, so a
    PR comment still renders.
    """
    settings = settings_of(config)  # a mapping is read into its record once
    gates = run_gates(settings, root, report, strict=strict)
    return Verdict(gates, run_data_checks(settings, root, strict=strict), run_slices(settings, root, strict=strict))


def run_gates(config: ConfigLike, root: str | Path, report: ReportDocument | None, *,
              strict: bool = False) -> list[GateResult]:
    """The metric gates against ``report``, with the significance evidence attached to its rows first."""
    rules: Mapping[str, MetricRule | None] | None = settings_of(config).metrics  # None: a bare gate from a caller
    if not rules:
        return []
    if not report:
        return evaluate_gates(config, {"metrics": []}, strict=strict)
    if any(rule is not None and rule.significance is not None for rule in rules.values()):
        from pathlib import Path  # lazy: only the evidence needs the root as a Path (start-up without pathlib)

        # lazy: the intervals' evidence (predictions and seed files at both revisions) only for a gate asking for one
        from ci_mlops.significance.evidence import attach

        attach(config, Path(root), report)
    return evaluate_gates(config, report, strict=strict)


def run_all(config: ConfigLike, root: str | Path, report: ReportDocument | None, *, strict: bool = False) -> dict[str, Any]:
    """:func:`run`'s verdict as the JSON document of ``check --format json``."""
    return run(config, root, report, strict=strict).to_json()


def run_data_checks(config: ConfigLike, root: str | Path, *, strict: bool = False) -> list[DataResult]:
    results: list[DataResult] = []
    files = settings_of(config).data
    if not files:
        return results
    from pathlib import Path  # lazy: a report with metric gates only needs no path (start-up without pathlib)

    # lazy: the data files' readers (and DVC's cache) load only for a config with a data: section
    from ci_mlops.checks.data import check_frame, is_text, load_data, load_text_columns, locate_data, required_columns

    root = Path(root)
    for path, spec in files.items():
        try:
            at = locate_data(root, path)  # once: looking a file up in DVC reads the project's files
            frame = load_data(root, path, columns=required_columns(spec), fmt=spec.format, at=at)
            other, other_name = None, None
            leakage = spec.leakage
            if leakage is not None:
                other_name = leakage.with_
                other = load_data(root, other_name, columns=list(leakage.on) if leakage.on else None)
            regex_columns = [c for c, rules in (spec.columns or {}).items()
                             if rules.regex is not None and c in frame.columns and not is_text(frame[c])]
            text = load_text_columns(root, path, regex_columns, fmt=spec.format, at=at) if regex_columns else None
            results.extend(check_frame(frame, spec, name=path, other=other, other_name=other_name, text=text))
        except UserError as exc:
            if strict:
                raise
            results.append({"file": path, "check": "load", "column": None, "passed": False, "bound": None,
                            "value": None, "failing_rows": 0, "examples": [], "message": exc.message})
    return results


def run_slices(config: ConfigLike, root: str | Path, *, strict: bool = False) -> list[SliceResult]:
    spec = settings_of(config).slices
    if spec is None:
        return []
    from pathlib import Path  # lazy: as in run_data_checks

    # lazy: the data files' readers and the per-group metrics load only for a config with a slices: section
    from ci_mlops.checks.data import load_data
    from ci_mlops.checks.slices import slice_metrics

    file = spec.file
    try:
        wanted = list(dict.fromkeys([spec.actual, spec.predicted, *spec.by]))
        frame = load_data(Path(root), file, columns=wanted)
        results = slice_metrics(frame, spec, name=file)
    except UserError as exc:
        if strict:
            raise
        return [{"file": file, "by": None, "passed": False, "groups": [],
                 "checks": [{"metric": None, "rule": "load", "bound": None, "value": None, "group": None,
                             "passed": False, "message": exc.message}]}]
    return [{"file": file, **r} for r in results]


def add_to_report(config: ConfigLike, root: str | Path, report: ReportDocument, *, files: bool = True) -> dict[str, Any]:
    """Put the gate verdicts and the data/slice sections into ``report``; returns the check result.

    ``files``: run the data and slice checks too. They read files on disk, so they only
    describe the head when the head is the workspace; metric gates work for any two revisions.
    """
    verdict = run(config, root, report) if files else Verdict(run_gates(config, root, report))
    if settings_of(config).metrics:
        as_judged(report)["gates"] = verdict.gates
    report.setdefault("sections", []).extend(sections(verdict))
    return verdict.to_json()
