"""Commit statuses and check runs from a ``ci-mlops check --format json`` verdict.

Pure builders (:func:`status_payload`, :func:`check_run_payloads`) plus two small
senders. A commit status is enough for branch protection; a check run carries a
Markdown summary and line annotations but needs ``checks: write``.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from typing import TYPE_CHECKING, Any

from ci_mlops.checks.locate import Locator
from ci_mlops.checks.records import Verdict
from ci_mlops.checks.render import status_verdict, summary_markdown
from ci_mlops.errors import UserError
from ci_mlops.escape import md_text
from ci_mlops.github.shrink import shrink
from ci_mlops.safeload import MAX_JSON_BYTES, DocumentError, load_json, read_limited

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient
    from ci_mlops.github.context import GitHubContext

DESCRIPTION_LIMIT = 140
SUMMARY_LIMIT = 65535
ANNOTATIONS_PER_REQUEST = 50
STATES = ("success", "failure", "pending", "error")
CONCLUSION = {"success": "success", "failure": "failure", "error": "failure"}
STATE_TEXT = {"success": "Passed", "failure": "Failed", "pending": "Running", "error": "Errored"}


def read_check(source: str) -> dict[str, Any]:
    """The JSON of ``ci-mlops check --format json`` at path ``source`` (``-``: stdin); UserError otherwise."""
    name = "stdin" if source == "-" else source
    try:
        raw = (sys.stdin.read(MAX_JSON_BYTES + 1) if source == "-"
               else read_limited(source, MAX_JSON_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise UserError(f"check file {name}: no such file") from None
    except DocumentError as exc:
        raise UserError(f"check file {name}: cannot read it: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"check file {name}: cannot read it ({exc.__class__.__name__})") from None
    if not raw.strip():
        raise UserError(f"check file {name} is empty")
    try:
        data = load_json(raw)
    except ValueError as exc:
        raise UserError(f"check file {name}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("passed"), bool):
        raise UserError(f"check file {name}: expected the JSON of `ci-mlops check --format json` "
                        "(an object with a boolean \"passed\")")
    return data


def state_and_description(check: dict[str, Any], state: str | None, description: str | None) -> tuple[str, str]:
    """A given ``state`` (described by its name), else the verdict of ``check``; ``description`` wins when given."""
    if state:
        return state, description or STATE_TEXT[state]
    state, verdict_text = verdict(check)
    return state, description or verdict_text


def commit_to_mark(sha: str | None, ctx: GitHubContext) -> str:
    """``--sha``, else the PR head / ``GITHUB_SHA``; UserError unless it is 40 hex digits."""
    sha = sha or ctx.head_sha
    if not sha or not re.fullmatch(r"[0-9a-fA-F]{40}", sha):
        raise UserError("no commit to mark: pass --sha (40 hex digits) or set GITHUB_SHA")
    return sha


def verdict(check: dict[str, Any]) -> tuple[str, str]:
    """(state, description) for a check JSON document (:func:`ci_mlops.checks.render.status_verdict`),
    the description clipped to a commit status's 140 characters."""
    state, description = status_verdict(check)
    return state, clip(description)


