"""`/ci-mlops sweep` and `/ci-mlops apply NAME` PR comments -> a run of the sweep workflow.

Runs in an ``issue_comment`` workflow that checks nothing out. The comment is read from
the event file and parsed here, strictly: one line, a known verb, arguments in the sweep's
own grammar (:func:`~ci_mlops.sweep.plan.parse_overrides`, experiment names); nothing of
it reaches a shell or a workflow expression. Only a commenter whose ``author_association``
is OWNER, MEMBER or COLLABORATOR *and* whose permission the collaborator permission API
reports as write, maintain or admin is obeyed, and never on a PR from a fork. The sweep
workflow is started with ``workflow_dispatch`` on the default branch (its definition is
the reviewed one), with the PR's head commit pinned as an input.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from ci_mlops.errors import ServiceError, UserError
from ci_mlops.escape import md_code
from ci_mlops.github.client import ApiError, GitHubClient
from ci_mlops.github.comments import find_sticky, marker, marker_id
from ci_mlops.github.context import GitHubContext
from ci_mlops.sweep.plan import NAME, format_value, parse_overrides
from ci_mlops.sweep.pull import checked_head

PREFIX = "/ci-mlops"
MAX_COMMENT = 2000  # characters; a command is one short line
ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR")
WRITE_ROLES = ("admin", "maintain", "write")
_COMMAND = re.compile(r"/ci-mlops[ \t]+(?P<verb>[a-z]+)(?:[ \t]+(?P<args>[^\n]*))?")
_METADATA = re.compile(r"<!-- ci-mlops-sweep-run: (\{[^<>]{0,20000}\}) -->")
WORKFLOW_FILE = re.compile(r"[A-Za-z0-9_.-]{1,100}\.ya?ml")


@dataclass(frozen=True)
class Command:
    verb: str  # "sweep" | "apply"
    overrides: str = ""  # normalised KEY=V1,V2 words (sweep)
    name: str = ""  # the experiment (apply)


class Refused(UserError):
    """The command is understood but must not run (who asked, which PR, which sweep)."""


def parse(body: Any) -> Command | None:
    """The command in a comment; None when the comment is not addressed to ci-mlops."""
    if not isinstance(body, str) or not body.lstrip().startswith(PREFIX):
        return None
    if len(body) > MAX_COMMENT:
        raise UserError(f"a /ci-mlops command is one short line (this comment has {len(body)} characters)")
    text = body.strip()
    if "\n" in text or "\r" in text:
        raise UserError("a /ci-mlops command is one line, with nothing else in the comment")
    match = _COMMAND.fullmatch(text)
    if not match or match["verb"] not in ("sweep", "apply"):
        raise UserError("unknown command: write `/ci-mlops sweep [KEY=V1,V2 ...]` or `/ci-mlops apply NAME`")
    args = (match["args"] or "").strip()
    if match["verb"] == "sweep":
        if not args:
            return Command("sweep")
        grid = parse_overrides(args)
        return Command("sweep", overrides=" ".join(f"{k}={','.join(format_value(v) for v in values)}"
                                                   for k, values in grid.items()))
    if not NAME.fullmatch(args):
        raise UserError("`/ci-mlops apply NAME`: name one experiment of the sweep, e.g. sweep-04")
    return Command("apply", name=args)


def metadata(body: str) -> dict[str, Any] | None:
    """What the leaderboard comment records about its run (see :func:`footer`), validated."""
    match = _METADATA.search(body or "")
    if not match:
        return None
    try:
        data = json.loads(match[1])
    except ValueError:
        return None
    if not (isinstance(data, dict) and isinstance(data.get("run"), str) and re.fullmatch(r"[0-9]{1,20}", data["run"])
            and isinstance(data.get("sha"), str) and re.fullmatch(r"[0-9a-f]{40}", data["sha"])
            and isinstance(data.get("set"), str) and isinstance(data.get("succeeded"), list)
            and all(isinstance(n, str) and NAME.fullmatch(n) for n in data["succeeded"])):
        return None
    if data["set"]:
        parse_overrides(data["set"])  # the same grammar as a comment's
    return data


def footer(run_id: str, sha: str, overrides: str, succeeded: list[str]) -> str:
    """A hidden line in the leaderboard: which run and commit it came from, for `/ci-mlops apply`."""
    data = {"run": run_id, "sha": sha, "set": overrides, "succeeded": succeeded}
    return f"<!-- ci-mlops-sweep-run: {json.dumps(data, separators=(',', ':'))} -->\n"


@dataclass
class Outcome:
    status: str  # "dispatched" | "refused" | "ignored"
    message: str
    inputs: dict[str, str] | None = None


def handle(ctx: GitHubContext, workflow: str) -> Outcome:
    """Check the comment of this ``issue_comment`` event and start the sweep workflow for it."""
    if not WORKFLOW_FILE.fullmatch(workflow):
        raise UserError(f"--workflow: '{workflow[:40]}' is not a workflow file name (e.g. ci-mlops-sweep.yml)")
    if ctx.event_name != "issue_comment":
        raise UserError(f"sweep chatops runs on issue_comment events (this is {ctx.event_name or 'no event'})")
    event = ctx.event
    comment, issue = event.get("comment"), event.get("issue")
    if event.get("action") != "created" or not isinstance(comment, dict) or not isinstance(issue, dict):
        return Outcome("ignored", "not a new comment")
    if not isinstance(issue.get("pull_request"), dict):
        return Outcome("ignored", "the comment is on an issue, not a pull request")
    try:
        command: Command | None = parse(comment.get("body"))
        problem = None
    except UserError as exc:
        command, problem = None, exc.message
    if command is None and problem is None:
        return Outcome("ignored", "the comment is not a /ci-mlops command")
    repo = ctx.require_repo()
    client = ctx.client()
    number = ctx.pr_number
    comment_id = comment.get("id")
    try:
        who = _authorize(client, repo, comment)
    except Refused as exc:
        _react(client, repo, comment_id, "-1")
        return Outcome("refused", exc.message)
    try:
        if problem is not None:
            raise UserError(problem)
        assert command is not None
        inputs = _inputs(client, repo, number, command)
        ref = (event.get("repository") or {}).get("default_branch") or \
            client.get_json(f"repos/{repo}").get("default_branch")
        client.request("POST", f"repos/{repo}/actions/workflows/{workflow}/dispatches",
                       json={"ref": ref, "inputs": inputs}, idempotent=False)
    except UserError as exc:
        _react(client, repo, comment_id, "confused")
        _reply(client, repo, number, who, exc.message)
        raise
    _react(client, repo, comment_id, "rocket")
    what = f"apply {command.name}" if command.verb == "apply" else "sweep" + (f" {command.overrides}" if command.overrides else "")
    return Outcome("dispatched", f"started {workflow} for #{number} ({what}) at {inputs['sha'][:12]}, asked by {who}",
                   inputs)


def _authorize(client: GitHubClient, repo: str, comment: dict[str, Any]) -> str:
    """The commenter's login when they may run commands; :class:`Refused` otherwise."""
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    if not isinstance(login, str) or not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", login):
        raise Refused("the comment's author is not a GitHub user ci-mlops can check (bots are not obeyed)")
    association = comment.get("author_association")
    if association not in ASSOCIATIONS:
        raise Refused(f"{login} is {association or 'not associated with the repository'}; only "
                      f"{', '.join(ASSOCIATIONS)} may run /ci-mlops commands")
    try:
        answer = client.get_json(f"repos/{repo}/collaborators/{login}/permission")
    except ApiError as exc:
        if exc.status in (403, 404):
            raise Refused(f"GitHub does not confirm that {login} can write to {repo}") from None
        raise
    permission, role = answer.get("permission"), answer.get("role_name")
    if permission not in ("admin", "write") and role not in WRITE_ROLES:
        raise Refused(f"{login} has {role or permission or 'no'} access to {repo}; /ci-mlops commands need write")
    return login


