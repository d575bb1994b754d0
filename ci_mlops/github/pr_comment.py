"""Publishing a report as the sticky PR comment: from report text to a posted (or skipped) comment.

:func:`plan_comment` gathers everything from the report, the config and the run's
context and sends nothing; :func:`post_comment` makes the API calls. A token that
cannot write (pull requests from forks) is not an error: the report is saved for the
fork-safe comment workflow and the run is :class:`Skipped`.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.config import Config
from ci_mlops.config.records import Comment
from ci_mlops.errors import UserError
from ci_mlops.github import actions
from ci_mlops.github.artifact import (
    MAX_REPORT_BYTES,
    default_folder,
    expected_head,
    read_artifact,
    report_text,
    write_artifact,
)
from ci_mlops.github.client import ApiError
from ci_mlops.github.comments import CommentOutcome, Found, marker, marker_id, upsert
from ci_mlops.github.context import GitHubContext
from ci_mlops.github.fork import fork_body, read_verdict, source_run_id
from ci_mlops.github.plot_images import attach
from ci_mlops.github.pulls import head_of, not_found, open_pull_for_commit
from ci_mlops.github.shrink import shrink
from ci_mlops.safeload import DocumentError, read_limited

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

FORBIDDEN = "Resource not accessible by integration"


@dataclass
class CommentPlan:
    """What to post where; ``pr`` is None on a push, to be found from ``push_sha``."""

    text: str  # the report as given
    body: str  # marker line + report, shrunk to GitHub's limit
    ident: str
    repo: str
    pr: int | None
    push_sha: str | None
    expected_head: str | None  # --from-artifact: the PR head must still be this commit
    new: bool
    replace_cml: bool
    fork_report: str | None = None  # --from-artifact: the fork's report as uploaded (quoted when posting)
    fork_run: int | None = None  # the fork's workflow run, whose conclusion the comment shows
    plots: Any = None  # plot_images.PlotOptions: publish the plot images of --plots-dir and show them

    @property
    def mark(self) -> str:
        return marker(self.ident)


@dataclass
class Posted:
    outcome: CommentOutcome
    usage: str  # one line: the API calls made


@dataclass
class Skipped:
    """Nothing was posted, on purpose: ``message`` for the log, ``annotation`` for the run's notices."""

    message: str
    annotation: str
    read_only: bool


class _Forbidden(Exception):
    pass


