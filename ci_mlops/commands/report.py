"""`ci-mlops report`: metric, param and plot diffs between two revisions."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import click

from ci_mlops.checks import add_to_report
from ci_mlops.checks.gatesource import deciding_config, render_changes
from ci_mlops.checks.render import report_markdown
from ci_mlops.config import Config, find_config, load_config
from ci_mlops.config.records import Report
from ci_mlops.errors import UserError
from ci_mlops.escape import guard_commands, md_code, md_text
from ci_mlops.fsutil import write_output
from ci_mlops.git import Repo
from ci_mlops.github.actions import append_summary, in_actions
from ci_mlops.github.context import GitHubContext
from ci_mlops.report import build_report, to_json
from ci_mlops.report.render_plots import render_plots


@click.command("report")
@click.option("--base", default=None, metavar="REF",
              help="Revision to compare against. Default: in a GitHub Actions pull request, where the PR "
                   "branched from its base branch; else `base` in .ci-mlops.yml; else the default branch.")
@click.option("--head", default=None, metavar="REF",
              help="Revision to report on. Default: the workspace (files on disk), as DVC does.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="Markdown for a PR comment or job summary; JSON for scripts (every metric and param).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to FILE (atomically) instead of standard output.")
@click.option("--all", "show_all", is_flag=True,
              help="Show unchanged metrics, params and plots in the Markdown too.")
@click.option("--history", type=click.IntRange(0, 1000), default=None, metavar="N",
              help="Add each metric's trend (sparkline, min and max) over the last N commits of the base "
                   "branch. Default: `report.history` in .ci-mlops.yml, else 0.")
@click.option("--no-plots", is_flag=True, help="Leave plots out.")
@click.option("--max-chars", type=click.IntRange(1000), default=None, metavar="N",
              help="Shrink the Markdown to at most N characters by leaving out plots, trends and tables "
                   "(GitHub's comment limit is 65536).")
@click.option("--checks/--no-checks", default=True, show_default=True,
              help="Show the verdicts of `ci-mlops check` (metric gates; data and slice checks when "
                   "reporting on the workspace) in the report.")
@click.option("--summary/--no-summary", default=True, show_default=True,
              help="In GitHub Actions, also append the Markdown to the job summary. The PR workflow "
                   "passes --no-summary: its `ci-mlops comment` step puts the report there.")
@click.option("--plots-dir", type=click.Path(file_okay=False, writable=True), default=None, metavar="DIR",
              help="Also draw every plot `dvc plots diff` shows (DVC's templates, base and head in one chart) "
                   "as SVG into DIR, copy image plots to DIR/images, and list them in DIR/plots.json: for the "
                   "job summary and the run's artifact. Drawn offline; no data leaves the machine.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Configuration file. Default: .ci-mlops.yml at the repository root.")
@click.option("--gates-from", type=click.Choice(["auto", "base", "workspace"]), default="auto", show_default=True,
              help="Whose gates decide, as in `ci-mlops check --gates-from`: in a pull or merge request run the "
                   "base branch's, and the report lists the gate changes the PR makes.")
def command(base: str | None, head: str | None, fmt: str, output: str | None, show_all: bool,
            history: int | None, no_plots: bool, max_chars: int | None, checks: bool,
            summary: bool, plots_dir: str | None, config_path: str | None, gates_from: str) -> None:
    """Diff metrics, params and plots between two revisions.

    Metrics and params are the ones your dvc.yaml files declare (stage `metrics:`
    and `params:`, top-level `metrics:`/`params:`, every dvc.yaml in a monorepo),
    read straight from git and the DVC cache, with the same values as
    `dvc metrics diff --json` and `dvc params diff --json`. Each metric gets a
    direction (from `metrics.<key>.direction` in .ci-mlops.yml, else from its name)
    and a status: improved, regressed, changed, unchanged, new or removed.
    Repositories without DVC list files under `report.metrics_files` and
    `report.params_files`.

    In GitHub Actions the Markdown is also appended to the job summary
    (unless --no-summary). Exit 2 when a revision is unknown or a metrics file cannot be read.
    """
    repo = Repo.discover(Path.cwd())
    if plots_dir:
        _require_vl_convert()

    config = load_config(config_path or find_config(repo.root), required=config_path is not None)
    config, source = deciding_config(config, repo.root, gates_from=gates_from, base=base)
    if history is None:
        history = (config.settings.report or Report()).history
    report = build_report(repo, base, head, config=config, history=history,
                          plots=False if no_plots else None)
    if head is None:
        _name_the_pull_request(report)
    if checks:
        _add_checks(config, repo.root, report, workspace=head is None)
        section = render_changes(source, report)
        if section:
            report.setdefault("sections", []).insert(0, section)
    if source.origin != "workspace":
        report["gate_source"] = source.to_json()
    if plots_dir:
        _render_plots(repo.root, report, plots_dir, workspace=head is None)
    markdown = report_markdown(report, show_all=show_all, max_chars=max_chars)
    text = to_json(report) if fmt == "json" else markdown
    if output:
        write_output(output, text, announce=lambda line: click.echo(f"ci-mlops: {line}", err=True))
        click.echo(f"ci-mlops: report written to {output}", err=True)
    else:
        click.echo(text if fmt == "json" else guard_commands(text), nl=False)
    if summary and in_actions():
        append_summary(markdown)


def _add_checks(config: Config, root: Path, report: dict[str, Any], *, workspace: bool) -> None:
    """Put the same verdicts `ci-mlops check` reaches into the report.

    Data and slice checks read files on disk, so they only describe the head when
    the head is the workspace; metric gates work for any pair of revisions.
    """
    add_to_report(config, root, report, files=workspace)


def _name_the_pull_request(report: dict[str, Any]) -> None:
    """In a pull_request run the workspace is GitHub's merge commit, which nobody has seen:
    name the PR and its head commit instead (``report["head"]["pr"]``)."""
    if not in_actions():
        return
    try:
        ctx = GitHubContext.from_env()
        number, sha = ctx.pr_number, ctx.head_sha
    except UserError:  # a malformed payload is `ci-mlops comment`'s to report
        return
    if number is not None and sha and "pull_request" in ctx.event:
        report["head"]["pr"] = {"number": number, "sha": sha}
    elif ctx.event_name == "workflow_dispatch" and ctx.sha:  # ci-mlops runs the PR workflow on branches it commits to
        pr = (ctx.event.get("inputs") or {}).get("pr")
        if isinstance(pr, (str, int)) and not isinstance(pr, bool) and str(pr).isdigit() and int(pr) > 0:
            report["head"]["pr"] = {"number": int(pr), "sha": ctx.sha}


def _render_plots(root: Path, report: dict[str, Any], plots_dir: str, *, workspace: bool) -> None:
    """Draw the plots into ``plots_dir`` and say what was drawn in a report section; a plot
    that cannot be drawn is one line there (and on stderr), never a failed command."""
    # DVC labels each series with the revision it was given: the refs the report names
    base, head = report["base"]["ref"], None if workspace else report["head"]["ref"]
    if base == head:
        base, head = report["base"]["sha"][:12], report["head"]["sha"][:12]
    result = render_plots(root, plots_dir, base, head)
    Path(plots_dir, "plots.json").write_text(json.dumps(result.to_json(relative_to=plots_dir), indent=2) + "\n", encoding="utf-8")
    click.echo(f"ci-mlops: {len(result.charts)} plot(s) drawn and {len(result.images)} image(s) copied to "
               f"{plots_dir}", err=True)

    # In Actions the folder is a runner path nobody can open: the comment job shows the images
    # (or links the artifact), so the report only names what could not be drawn.
    lines = [] if in_actions() else [(f"{len(result.charts)} chart(s) drawn as SVG and {len(result.images)} "
                                      f"image(s) copied to {md_code(plots_dir)}.")]
    for failure in result.failures:
        click.echo(f"ci-mlops: plot not drawn: {failure}", err=True)
        lines.append(f"- ⚠️ {md_text(failure)}")
    if lines:
        report.setdefault("sections", []).append({"title": "Plot images", "markdown": "\n".join(lines),
                                                  "passed": None})


def _require_vl_convert() -> None:
    if find_spec("vl_convert") is None:
        raise UserError("--plots-dir needs vl-convert-python: pip install 'ci-mlops[plots]'")
