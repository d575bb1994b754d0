"""Everything ``ci-mlops check`` judges, in one call, for the command and the PR report alike.

:func:`run_all` returns the document ``ci-mlops check --format json`` prints::

    {"passed": bool, "gates": [...], "data": [...], "slices": [...]}

(shapes in :mod:`ci_mlops.checks.gates`, :mod:`ci_mlops.checks.data`, :mod:`ci_mlops.checks.slices`;
``slices`` entries also carry ``"file"``). :func:`add_to_report` puts the same verdicts
into a report dict (``report["gates"]`` and ``report["sections"]``) so the PR comment
shows exactly what ``check`` decided.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ci_mlops.errors import UserError
from ci_mlops.escape import md_cell, md_code


def run_all(config: Any, root: str | Path, report: dict[str, Any] | None, *, strict: bool = False) -> dict[str, Any]:
    """Metric gates (against ``report``), data checks and slices as configured.

    ``strict`` (the check command) raises :class:`UserError` on configuration and
    data problems; otherwise each problem becomes a failed entry naming it, so a
    PR comment still renders.
    """
    from ci_mlops.checks.gates import evaluate_gates

    from ci_mlops.significance.evidence import attach

    root = Path(root)
    if report:
        attach(config, root, report)
    gates = evaluate_gates(config, report or {}, strict=strict) if config.get("metrics") else []
    data = run_data_checks(config, root, strict=strict)
    slices = run_slices(config, root, strict=strict)
    passed = all(g["passed"] for g in gates) and all(d["passed"] for d in data) \
        and all(s["passed"] for s in slices)
    return {"passed": passed, "gates": gates, "data": data, "slices": slices}


def run_data_checks(config: Any, root: Path, *, strict: bool = False) -> list[dict[str, Any]]:
    from ci_mlops.checks.data import (
        check_frame,
        load_data,
        load_text_columns,
        required_columns,
    )

    results: list[dict[str, Any]] = []
    for path, spec in (config.get("data") or {}).items():
        spec = spec or {}
        try:
            frame = load_data(root, path, columns=required_columns(spec), fmt=spec.get("format"))
            other, other_name = None, None
            leakage = spec.get("leakage")
            if leakage:
                other_name = leakage["with"]
                other = load_data(root, other_name, columns=leakage.get("on") or None)
            regex_columns = [c for c, rules in (spec.get("columns") or {}).items()
                             if "regex" in (rules or {}) and c in frame.columns and not _is_text(frame[c])]
            text = load_text_columns(root, path, regex_columns, fmt=spec.get("format")) if regex_columns else None
            results.extend(check_frame(frame, spec, name=path, other=other, other_name=other_name, text=text))
        except UserError as exc:
            if strict:
                raise
            results.append({"file": path, "check": "load", "column": None, "passed": False, "bound": None,
                            "value": None, "failing_rows": 0, "examples": [], "message": exc.message})
    return results


def run_slices(config: Any, root: Path, *, strict: bool = False) -> list[dict[str, Any]]:
    from ci_mlops.checks.data import load_data
    from ci_mlops.checks.slices import slice_metrics

    spec = config.get("slices")
    if not spec:
        return []
    file = spec["file"]
    try:
        wanted = list(dict.fromkeys([spec.get("actual", "actual"), spec.get("predicted", "predicted"), *spec["by"]]))
        frame = load_data(root, file, columns=wanted)
        results = slice_metrics(frame, spec, name=file)
    except UserError as exc:
        if strict:
            raise
        return [{"file": file, "by": None, "passed": False, "groups": [],
                 "checks": [{"metric": None, "rule": "load", "bound": None, "value": None, "group": None,
                             "passed": False, "message": exc.message}]}]
    return [{"file": file, **r} for r in results]


def add_to_report(config: Any, root: str | Path, report: dict[str, Any]) -> dict[str, Any]:
    """Put the gate verdicts and the data/slice sections into ``report``; returns the check result."""
    result = run_all(config, root, report)
    if config.get("metrics"):
        report["gates"] = result["gates"]
    report.setdefault("sections", []).extend(sections(result))
    return result


def sections(result: dict[str, Any]) -> list[dict[str, Any]]:
    """``report["sections"]`` entries: one for the data checks, one for the slices (when configured)."""
    out = []
    if result["data"]:
        out.append({"title": "Data checks", "markdown": data_markdown(result["data"]),
                    "passed": all(d["passed"] for d in result["data"])})
    if result["slices"]:
        from ci_mlops.checks.slices import render_markdown

        files = sorted({s["file"] for s in result["slices"]})
        out.append({"title": "Slices", "markdown": render_markdown(result["slices"], file=", ".join(files)),
                    "passed": all(s["passed"] for s in result["slices"])})
    return out


def data_markdown(data: list[dict[str, Any]]) -> str:
    """Per file: a count of passed checks and a table of the failed ones with example rows."""
    from ci_mlops.checks.data import ROW_CONVENTION

    parts = []
    files = list(dict.fromkeys(d["file"] for d in data))
    for file in files:
        mine = [d for d in data if d["file"] == file]
        failed = [d for d in mine if not d["passed"]]
        mark = "✅" if not failed else "❌"
        head = f"{mark} {md_code(file)}: {len(mine) - len(failed)} of {len(mine)} checks passed"
        if not failed:
            parts.append(head)
            continue
        lines = [head, "", "| check | column | rows | example rows | detail |", "|---|---|---:|---|---|"]
        for d in failed:
            rows = ", ".join(map(str, d["examples"])) or "–"
            lines.append(f"| {d['check']} | {md_cell(d['column'] or '–')} | {d['failing_rows']} | {rows} | "
                         f"{md_cell(d['message'])} |")
        parts.append("\n".join(lines))
    if any(d["examples"] for d in data if not d["passed"]):
        parts.append(f"<sub>Example {ROW_CONVENTION}.</sub>")
    return "\n\n".join(parts) + "\n"


def gates_markdown(gates: list[dict[str, Any]]) -> str:
    """The metric gates as a verdict table (used for the job summary)."""
    lines = ["| | metric | rule | bound | value | base | detail |", "|---|---|---|---:|---:|---:|---|"]
    for g in gates:
        mark = "⏭️" if g.get("skipped") else "⚠️" if g.get("warning") else "✅" if g["passed"] else "❌"
        lines.append(f"| {mark} | {md_cell(g['key'])} | {g['rule']} | {_cell(g['bound'])} | {_cell(g['value'])} | "
                     f"{_cell(g['base'])} | {md_cell(g['message'])} |")
    return "\n".join(lines) + "\n"


def summary_markdown(result: dict[str, Any]) -> str:
    """The whole verdict for ``$GITHUB_STEP_SUMMARY``."""
    failed = count_failed(result)
    total = count_all(result)
    verdict = "✅ All checks passed" if result["passed"] else f"❌ {failed} of {total} checks failed"
    parts = [f"## ci-mlops check\n\n**{verdict}**"]
    if result["gates"]:
        parts.append("### Metric gates\n\n" + gates_markdown(result["gates"]))
    for section in sections(result):
        parts.append(f"### {section['title']}\n\n{section['markdown']}")
    return "\n\n".join(parts) + "\n"


def count_all(result: dict[str, Any]) -> int:
    return len(result["gates"]) + len(result["data"]) + sum(len(s["checks"]) for s in result["slices"])


def count_failed(result: dict[str, Any]) -> int:
    return (sum(not g["passed"] for g in result["gates"]) + sum(not d["passed"] for d in result["data"])
            + sum(not c["passed"] for s in result["slices"] for c in s["checks"]))


def _is_text(series: Any) -> bool:
    import pandas as pd

    return bool(series.dtype == object or pd.api.types.is_string_dtype(series))


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    return md_cell(value)

