"""`ci-mlops check`: run the metric gates, data checks and slice checks of .ci-mlops.yml."""

from __future__ import annotations

import json

import click

from ci_mlops.checks import render
from ci_mlops.checks.workspace import check_workspace
from ci_mlops.errors import CheckFailed
from ci_mlops.escape import guard_commands
from ci_mlops.fsutil import write_output
from ci_mlops.github import actions


@click.command("check")
@click.option("--base", "base", metavar="REF", default=None,
              help="Revision the drop rules (max_drop, max_drop_pct) compare against; the same as "
                   "`ci-mlops report --base`. Default: in a GitHub pull request (GitLab merge request) the "
                   "merge base with its target branch, else `base:` in the config, else the default branch.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per gate and check with value, bound and verdict. json: the document "
                   "described in docs/check.md.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file. Default: .ci-mlops.yml at the repository root.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the output (in --format) to FILE atomically instead of stdout.")
@click.option("--gates-from", type=click.Choice(["auto", "base", "workspace"]), default="auto", show_default=True,
              help="Whose metrics/data/slices gates decide: base = the base branch's .ci-mlops.yml (read "
                   "from git), workspace = the file on disk. auto: base in a pull or merge request run, else "
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
    run = check_workspace(config_path, base=base, gates_from=gates_from)
    verdict, source = run.verdict, run.source
    if fmt == "json":
        text = json.dumps(verdict.to_json(), indent=2, default=str) + "\n"
    else:
        text = render.text(verdict, run.report, source)
    if output:
        write_output(output, text, announce=lambda line: click.echo(f"ci-mlops: {line}", err=True))
    else:
        click.echo(text if fmt == "json" else guard_commands(text), nl=False)

    for item, where in run.annotations():
        actions.annotate("error", item.message, file=where.path, line=where.line, title=item.title)
    if source.changes:
        actions.annotate("notice", f"This pull request changes {len(source.changes)} quality-gate setting(s); the "
                         f"gates of {source.ref} decided this run, the new ones apply after merge.",
                         file=run.locator.path, title="Gates changed")
    actions.append_summary(render.summary_markdown(verdict))
    actions.set_output("passed", "true" if verdict.ok else "false")
    if not verdict.ok:
        raise CheckFailed(f"{len(verdict.failures())} of {verdict.total} checks failed")
