"""``ci-mlops status`` in GitLab CI/CD: commit statuses on the pipeline, and the JUnit report."""

from __future__ import annotations

import re
from typing import Any

import click

from ci_mlops.errors import UserError


def run(*, check: dict[str, Any], state: str, description: str, context_name: str, target_url: str | None,
        sha: str | None, project: str | None, token: str | None, per_check: bool, dry_run: bool) -> None:
    from ci_mlops.forge import outputs
    from ci_mlops.forge.statuses import plan_statuses, publish
    from ci_mlops.github.client import ApiError
    from ci_mlops.gitlab.context import GitLabContext
    from ci_mlops.gitlab.forge import GitLabForge
    from ci_mlops.gitlab.status import status_payload

    ctx = GitLabContext.from_env(token=token, project=project)
    sha = sha or ctx.head_sha
    if not sha or not re.fullmatch(r"[0-9a-fA-F]{40}", sha):
        raise UserError("no commit to mark: pass --sha (40 hex digits) or set CI_COMMIT_SHA")
    planned = plan_statuses(check, state, description, context_name, per_check=per_check)
    target_url = target_url or ctx.run_url
    if dry_run:
        where = ctx.project or "{project}"
        for p in planned:
            click.echo(f"POST {ctx.api_url}/projects/{where}/statuses/{sha}")
            import json

            click.echo(json.dumps(status_payload(p.state, p.context, p.description, target_url,
                                                 ref=ctx.ref_name, pipeline_id=ctx.pipeline_id), indent=2))
        return
    if not ctx.token and ctx.from_fork:
        click.echo("ci-mlops: a fork's merge request pipeline has no CI_MLOPS_TOKEN; the verdict is in the job log "
                   "and the JUnit report, no commit status posted", err=True)
        return
    ctx.require_project()
    forge = GitLabForge(ctx)
    try:
        results = publish(forge.set_status, sha, planned, target_url)
    except ApiError as exc:
        if exc.status == 403 and ctx.from_fork:
            click.echo(f"ci-mlops: the token may not set statuses here ({exc.message}); not posted", err=True)
            return
        raise
    finally:
        forge.close()
    outputs.set_output("state", results[0].state)
    click.echo(f"status {context_name}: {results[0].state} - {planned[0].description}")
    if len(results) > 1:
        failed = sum(1 for p in planned[1:] if p.state != "success")
        click.echo(f"  and {len(results) - 1} per-check status(es), {failed} failed")
