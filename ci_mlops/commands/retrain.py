"""``ci-mlops retrain``: refresh the data and retrain on a branch, as one reviewed pull request."""

from __future__ import annotations

from pathlib import Path

import click

from ci_mlops.config import Config, load_config
from ci_mlops.config.records import DriftIssue
from ci_mlops.errors import UserError
from ci_mlops.git import Repo
from ci_mlops.github import actions
from ci_mlops.github.client import GitHubClient
from ci_mlops.github.comments import Authors
from ci_mlops.github.context import GitHubContext
from ci_mlops.github.issues import find_open_issue
from ci_mlops.github.pulls import get_pull
from ci_mlops.retrain.publish import publish
from ci_mlops.retrain.pulls import MARKER, merge_when_green
from ci_mlops.retrain.settings import RetrainSettings
from ci_mlops.retrain.stage import retrain


@click.group("retrain")
def command() -> None:
    """Retrain on drift (or on drift.retrain.schedule) and propose the result as one pull request.

    `run` refreshes the training data (drift.retrain: refresh, import, update),
    reproduces the pipeline with `dvc repro` and stages the changed dvc.lock, params
    and git-tracked metrics and plots plus the DVC outputs into FOLDER. It needs no
    token: run it where the project's code runs.

    `publish` runs in a job that runs no project code and holds the write token: it
    validates FOLDER (only the results the DVC project declares, no symbolic links,
    hashes matching), pushes the outputs to the DVC remote, commits the files on the
    ci-mlops/retrain-<date> branch and opens (or updates) the one retrain PR, linked
    with the drift issue both ways. A PR opened with GITHUB_TOKEN starts no workflow,
    so it then runs the PR workflow on the branch (workflow_dispatch).

    `merge` (drift.retrain.auto_merge) runs after the gates passed on that branch.

    Exit codes: 0 done (also: nothing changed, no PR), 1 a step failed or FOLDER was
    refused, 2 bad input, 3 GitHub kept failing.
    """


@command.command("run")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--reason", type=click.Choice(["drift", "schedule"]), default="drift", show_default=True,
              help="Why this retrain runs (recorded in the commit and the PR).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Configuration file. Default: .ci-mlops.yml at the repository root.")
def run_command(folder: str, reason: str, config_path: str | None) -> None:
    """Refresh the data, `dvc repro`, and stage what changed into FOLDER.

    Sets the step output `changed` to true when there is something to propose.
    """
    settings, _ = _settings(config_path)
    repo = Repo.discover(".")
    head = repo.head()
    if head is None:
        raise UserError("the repository has no commits: nothing to retrain")
    try:
        manifest = retrain(repo.root, Path(folder), settings, reason=reason, base=head,
                           echo=lambda line: click.echo(line, err=True))
    finally:
        actions.set_output("changed", "false")  # replaced below when something changed
    changed = manifest["status"] == "changed"
    actions.set_output("changed", "true" if changed else "false")
    if changed:
        click.echo(f"ci-mlops: staged {len(manifest['files'])} changed file(s) and {manifest.get('dvc_files', 0)} "
                   f"DVC file(s) in {folder}")
    else:
        click.echo("ci-mlops: nothing changed after `dvc repro`; nothing to propose")
    for path in manifest.get("left_out") or []:
        click.echo(f"ci-mlops: {path} changed but is not a result the DVC project declares; not proposed", err=True)


@command.command("publish")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--remote", "-r", default=None, help="DVC remote to push to. Default: the project's default remote.")
@click.option("--issue", type=click.IntRange(min=1), default=None,
              help="The drift issue. Default: the open issue labelled drift.issue.label, if any.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Configuration file. Default: .ci-mlops.yml at the repository root.")
