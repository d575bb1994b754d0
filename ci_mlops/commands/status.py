"""`ci-mlops status`: publish the gate verdict as a commit status or a check run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ci_mlops.checks.locate import Locator, project_root
from ci_mlops.checks.records import Verdict
from ci_mlops.config import load_config
from ci_mlops.errors import UserError
from ci_mlops.forge.ci import detect
from ci_mlops.forge.github import GitHubForge
from ci_mlops.forge.junit import junit_xml
from ci_mlops.forge.statuses import plan_statuses, publish
from ci_mlops.fsutil import atomic_write
from ci_mlops.github import actions, status
from ci_mlops.github.context import GitHubContext
from ci_mlops.gitlab.status_cmd import run as run_gitlab


@click.command("status")
@click.argument("check_json", metavar="[CHECK_JSON|-]", required=False)
@click.option("--state", type=click.Choice(["success", "failure", "pending", "error"]), default=None,
              help="Publish this state instead of reading a check JSON file (e.g. pending at the start of a job).")
@click.option("--context", "context_name", default="ci-mlops/gates", show_default=True,
              help="Status context (or check-run name): what branch protection rules require.")
@click.option("--description", default=None,
              help="Status text (at most 140 characters; longer is clipped). Default: the verdict, "
                   "e.g. '1 of 4 failed: test.accuracy'.")
@click.option("--target-url", envvar="CI_MLOPS_COMMENT_URL", default=None,
              help="Link of the status ('Details'). Default: $CI_MLOPS_COMMENT_URL (the comment step's "
                   "comment-url), else the workflow run.")
@click.option("--sha", default=None, help="Commit to mark. Default: the PR head from the event payload, else $GITHUB_SHA.")
@click.option("--check-run", is_flag=True,
              help="Create a check run (summary + annotations; needs `checks: write`) instead of a commit "
                   "status (needs `statuses: write`).")
@click.option("--repo", metavar="OWNER/NAME", default=None, help="Repository. Default: $GITHUB_REPOSITORY.")
@click.option("--token", default=None, help="GitHub token. Default: $CI_MLOPS_TOKEN, else $GITHUB_TOKEN.")
@click.option("--dry-run", is_flag=True, help="Print the request it would send; send nothing.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (for annotation lines). Default: .ci-mlops.yml at the repository root.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the verdict as a JUnit XML report, one test case per gate and check with its "
                   ".ci-mlops.yml line (GitLab shows failures in the merge request widget).")
@click.option("--per-check/--no-per-check", default=None,
              help="Also publish one status per gate and check (CONTEXT/NAME). Default: on in GitLab CI/CD, "
                   "off on GitHub.")
def command(check_json: str | None, state: str | None, context_name: str, description: str | None,
            target_url: str | None, sha: str | None, check_run: bool, repo: str | None, token: str | None,
            dry_run: bool, config_path: str | None, junit_path: str | None, per_check: bool | None) -> None:
    """Mark a commit with the quality-gate verdict, for branch protection rules.

    Reads CHECK_JSON (the output of `ci-mlops check --format json`, or - for
    stdin): success when every gate and check passed, failure otherwise, with
    the failed gates named in the description. Or publish --state directly.

    \b
      ci-mlops check --format json -o check.json || true
      ci-mlops status check.json --target-url "$COMMENT_URL"
      ci-mlops status check.json --check-run      # annotations on .ci-mlops.yml
      ci-mlops status check.json --junit gates.xml  # GitLab: failed gates in the MR widget

    In GitLab CI/CD (GITLAB_CI=true) the statuses go to the pipeline's commit
    through $CI_API_V4_URL, one per gate and check as well (--no-per-check to
    turn off), with the token in CI_MLOPS_TOKEN; see docs/gitlab.md.

    Exit codes: 0 published, 2 bad input (missing or malformed JSON, no commit,
    bad token), 3 GitHub kept failing. The verdict itself never fails this
    command: `ci-mlops check` already did.
    """
    if check_json and state:
        raise UserError("give either a CHECK_JSON file or --state, not both")
    if not check_json and not state:
        raise UserError("nothing to publish: give a CHECK_JSON file (from `ci-mlops check --format json`) or --state")
    check = status.read_check(check_json) if check_json else {}
    state, description = status.state_and_description(check, state, description)
    if junit_path:
        _write_junit(junit_path, check, config_path)
    gitlab = detect(os.environ) == "gitlab"
    if gitlab:  # GitLab CI/CD: statuses on the pipeline's commit, through the forge interface
        return run_gitlab(check=check, state=state, description=description, context_name=context_name,
                   target_url=target_url, sha=sha, project=repo, token=token,
                   per_check=True if per_check is None else per_check, dry_run=dry_run)
    ctx = GitHubContext.from_env(token=token, repo=repo)
    actions.mask(ctx.token)
    sha = status.commit_to_mark(sha, ctx)
    repo_name = ctx.require_repo()
    target_url = target_url or ctx.run_url

    if check_run:
        payloads = status.check_run_request(check, _locator(check, config_path), context_name, sha, state,
                                            description, target_url)
        if dry_run:
            click.echo(status.dry_run_text(repo_name, sha, payloads, check_run=True))
            return
        made = status.send_check_run(ctx, repo_name, payloads)
        actions.set_output("check-run-url", made.get("html_url", ""))
        click.echo(f"check run {context_name}: {state} {made.get('html_url', '')}")
        return

    payload = status.status_payload(state, description, context_name, target_url)
    if dry_run:
        click.echo(status.dry_run_text(repo_name, sha, [payload], check_run=False))
        return
    status.send_status(ctx, repo_name, sha, payload)
    click.echo(f"status {context_name}: {state} - {payload['description']}")
    if per_check:
        forge = GitHubForge(ctx)
        try:
            results = publish(forge.set_status, sha, plan_statuses(check, state, description, context_name,
                                                                   per_check=True)[1:], target_url)
        finally:
            forge.close()
        click.echo(f"  and {len(results)} per-check status(es)")


def _write_junit(path: str, check: dict[str, Any], config_path: str | None) -> None:
    locator = _locator(check, config_path)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, junit_xml(check, locator.path, locator.line))
    click.echo(f"wrote the JUnit report {path}", err=True)


def _locator(check: dict[str, Any], config_path: str | None) -> Locator:
    """The lines `ci-mlops check` annotates: the config lines of the gates that decided."""
    config = load_config(config_path, required=config_path is not None)
    return Locator.for_config(config, project_root(config_path), gates_changed=Verdict.from_json(check).gates_changed)
