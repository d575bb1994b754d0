"""`ci-mlops status`: publish the gate verdict as a commit status or a check run."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click


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
def command(check_json: str | None, state: str | None, context_name: str, description: str | None,
            target_url: str | None, sha: str | None, check_run: bool, repo: str | None, token: str | None,
            dry_run: bool, config_path: str | None) -> None:
    """Mark a commit with the quality-gate verdict, for branch protection rules.

    Reads CHECK_JSON (the output of `ci-mlops check --format json`, or - for
    stdin): success when every gate and check passed, failure otherwise, with
    the failed gates named in the description. Or publish --state directly.

    \b
      ci-mlops check --format json -o check.json || true
      ci-mlops status check.json --target-url "$COMMENT_URL"
      ci-mlops status check.json --check-run      # annotations on .ci-mlops.yml

    Exit codes: 0 published, 2 bad input (missing or malformed JSON, no commit,
    bad token), 3 GitHub kept failing. The verdict itself never fails this
    command: `ci-mlops check` already did.
    """
    from ci_mlops.config import load_config
    from ci_mlops.errors import UserError
    from ci_mlops.github import actions, status
    from ci_mlops.github.context import GitHubContext

    if check_json and state:
        raise UserError("give either a CHECK_JSON file or --state, not both")
    if not check_json and not state:
        raise UserError("nothing to publish: give a CHECK_JSON file (from `ci-mlops check --format json`) or --state")
    check = _read_check(check_json) if check_json else {}
    if state:
        description = description or {"success": "Passed", "failure": "Failed", "pending": "Running",
                                      "error": "Errored"}[state]
    else:
        state, verdict_text = status.verdict(check)
        description = description or verdict_text
    ctx = GitHubContext.from_env(token=token, repo=repo)
    actions.mask(ctx.token)
    sha = sha or ctx.head_sha
    if not sha or not re.fullmatch(r"[0-9a-fA-F]{40}", sha):
        raise UserError("no commit to mark: pass --sha (40 hex digits) or set GITHUB_SHA")
    repo_name = ctx.require_repo()
    target_url = target_url or ctx.run_url

    if check_run:
        config = load_config(config_path)
        notes = status.annotations(check, config.display_path, config.line)
        summary = _summary(check, description) if check else description
        payloads = status.check_run_payloads(context_name, sha.lower(), state, description, summary, notes,
                                             target_url, status.new_external_id())
        if dry_run:
            for p in payloads:
                click.echo(f"POST /repos/{repo_name}/check-runs" if p is payloads[0]
                           else f"PATCH /repos/{repo_name}/check-runs/{{id}}")
                click.echo(json.dumps(p, indent=2))
            return
        ctx.require_token()
        client = ctx.client()
        try:
            run = status.post_check_run(client, repo_name, payloads)
        finally:
            client.close()
        actions.set_output("check-run-url", run.get("html_url", ""))
        click.echo(f"check run {context_name}: {state} {run.get('html_url', '')}")
        return

    payload = status.status_payload(state, description, context_name, target_url)
    if dry_run:
        click.echo(f"POST /repos/{repo_name}/statuses/{sha}")
        click.echo(json.dumps(payload, indent=2))
        return
    ctx.require_token()
    client = ctx.client()
    try:
        status.post_status(client, repo_name, sha.lower(), payload)
    finally:
        client.close()
    click.echo(f"status {context_name}: {state} - {payload['description']}")


def _read_check(source: str) -> dict:
    from ci_mlops.errors import UserError

    name = "stdin" if source == "-" else source
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"check file {name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"check file {name}: cannot read it ({exc.__class__.__name__})") from None
    if not raw.strip():
        raise UserError(f"check file {name} is empty")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise UserError(f"check file {name}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("passed"), bool):
        raise UserError(f"check file {name}: expected the JSON of `ci-mlops check --format json` "
                        "(an object with a boolean \"passed\")")
    return data


def _summary(check: dict, description: str) -> str:
    try:
        from ci_mlops.checks import summary_markdown

        return summary_markdown(check)
    except Exception:  # a foreign or older check document: fall back to a plain list
        from ci_mlops.github.status import failed_items

        lines = [f"**{description}**", ""]
        lines += [f"- ❌ {item['name']}: {item.get('message') or ''}" for item in failed_items(check)]
        return "\n".join(lines)