def publish_command(folder: str, remote: str | None, issue: int | None, config_path: str | None) -> None:
    """Validate FOLDER, push its outputs, commit it on the retrain branch and open or update the PR.

    A folder from a failed `run` comments the failing step on the drift issue and exits 1.
    Sets the step outputs `pr`, `pr-url` and `branch`.
    """
    settings, config = _settings(config_path)
    ctx = GitHubContext.from_env()
    actions.mask(ctx.token)
    repo_name = ctx.require_repo()
    root = Repo.discover(".")
    parent = root.head()
    client = ctx.client()
    try:
        base = config.settings.base or _default_branch(client, repo_name)
        if issue is None:
            issue = _drift_issue(client, repo_name, config)
        outcome = publish(root.root, Path(folder), settings, client, repo_name, base_branch=base, parent=parent or "",
                          issue=issue, remote=remote, run_url=ctx.run_url, echo=lambda line: click.echo(line, err=True))
    finally:
        client.close()
    actions.set_output("pr", str(outcome.pr or ""))
    actions.set_output("pr-url", outcome.url or "")
    actions.set_output("branch", outcome.branch or "")


@command.command("merge")
@click.option("--pr", "pr", type=click.IntRange(min=1), required=True, help="The retrain pull request.")
@click.option("--sha", default=None, metavar="SHA",
              help="The commit whose gates passed; GitHub merges only if it is still the PR's head. Default: $GITHUB_SHA.")
@click.option("--branch-prefix", default=None, metavar="PREFIX",
              help="Retrain branches start with this. Default: drift.retrain.branch_prefix.")
@click.option("--method", type=click.Choice(["merge", "squash", "rebase"]), default=None,
              help="Merge method. Default: drift.retrain.merge_method.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Configuration file, read when --branch-prefix or --method is not given.")
def merge_command(pr: int, sha: str | None, branch_prefix: str | None, method: str | None,
                  config_path: str | None) -> None:
    """Merge the retrain PR whose gates passed (drift.retrain.auto_merge): GitHub's auto-merge when
    the base branch requires checks, else a merge now.

    Only ci-mlops' own retrain PRs (its marker, its account, a branch of this repository
    with the prefix) at the commit that was checked; any other PR is left alone (exit 0).
    """
    if branch_prefix is None or method is None:
        settings, _ = _settings(config_path)
        if not settings.auto_merge:
            click.echo("ci-mlops: drift.retrain.auto_merge is off; not merging", err=True)
            return
        branch_prefix = branch_prefix or settings.branch_prefix
        method = method or settings.merge_method
    ctx = GitHubContext.from_env()
    actions.mask(ctx.token)
    repo = ctx.require_repo()
    sha = sha or ctx.sha
    if not sha:
        raise UserError("no commit: pass --sha or set GITHUB_SHA")
    client = ctx.client()
    try:
        pull = get_pull(client, repo, pr)
        head = pull.get("head") or {}
        ours = (MARKER in (pull.get("body") or "") and str(head.get("ref", "")).startswith(branch_prefix)
                and (head.get("repo") or {}).get("full_name") == repo and Authors(client).trusted(pull))
        if not ours:
            click.echo(f"ci-mlops: PR #{pr} is not a ci-mlops retrain PR; only those are merged automatically",
                       err=True)
            return
        if pull.get("state") != "open":
            click.echo(f"ci-mlops: PR #{pr} is {pull.get('state')}; nothing to merge", err=True)
            return
        if head.get("sha") != sha:
            raise UserError(f"PR #{pr}'s head is {str(head.get('sha'))[:12]}, the gates passed on {sha[:12]}; "
                            "not merging a commit that was not checked")
        how = merge_when_green(client, repo, pull, sha=sha, method=method)
    finally:
        client.close()
    click.echo(f"ci-mlops: PR #{pr} " + ("merges when GitHub's required checks pass (auto-merge on)"
                                         if how == "auto-merge" else "merged"), err=True)


def _settings(config_path: str | None) -> tuple[RetrainSettings, Config]:

    config = load_config(config_path, required=config_path is not None)
    settings = RetrainSettings.from_config(config)
    if settings is None:
        raise UserError(f"{config.display_path}: drift.retrain is not set; nothing to retrain")
    return settings, config


def _default_branch(client: GitHubClient, repo: str) -> str:
    return str(client.request_json("GET", f"repos/{repo}")["default_branch"])


def _drift_issue(client: GitHubClient, repo: str, config: Config) -> int | None:

    drift = config.settings.drift
    label = (drift.issue if drift is not None and drift.issue is not None else DriftIssue()).label
    found = find_open_issue(client, repo, label)
    return int(found["number"]) if found else None
