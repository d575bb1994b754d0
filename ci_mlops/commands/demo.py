"""`ci-mlops demo`: build a small ML repo and show the whole loop on it, offline."""

from __future__ import annotations

import click

from ci_mlops.demo.gitlab_loop import run_gitlab_demo
from ci_mlops.demo.scenario import BRANCH, run_demo


@click.command("demo")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--rows", type=click.IntRange(200, 1_000_000), default=3000, show_default=True,
              help="Number of synthetic customers in the demo dataset.")
@click.option("--ci", "ci", type=click.Choice(("github", "gitlab")), default="github", show_default=True,
              help="gitlab: run the loop in GitLab mode (merge request note, statuses, release, drift issue) "
                   "against a loopback GitLab started for the demo.")
def command(directory: str | None, rows: int, ci: str) -> None:
    """Build a small, real ML project in DIRECTORY and run the ci-mlops loop on it.

    The project is a churn classifier in plain numpy with a DVC pipeline
    (prepare, train, evaluate), params, metrics, plots and a local DVC remote;
    its data is generated from a fixed seed, so nothing is downloaded. The demo
    runs `ci-mlops init --yes`, trains a baseline on `main`, retrains on a branch
    that changes one hyper-parameter, then runs `ci-mlops check` and
    `ci-mlops report` and prints the PR comment CI would post, and sweeps the
    class weight with `ci-mlops sweep run --local` (a leaderboard of DVC experiments).

    DIRECTORY must be new or empty (default: a new temporary directory); it is
    left in place for you to explore.
    """
    if ci == "gitlab":
        _gitlab(directory, rows)
        return
    result = run_demo(directory, click.echo, rows=rows)
    rule = "-" * 72
    if result.report_markdown is not None:
        click.echo(f"\n{rule}\nThe PR comment CI would post for {BRANCH} -> main:\n{rule}\n")
        click.echo(result.report_markdown.rstrip())
    if result.sweep_markdown is not None:
        click.echo(f"\n{rule}\nThe sweep's leaderboard (`ci-mlops sweep run --local -j 2` on {BRANCH}):\n{rule}\n")
        click.echo(result.sweep_markdown.rstrip())
    if result.check_output is not None:
        click.echo(f"\n{rule}\nGate verdicts (`ci-mlops check --base main`, exit {result.check_exit}):\n{rule}\n")
        click.echo(result.check_output)
    click.echo(f"\n{rule}")
    if result.workflows:
        click.echo("Generated workflows:")
        for path in result.workflows:
            click.echo(f"  {path}")
    if result.skipped:
        click.echo("Skipped (not in this build): " + ", ".join(f"ci-mlops {name}" for name in result.skipped))
    click.echo(f"The project is in {result.root}")
    click.echo(f"  cd {result.root} && git log --oneline --all && ci-mlops report --base main")


def _gitlab(directory: str | None, rows: int) -> None:
    result = run_gitlab_demo(directory, click.echo, rows=rows)
    rule = "-" * 72
    click.echo(f"\n{rule}\nThe loop in GitLab mode ({result.api_requests} requests to the loopback GitLab):\n{rule}")
    click.echo(f"  pipeline file:   {result.pipeline_file}")
    click.echo(f"  sticky note:     {result.note_url} (one note after two runs)")
    failed = sorted(k for k, v in result.statuses.items() if v == "failed")
    click.echo(f"  statuses:        {len(result.statuses)} on the commit, {len(failed)} failed: {', '.join(failed)}")
    click.echo(f"  JUnit report:    {result.junit_failures} failed")
    click.echo(f"  release:         {result.release_url} ({', '.join(result.release_files)})")
    click.echo(f"  audit verify:    {result.audit}")
    click.echo(f"  drift issue:     {result.issue.get('url')} opened, then {result.issue.get('then')}")
    click.echo(f"The project is in {result.root}")
