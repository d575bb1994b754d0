"""Rank a sweep's experiments by one metric, against the PR's base, with each row's gate verdicts.

``build`` returns the document ``ci-mlops sweep report --format json`` prints::

    {"base": {"ref": "main", "sha": "..."}, "rank_by": "test.f1", "direction": "higher",
     "varying": ["train.lr", "train.epochs"], "best": "sweep-04",
     "rows": [{"rank": 1, "name": "sweep-04", "status": "success", "params": {"train.lr": 0.03, ...},
               "value": 0.83, "metrics": [<report metric rows: base, head, change, status>],
               "gates": [<gate results>], "passed": true, "error": null}, ...]}

Metric values are the experiment's own files (the same values ``dvc exp show --json``
lists); changes and gates use the same code as the PR report, with the experiment as
the head. Failed experiments are rows that say so, ranked last; they never fail the sweep.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from ci_mlops.checks.gates import evaluate_point_gates
from ci_mlops.checks.records import Verdict
from ci_mlops.checks.render import gates_cell
from ci_mlops.config import Config
from ci_mlops.errors import UserError
from ci_mlops.escape import md_cell, md_code
from ci_mlops.markdown.blocks import table
from ci_mlops.report.diff import diff_metrics
from ci_mlops.report.direction import infer_direction
from ci_mlops.report.lookup import resolve_metric
from ci_mlops.sweep.results import Result

if TYPE_CHECKING:
    from ci_mlops.checks.records import GateResult
    from ci_mlops.report.rows import MetricRow, Revision


class Row(TypedDict):
    """One experiment of the leaderboard."""

    name: str
    status: str  # success or failed
    params: dict[str, Any]  # the params it set, as its params files hold them
    value: float | None  # the ranking metric; None when missing, not a number or failed
    metrics: list[MetricRow]  # against the base, as the PR report's rows
    gates: list[GateResult]  # judged on the values (no significance)
    passed: bool | None  # None: no gates, or failed
    error: str | None
    rank: NotRequired[int | None]  # set once every row is sorted; None for a row without a value


class Leaderboard(TypedDict):
    """The document ``sweep report --format json`` prints."""

    base: Revision
    rank_by: str
    direction: str  # higher or lower
    varying: list[str]  # the params that differ between experiments
    best: str | None
    rows: list[Row]


def build(config: Config, base: Revision, base_metrics: dict[str, dict[str, Any]],
          results: list[Result]) -> Leaderboard:
    settings = config.settings
    rank_by = settings.experiments.rank_by if settings.experiments else None
    if not rank_by:
        raise UserError("experiments.rank_by: name the metric to rank the experiments by (e.g. test.f1)")
    rank_rule = (settings.metrics or {}).get(rank_by)
    direction = (settings.experiments and settings.experiments.direction) or (rank_rule and rank_rule.direction) \
        or infer_direction(rank_by.partition(":")[2] if ":" in rank_by else rank_by)
    if direction not in ("higher", "lower"):
        raise UserError(f"experiments.direction: cannot tell from '{rank_by}' whether higher or lower is better; "
                        "set direction: higher|lower")
    varying = _varying(results)
    rows: list[Row] = []
    for result in results:
        row: Row = {"name": result.name, "status": result.status, "params": _params(result),
                               "value": None, "metrics": [], "gates": [], "passed": None, "error": result.error}
        if result.status == "success":
            metrics = diff_metrics(base_metrics, result.metrics, settings.metrics)
            row["metrics"] = metrics
            try:
                entry = resolve_metric(rank_by, metrics)
            except UserError as exc:
                raise UserError(f"experiments.rank_by: {exc.message}") from exc
            value = entry.get("head") if entry else None
            row["value"] = value if _number(value) else None
            if settings.metrics:
                row["gates"] = evaluate_point_gates(settings, metrics)
                row["passed"] = Verdict(row["gates"]).ok
            if row["value"] is None and row["error"] is None:
                row["error"] = f"{rank_by} is missing or not a number in this experiment's metrics"
        rows.append(row)
    sign = -1.0 if direction == "higher" else 1.0
    rows.sort(key=lambda r: (r["value"] is None, sign * r["value"] if r["value"] is not None else 0.0, r["name"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank if row["value"] is not None else None
    best = next((r["name"] for r in rows if r["value"] is not None), None)
    return {"base": base, "rank_by": rank_by, "direction": direction, "varying": varying, "best": best,
            "rows": rows}


def _params(result: Result) -> dict[str, Any]:
    """The params the experiment set, from its own params files (as DVC saw them)."""
    out = {}
    for item in result.set_params:
        key = item.partition("=")[0]
        file, _, dotted = key.rpartition(":")
        values = result.params.get(file or "params.yaml") or {}
        out[key] = values.get(dotted, item.partition("=")[2])
    return out


def _varying(results: list[Result]) -> list[str]:
    keys: dict[str, set[str]] = {}
    for result in results:
        for item in result.set_params:
            key, _, value = item.partition("=")
            keys.setdefault(key, set()).add(value)
    return [k for k, values in keys.items() if len(values) > 1 or len(results) == 1]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


MAX_ROWS = 60  # rows in the Markdown table: 256 would pass GitHub's 65,536-character comment limit


def render_markdown(board: Leaderboard, *, title: str = "Sweep leaderboard", max_rows: int = MAX_ROWS) -> str:
    """The leaderboard as Markdown: the best ``max_rows`` rows, then every failed one (the JSON has them all)."""
    rows = board["rows"]
    ok = [r for r in rows if r["status"] == "success"]
    failed = len(rows) - len(ok)
    arrow = "▲" if board["direction"] == "higher" else "▼"
    base = board.get("base", {"ref": None, "sha": None})  # a board read back may lack it
    head = f"### {title}\n\n**{len(rows)} experiments**" + (f", {failed} failed" if failed else "") + \
        f" · ranked by {md_code(board['rank_by'])} ({arrow} better) · against {md_code(base.get('ref') or 'base')}"
    if board.get("best"):
        head += f" · best: **{md_code(board['best'])}**"
    others = _other_metrics(ok, board["rank_by"])
    header = ["#", "Experiment", *[md_code(k, cell=True) for k in board["varying"]],
              f"{md_code(board['rank_by'], cell=True)}", *[md_code(k, cell=True) for k in others], "Gates"]
    shown = rows if len(rows) <= max_rows else \
        [r for r in rows if r["rank"] is not None][:max_rows] + [r for r in rows if r["rank"] is None]
    body = []
    for row in shown:
        star = " ★" if row["name"] == board.get("best") else ""
        cells = [str(row["rank"] or "–"), f"{md_code(row['name'], cell=True)}{star}"]
        cells += [md_cell(_fmt(row["params"].get(k))) for k in board["varying"]]
        if row["status"] != "success":
            cells += ["❌ failed"] + [""] * len(others) + [md_cell(_short(row.get("error") or "failed"))]
        else:
            by_key = {_key(m): m for m in row["metrics"]}
            cells.append(_metric_cell(_find(row["metrics"], board["rank_by"])))
            cells += [_metric_cell(by_key.get(k)) for k in others]
            cells.append(gates_cell(row["gates"]))
        body.append(cells)
    lines = table(header, ["--:", "---"] + ["--:"] * (len(header) - 3) + ["---"], body)
    legend = ("<sub>Each value with its change against the base; ★ the best experiment; gates judged on the "
              "values (no confidence intervals in a sweep). "
              "`ci-mlops sweep apply NAME` (or a `/ci-mlops apply NAME` comment) takes an experiment's params "
              "and `dvc.lock` into the branch.</sub>")
    parts = [head, "\n".join(lines)]
    if len(shown) < len(rows):
        parts.append(f"<sub>{len(rows) - len(shown)} more experiments ranked below these: "
                     "`ci-mlops sweep report --format json` (or the run's `ci-mlops-sweep-results` artifact) "
                     "has every row.</sub>")
    return "\n\n".join([*parts, legend]) + "\n"


def _other_metrics(rows: list[Row], rank_by: str) -> list[str]:
    keys: list[str] = []
    for row in rows:
        for metric in row["metrics"]:
            key = _key(metric)
            if key not in keys and metric["key"] != rank_by and key != rank_by and metric.get("status") != "context":
                keys.append(key)
    return keys[:8]  # a comment stays readable; the JSON has every metric


def _key(metric: MetricRow) -> str:
    return str(metric["key"])


def _find(metrics: list[MetricRow], rank_by: str) -> MetricRow | None:
    file, sep, key = rank_by.partition(":")
    for metric in metrics:
        if (sep and metric["file"] == file and metric["key"] == key) or (not sep and metric["key"] == rank_by):
            return metric
    return None


def _metric_cell(metric: MetricRow | None) -> str:
    if metric is None or metric.get("head") is None:
        return "–"
    value = _fmt(metric["head"])
    change = metric.get("change")
    if _number(change) and change != 0:
        mark = {"improved": "🟢", "regressed": "🔴"}.get(str(metric.get("status")), "")
        return f"{value} <sub>{mark}{change:+.4g}</sub>"
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "–"
    return str(value)


def _short(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 120 else line[:117] + "..."
