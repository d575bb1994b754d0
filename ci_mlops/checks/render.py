"""Every way a verdict is shown: the ``check`` log text, the PR comment's sections, the job summary.

One place decides how a gate, a data check and a slice look, so the log, the PR comment,
``$GITHUB_STEP_SUMMARY`` and a check run's summary say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ci_mlops.checks.data import ROW_CONVENTION
from ci_mlops.checks.gatesource import GateSource, text_line
from ci_mlops.checks.records import DataResult, GateResult, SliceResult, Verdict
from ci_mlops.escape import log_text, md_cell, md_code
from ci_mlops.markdown.blocks import table

# -- Markdown: the PR comment, the job summary, a check run --------------------------------


def sections(verdict: Verdict) -> list[dict[str, Any]]:
    """``report["sections"]`` entries: one for the data checks, one for the slices (when configured)."""
    out: list[dict[str, Any]] = []
    if verdict.data:
        out.append({"title": "Data checks", "markdown": data_markdown(verdict.data),
                    "passed": all(d["passed"] for d in verdict.data)})
    if verdict.slices:
        files = sorted({s.get("file") or "" for s in verdict.slices} - {""})
        out.append({"title": "Slices", "markdown": slices_markdown(verdict.slices, file=", ".join(files) or None),
                    "passed": all(s["passed"] for s in verdict.slices)})
    return out


def summary_markdown(verdict: Verdict) -> str:
    """The whole verdict for ``$GITHUB_STEP_SUMMARY`` and a check run's summary."""
    failed, total = len(verdict.failures()), verdict.total
    headline = "✅ All checks passed" if verdict.ok else f"❌ {failed} of {total} checks failed"
    parts = [f"## ci-mlops check\n\n**{headline}**"]
    if verdict.gates:
        parts.append("### Metric gates\n\n" + gates_markdown(verdict.gates))
    for section in sections(verdict):
        parts.append(f"### {section['title']}\n\n{section['markdown']}")
    return "\n\n".join(parts) + "\n"


def gates_markdown(gates: Sequence[GateResult]) -> str:
    """The metric gates as a verdict table (used for the job summary).

    Every cell is escaped: a check run's summary may render a check document read from a file.
    """
    rows = [[_icon(g), md_cell(g["key"]), md_cell(g["rule"]), _cell(g["bound"]), _cell(g["value"]), _cell(g["base"]),
             md_cell(g["message"])] for g in gates]
    lines = table(["", "metric", "rule", "bound", "value", "base", "detail"],
                  ["---", "---", "---", "---:", "---:", "---:", "---"], rows)
    return "\n".join(lines) + "\n"


def data_markdown(data: Sequence[DataResult]) -> str:
    """Per file: a count of passed checks and a table of the failed ones with example rows."""
    parts = []
    for file in dict.fromkeys(d["file"] for d in data):
        mine = [d for d in data if d["file"] == file]
        failed = [d for d in mine if not d["passed"]]
        mark = "✅" if not failed else "❌"
        head = f"{mark} {md_code(file)}: {len(mine) - len(failed)} of {len(mine)} checks passed"
        if not failed:
            parts.append(head)
            continue
        rows = [[md_cell(d["check"]), md_cell(d["column"] or "–"), md_cell(d["failing_rows"]),
                 md_cell(", ".join(map(str, d["examples"]))) or "–", md_cell(d["message"])] for d in failed]
        lines = table(["check", "column", "rows", "example rows", "detail"], ["---", "---", "---:", "---", "---"], rows)
        parts.append("\n".join([head, "", *lines]))
    if any(d["examples"] for d in data if not d["passed"]):
        parts.append(f"<sub>Example {ROW_CONVENTION}.</sub>")
    return "\n\n".join(parts) + "\n"


