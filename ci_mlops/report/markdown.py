"""Render a report dict as Markdown for a PR comment or a job summary.

Layout, top to bottom: the caller's ``headline``, a one-line summary, notes, the caller's
``first`` parts, metrics, params, extra ``report["sections"]``, plots. Long tables fold
into ``<details>``. Output is deterministic (rows come sorted from the diff). The report
knows no gates: :func:`ci_mlops.checks.render.report_markdown` renders their verdict and
table and passes them in as ``headline`` and ``first``.

Size: GitHub refuses comments over 65,536 characters. ``render_markdown(report,
max_chars=N)`` drops whole parts in :data:`DROP_ORDER` until the text fits, and says
which parts it left out; ``drop={"plots", ...}`` leaves parts out explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ci_mlops.dvc.values import is_number
from ci_mlops.escape import html_text, md_cell, md_code, md_text
from ci_mlops.markdown.blocks import details
from ci_mlops.markdown.blocks import table as md_table
from ci_mlops.markdown.blocks import value_cell as _value
from ci_mlops.report.diff import param_status

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:  # annotations only: the TypedDicts cost ~2 ms to create at start-up
    from typing import Any

    from ci_mlops.report.document import HistoryInfo, ReportDocument, Section
    from ci_mlops.report.rows import MetricRow, Revision, Trend

# What to leave out first when the comment is too long: least useful per character first.
DROP_ORDER = ("plots", "history", "unchanged", "params", "sections", "metrics")
FOLD_ROWS = 12  # tables longer than this fold into <details>
FOLD_SECTION_CHARS = 1500

STATUS_MARK = {
    "improved": "🟢 improved", "regressed": "🔴 regressed", "changed": "🔵 changed",
    "new": "🆕 new", "removed": "➖ removed", "unchanged": "unchanged", "context": "context",
}


def render_markdown(report: ReportDocument, *, show_all: bool = False, drop: Iterable[str] = (),
                    max_chars: int | None = None, headline: str = "", first: Sequence[str] = ()) -> str:
    """The report as Markdown. ``show_all`` keeps unchanged rows; see the module doc for ``drop``/``max_chars``.

    ``headline`` (above the summary) and ``first`` (after the notes) are Markdown a caller rendered,
    never left out for size.
    """
    dropped = set(drop)
    text = _render(report, show_all, dropped, headline, first)
    if max_chars is None or len(text) <= max_chars:
        return text
    for part in DROP_ORDER:
        if part in dropped:
            continue
        dropped.add(part)
        text = _render(report, show_all, dropped, headline, first, note=True)
        if len(text) <= max_chars:
            return text
    cut = "\n\n_… report truncated to fit the comment size limit._\n"
    return text[: max(0, max_chars - len(cut))] + cut


def _render(report: ReportDocument, show_all: bool, dropped: set[str], headline: str, first: Sequence[str],
            note: bool = False) -> str:
    parts = [headline, _summary(report), _notes(report), *first]
    if "metrics" not in dropped:
        parts.append(_metrics_part(report, show_all, dropped))
    if "params" not in dropped:
        parts.append(_params_part(report, show_all, dropped))
    if "sections" not in dropped:
        parts.extend(_section(s) for s in report.get("sections") or [])
    if "plots" not in dropped:
        parts.append(_plots_part(report, show_all))
    if note:
        left_out = [p for p in DROP_ORDER if p in dropped]
        parts.append(f"_Left out to fit GitHub's comment size limit: {', '.join(left_out)}. "
                     "Run `ci-mlops report` locally or see the job summary for the full report._")
    return "\n\n".join(p for p in parts if p).rstrip() + "\n"


# -- pieces ------------------------------------------------------------------------------


_UNKNOWN: Revision = {"ref": None, "sha": None}  # a side a report read back from JSON lacks


def _labels(report: ReportDocument) -> tuple[str, str]:
    return _rev_label(report.get("base", _UNKNOWN)), _rev_label(report.get("head", _UNKNOWN))


def _rev_label(side: Revision) -> str:
    ref, sha = side.get("ref"), side.get("sha")
    short = md_code(sha[:7]) if sha else ""
    pr = side.get("pr")
    if ref == "workspace" and pr:
        return f"PR #{int(pr['number'])} ({md_code(str(pr['sha'])[:7])})"
    if ref == "workspace":
        return f"workspace (on {short})" if short else "workspace"
    if ref and sha and not sha.startswith(str(ref)):
        return f"{md_code(ref)} ({short})"
    return short or md_code(ref)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _summary(report: ReportDocument) -> str:
    metrics = report.get("metrics") or []
    counts: dict[str, int] = {}
    for row in metrics:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    bits = [f"{counts[s]} {s}" for s in ("improved", "regressed", "changed", "new", "removed") if counts.get(s)]
    reasons: dict[str, int] = {}  # why a change counts as unchanged: "within tolerance", "not significant"
    for row in metrics:
        if row["status"] == "unchanged" and row.get("unchanged_reason"):
            reasons[row["unchanged_reason"]] = reasons.get(row["unchanged_reason"], 0) + 1
    if metrics:
        moved = f"{_plural(len(metrics), 'metric')}: " + (", ".join(bits) if bits else "none changed")
        unchanged = counts.get("unchanged", 0)
        if reasons:
            why = ", ".join(f"{n} {reason}" if n != unchanged or len(reasons) > 1 else reason
                            for reason, n in sorted(reasons.items()))
            moved += f"{', ' if bits else ' beyond noise, '}{unchanged} unchanged ({why})"
        elif unchanged and bits:
            moved += f", {unchanged} unchanged"
    elif report.get("metrics_files"):  # declared, but neither revision has values: never "no metrics found"
        moved = f"no metric values: {', '.join(report['metrics_files'])} absent at both revisions"
    else:
        moved = "no metrics found"
    params = report.get("params") or []
    changed = sum(1 for row in params if param_status(row) != "unchanged")
    base, head = _labels(report)
    tail = f" · {_plural(changed, 'param')} changed" if params else ""
    return f"**{moved}**{tail} · {base} → {head}"


def _notes(report: ReportDocument) -> str:
    """What DVC would have warned about (a DVC 1 lock, a declared file absent, a nested project)."""
    return "\n\n".join(f"> **Note:** {md_cell(note)}" for note in report.get("notes") or [])


def _status(row: MetricRow) -> str:
    mark = STATUS_MARK.get(row["status"], row["status"])
    return f"{mark} ({row['unchanged_reason']})" if row.get("unchanged_reason") else mark


def _is_num(value: Any) -> bool:
    return is_number(value)


def _metrics_part(report: ReportDocument, show_all: bool, dropped: set[str]) -> str:
    rows = report.get("metrics") or []
    if not rows:
        return ""
    shown = rows if show_all else [r for r in rows if (r["status"] != "unchanged" or r.get("unchanged_reason"))
                                   and not (r["status"] == "context" and r["base"] == r["head"])]
    hidden = len(rows) - len(shown)
    with_file = len({r["file"] for r in rows}) > 1
    with_trend = "history" not in dropped and any(r.get("history") for r in shown)
    header = (["File"] if with_file else []) + ["Metric", "Base", "Head", "Change", "Status"] + (
        [_trend_header(report)] if with_trend else [])
    align = (["---"] if with_file else []) + ["---", "--:", "--:", "--:", "---"] + (["---"] if with_trend else [])
    body = []
    for r in shown:
        cells = ([md_code(r["file"], cell=True)] if with_file else []) + [
            md_cell(r["key"]), _value(r["base"]), _value(r["head"]), _change(r), _status(r)]
        if with_trend:
            cells.append(_trend(r.get("history")))
        body.append(cells)
    table = "\n".join(md_table(header, align, body)) if shown else ""
    file_note = "" if with_file else f" ({md_code(rows[0]['file'])})"
    out = [f"#### Metrics{file_note}"]
    if table:
        out.append(_fold(table, len(shown), f"{_plural(len(shown), 'metric')}"))
        legend = _interval_legend(shown)
        if legend:
            out.append(legend)
    if hidden and "unchanged" not in dropped:
        out.append(f"<sub>{_plural(hidden, 'unchanged metric')} not shown (`--all` shows them).</sub>")
    elif not shown:
        out.append("_No metric changed._")
    return "\n\n".join(out)


def _params_part(report: ReportDocument, show_all: bool, dropped: set[str]) -> str:
    rows = report.get("params") or []
    if not rows:
        return ""
    shown = rows if show_all else [r for r in rows if param_status(r) != "unchanged"]
    if not shown:
        return f"#### Params\n\n<sub>{_plural(len(rows), 'param')}, none changed.</sub>"
    with_file = len({r["file"] for r in rows}) > 1
    header = (["File"] if with_file else []) + ["Param", "Base", "Head", "Change"]
    align = (["---"] if with_file else []) + ["---", "--:", "--:", "--:"]
    body = []
    for r in shown:
        status = param_status(r)
        change = _signed(r["change"]) if r["change"] is not None and status == "changed" else (
            status if status != "unchanged" else "")
        cells = ([md_code(r["file"], cell=True)] if with_file else []) + [
            md_cell(r["key"]), _value(r["base"]), _value(r["head"]), change]
        body.append(cells)
    file_note = "" if with_file else f" ({md_code(rows[0]['file'])})"
    hidden = len(rows) - len(shown)
    out = [f"#### Params{file_note}",
           _fold("\n".join(md_table(header, align, body)), len(shown), _plural(len(shown), "param"))]
    if hidden and "unchanged" not in dropped:
        out.append(f"<sub>{_plural(hidden, 'unchanged param')} not shown.</sub>")
    return "\n\n".join(out)


def _section(section: Section) -> str:
    title = str(section.get("title") or "")
    passed = section.get("passed")
    mark = "" if passed is None else ("✅ " if passed else "❌ ")
    body = str(section.get("markdown") or "").strip()
    if len(body) > FOLD_SECTION_CHARS or body.count("\n") > FOLD_ROWS + 2:
        return details(f"<b>{mark}{html_text(title)}</b>", body, open=passed is False)
    return f"#### {mark}{md_text(title)}\n\n{body}" if body else f"#### {mark}{md_text(title)}"


def _plots_part(report: ReportDocument, show_all: bool) -> str:
    plots = report.get("plots") or []
    if not plots:
        return ""
    from ci_mlops.report.plots import render_plot  # lazy: with Mermaid's charts, only for a report with plots

    base, head = _labels(report)
    shown = [p for p in plots if show_all or p.get("changed") or p.get("error") or p.get("missing")]
    out = ["#### Plots"]
    for plot in shown:
        title = f" {html_text(plot['title'])}" if plot.get("title") and plot["title"] != plot["id"] else ""
        out.append(details(f"<code>{html_text(plot['id'])}</code>{title}", render_plot(plot, base, head), open=True))
    unchanged = [p["id"] for p in plots if p not in shown]
    if unchanged:
        out.append("<sub>Unchanged: " + ", ".join(md_code(i) for i in unchanged) + "</sub>")
    # invisible marks: `ci-mlops comment --plots-dir` puts the published images in their place
    return "<!-- ci-mlops:plots -->\n" + "\n\n".join(out) + "\n<!-- /ci-mlops:plots -->"


# -- formatting --------------------------------------------------------------------------


def _fold(table: str, rows: int, summary: str) -> str:
    if rows <= FOLD_ROWS:
        return table
    return details(html_text(summary), table)


def _signed(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            return "NaN" if math.isnan(value) else _value(value)
        return f"{value:+.4g}"
    if isinstance(value, int):
        return f"{value:+d}"
    return md_cell(value)


def _change(row: MetricRow) -> str:
    change = row.get("change")
    if change is None or isinstance(change, bool) or row["status"] in ("new", "removed"):
        return ""
    if row["status"] == "context":  # a counter (step/epoch): how far training ran, not better or worse
        return _signed(change) if change else ""
    if isinstance(change, float) and math.isnan(change):
        return "NaN"
    arrow = "▲ " if change > 0 else "▼ " if change < 0 else ""
    pct = row.get("change_pct")
    pct_text = f" ({pct:+.2f}%)" if pct is not None and change != 0 else ""
    interval = row.get("interval")
    if interval and "low" in interval:  # "−0.009 (95% CI −0.021 … +0.003, not significant)"
        verdict = "significant" if interval["significant"] else "not significant"
        # on a second line in small type, so the Change column stays narrow
        pct_text = (f"<br><sub>{interval['confidence'] * 100:g}% CI {_ci(interval['low'])} … "
                    f"{_ci(interval['high'])}, {verdict}</sub>")
    return f"{arrow}{_signed(change)}{pct_text}"


def _ci(value: float) -> str:
    """An interval end to 3 significant digits: enough to read, short enough for a table cell."""
    if value == 0:
        return "0"
    return f"{value:+.3g}".replace("-", "−")


def _interval_legend(rows: list[MetricRow]) -> str:
    """One line under the metrics table saying what the intervals are."""
    with_ci = [r["interval"] for r in rows if (r.get("interval") or {}).get("method")]
    if not with_ci:
        return ""
    how = sorted({f"paired bootstrap over {i['n']:,} examples" if i["method"] == "bootstrap"
                  else f"{i.get('test', i['method'])} over {i['n']} seeds" for i in with_ci})
    return (f"<sub>CI: confidence interval of head − base ({'; '.join(how)}); a change counts as improved or "
            "regressed only when its interval excludes 0.</sub>")


def _trend(history: Trend | None) -> str:
    """Sparkline and range over the commits that have a value; one value is just that value."""
    if not history or not (sparkline := history.get("sparkline")):
        return ""
    numbers = len(sparkline)  # one bar per finite number of the values (history.trend)
    low, high = history.get("min"), history.get("max")
    commits = len(history.get("values") or [])
    some = f" ({numbers} of {commits} commits)" if numbers < commits else ""
    if numbers <= 1:  # a one-bar sparkline says nothing
        return f"<sub>{_value(high)}{some}</sub>"
    span = _value(high) if low == high else f"{_value(low)}–{_value(high)}"
    return f"{sparkline} <sub>{span}{some}</sub>"


_NO_HISTORY: HistoryInfo = {"ref": None, "commits": [], "requested": 0}


def _trend_header(report: ReportDocument) -> str:
    """Says how many commits the trend covers (fewer than asked when the branch is younger)."""
    info = report.get("history") or _NO_HISTORY
    commits = len(info.get("commits") or [])
    ref = f" of {md_code(info['ref'])}" if info.get("ref") else ""
    asked = info.get("requested", 0)
    short = f"; {asked} asked" if asked > commits else ""
    return f"Trend ({_plural(commits, 'commit')}{ref}{short})"




