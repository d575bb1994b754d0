"""A report a fork's own workflow run built: posted marked as such, never as ci-mlops' verdict.

A pull request from a fork runs the fork's code, and the workflow files as the pull
request has them, with a read-only token. The comment workflow (``workflow_run``)
posts the report that run uploaded, under the bot's name, so the comment says
plainly that it is the fork run's unverified output, and shows as the verdict the
one thing GitHub itself states about that run: its conclusion, read from
``GET /repos/{repo}/actions/runs/{id}`` (``$CI_MLOPS_SOURCE_RUN_ID``, which the
comment workflow sets from ``github.event.workflow_run.id``). The report text goes
through :func:`ci_mlops.escape.untrusted_markdown` and sits in a quote below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_mlops.errors import CheckFailed, UserError
from ci_mlops.escape import md_code, md_text, untrusted_markdown
from ci_mlops.github.client import ApiError

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

RUN_ID_ENV = "CI_MLOPS_SOURCE_RUN_ID"
_PLOT_MARKS = ("<!-- ci-mlops:plots -->", "<!-- /ci-mlops:plots -->")  # invisible marks of the report's plots
CONCLUSION_MARK = {"success": "✅", "failure": "❌", "cancelled": "⏹️", "timed_out": "⏱️", "skipped": "⏭️",
                   "neutral": "➖", "action_required": "⚠️", "stale": "⚠️", "startup_failure": "❌"}


@dataclass(frozen=True)
class RunVerdict:
    """What GitHub says about the fork's run; ``conclusion`` None with a ``problem`` when it was not read."""

    run_id: int | None
    conclusion: str | None = None
    url: str | None = None
    head_repo: str | None = None
    problem: str | None = None


def source_run_id(env: Mapping[str, str]) -> int | None:
    """``$CI_MLOPS_SOURCE_RUN_ID`` as a run id, None when unset; UserError when it is not one."""
    raw = (env.get(RUN_ID_ENV) or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 10**15:
        raise UserError(f"{RUN_ID_ENV} {raw[:40]!r} is not a workflow run id (github.event.workflow_run.id)")
    return int(raw)


def read_verdict(client: GitHubClient, repo: str, run_id: int | None, head_sha: str) -> RunVerdict:
    """The run's conclusion from the API, after checking it is this repository's pull_request run of ``head_sha``.

    CheckFailed when the run built another commit (the artifact is not that run's), UserError
    when the run does not exist; no run id gives a verdict that says why it was not read.
    """
    if run_id is None:
        return RunVerdict(None, problem=f"{RUN_ID_ENV} is not set (regenerate the comment workflow with "
                                        "ci-mlops init so it passes github.event.workflow_run.id)")
    try:
        run = client.request_json("GET", f"repos/{repo}/actions/runs/{run_id}")
    except ApiError as exc:
        if exc.status == 404:
            raise UserError(f"workflow run {run_id} not found in {repo} (or the token cannot read Actions: "
                            "the job needs `actions: read`)") from None
        raise
    if run.get("head_sha") != head_sha:
        raise CheckFailed(f"refusing to comment: workflow run {run_id} built {str(run.get('head_sha'))[:12]}, "
                          f"but the artifact is for {head_sha[:12]}")
    if run.get("event") not in (None, "pull_request"):
        raise CheckFailed(f"refusing to comment: workflow run {run_id} ran on {run.get('event')!r}, not a pull request")
    head_repo = (run.get("head_repository") or {}).get("full_name")
    if run.get("status") not in (None, "completed"):
        return RunVerdict(run_id, None, _str(run.get("html_url")), _str(head_repo),
                          problem=f"the run is still {md_text(run.get('status'))}")
    return RunVerdict(run_id, _str(run.get("conclusion")) or "unknown", _str(run.get("html_url")), _str(head_repo))


def fork_body(report: str, verdict: RunVerdict | None, head_sha: str) -> str:
    """The comment text: a warning naming the run and its conclusion, then the fork's report, quoted.

    ``verdict`` None (a dry run) says the conclusion is read when posting.
    """
    source = f"{md_code(verdict.head_repo)} at " if verdict and verdict.head_repo else ""
    run_name = f"run {verdict.run_id}" if verdict and verdict.run_id else "the pull request's run"
    run_link = f"[{run_name}]({verdict.url})" if verdict and verdict.url and verdict.url.startswith("http") else run_name
    if verdict is None:
        outcome = "**The fork's run concluded:** read from GitHub when the comment is posted."
    elif verdict.conclusion is None:
        outcome = f"**The fork's run's conclusion was not read:** {verdict.problem}."
    else:
        mark = CONCLUSION_MARK.get(verdict.conclusion, "⚠️")
        outcome = (f"**The fork's run concluded: {mark} {md_text(verdict.conclusion)}** ({run_link}, "
                   f"{source}{md_code(head_sha[:7])}), as GitHub reports it.")
    header = [
        "> [!WARNING]",
        ("> **Unverified report from a fork.** The pull request's own workflow run built it, with the fork's "
         "code and workflow files and without this repository's secrets; ci-mlops posted it as uploaded and did "
         "not check it. The gate verdicts inside are the fork's claims."),
        ">",
        f"> {outcome}",
    ]
    quoted = ["> **The fork's report** (unverified):", ">"]
    report = "\n".join(line for line in report.split("\n") if line.strip() not in _PLOT_MARKS)
    quoted += [f"> {line}" if line else ">" for line in untrusted_markdown(report).rstrip("\n").split("\n")]
    return "\n".join(header) + "\n\n" + "\n".join(quoted) + "\n"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
