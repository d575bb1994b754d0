"""`ci-mlops report`: metric, param and plot diffs between two revisions.

The options are declared here; what the command does is :func:`ci_mlops.commands.report_run.run`.
``ci_mlops/quick.py`` parses these same options without click for a plain ``ci-mlops report``
(tests/cli/test_quick.py holds the two to the same options and results).
"""

from __future__ import annotations

import click

from ci_mlops.commands.report_run import run


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
    run(base, head, fmt, output, show_all, history, no_plots, max_chars, checks, summary, plots_dir,
        config_path, gates_from)
