"""The monitor's GitLab issue: one open issue per project, updated in place, closed when clean.

The rules of :mod:`ci_mlops.github.issues`: the issue carries the label
(``drift.issue.label``) and the hidden marker, and only an issue that the token's own
account opened counts, so a person's issue is never retitled, rewritten or closed.
Opening it and the closing note survive a lost answer without duplicates.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ci_mlops.github.shrink import shrink
from ci_mlops.gitlab.notes import NOTE_LIMIT, Author

if TYPE_CHECKING:
    from ci_mlops.gitlab.client import GitLabClient

MARKER = "<!-- ci-mlops:drift -->"
DESCRIPTION_LIMIT = 1_000_000


def find_open_issue(client: GitLabClient, project: str, label: str, author: Author) -> dict[str, Any] | None:
    ours = [i for i in client.paginate(client.project_path(project, "issues"), {"labels": label, "state": "opened"})
            if MARKER in (i.get("description") or "") and author.wrote(i)]
    return min(ours, key=lambda i: i["iid"]) if ours else None


def upsert_issue(client: GitLabClient, project: str, *, problem: bool, body: str, label: str, title: str,
                 closing_note: str, run_id: str | None = None, run_url: str | None = None) -> dict[str, Any]:
    """``{"action": "opened"|"updated"|"closed"|"none", "number", "url"}``, like :func:`ci_mlops.github.issues.upsert_issue`."""
    tail = _tail(run_url)
    description = shrink(f"{MARKER}\n{body.rstrip()}\n", DESCRIPTION_LIMIT, tail=tail)
    author = Author(client)
    existing = find_open_issue(client, project, label, author)
    if problem:
        if existing is not None:
            updated = client.request_json("PUT", client.project_path(project, "issues", existing["iid"]),
                                          json={"title": title, "description": description})
            return _outcome("updated", updated)
        created = client.create_once(client.project_path(project, "issues"),
                                     {"title": title, "description": description, "labels": label},
                                     find=lambda: find_open_issue(client, project, label, author))
        return _outcome("opened", created)
    if existing is None:
        return {"action": "none", "number": None, "url": None}
    iid = existing["iid"]
    stamp = f"<!-- ci-mlops:drift-closed {run_id or uuid.uuid4().hex} -->"
    notes = client.project_path(project, "issues", iid, "notes")

    def find_note() -> dict[str, Any] | None:
        return next((n for n in client.paginate(notes, {"sort": "desc"}) if stamp in (n.get("body") or "")), None)

    client.create_once(notes, {"body": shrink(f"{stamp}\n{closing_note}\n\n{body}", NOTE_LIMIT, tail=tail)},
                       find=find_note)
    closed = client.request_json("PUT", client.project_path(project, "issues", iid), json={"state_event": "close"})
    return _outcome("closed", closed)


def _outcome(action: str, issue: dict[str, Any]) -> dict[str, Any]:
    return {"action": action, "number": issue.get("iid"), "url": issue.get("web_url")}


def _tail(run_url: str | None) -> str:
    where = f"the [job log]({run_url})" if run_url else "the job log"
    return (f"\n\n> **Note:** shortened to fit GitLab's {NOTE_LIMIT:,}-character limit; the full report is in "
            f"{where} and its artifacts.\n")
