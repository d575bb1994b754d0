"""`ci-mlops check`: run the metric gates, data checks and slice checks of .ci-mlops.yml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command("check")
@click.option("--base", "base", metavar="REF", default=None,
              help="Revision the drop rules (max_drop, max_drop_pct) compare against; the same as "
                   "`ci-mlops report --base`. Default: in a GitHub pull request the merge base with the PR's "
                   "base branch, else `base:` in the config, else the default branch.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per gate and check with value, bound and verdict. json: the document "
                   "described in docs/check.md.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file. Default: .ci-mlops.yml at the repository root.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the output (in --format) to FILE atomically instead of stdout.")
@click.option("--gates-from", type=click.Choice(["auto", "base", "workspace"]), default="auto", show_default=True,
              help="Whose metrics/data/slices gates decide: base = the base branch's .ci-mlops.yml (read "
                   "from git), workspace = the file on disk. auto: base in a GitHub pull request run, else "
                   "workspace. See docs/check.md#which-gates-decide-a-pull-request.")
def command(base: str | None, fmt: str, config_path: str | None, output: str | None, gates_from: str) -> None:
    """Judge the workspace against the quality gates in .ci-mlops.yml.

    \b
    metrics:  gates on DVC metrics (min, max, max_drop, max_drop_pct vs the base)
    data:     checks on data files (rows, dtypes, nulls, ranges, allowed values,
              uniqueness, regex, strict schema, duplicates, train/test leakage)
    slices:   per-group accuracy/precision/recall/F1/error rate with gap gates

    Exit 0 when everything passes, 1 when a gate or check failed, 2 when the
    configuration or a data file is wrong. In GitHub Actions every failure is
    also an error annotation on the gate's line in .ci-mlops.yml and the verdict
    table goes to the job summary.
    """
    from ci_mlops import checks
    from ci_mlops.config import find_config, load_config
    from ci_mlops.errors import CheckFailed
    from ci_mlops.fsutil import write_output
    from ci_mlops.github import actions

    from ci_mlops.checks.gatesource import deciding_config

    config = load_config(config_path, required=config_path is not None)
    root = _root(config_path)
    config, source = deciding_config(config, root, gates_from=gates_from, base=base)
    report = None
    if config.get("metrics"):
        from ci_mlops.report import build_report

        report = build_report(root, base, None, config=config)
    result = checks.run_all(config, root, report, strict=True)
    if source.origin != "workspace":
        result["gate_source"] = source.to_json()

    if report and report.get("notes"):
        result["notes"] = report["notes"]
    if config.path is None:
        result["config"] = None  # no .ci-mlops.yml: nothing is configured, so nothing was checked
    text = json.dumps(result, indent=2, default=str) + "\n" if fmt == "json" else render_text(result, report, source)
    if output:
        write_output(output, text, announce=lambda line: click.echo(f"ci-mlops: {line}", err=True))
    else:
        from ci_mlops.escape import guard_commands

        click.echo(text if fmt == "json" else guard_commands(text), nl=False)

    config_file = _config_display(config, config_path, find_config, root)
    for line, title, message in failures(result, config):
        actions.annotate("error", message, file=config_file, line=line, title=title)
    if source.changes:
        actions.annotate("notice", f"This pull request changes {len(source.changes)} quality-gate setting(s); the "
                         f"gates of {source.ref} decided this run, the new ones apply after merge.",
                         file=config_file, title="Gates changed")
    actions.append_summary(checks.summary_markdown(result))
    actions.set_output("passed", "true" if result["passed"] else "false")
    if not result["passed"]:
        raise CheckFailed(f"{checks.count_failed(result)} of {checks.count_all(result)} checks failed")


def render_text(result: dict[str, Any], report: dict[str, Any] | None, source: Any = None) -> str:
    """One line per gate and check: verdict, subject, rule, detail."""
    from ci_mlops.checks import count_all, count_failed
    from ci_mlops.checks.data import ROW_CONVENTION
    from ci_mlops.checks.gatesource import text_line

    lines: list[str] = []
    origin = text_line(source) if source is not None else None
    if origin:
        lines.append(origin)
    if result["gates"]:
        where = ""
        if report:
            b, h = report.get("base") or {}, report.get("head") or {}
            where = f" ({_rev(b)} -> {_rev(h)})"
        lines.append(f"Metric gates{where}")
        width = max(len(g["key"]) for g in result["gates"])
        for g in result["gates"]:
            lines.append(f"  {_mark(g)}  {g['key']:<{width}}  {g['rule']:<12}  {g['message']}")
    if result["data"]:
        lines.append("Data checks")
        for file in dict.fromkeys(d["file"] for d in result["data"]):
            lines.append(f"  {file}")
            for d in (d for d in result["data"] if d["file"] == file):
                subject = f"{d['column']}: {d['check']}" if d["column"] else d["check"]
                rows = f" [rows {', '.join(map(str, d['examples']))}]" if d["examples"] and not d["passed"] else ""
                lines.append(f"    {_mark(d)}  {subject:<24}  {_strip_column(d)}{rows}")
    if result["slices"]:
        for s in result["slices"]:
            lines.append(f"Slices by {s['by']} ({s['file']})")
            for g in s["groups"]:
                values = "  ".join(f"{k} {'-' if v is None else f'{v:.4f}'}" for k, v in g.items()
                                   if k not in ("group", "support"))
                lines.append(f"          {str(g['group']):<16} n={g['support']:<8} {values}")
            for c in s["checks"]:
                subject = f"{c['metric']}: {c['rule']}" if c["metric"] else c["rule"]
                lines.append(f"    {_mark(c)}  {subject:<24}  {c['message']}")
    if lines == ([origin] if origin else []):
        if origin:
            return f"{origin}\nNothing to check: those gates have no metrics, data or slices section.\n"
        if "config" in result and result["config"] is None:
            return ("Nothing checked: there is no .ci-mlops.yml in this repository (`ci-mlops init` writes one; "
                    "`--config FILE` names another).\n")
        return "Nothing to check: .ci-mlops.yml has no metrics, data or slices section.\n"
    lines.extend(f"Note: {note}" for note in result.get("notes") or [])
    if any(d["examples"] and not d["passed"] for d in result["data"]):
        lines.append(f"({ROW_CONVENTION})")
    failed, total = count_failed(result), count_all(result)
    lines.append(f"{'All ' + str(total) + ' checks passed' if not failed else f'{failed} of {total} checks failed'}.")
    from ci_mlops.escape import log_text

    # Names and values come from data and the config: a CR or LF inside one stays in its line.
    return "\n".join(map(log_text, lines)) + "\n"


def failures(result: dict[str, Any], config: Any) -> list[tuple[int | None, str, str]]:
    """(config line, title, message) for every failed gate or check, for annotations."""
    out = []
    for g in result["gates"]:
        if not g["passed"]:
            line = config.line("metrics", g["key"], g["rule"]) or config.line("metrics", g["key"])
            out.append((line, f"Gate failed: {g['key']}", f"{g['key']} {g['rule']}: {g['message']}"))
    for d in result["data"]:
        if not d["passed"]:
            keys = ("data", d["file"], "columns", d["column"], d["check"]) if d["column"] \
                else ("data", d["file"], d["check"])
            line = config.line(*keys) or config.line("data", d["file"])
            rows = f" (rows {', '.join(map(str, d['examples']))})" if d["examples"] else ""
            out.append((line, f"Data check failed: {d['file']}", f"{d['file']}: {d['message']}{rows}"))
    for s in result["slices"]:
        for c in s["checks"]:
            if not c["passed"]:
                line = (config.line("slices", "metrics", c["metric"], c["rule"]) if c["metric"]
                        else config.line("slices", c["rule"])) or config.line("slices")
                out.append((line, f"Slice check failed: {s['by']}", c["message"]))
    return out


def _root(config_path: str | None) -> Path:
    from ci_mlops.errors import UserError
    from ci_mlops.git import Repo

    start = Path(config_path).resolve().parent if config_path else Path.cwd()
    try:
        return Repo.discover(start).root
    except UserError:
        return start  # data and slice checks work outside git; metric gates will say why they cannot


def _config_display(config: Any, config_path: str | None, find_config: Any, root: Path) -> str:
    path = Path(config.path) if config.path else find_config(root)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _mark(item: dict[str, Any]) -> str:
    return "SKIP" if item.get("skipped") else "WARN" if item.get("warning") else "PASS" if item["passed"] else "FAIL"


def _strip_column(d: dict[str, Any]) -> str:
    prefix = f"{d['column']}: "
    return d["message"][len(prefix):] if d["column"] and d["message"].startswith(prefix) else d["message"]


def _rev(side: dict[str, Any]) -> str:
    ref, sha = side.get("ref"), side.get("sha")
    if ref and sha and ref != sha:
        return f"{ref} {sha[:7]}"
    return (sha or ref or "?")[:12]
