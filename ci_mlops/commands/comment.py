"""`ci-mlops comment`: post or update the one sticky PR comment holding the report."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

FORBIDDEN = "Resource not accessible by integration"


@click.command("comment")
@click.argument("report", metavar="[FILE|-]", required=False)
@click.option("--pr", "pr", type=click.IntRange(min=1), default=None,
              help="Pull request number. Default: from the event payload; on a push, the open PR whose "
                   "head is this commit.")
@click.option("--repo", metavar="OWNER/NAME", default=None, help="Repository. Default: $GITHUB_REPOSITORY.")
@click.option("--token", default=None, help="GitHub token. Default: $CI_MLOPS_TOKEN, else $GITHUB_TOKEN. "
                                            "Prefer the environment: arguments can show in process lists.")
@click.option("--marker", "marker_opt", metavar="ID", default=None,
              help="Sticky-comment id: the comment carrying <!-- ci-mlops:ID --> is updated. Default: "
                   "comment.marker in the config, else the workflow name, so two workflows keep two comments.")
@click.option("--new", is_flag=True, help="Always post a new comment instead of updating the sticky one.")
@click.option("--replace-cml/--no-replace-cml", default=None,
              help="When no ci-mlops comment exists yet, update the newest CML comment (its watermark) "
                   "instead of adding a second one. Default: comment.replace_cml in the config.")
@click.option("--artifact-dir", type=click.Path(file_okay=False), default=None,
              help="Also save report.md and pr.json here, for the fork-safe comment workflow to post.")
@click.option("--from-artifact", type=click.Path(file_okay=False), default=None,
              help="Post the report saved by --artifact-dir in a pull_request run (untrusted: validated, "
                   "and the PR head must equal $CI_MLOPS_EXPECTED_HEAD_SHA).")
@click.option("--dry-run", is_flag=True, help="Print the final body and the API calls it would make; send nothing.")
@click.option("-v", "--verbose", is_flag=True, help="Print every API call (method, path, status).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file. Default: .ci-mlops.yml at the repository root.")
def command(report: str | None, pr: int | None, repo: str | None, token: str | None, marker_opt: str | None,
            new: bool, replace_cml: bool | None, artifact_dir: str | None, from_artifact: str | None,
            dry_run: bool, verbose: bool, config_path: str | None) -> None:
    """Post the report FILE (or - for stdin) as the sticky comment of a pull request.

    The comment carries a hidden marker; a later run finds it through every
    page of the PR's comments and edits it in place, so the PR keeps one
    up-to-date ci-mlops comment. Reports over GitHub's 65,536-character limit
    are shortened (details collapsed, longest tables dropped) with a link to
    the workflow run. The full report always goes to the job summary too, and
    the step outputs comment-url and comment-id are set.

    \b
    In GitHub Actions everything comes from the environment: GITHUB_API_URL
    (GitHub Enterprise Server works unchanged), GITHUB_REPOSITORY,
    GITHUB_EVENT_PATH and GITHUB_TOKEN (or CI_MLOPS_TOKEN).

    A read-only token (pull requests from forks) does not fail the job: the
    report goes to the job summary and to the artifact folder
    (--artifact-dir, default $RUNNER_TEMP/ci-mlops/artifact), and a notice says
    so. The ci-mlops-comment.yml workflow then posts it with --from-artifact.

    Exit codes: 0 posted (or skipped with a notice), 1 the artifact's PR head
    does not match, 2 bad input (missing or empty report, no PR, malformed
    event, bad token, PR not found), 3 GitHub kept failing.
    """
    from ci_mlops.config import load_config
    from ci_mlops.errors import UserError
    from ci_mlops.github import actions
    from ci_mlops.github.comments import marker, marker_id
    from ci_mlops.github.context import GitHubContext
    from ci_mlops.github.shrink import shrink

    if report and from_artifact:
        raise UserError("give either a report FILE or --from-artifact, not both")
    if pr is not None and from_artifact:
        raise UserError("--pr cannot be combined with --from-artifact: the PR number comes from the artifact")
    if not report and not from_artifact:
        raise UserError("no report: give a report FILE (or - for stdin), or --from-artifact DIR")
    ctx = GitHubContext.from_env(token=token, repo=repo)
    actions.mask(ctx.token)
    config = load_config(config_path)

    artifact = None
    if from_artifact:
        from ci_mlops.github.artifact import read_artifact

        artifact = read_artifact(Path(from_artifact))
        text, pr = artifact.report, artifact.pr
        expected = _expected_sha(artifact.head_sha)
    else:
        text = _read_report(report)
    ident = marker_id(marker_opt or (artifact.marker if artifact else None), config.get("comment", "marker"),
                      ctx.workflow)
    if replace_cml is None:
        replace_cml = bool(config.get("comment", "replace_cml", default=False))
    actions.append_summary(text)

    if pr is None:
        pr = ctx.pr_number  # UserError on a malformed payload, before any request
    push_sha = None
    if pr is None:
        if ctx.event_name == "push" and ctx.sha:
            push_sha = ctx.sha
        else:
            raise UserError("not in a pull request context: pass --pr N (or run on pull_request / push events)")
    repo_name = ctx.require_repo()
    body = shrink(f"{marker(ident)}\n{text}", run_url=ctx.run_url)

    if artifact_dir and pr is not None:
        _save_artifact(Path(artifact_dir), text, pr, ctx, ident)

    if dry_run:
        _print_plan(body, repo_name, pr, push_sha, new)
        return

    ctx.require_token()
    log = (lambda line: click.echo(f"  {line}", err=True)) if verbose else None
    client = ctx.client(log=log)
    try:
        if artifact:
            _check_head(client, repo_name, pr, expected)
        if pr is None:
            pr = _pr_for_commit(client, repo_name, push_sha)
            if pr is None:
                click.echo(f"ci-mlops: no open pull request has commit {push_sha[:12]} as its head; "
                           "the report is in the job summary only")
                actions.annotate("notice", "No open pull request for this commit; the report is in the job summary.")
                return
        outcome = _upsert(client, repo_name, pr, body, marker(ident), new, replace_cml)
    except _Forbidden:
        _read_only(text, pr, ctx, ident, artifact_dir)
        return
    finally:
        client.close()
    actions.set_output("comment-url", outcome.url)
    actions.set_output("comment-id", str(outcome.id))
    for note in outcome.notes:
        click.echo(f"ci-mlops: {note}", err=True)
    click.echo(f"{outcome.action} comment {outcome.url}")
    click.echo(_usage_line(client, outcome), err=True)


class _Forbidden(Exception):
    pass


def _read_report(report: str) -> str:
    from ci_mlops.errors import UserError

    if report == "-":
        data = sys.stdin.buffer.read()
        name = "stdin"
    else:
        path = Path(report)
        name = str(path)
        if not path.exists():
            raise UserError(f"report file {name}: no such file")
        if path.is_dir():
            raise UserError(f"report file {name}: is a directory")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UserError(f"report file {name}: cannot read it ({exc.strerror or exc.__class__.__name__})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"report {name}: not UTF-8 text") from None
    if not text.strip():
        raise UserError(f"report {name} is empty; nothing to post")
    return text


def _expected_sha(artifact_sha: str) -> str:
    from ci_mlops.errors import CheckFailed, UserError
    from ci_mlops.github.artifact import SHA_RE

    expected = os.environ.get("CI_MLOPS_EXPECTED_HEAD_SHA", "")
    if not SHA_RE.match(expected):
        raise UserError("--from-artifact needs CI_MLOPS_EXPECTED_HEAD_SHA (github.event.workflow_run.head_sha) "
                        "as 40 lowercase hex digits")
    if artifact_sha != expected:
        raise CheckFailed(f"refusing to comment: the artifact is for commit {artifact_sha[:12]}, "
                          f"but the workflow run built {expected[:12]}")
    return expected


def _check_head(client, repo: str, pr: int, expected: str) -> None:
    from ci_mlops.errors import CheckFailed

    head = _pr_get(client, repo, pr).get("head", {}).get("sha")
    if head != expected:
        raise CheckFailed(f"refusing to comment: PR #{pr} head is {str(head)[:12]}, not {expected[:12]} "
                          "(the commit the report was built from); a newer run will comment")


def _pr_get(client, repo: str, pr: int) -> dict:
    from ci_mlops.errors import UserError
    from ci_mlops.github.client import ApiError

    try:
        return client.request("GET", f"repos/{repo}/pulls/{pr}").json()
    except ApiError as exc:
        if exc.status == 404:
            raise UserError(f"pull request #{pr} not found in {repo} (or the token cannot see it)") from None
        raise


def _pr_for_commit(client, repo: str, sha: str) -> int | None:
    pulls = [p for p in client.paginate(f"repos/{repo}/commits/{sha}/pulls") if p.get("state") == "open"]
    pulls.sort(key=lambda p: (p.get("head", {}).get("sha") != sha, p.get("number", 0)))
    return int(pulls[0]["number"]) if pulls else None


def _upsert(client, repo: str, pr: int, body: str, mark: str, new: bool, replace_cml: bool):
    from ci_mlops.errors import UserError
    from ci_mlops.github.client import ApiError
    from ci_mlops.github.comments import upsert

    try:
        return upsert(client, repo, pr, body, mark, new=new, replace_cml=replace_cml)
    except ApiError as exc:
        if exc.status == 403 and FORBIDDEN.lower() in exc.message.lower():
            raise _Forbidden() from None
        if exc.status == 404:
            raise UserError(f"pull request #{pr} not found in {repo} (or the token cannot see it)") from None
        raise


def _save_artifact(folder: Path, text: str, pr: int, ctx, ident: str) -> None:
    from ci_mlops.github.artifact import SHA_RE, write_artifact

    sha = ctx.head_sha or ""
    if not SHA_RE.match(sha):
        from ci_mlops.errors import UserError

        raise UserError("cannot write the artifact: no 40-hex head commit (GITHUB_SHA or the event's pull_request.head.sha)")
    write_artifact(folder, text, pr, sha, ident)


def _read_only(text: str, pr: int, ctx, ident: str, artifact_dir: str | None) -> None:
    from ci_mlops.github import actions

    folder = Path(artifact_dir) if artifact_dir else (
        Path(os.environ["RUNNER_TEMP"]) / "ci-mlops" / "artifact" if os.environ.get("RUNNER_TEMP") else None)
    saved = ""
    if folder is not None and ctx.head_sha:
        _save_artifact(folder, text, pr, ctx, ident)
        saved = f"; saved to {folder} for the ci-mlops-comment workflow"
    message = f"The token cannot comment on PR #{pr} (read-only, e.g. a fork): the report is in the job summary{saved}."
    actions.annotate("notice", message)
    click.echo(f"ci-mlops: {message}", err=True)


def _print_plan(body: str, repo: str, pr: int | None, push_sha: str | None, new: bool) -> None:
    click.echo(body)
    click.echo("---", err=True)
    click.echo("ci-mlops: dry run, nothing sent. It would call:", err=True)
    if pr is None:
        click.echo(f"  GET  /repos/{repo}/commits/{push_sha}/pulls  (find the open PR of this commit)", err=True)
        pr_text = "{pr}"
    else:
        pr_text = str(pr)
    if new:
        click.echo(f"  POST /repos/{repo}/issues/{pr_text}/comments", err=True)
    else:
        click.echo(f"  GET  /repos/{repo}/issues/{pr_text}/comments?per_page=100  (page by page until the marker)",
                   err=True)
        click.echo(f"  PATCH /repos/{repo}/issues/comments/{{id}} if found (skipped when unchanged), "
                   f"else POST /repos/{repo}/issues/{pr_text}/comments", err=True)
    click.echo(f"  body: {len(body):,} characters", err=True)


def _usage_line(client, outcome) -> str:
    from collections import Counter

    counts = Counter(method for method, _path, _status in client.calls)
    calls = ", ".join(f"{n} {m}" for m, n in sorted(counts.items()))
    scanned = f"; read {outcome.found.scanned} existing comment(s) in {outcome.found.pages} page(s)" \
        if outcome.found else ""
    return f"ci-mlops: {len(client.calls)} API call(s) ({calls}){scanned}"
