"""Every way a verdict is shown: the ``check`` log text, the PR comment's gates and sections, the job summary.

One place decides how a gate, a data check and a slice look, so the log, the PR comment,
``$GITHUB_STEP_SUMMARY`` and a check run's summary say the same thing the same way. The
report below knows no gates: :func:`report_markdown` renders its Markdown with the gate
verdict on top and the gates table after the notes.
"""

from __future__ import annotations

import re

from ci_mlops.checks.gatesource import GateSource, text_line
from ci_mlops.checks.records import ROW_CONVENTION, Verdict, as_judged
from ci_mlops.dvc.values import is_number
from ci_mlops.escape import log_text, md_cell, md_code
from ci_mlops.markdown.blocks import table, value_cell
from ci_mlops.report.markdown import render_markdown

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

    from ci_mlops.checks.records import DataResult, GateResult, SliceResult
    from ci_mlops.report.document import ReportDocument, Section
    from ci_mlops.report.rows import Revision

# -- Markdown: the PR comment, the job summary, a check run --------------------------------


def report_markdown(report: ReportDocument, *, gates: Sequence[Mapping[str, Any]] | None = None,
                    show_all: bool = False, drop: Iterable[str] = (), max_chars: int | None = None) -> str:
    """The PR report (or release notes) as Markdown, with the gates' verdict on top and their table
    after the notes.

    ``gates`` defaults to ``report["gates"]`` (:func:`~ci_mlops.checks.runner.add_to_report` puts
    them there); none at all shows no gate parts, an empty list says that none is configured.
    The other options are :func:`ci_mlops.report.markdown.render_markdown`'s.
    """
    if gates is None:
        gates = as_judged(report).get("gates")
    return render_markdown(report, show_all=show_all, drop=drop, max_chars=max_chars,
                           headline=gate_verdict(gates) if gates is not None else "",
                           first=[gates_table(gates)] if gates else [])


def gate_verdict(gates: Sequence[Mapping[str, Any]]) -> str:
    """The report's first line: how many gates failed (and which), or that all passed."""
    if not gates:
        return "**✅ No quality gates configured.**"
    failed = [g for g in gates if not g.get("passed")]
    if failed:
        metrics = list(dict.fromkeys(g.get("metric") for g in failed))  # two failed rules of one metric: named once
        names = ", ".join(md_code(m) for m in metrics[:5]) + (" …" if len(metrics) > 5 else "")
        return f"**❌ {len(failed)} of {len(gates)} quality gates failed:** {names}"
    warned = sum(1 for g in gates if g.get("warning"))
    if warned:
        return f"**✅ All {len(gates)} quality gates passed** (⚠️ {warned} inconclusive)."
    return f"**✅ All {len(gates)} quality gates passed.**"


def gates_table(gates: Sequence[Mapping[str, Any]]) -> str:
    """The report's gates: failing first; one line per gate; the file named once (or as FILE:KEY where keys repeat)."""
    files = {g.get("file") for g in gates if g.get("file")}
    keys_in_files: dict[str, set[str]] = {}
    for g in gates:
        keys_in_files.setdefault(str(g.get("metric")), set()).add(str(g.get("file")))
    heading = "#### Quality gates" + (f" ({md_code(next(iter(files)))})" if len(files) == 1 else "")
    rows = []
    order = sorted(range(len(gates)), key=lambda i: (bool(gates[i].get("passed")), not gates[i].get("warning"), i))
    for g in (gates[i] for i in order):
        metric = str(g.get("metric"))
        if len(files) > 1 and g.get("file") and len(keys_in_files[metric]) > 1:
            metric = f"{g['file']}:{metric}"
        bound = g.get("bound")
        bound_text = f"{value_cell(bound)}%" if g.get("rule") == "max_drop_pct" and bound is not None else value_cell(bound)
        rows.append([_verdict(g), md_cell(metric), md_cell(g.get("rule")), bound_text, _gate_result(g)])
    lines = table(["Verdict", "Metric", "Rule", "Bound", "Result"], [":--", "---", "---", "--:", "---"], rows)
    return "\n".join([heading, "", *lines])


def card_gates(gates: Sequence[Mapping[str, Any]]) -> list[str]:
    """A model card's gates (as ``lineage.json`` records them): a heading with the verdict, then one row per gate."""
    failed = [g for g in gates if not g.get("passed")]
    verdict = "all gates passed" if not failed else f"{len(failed)} of {len(gates)} gates failed"
    rows = [[md_cell("✅" if g.get("passed") else "❌"), md_code(str(g.get("metric")), cell=True), md_cell(g.get("rule")),
             md_cell(_card_value(g.get("bound"))), md_cell(_card_value(g.get("value"))), md_cell(g.get("message", ""))]
            for g in gates]
    return [f"### Quality gates: {verdict}", "", *table(["", "Metric", "Rule", "Bound", "Value", "Verdict"],
                                                         ["---"] * 6, rows)]


