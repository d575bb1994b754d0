"""``ci-mlops comment`` in GitLab CI/CD: the sticky merge request note."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ci_mlops.errors import UserError

DEFAULT_ARTIFACT_DIR = ".ci-mlops/artifact"  # under $CI_PROJECT_DIR; the generated jobs keep it as an artifact


def run(*, report: str | None, number: int | None, project: str | None, token: str | None, marker_opt: str | None,
        new: bool, artifact_dir: str | None, from_artifact: str | None, no_post: bool, dry_run: bool, verbose: bool,
        config_path: str | None) -> None:
    from ci_mlops.config import load_config
    from ci_mlops.forge import outputs
    from ci_mlops.forge.comment import NoteSkipped, echo_posted, gitlab_tail, plan_note, post_note, save_report
    from ci_mlops.github.pr_comment import read_report
    from ci_mlops.gitlab.context import GitLabContext
    from ci_mlops.gitlab.forge import GitLabForge
    from ci_mlops.gitlab.notes import NOTE_LIMIT

    if from_artifact:
        raise UserError("--from-artifact is GitHub's fork-safe comment workflow; on GitLab a fork's merge request "
                        "keeps its report in the job log and artifact (docs/gitlab.md#forks)")
    env = os.environ
    ctx = GitLabContext.from_env(token=token, project=project)
    config = load_config(config_path, required=config_path is not None)
    text = read_report(report or "-")
    plan = plan_note(ctx, config, text=text, number=number, marker_opt=marker_opt, limit=NOTE_LIMIT,
                     tail=gitlab_tail(ctx.run_url, NOTE_LIMIT))
    folder = Path(artifact_dir) if artifact_dir else (
        Path(env["CI_PROJECT_DIR"]) / DEFAULT_ARTIFACT_DIR if env.get("CI_PROJECT_DIR") else None)
    if folder is not None:
        save_report(folder, plan, ctx.head_sha)
    if no_post:
        click.echo(f"saved the report for merge request !{plan.number} in {folder}; not posted (--no-post)")
        return
    if dry_run:
        from ci_mlops.escape import guard_commands

        where = ctx.merge_request_project or ctx.project or "{project}"
        click.echo(guard_commands(plan.body))
        click.echo("---\nci-mlops: dry run, nothing sent. It would call:", err=True)
        click.echo(f"  GET  {ctx.api_url}/projects/{where}/merge_requests/{plan.number}/notes?sort=asc&per_page=100"
                   "  (page by page until the marker)", err=True)
        click.echo(f"  PUT  .../notes/{{id}} if found (skipped when unchanged), else POST .../merge_requests/"
                   f"{plan.number}/notes", err=True)
        click.echo(f"  body: {len(plan.body):,} characters", err=True)
        return
    outputs.append_summary(text)
    log = (lambda line: click.echo(f"  {line}", err=True)) if verbose else None
    result = post_note(lambda: GitLabForge(ctx, log=log), ctx, plan, new=new, env=env)
    if isinstance(result, NoteSkipped):
        click.echo(f"ci-mlops: {result.message}", err=True)
        return
    echo_posted(result.result, result.usage, "note")
