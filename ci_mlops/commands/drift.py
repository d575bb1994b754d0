"""``ci-mlops drift``: compare current data with reference data, column by column."""

from __future__ import annotations

import click

from ci_mlops.config import load_config
from ci_mlops.drift.compare import compare_files, failure
from ci_mlops.drift.render import render_json, render_markdown
from ci_mlops.errors import CheckFailed
from ci_mlops.escape import guard_commands
from ci_mlops.forge import outputs
from ci_mlops.forge.monitor import sync_issue
from ci_mlops.fsutil import write_output
from ci_mlops.github import actions
from ci_mlops.github.context import GitHubContext


@click.command("drift")
@click.option("--reference", "reference", metavar="FILE",
              help="Reference data (CSV, TSV, Parquet or a glob of Parquet files, JSON lines). "
                   "Default: drift.reference.")
@click.option("--current", "current", metavar="FILE",
              help="Current data to check. Default: drift.current.")
@click.option("--columns", multiple=True, metavar="A,B",
              help="Only these columns (comma-separated, repeatable). Default: every common column.")
@click.option("--exclude", multiple=True, metavar="A,B",
              help="Never compare these columns (ids, timestamps). Added to drift.exclude.")
@click.option("--drift-share", type=float, metavar="X",
              help="Dataset drift when at least this share of columns drifted (0-1). Default 0.5.")
@click.option("--psi/--no-psi", default=None, help="Also report the Population Stability Index per column.")
@click.option("--engine", type=click.Choice(["python", "duckdb"]),
              help="Where the statistics run: python (in-process, streaming; default) or duckdb "
                   "(SQL where the data is, also s3:// paths). Default: drift.engine.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show progress on long runs (a bar on a terminal, a line every 15 s otherwise).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the report to FILE instead of standard output.")
@click.option("--baseline", type=click.Path(dir_okay=False), metavar="FILE",
              help="lineage.json of the last release, for drift.performance. "
                   "Default: the metrics files at the newest release tag.")
@click.option("--issue", is_flag=True,
              help="Open or update the GitHub (or GitLab) issue labelled drift.issue.label on drift; close it "
                   "when clean.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Configuration file. Default: .ci-mlops.yml at the repository root.")
def command(reference: str | None, current: str | None, columns: tuple[str, ...], exclude: tuple[str, ...],
            drift_share: float | None, psi: bool | None, engine: str | None, progress: bool, fmt: str, output: str | None, baseline: str | None,
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
    config = load_config(config_path, required=config_path is not None)
    if issue:  # before any output, so the mask line never lands inside JSON on stdout
        actions.mask(GitHubContext.from_env().token)
    result = compare_files(config, reference=reference, current=current, columns=columns, exclude=exclude,
                           drift_share=drift_share, psi=psi, baseline=baseline, engine=engine, progress=progress)
    markdown = render_markdown(result)
    text = render_json(result) if fmt == "json" else markdown
    if output:
        write_output(output, text, announce=lambda line: click.echo(f"ci-mlops: {line}", err=True))
    else:
        click.echo(text if fmt == "json" else guard_commands(text), nl=False)

    actions.append_summary(markdown)
    actions.set_output("drift", "true" if result["dataset_drift"] else "false")
    actions.set_output("share-drifted", f"{result['share_drifted']:.4f}")
    problem = failure(result)
    if issue:
        outcome = sync_issue(config.settings.drift, markdown, problem=problem is not None)
        outputs.set_output("issue-url", outcome["url"] or "")
        if outcome["action"] != "none":
            click.echo(f"ci-mlops: drift issue #{outcome['number']} {outcome['action']}: {outcome['url']}", err=True)
    if problem:
        raise CheckFailed(problem)
