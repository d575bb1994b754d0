"""The monitor's GitLab issue: one open issue per project, updated in place, closed when clean.

The rules of :mod:`ci_mlops.github.issues`: the issue carries the label
(``drift.issue.label``) and the hidden marker, and only an issue that the token's own
account opened counts, so a person's issue is never retitled, rewritten or closed.
Opening it and the closing note survive a lost answer without duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_mlops.github.issues import MARKER, IssueOutcome, issue_outcome, sync
from ci_mlops.github.shrink import shrink
from ci_mlops.gitlab.notes import NOTE_LIMIT, Author

if TYPE_CHECKING:
    from ci_mlops.gitlab.client import GitLabClient

DESCRIPTION_LIMIT = 1_000_000


def find_open_issue(client: GitLabClient, project: str, label: str, author: Author) -> dict[str, Any] | None:
    ours = [i for i in client.paginate(client.project_path(project, "issues"), {"labels": label, "state": "opened"})
            if MARKER in (i.get("description") or "") and author.wrote(i)]
    return min(ours, key=lambda i: i["iid"]) if ours else None


def upsert_issue(client: GitLabClient, project: str, *, problem: bool, body: str, label: str, title: str,
                 closing_note: str, run_id: str | None = None, run_url: str | None = None) -> IssueOutcome:
    """``{"action": "opened"|"updated"|"closed"|"none", "number", "url"}``, like :func:`ci_mlops.github.issues.upsert_issue`."""
    tail = _tail(run_url)
    description = shrink(f"{MARKER}\n{body.rstrip()}\n", DESCRIPTION_LIMIT, tail=tail)
    site = _Issues(client, project, label, Author(client), tail)
    return sync(site, problem=problem, title=title, body=description, quoted=body, closing_note=closing_note,
                run_id=run_id)


@dataclass(frozen=True)
class _Issues:
    client: GitLabClient
    project: str
    label: str
    author: Author
    tail: str

    def find_open(self) -> dict[str, Any] | None:
        return find_open_issue(self.client, self.project, self.label, self.author)

    def create(self, title: str, body: str) -> dict[str, Any]:
        return self.client.create_once(self.client.project_path(self.project, "issues"),
                                       {"title": title, "description": body, "labels": self.label},
                                       find=self.find_open)

    def update(self, issue: dict[str, Any], title: str, body: str) -> dict[str, Any]:
        return self._edit(issue, {"title": title, "description": body})

    def note_once(self, issue: dict[str, Any], stamp: str, text: str) -> None:
        notes = self.client.project_path(self.project, "issues", issue["iid"], "notes")

        def find() -> dict[str, Any] | None:
            return next((n for n in self.client.paginate(notes, {"sort": "desc"}) if stamp in (n.get("body") or "")),
                        None)

        self.client.create_once(notes, {"body": shrink(text, NOTE_LIMIT, tail=self.tail)}, find=find)

    def close(self, issue: dict[str, Any]) -> dict[str, Any]:
        return self._edit(issue, {"state_event": "close"})

    def _edit(self, issue: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        edited: dict[str, Any] = self.client.request_json(
            "PUT", self.client.project_path(self.project, "issues", issue["iid"]), json=change)
        return edited

    def outcome(self, action: str, issue: dict[str, Any]) -> IssueOutcome:
        return issue_outcome(action, issue.get("iid"), issue.get("web_url"))


def _tail(run_url: str | None) -> str:
    where = f"the [job log]({run_url})" if run_url else "the job log"
    return (f"\n\n> **Note:** shortened to fit GitLab's {NOTE_LIMIT:,}-character limit; the full report is in "
            f"{where} and its artifacts.\n")