def clip(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summary(check: dict[str, Any], description: str) -> str:
    """The check run's Markdown summary: the check's own summary, else a list of what failed."""
    if not check:
        return description
    try:
        return summary_markdown(Verdict.from_json(check))
    except Exception:  # a foreign or older check document: fall back to a plain list
        lines = [f"**{md_text(description)}**", ""]
        lines += [f"- ❌ {md_text(f.name)}: {md_text(f.message)}" for f in Verdict.from_json(check).failures()]
        return "\n".join(lines)


def status_payload(state: str, description: str, context: str, target_url: str | None) -> dict[str, Any]:
    payload = {"state": state, "context": context, "description": clip(description)}
    if target_url:
        payload["target_url"] = target_url
    return payload


def check_run_annotations(check: dict[str, Any], locator: Locator) -> list[dict[str, Any]]:
    """One failure annotation per failed gate or check, on the config line that declared it
    (the rule of :mod:`ci_mlops.checks.locate`, as ``ci-mlops check`` annotates)."""
    out = []
    for failure in Verdict.from_json(check).failures():
        where = locator.locate(failure)
        line = where.line or 1  # a check run annotation needs a line: the file's first
        out.append({"path": where.path, "start_line": line, "end_line": line, "annotation_level": "failure",
                    "title": failure.title[:255], "message": failure.message[:64000]})
    return out


def check_run_payloads(name: str, head_sha: str, state: str, title: str, summary: str,
                       notes: list[dict[str, Any]], details_url: str | None,
                       external_id: str) -> list[dict[str, Any]]:
    """The create payload then one update per further batch of 50 annotations."""
    batches = [notes[i:i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(notes), ANNOTATIONS_PER_REQUEST)] or [[]]
    output = {"title": clip(title, 255), "summary": shrink(summary, SUMMARY_LIMIT, run_url=details_url)}
    first: dict[str, Any] = {"name": name, "head_sha": head_sha, "external_id": external_id,
                             "output": {**output, "annotations": batches[0]}}
    if state == "pending":
        first["status"] = "in_progress"
    else:
        first["status"] = "completed"
        first["conclusion"] = CONCLUSION[state]
    if details_url:
        first["details_url"] = details_url
    return [first] + [{"output": {**output, "annotations": batch}} for batch in batches[1:]]


def check_run_request(check: dict[str, Any], locator: Locator, name: str, sha: str, state: str, description: str,
                      target_url: str | None) -> list[dict[str, Any]]:
    """The payloads of a check run for ``check``, annotating the config lines of failed gates and checks."""
    notes = check_run_annotations(check, locator)
    return check_run_payloads(name, sha.lower(), state, description, summary(check, description), notes,
                              target_url, new_external_id())


def dry_run_text(repo: str, sha: str, payloads: list[dict[str, Any]], *, check_run: bool) -> str:
    """The requests a dry run would send: method and path, then the JSON body, for each."""
    lines = []
    for i, payload in enumerate(payloads):
        if not check_run:
            lines.append(f"POST /repos/{repo}/statuses/{sha}")
        else:
            lines.append(f"POST /repos/{repo}/check-runs" if i == 0 else f"PATCH /repos/{repo}/check-runs/{{id}}")
        lines.append(json.dumps(payload, indent=2))
    return "\n".join(lines)


def send_status(ctx: GitHubContext, repo: str, sha: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Post a commit status with the context's token."""
    ctx.require_token()
    client = ctx.client()
    try:
        return post_status(client, repo, sha.lower(), payload)
    finally:
        client.close()


def send_check_run(ctx: GitHubContext, repo: str, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Create (and complete) a check run with the context's token; the run as GitHub returns it."""
    ctx.require_token()
    client = ctx.client()
    try:
        return post_check_run(client, repo, payloads)
    finally:
        client.close()


def post_status(client: GitHubClient, repo: str, sha: str, payload: dict[str, Any]) -> dict[str, Any]:
    # Re-posting the same status is harmless (the latest per context wins), so plain retries are fine.
    posted: dict[str, Any] = client.request_json("POST", f"repos/{repo}/statuses/{sha}", json=payload,
                                                 idempotent=True)
    return posted


def post_check_run(client: GitHubClient, repo: str, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    first = payloads[0]
    ref = first["head_sha"]

    def find() -> dict[str, Any] | None:
        for run in client.paginate(f"repos/{repo}/commits/{ref}/check-runs", {"check_name": first["name"]}):
            if run.get("external_id") == first["external_id"]:
                return run
        return None

    run = client.create_once(f"repos/{repo}/check-runs", first, find)
    for update in payloads[1:]:
        run = client.request_json("PATCH", f"repos/{repo}/check-runs/{int(run['id'])}", json=update)
    return run


def new_external_id() -> str:
    return f"ci-mlops-{uuid.uuid4()}"