def _card_value(value: Any) -> str:
    """As the rest of the model card writes a value: ``—`` for none, 6 significant digits."""
    if value is None:
        return "—"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _verdict(gate: Mapping[str, Any]) -> str:
    if not gate.get("passed"):
        return "❌ fail"
    if gate.get("warning"):
        return "⚠️ inconclusive"
    return "⏭️ skipped" if gate.get("skipped") else "✅ pass"


# checks/gates.py's messages of a drop rule (compiled when a drop rule's result is first shown)
_DROP_MESSAGE = r"^(dropped|rose) (.+?): .+ \((within|over) \S+ .+\)$"
_INTERVAL_MESSAGE = r"worsening (\S+ … \S+) at (\S+) confidence"


def _gate_result(gate: Mapping[str, Any]) -> str:
    """What the gate saw, as one table cell (escaped once): the head value, or base → head and how far it moved."""
    message = str(gate.get("message") or "")
    rule, value, base = gate.get("rule"), gate.get("value"), gate.get("base")
    if gate.get("skipped") or value is None or (rule == "required" and not gate.get("passed")):
        return md_cell(message.replace(" -> ", " → "))
    if rule in ("max_drop", "max_drop_pct") and is_number(base):
        # each pattern only where its words are (a gate with no worsening compiles neither)
        moved = re.match(_DROP_MESSAGE, message) if message.startswith(("dropped ", "rose ")) else None
        interval = re.search(_INTERVAL_MESSAGE, message) if "worsening " in message and " confidence" in message else None
        if interval:  # judged on a confidence interval (significance): the verdict column says how
            how = f"worsening {interval[1]} ({interval[2]} CI)"
        elif moved:  # the amount as checks/gates.py printed it (more digits when rounding would hide a failure)
            how = f"{moved[1]} {moved[2]}"
        elif "no worsening" in message:
            how = "no worsening"
        else:
            return md_cell(message.replace(" -> ", " → "))
        return f"{value_cell(base)} → {value_cell(value)}: {md_cell(how)}"
    return value_cell(value)


def sections(verdict: Verdict) -> list[Section]:
    """``report["sections"]`` entries: one for the data checks, one for the slices (when configured)."""
    out: list[Section] = []
    if verdict.data:
        out.append({"title": "Data checks", "markdown": data_markdown(verdict.data),
                    "passed": all(d["passed"] for d in verdict.data)})
    if verdict.slices:
        files = sorted({s.get("file") or "" for s in verdict.slices} - {""})
        out.append({"title": "Slices", "markdown": slices_markdown(verdict.slices, file=", ".join(files) or None),
                    "passed": all(s["passed"] for s in verdict.slices)})
    return out


def status_verdict(check: Mapping[str, Any]) -> tuple[str, str]:
    """A check document (``check --format json``) as a commit status: ``success`` or ``failure``, and
    a description naming what failed (unclipped: each forge clips to its own limit)."""
    result = Verdict.from_json(check)
    failed = result.failures()
    if check.get("passed") and not failed:
        return "success", f"All {result.total} quality gates and checks passed" if result.total else "No gates configured"
    names = ", ".join(f.name for f in failed)
    return "failure", f"{len(failed)} of {result.total} failed: {names}" if failed else "Checks failed"


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


def text(verdict: Verdict, report: ReportDocument | None, source: GateSource | None = None) -> str:
    """One line per gate and check: verdict, subject, rule, detail."""
    lines: list[str] = []
    origin = text_line(source) if source is not None else None
    if origin:
        lines.append(origin)
    if verdict.gates:
        where = ""
        if report:
            where = f" ({_rev(report.get('base', _UNKNOWN))} -> {_rev(report.get('head', _UNKNOWN))})"
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


def gates_cell(gates: Sequence[Mapping[str, Any]]) -> str:
    """A sweep leaderboard row's gates in one cell: how many passed, else the first failures by name."""
    if not gates:
        return "–"
    failed = [g for g in gates if not g["passed"]]
    if not failed:
        return f"✅ {len(gates)}/{len(gates)}"
    names = ", ".join(f"{g['metric']} {g['rule']}" for g in failed[:3])
    return f"❌ {md_cell(names)}" + (f" +{len(failed) - 3}" if len(failed) > 3 else "")


def gate_line(gate: Mapping[str, Any]) -> str:
    """One gate in a release's log: ``gate FAIL: test.accuracy min: 0.8 < min 0.9``."""
    mark = "pass" if gate.get("passed") else ("skip" if gate.get("skipped") else "FAIL")
    return f"gate {mark}: {gate.get('metric')} {gate.get('rule')}: {gate.get('message', '')}"


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


_UNKNOWN: Revision = {"ref": None, "sha": None}  # a side a hand-made report lacks


def _rev(side: Revision) -> str:
    ref, sha = side.get("ref"), side.get("sha")
    if ref and sha:  # a ref typed as a SHA (or a prefix of one) is shown once
        return sha[:7] if sha.startswith(ref) else f"{ref} {sha[:7]}"
    return str(sha or ref or "?")[:12]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    return md_cell(value)