def slices_markdown(results: Sequence[SliceResult], *, file: str | None = None) -> str:
    """A table per ``by`` column (groups x metrics) followed by the failed checks."""
    parts = []
    if file:
        parts.append(f"From {md_code(file)}.")
    for result in results:
        metrics = [k for k in result["groups"][0] if k not in ("group", "support")] if result["groups"] else []
        lines = [f"**By {md_code(result['by'])}** {'✅' if result['passed'] else '❌'}", ""]
        if result["groups"]:
            rows = [[md_cell(g["group"]), md_cell(g["support"]),
                     *("–" if g[m] is None else f"{g[m]:.4f}" for m in metrics)] for g in result["groups"]]
            lines += table(["group", "support", *map(md_cell, metrics)], ["---", "---:", *["---:"] * len(metrics)], rows)
        else:
            lines.append("_No rows._")
        if result["checks"]:
            lines.append("")
        for check in result["checks"]:
            lines.append(f"- {'✅' if check['passed'] else '❌'} {md_cell(check['message'])}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


# -- plain text: the `check` command's log -------------------------------------------------


def text(verdict: Verdict, report: dict[str, Any] | None, source: GateSource | None = None) -> str:
    """One line per gate and check: verdict, subject, rule, detail."""
    lines: list[str] = []
    origin = text_line(source) if source is not None else None
    if origin:
        lines.append(origin)
    if verdict.gates:
        where = ""
        if report:
            b, h = report.get("base") or {}, report.get("head") or {}
            where = f" ({_rev(b)} -> {_rev(h)})"
        lines.append(f"Metric gates{where}")
        width = max(len(g["key"]) for g in verdict.gates)
        for g in verdict.gates:
            lines.append(f"  {mark(g)}  {g['key']:<{width}}  {g['rule']:<12}  {g['message']}")
    if verdict.data:
        lines.append("Data checks")
        for file in dict.fromkeys(d["file"] for d in verdict.data):
            lines.append(f"  {file}")
            for d in (d for d in verdict.data if d["file"] == file):
                subject = f"{d['column']}: {d['check']}" if d["column"] else d["check"]
                rows = f" [rows {', '.join(map(str, d['examples']))}]" if d["examples"] and not d["passed"] else ""
                lines.append(f"    {mark(d)}  {subject:<24}  {_strip_column(d)}{rows}")
    for s in verdict.slices:
        lines.append(f"Slices by {s['by']} ({s.get('file')})")
        for group in s["groups"]:
            values = "  ".join(f"{k} {'-' if v is None else f'{v:.4f}'}" for k, v in group.items()
                               if k not in ("group", "support"))
            lines.append(f"          {group['group']!s:<16} n={group['support']:<8} {values}")
        for c in s["checks"]:
            subject = f"{c['metric']}: {c['rule']}" if c["metric"] else c["rule"]
            lines.append(f"    {mark(c)}  {subject:<24}  {c['message']}")
    if lines == ([origin] if origin else []):
        return _nothing_checked(verdict, origin)
    lines.extend(f"Note: {note}" for note in verdict.extra.get("notes") or [])
    if any(d["examples"] and not d["passed"] for d in verdict.data):
        lines.append(f"({ROW_CONVENTION})")
    failed, total = len(verdict.failures()), verdict.total
    lines.append(f"All {total} checks passed." if not failed else f"{failed} of {total} checks failed.")
    # Names and values come from data and the config: a CR or LF inside one stays in its line.
    return "\n".join(map(log_text, lines)) + "\n"


def _icon(g: GateResult) -> str:
    return "⏭️" if g.get("skipped") else "⚠️" if g.get("warning") else "✅" if g["passed"] else "❌"


def mark(item: GateResult | DataResult | Any) -> str:
    """SKIP, WARN, PASS or FAIL for one gate or check."""
    return "SKIP" if item.get("skipped") else "WARN" if item.get("warning") else "PASS" if item["passed"] else "FAIL"


def _nothing_checked(verdict: Verdict, origin: str | None) -> str:
    if origin:
        return f"{origin}\nNothing to check: those gates have no metrics, data or slices section.\n"
    if "config" in verdict.extra and verdict.extra["config"] is None:
        return ("Nothing checked: there is no .ci-mlops.yml in this repository (`ci-mlops init` writes one; "
                "`--config FILE` names another).\n")
    return "Nothing to check: .ci-mlops.yml has no metrics, data or slices section.\n"


def _strip_column(d: DataResult) -> str:
    prefix = f"{d['column']}: "
    return d["message"][len(prefix):] if d["column"] and d["message"].startswith(prefix) else d["message"]


def _rev(side: dict[str, Any]) -> str:
    ref, sha = side.get("ref"), side.get("sha")
    if ref and sha and ref != sha:
        return f"{ref} {sha[:7]}"
    return str(sha or ref or "?")[:12]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    return md_cell(value)