def read_report(source: str) -> str:
    """The report at path ``source`` (``-``: stdin) as text; UserError when missing, unreadable or empty."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_REPORT_BYTES + 1)
        name = "stdin"
        if len(data) > MAX_REPORT_BYTES:
            raise UserError(f"report from stdin: more than {MAX_REPORT_BYTES:,} bytes")
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise UserError(f"report file {name}: no such file")
        if path.is_dir():
            raise UserError(f"report file {name}: is a directory")

        try:
            data = read_limited(path, MAX_REPORT_BYTES)
        except DocumentError as exc:  # /dev/zero, a FIFO, a runaway file
            raise UserError(f"report file {name}: cannot read it: {exc}") from None
        except OSError as exc:
            raise UserError(f"report file {name}: cannot read it ({exc.strerror or exc.__class__.__name__})") from None

    return report_text(data, f"report {name}")


def plan_comment(ctx: GitHubContext, config: Config, *, report: str | None, from_artifact: Path | None,
                 pr: int | None, marker_opt: str | None, new: bool, replace_cml: bool | None,
                 artifact_dir: Path | None, env: Mapping[str, str] | None = None,
                 summary: bool = True) -> CommentPlan:
    """Read the report (or the fork-safe artifact), copy it to the job summary and decide where it goes.

    With ``artifact_dir`` (and a known PR) the report is also saved there for the comment workflow.
    UserError when there is no PR context, no repository, or the artifact is invalid.
    """
    env = os.environ if env is None else env
    artifact = None
    expected = None
    fork_run = None
    if from_artifact:
        artifact = read_artifact(from_artifact)
        expected = expected_head(artifact.head_sha, env.get("CI_MLOPS_EXPECTED_HEAD_SHA", ""))
        fork_run = source_run_id(env)
        text, pr = fork_body(artifact.report, None, artifact.head_sha), artifact.pr
    else:
        text = read_report(report or "-")
    comment = config.settings.comment or Comment()
    ident = marker_id(marker_opt or (artifact.marker if artifact else None), comment.marker, ctx.workflow)
    if replace_cml is None:
        replace_cml = comment.replace_cml
    if summary:
        actions.append_summary(text)

    if pr is None:
        pr = ctx.pr_number  # UserError on a malformed payload, before any request
    push_sha = None
    if pr is None:
        if ctx.event_name == "push" and ctx.sha:
            push_sha = ctx.sha
        else:
            raise UserError("not in a pull request context: pass --pr N (or run on pull_request / push events)")
    repo = ctx.require_repo()
    body = shrink(f"{marker(ident)}\n{text}", run_url=ctx.run_url)
    if artifact_dir and pr is not None:
        write_artifact(artifact_dir, text, pr, ctx.head_sha or "", ident, run_url=ctx.run_url)
    return CommentPlan(text, body, ident, repo, pr, push_sha, expected, new, replace_cml,
                       fork_report=artifact.report if artifact else None, fork_run=fork_run)


def post_comment(ctx: GitHubContext, plan: CommentPlan, *, artifact_dir: Path | None,
                 log: Callable[[str], None] | None = None,
                 env: Mapping[str, str] | None = None) -> Posted | Skipped:
    """Create or update the sticky comment; Skipped when a push has no open PR or the token is read-only."""
    ctx.require_token()
    client = ctx.client(log=log)
    pr = plan.pr
    try:
        if plan.expected_head:
            assert pr is not None
            head = head_of(client, plan.repo, pr)
            if head != plan.expected_head:  # superseded: not an error, and never a stale report
                message = (f"PR #{pr} has moved on to {str(head)[:12]}; this report is for "
                           f"{plan.expected_head[:12]}, so it is not posted (the newer run will comment)")
                return Skipped(message, message, read_only=False)
        notes = []
        text = plan.text
        if plan.fork_report is not None:
            assert plan.expected_head is not None
            verdict = read_verdict(client, plan.repo, plan.fork_run, plan.expected_head)
            text = fork_body(plan.fork_report, verdict, plan.expected_head)
            plan.body = shrink(f"{plan.mark}\n{text}", run_url=ctx.run_url)
            if verdict.problem:
                notes.append(f"the fork run's conclusion was not read: {verdict.problem}")
        if pr is None:
            assert plan.push_sha is not None
            pr = open_pull_for_commit(client, plan.repo, plan.push_sha)
            if pr is None:
                return Skipped(f"no open pull request has commit {plan.push_sha[:12]} as its head; "
                               "the report is in the job summary only",
                               "No open pull request for this commit; the report is in the job summary.",
                               read_only=False)
        if plan.plots is not None:
            head = plan.expected_head or ctx.head_sha or plan.push_sha or ""
            text = attach(text, plan.plots, client, plan.repo, ctx, pr, head, fork=plan.fork_report is not None,
                          notes=notes, log=log)
            plan.body = shrink(f"{plan.mark}\n{text}", run_url=ctx.run_url)
        outcome = _upsert(client, plan, pr)
        outcome.notes.extend(notes)
    except _Forbidden:
        # Only the writes answer 403 to a read-only token, and they run once the PR is known.
        return _read_only(ctx, plan, pr, artifact_dir, os.environ if env is None else env)  # type: ignore[arg-type]
    finally:
        client.close()
    return Posted(outcome, usage_line(client.calls, outcome.found))


def _upsert(client: GitHubClient, plan: CommentPlan, pr: int) -> CommentOutcome:
    try:
        return upsert(client, plan.repo, pr, plan.body, plan.mark, new=plan.new, replace_cml=plan.replace_cml)
    except ApiError as exc:
        if exc.status == 403 and FORBIDDEN.lower() in exc.message.lower():
            raise _Forbidden() from None
        if exc.status == 404:
            raise not_found(plan.repo, pr) from None
        raise


def _read_only(ctx: GitHubContext, plan: CommentPlan, pr: int, artifact_dir: Path | None,
               env: Mapping[str, str]) -> Skipped:
    folder = artifact_dir or default_folder(env)
    saved = ""
    if folder is not None and ctx.head_sha:
        write_artifact(folder, plan.text, pr, ctx.head_sha, plan.ident, run_url=ctx.run_url)
        saved = f"; saved to {folder} for the ci-mlops-comment workflow"
    message = f"The token cannot comment on PR #{pr} (read-only, e.g. a fork): the report is in the job summary{saved}."
    return Skipped(message, message, read_only=True)


def plan_lines(plan: CommentPlan) -> list[str]:
    """The API calls a dry run would make, one per line."""
    repo = plan.repo
    lines = ["---", "ci-mlops: dry run, nothing sent. It would call:"]
    if plan.fork_report is not None:
        lines.append(f"  GET  /repos/{repo}/pulls/{plan.pr}  (its head must still be {str(plan.expected_head)[:12]})")
        run = plan.fork_run if plan.fork_run is not None else "{$CI_MLOPS_SOURCE_RUN_ID, not set}"
        lines.append(f"  GET  /repos/{repo}/actions/runs/{run}  (the fork run's conclusion, shown in the comment)")
    if plan.pr is None:
        lines.append(f"  GET  /repos/{repo}/commits/{plan.push_sha}/pulls  (find the open PR of this commit)")
        pr_text = "{pr}"
    else:
        pr_text = str(plan.pr)
    if plan.new:
        lines.append(f"  POST /repos/{repo}/issues/{pr_text}/comments")
    else:
        lines.append(f"  GET  /repos/{repo}/issues/{pr_text}/comments?per_page=100  (page by page until the marker)")
        lines.append(f"  PATCH /repos/{repo}/issues/comments/{{id}} if found (skipped when unchanged), "
                     f"else POST /repos/{repo}/issues/{pr_text}/comments")
    if plan.plots is not None:
        lines.append(f"  plot images of {plan.plots.folder}: " + (
            f"GET /repos/{repo}, POST /repos/{repo}/git/blobs (one per image), /git/trees, /git/commits, "
            f"then POST or PATCH /repos/{repo}/git/refs/heads/{plan.plots.policy.prefix}/pr-{{pr}}"
            if plan.plots.publish else "not published (--no-plots-publish): linked from the run's artifact"))
    lines.append(f"  body: {len(plan.body):,} characters")
    return lines


def usage_line(calls: list[tuple[str, str, Any]], found: Found | None) -> str:
    """``ci-mlops: 3 API call(s) (2 GET, 1 PATCH); read 120 existing comment(s) in 2 page(s)``."""
    counts = Counter(method for method, _path, _status in calls)
    text = ", ".join(f"{n} {m}" for m, n in sorted(counts.items()))
    scanned = f"; read {found.scanned} existing comment(s) in {found.pages} page(s)" if found else ""
    return f"ci-mlops: {len(calls)} API call(s) ({text}){scanned}"
