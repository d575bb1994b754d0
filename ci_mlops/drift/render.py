"""Drift results as Markdown (summary, per-column table, Mermaid comparisons) or JSON."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from ci_mlops.escape import html_text, md_cell, md_code, md_text, mermaid_label
from ci_mlops.markdown.blocks import details, table

if TYPE_CHECKING:
    from ci_mlops.drift.records import ColumnDrift, DriftResult

MAX_CHARTS = 10
TEST_NAMES = {
    "ks": "K-S p-value", "chisquare": "chi-squared p-value", "ztest": "z-test p-value",
    "wasserstein": "Wasserstein (normed)", "jensenshannon": "Jensen-Shannon", "psi": "PSI",
}


def render_json(result: DriftResult) -> str:
    return json.dumps(_finite(result), indent=2, allow_nan=False) + "\n"


def render_markdown(result: DriftResult, *, title: str = "Data drift", charts: bool = True) -> str:
    """The full report: verdict line, column table, notes, charts for drifted columns, performance."""
    out = [f"## {title}: {'detected' if result['dataset_drift'] else 'not detected'}", ""]
    out.append(summary_line(result))
    out.append("")
    rows = []
    for col in sorted(result["columns"], key=lambda c: (not c["drifted"], c["name"])):
        op = "≤" if col["test"] == "ks" else "<" if col["score"] == "p_value" else "≥"
        verdict = "**drifted**" if col["drifted"] else "ok"
        rows.append([md_code(col["name"], cell=True), col["type"], TEST_NAMES[col["test"]],
                     _num(col["statistic"]), f"{op} {_num(col['threshold'])}", verdict])
    out += table(["column", "type", "test", "statistic", "threshold", "verdict"],
                 ["---", "---", "---", "---:", "---:", "---"], rows)
    out.append("")

    notes = [(c["name"], n) for c in result["columns"] for n in c.get("notes", [])]
    notes += [(s["name"], f"not compared: {s['reason']}") for s in result.get("skipped", [])]
    notes += [(name, "only in the reference data") for name in result.get("only_in_reference", [])]
    notes += [(name, "only in the current data") for name in result.get("only_in_current", [])]
    if notes:
        out.append("### Notes")
        out.append("")
        out.extend(f"- {md_code(name)}: {md_cell(note)}" for name, note in notes)
        out.append("")

    if any(c.get("psi") is not None for c in result["columns"]):
        out.append("PSI per column (< 0.1 stable, 0.1-0.25 moderate, > 0.25 significant): "
                   + ", ".join(f"{md_code(c['name'])} {_num(c['psi'])}" for c in result["columns"] if c.get("psi") is not None))
        out.append("")

    perf = result.get("performance")
    if perf:
        out.append("### Model performance")
        out.append("")
        out.append(("**Degraded.** " if perf["degraded"] else "") + md_text(perf["message"]))
        out.append("")

    drifted = [c for c in result["columns"] if c["drifted"] and c.get("distribution")]
    if charts and drifted:
        out.append("### Drifted columns")
        out.append("")
        out.append("Bars: reference, line: current (share of rows, %).")
        out.append("")
        for col in drifted[:MAX_CHARTS]:
            summary = f"<code>{html_text(col['name'])}</code>: {TEST_NAMES[col['test']]} {_num(col['statistic'])}"
            out.append(details(summary, mermaid_chart(col)))
            out.append("")
        if len(drifted) > MAX_CHARTS:
            out.append(f"({len(drifted) - MAX_CHARTS} more drifted columns not charted; see the JSON output.)")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def summary_line(result: DriftResult) -> str:
    share = result["share_drifted"]
    return (f"**{result['drifted_columns']} of {result['compared_columns']} columns drifted "
            f"({share * 100:.0f}%)**; dataset drift at ≥ {result['drift_share'] * 100:.0f}%. "
            f"Reference: {result['reference_rows']:,} rows, current: {result['current_rows']:,} rows.")


def mermaid_chart(col: ColumnDrift) -> str:
    """A GitHub-rendered Mermaid ``xychart-beta``: reference shares as bars, current as a line."""
    dist = col["distribution"]
    if dist["kind"] == "histogram":
        edges = dist["edges"]
        labels = [f"{_short(edges[i])}" for i in range(len(edges) - 1)]
        axis = f"{col['name']} (bin start)"
    else:
        labels = [str(label) for label in dist["labels"]]
        axis = col["name"]
    ref = [round(100 * v, 1) for v in dist["reference"]]
    cur = [round(100 * v, 1) for v in dist["current"]]
    top = max([*ref, *cur, 1.0])
    return "\n".join([
        "```mermaid",
        "xychart-beta",
        f"    title {mermaid_label(col['name'])}",
        f"    x-axis {mermaid_label(axis)} [{', '.join(mermaid_label(label, limit=24) for label in labels)}]",
        f'    y-axis "% of rows" 0 --> {math.ceil(top * 1.1)}',
        f"    bar [{', '.join(str(v) for v in ref)}]",
        f"    line [{', '.join(str(v) for v in cur)}]",
        "```",
    ])


def _finite(node: Any) -> Any:
    if isinstance(node, float):
        return node if math.isfinite(node) else None
    if isinstance(node, dict):
        return {k: _finite(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_finite(v) for v in node]
    return node


def _num(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) < 1e-4:
        return f"{value:.1e}"
    return f"{value:.4g}"


def _short(value: float) -> str:
    return f"{value:.3g}"
