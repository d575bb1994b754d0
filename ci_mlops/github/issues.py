"""The monitor's GitHub issue: one open issue per repository, updated in place.

While drift (or a performance degradation) persists, every run rewrites the body of
the one open issue carrying the label (``drift.issue.label``, default
``ci-mlops:drift``); the first problem run opens it. The first clean run closes it
with a comment. Creating the issue and the closing comment survive a lost answer
without duplicates: before posting again we look for what the lost request made.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ci_mlops.config.records import DriftIssue
from ci_mlops.github.comments import Authors
from ci_mlops.github.shrink import shrink

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

DEFAULT_LABEL = DriftIssue.label
DEFAULT_TITLE = DriftIssue.title
MARKER = "<!-- ci-mlops:drift -->"


def find_open_issue(client: GitHubClient, repo: str, label: str) -> dict[str, Any] | None:
    """The monitor's open issue: the oldest open issue with the label that ci-mlops wrote.

    Nobody else's issue is taken over (rewritten, then closed), even with our label and
    marker, be it a person's or another app's: only issues carrying the marker and written
    by the token's own account count (the same rule as for the sticky PR comment).
    """
    authors = Authors(client)
    ours = [i for i in client.paginate(client.repo_path(repo, "issues"), {"labels": label, "state": "open"})
            if "pull_request" not in i and MARKER in (i.get("body") or "") and authors.trusted(i)]
    return min(ours, key=lambda i: i["number"]) if ours else None


def upsert_issue(
    client: GitHubClient,
    repo: str,
    *,
    problem: bool,
    body: str,
    label: str = DEFAULT_LABEL,
    title: str = DEFAULT_TITLE,
    closing_note: str = "No drift in the latest run; closing.",
    run_id: str | None = None,
    run_url: str | None = None,
) -> dict[str, Any]:
    """Open, update or close the monitor's issue.

    Returns ``{"action": "opened"|"updated"|"closed"|"none", "number", "url"}``
    (``url`` is the issue's web address, None when there is no issue).
    """
    # GitHub refuses issue and comment bodies over 65,536 characters: shorten, never fail.
    body = shrink(f"{MARKER}\n{body.rstrip()}\n", run_url=run_url)
    existing = find_open_issue(client, repo, label)
    if problem:
        if existing is not None:
            updated = client.request_json("PATCH", client.repo_path(repo, "issues", existing["number"]),
                                          json={"title": title, "body": body})
            return _outcome("updated", updated)
        created = client.create_once(client.repo_path(repo, "issues"),
                                     {"title": title, "body": body, "labels": [label]},
                                     find=lambda: find_open_issue(client, repo, label))
        return _outcome("opened", created)
    if existing is None:
        return {"action": "none", "number": None, "url": None}
    number = existing["number"]
    # Unique per run, so an old note on a reopened issue never stands for this one.
    stamp = f"<!-- ci-mlops:drift-closed {run_id or uuid.uuid4().hex} -->"
    comments = client.repo_path(repo, "issues", number, "comments")

    def find_note() -> dict[str, Any] | None:
        return next((c for c in client.paginate(comments) if stamp in (c.get("body") or "")), None)

    note = shrink(f"{stamp}\n{closing_note}\n\n{body}", run_url=run_url)
    client.create_once(comments, {"body": note}, find=find_note)
    closed = client.request_json("PATCH", client.repo_path(repo, "issues", number),
                                 json={"state": "closed", "state_reason": "completed"})
    return _outcome("closed", closed)


def _outcome(action: str, issue: dict[str, Any]) -> dict[str, Any]:
    return {"action": action, "number": issue.get("number"), "url": issue.get("html_url")}
