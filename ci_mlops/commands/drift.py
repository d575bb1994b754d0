"""``ci-mlops drift``: compare current data with reference data, column by column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ci_mlops.errors import CheckFailed, UserError


def _names(values: tuple[str, ...]) -> list[str]:
    """``--columns a,b --columns c`` -> ["a", "b", "c"]."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@click.command("drift")
@click.option("--reference", "reference", metavar="FILE",
              help="Reference data (CSV, TSV, Parquet or JSON lines). Default: drift.reference.")
@click.option("--current", "current", metavar="FILE",
              help="Current data to check. Default: drift.current.")
@click.option("--columns", multiple=True, metavar="A,B",
              help="Only these columns (comma-separated, repeatable). Default: every common column.")
@click.option("--exclude", multiple=True, metavar="A,B",
              help="Never compare these columns (ids, timestamps). Added to drift.exclude.")
@click.option("--drift-share", type=float, metavar="X",
              help="Dataset drift when at least this share of columns drifted (0-1). Default 0.5.")
@click.option("--psi/--no-psi", default=None, help="Also report the Population Stability Index per column.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the report to FILE instead of standard output.")
@click.option("--baseline", type=click.Path(dir_okay=False), metavar="FILE",
              help="lineage.json of the last release, for drift.performance. "
                   "Default: the metrics files at the newest release tag.")
@click.option("--issue", is_flag=True,
              help="Open or update the GitHub issue labelled drift.issue.label on drift; close it when clean.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Configuration file. Default: .ci-mlops.yml at the repository root.")
def command(reference: str | None, current: str | None, columns: tuple[str, ...], exclude: tuple[str, ...],
            drift_share: float | None, psi: bool | None, fmt: str, output: str | None, baseline: str | None,
            issue: bool, config_path: str | None) -> None:
    """Detect drift between reference data (usually the training set) and current data.

    Each column gets the statistical test Evidently's DataDriftPreset would choose:
    Kolmogorov-Smirnov (reference <= 1000 rows) or normed Wasserstein distance for
    numeric columns, chi-squared or Jensen-Shannon distance for categorical ones, a
    proportions z-test for small binary ones. Override per column in drift.tests.
    Missing values, new categories, constant columns and columns on one side only are
    listed in the report.

    With drift.performance configured and label + prediction columns in the current
    data, the model's metric is compared with the last release's value.

    Exit status: 0 no dataset drift, 1 dataset drift or performance degradation,
    2 bad input.
    """
    from ci_mlops.config import load_config
    from ci_mlops.drift.engine import detect_drift
    from ci_mlops.drift.render import render_json, render_markdown
    from ci_mlops.github import actions

    config = load_config(config_path)
    settings: dict[str, Any] = config.get("drift") or {}
    base = config.path.parent if config.path else Path.cwd()
    ref_path = _data_path(reference, settings.get("reference"), base, "reference")
    cur_path = _data_path(current, settings.get("current"), base, "current")
    share = drift_share if drift_share is not None else settings.get("drift_share", 0.5)
    if not 0 < share <= 1:
        raise UserError(f"--drift-share {share}: out of range, expected a share of columns in (0, 1]")
    wanted = _names(columns) or list(settings.get("columns") or [])
    skip = list(settings.get("exclude") or []) + _names(exclude)
    perf = settings.get("performance") or {}

    ref_df, cur_df, only_ref, only_cur = _read_pair(ref_path, cur_path, wanted, skip, perf)
    drift_columns = wanted or None
    perf_only = [c for c in (perf.get("actual"), perf.get("predicted")) if c and c not in ref_df.columns]
    result = detect_drift(ref_df, cur_df.drop(columns=perf_only, errors="ignore"), columns=drift_columns,
                          exclude=skip, drift_share=share, tests=settings.get("tests") or {},
                          psi=psi if psi is not None else bool(settings.get("psi")))
    result["reference"], result["current"] = str(ref_path), str(cur_path)
    if only_ref is not None:
        result["only_in_reference"], result["only_in_current"] = only_ref, only_cur

    if perf.get("actual") and perf.get("predicted"):
        result["performance"] = _performance(cur_df, perf, baseline, base)
    degraded = bool(result.get("performance", {}).get("degraded"))

    markdown = render_markdown(result)
    text = render_json(result) if fmt == "json" else markdown
    if output:
        from ci_mlops.fsutil import atomic_write

        atomic_write(output, text)
    else:
        click.echo(text, nl=False)

    actions.append_summary(markdown)
    actions.set_output("drift", "true" if result["dataset_drift"] else "false")
    actions.set_output("share-drifted", f"{result['share_drifted']:.4f}")
    if issue:
        outcome = _upsert_issue(settings, result, markdown, problem=result["dataset_drift"] or degraded)
        actions.set_output("issue-url", outcome["url"] or "")
        if outcome["action"] != "none":
            click.echo(f"ci-mlops: drift issue #{outcome['number']} {outcome['action']}: {outcome['url']}", err=True)

    if result["dataset_drift"]:
        problems = f"dataset drift: {result['drifted_columns']} of {result['compared_columns']} columns drifted"
        if degraded:
            problems += "; model performance degraded"
        raise CheckFailed(problems)
    if degraded:
        raise CheckFailed(f"model performance degraded: {result['performance']['message']}")