def _inputs(client: GitHubClient, repo: str, number: int | None, command: Command) -> dict[str, str]:
    if number is None:
        raise UserError("the event names no pull request")
    head = checked_head(client, repo, number, None)  # open, same repository: its head now
    if command.verb == "sweep":
        return {"pr": str(number), "sha": head.sha, "set": command.overrides}
    found = find_sticky(client, repo, number, marker(marker_id("sweep", None, None)))
    meta = metadata((found.comment or {}).get("body") or "")
    if meta is None:
        raise UserError(f"#{number} has no sweep leaderboard from ci-mlops yet: comment `/ci-mlops sweep` first")
    if meta["sha"] != head.sha:
        raise UserError(f"the leaderboard is for {meta['sha'][:12]}, but the PR's head is now {head.sha[:12]}: "
                        "comment `/ci-mlops sweep` again, then apply")
    if command.name not in meta["succeeded"]:
        raise UserError(f"{command.name} is not an experiment that succeeded in the last sweep "
                        f"({', '.join(meta['succeeded'][:10]) or 'none did'})")
    return {"pr": str(number), "sha": head.sha, "set": meta["set"], "apply": command.name,
            "results-run": meta["run"]}


def _react(client: GitHubClient, repo: str, comment_id: Any, content: str) -> None:
    """A reaction on the command's comment; best effort (the job's log has the outcome)."""
    if not isinstance(comment_id, int):
        return
    with contextlib.suppress(UserError, ServiceError):  # reacting twice with the same content is one reaction
        client.request("POST", f"repos/{repo}/issues/comments/{comment_id}/reactions", json={"content": content},
                       idempotent=True)


def _reply(client: GitHubClient, repo: str, number: int | None, who: str, message: str) -> None:
    if number is None:
        return
    body = f"@{who} ci-mlops did not run this command: {md_code(message)}"
    with contextlib.suppress(UserError, ServiceError):  # best effort: the job fails with the same line
        client.request("POST", f"repos/{repo}/issues/{number}/comments", json={"body": body}, idempotent=False)
