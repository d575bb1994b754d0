"""``ci-mlops results``: commit a same-repo PR's training results back to its branch (train.commit_results)."""

from __future__ import annotations

from pathlib import Path

import click

from ci_mlops.config import load_config
from ci_mlops.errors import UserError
from ci_mlops.git import Repo
from ci_mlops.github import actions
from ci_mlops.github.context import GitHubContext
from ci_mlops.github.pulls import get_pull
from ci_mlops.retrain.commit import commit_pr_results, stage_pr_results
from ci_mlops.retrain.pulls import dispatch
from ci_mlops.retrain.settings import DEFAULT_WORKFLOW, RetrainSettings


@click.group("results")
def command() -> None:
    """Commit what CI trained back to a same-repo pull request's branch (train.commit_results).

    `stage` runs in the training job (no token): it copies the changed dvc.lock, params
    and git-tracked metrics and plots, and the DVC outputs, into FOLDER, and adds a note
    to the report. A fork PR gets nothing staged and a note with the commands to run
    locally. `commit` runs in a job that runs no PR code: it validates FOLDER, pushes the
    outputs to the DVC remote and adds one commit to the PR's branch (a fast-forward only)
    through GitHub's API, then runs the PR workflow on the branch so the new head gets
    its checks.

    Exit codes: 0 done (also: nothing changed), 1 FOLDER refused or the branch moved,
    2 bad input, 3 GitHub kept failing.
    """


@command.command("stage")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--report", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Add a note on the results to this report (the PR comment).")
def stage_command(folder: str, report: str | None) -> None:
    """Stage the workspace's changed results into FOLDER; step output `changed` (true/false)."""
    ctx = GitHubContext.from_env()
    repo = Repo.discover(".")
    pr = ctx.event["pull_request"] if isinstance(ctx.event.get("pull_request"), dict) else {}
    head_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    fork = bool(pr) and head_repo != ctx.repo
    manifest = stage_pr_results(repo.root, Path(folder), head=repo.head() or "", fork=fork,
                                report=Path(report) if report else None)
    changed = manifest["status"] == "changed"
    actions.set_output("changed", "true" if changed else "false")
    count = len(manifest["files"])
    if manifest["status"] == "fork":
        click.echo(f"ci-mlops: a fork's PR: {count} changed result(s) not staged; the report says how to commit them")
    else:
        click.echo(f"ci-mlops: staged {count} changed result(s) in {folder}" if changed
                   else "ci-mlops: the training changed no results")


@command.command("commit")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--remote", "-r", default=None, help="DVC remote to push to. Default: the project's default remote.")
@click.option("--pr", "pr_number", type=click.IntRange(min=1), default=None,
              help="The pull request. Default: the event's.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Configuration file. Default: .ci-mlops.yml at the repository root.")
def commit_command(folder: str, remote: str | None, pr_number: int | None, config_path: str | None) -> None:
    """Validate FOLDER, push its outputs and commit it to the PR's branch; step output `sha`."""
    config = load_config(config_path, required=config_path is not None)
    ctx = GitHubContext.from_env()
    actions.mask(ctx.token)
    repo = ctx.require_repo()
    number = pr_number or ctx.pr_number
    if number is None:
        raise UserError("no pull request: pass --pr or run on a pull_request event")
    client = ctx.client()
    try:
        pull = get_pull(client, repo, number)
        sha = commit_pr_results(Repo.discover(".").root, Path(folder), client, repo, pr=pull, remote=remote,
                                echo=lambda line: click.echo(line, err=True))
        if sha:
            settings = RetrainSettings.from_config(config)
            workflow = settings.workflow if settings else DEFAULT_WORKFLOW
            dispatch(client, repo, workflow, pull["head"]["ref"], number)
            click.echo(f"ci-mlops: started {workflow} on {pull['head']['ref']} for the new head's checks", err=True)
    finally:
        client.close()
    actions.set_output("sha", sha or "")