def _data_path(option: str | None, configured: str | None, base: Path, side: str) -> Path:
    if option:
        return Path(option)
    if configured:
        return base / configured
    raise UserError(f"no {side} data: pass --{side} FILE or set drift.{side} in .ci-mlops.yml")


def _read_pair(ref_path: Path, cur_path: Path, wanted: list[str], skip: list[str],
               perf: dict[str, Any]) -> tuple[Any, Any, list[str] | None, list[str] | None]:
    """Both tables with only the columns the comparison needs (plus the performance columns
    from the current data), and the columns found on one side only (None when unknown)."""
    from ci_mlops.drift.io import read_data, read_header

    ref_cols = read_header(ref_path)
    cur_cols = read_header(cur_path)
    extra = [c for c in (perf.get("actual"), perf.get("predicted")) if c and c in (cur_cols or [])]
    if wanted:
        for name in wanted:
            for path, cols in ((ref_path, ref_cols), (cur_path, cur_cols)):
                if cols is not None and name not in cols:
                    raise UserError(f"{path}: no column '{name}' (columns: {', '.join(cols[:20])})")
        return read_data(ref_path, wanted), read_data(cur_path, list(dict.fromkeys([*wanted, *extra]))), [], []
    if ref_cols is None or cur_cols is None:
        return read_data(ref_path), read_data(cur_path), None, None
    common = [c for c in ref_cols if c in cur_cols and c not in skip]
    if not common:
        raise UserError(f"{ref_path} and {cur_path} have no common columns to compare "
                        f"(reference: {', '.join(ref_cols[:10]) or 'none'}; current: {', '.join(cur_cols[:10]) or 'none'})")
    # One-sided columns are reported from the headers, without reading their data.
    only_ref = [c for c in ref_cols if c not in cur_cols and c not in skip]
    only_cur = [c for c in cur_cols if c not in ref_cols and c not in skip and c not in extra]
    return read_data(ref_path, common), read_data(cur_path, list(dict.fromkeys([*common, *extra]))), only_ref, only_cur


def _performance(cur_df: Any, perf: dict[str, Any], baseline: str | None, base: Path) -> dict[str, Any]:
    from ci_mlops.drift.performance import baseline_from_lineage, baseline_from_release, evaluate_performance

    key = perf.get("baseline_key") or perf.get("metric") or "accuracy"
    value: float | None = None
    source: str | None = None
    if baseline:
        value, source = baseline_from_lineage(baseline, key), Path(baseline).name
    else:
        try:
            found = baseline_from_release(base, key)
        except UserError:  # not a git repository, or no readable tag: nothing to compare with
            found = None
        if found:
            value, source = found
    return evaluate_performance(cur_df, perf, value, source)


def _upsert_issue(settings: dict[str, Any], result: dict[str, Any], markdown: str, *, problem: bool) -> dict[str, Any]:
    from ci_mlops.github import actions
    from ci_mlops.github.context import GitHubContext
    from ci_mlops.monitor import DEFAULT_LABEL, DEFAULT_TITLE, upsert_issue

    ctx = GitHubContext.from_env()
    repo = ctx.require_repo()
    actions.mask(ctx.token)
    issue_cfg = settings.get("issue") or {}
    body = markdown
    if ctx.run_url:
        body += f"\n\n_Updated by [this monitor run]({ctx.run_url})._\n"
    client = ctx.client()
    try:
        return upsert_issue(client, repo, problem=problem, body=body,
                            label=issue_cfg.get("label", DEFAULT_LABEL), title=issue_cfg.get("title", DEFAULT_TITLE),
                            closing_note="The latest monitor run found no dataset drift; closing this issue.",
                            run_id=ctx.run_id)
    finally:
        client.close()
