"""The sticky merge request note: found through every page, updated in place, never posted twice.

The same rules as :mod:`ci_mlops.github.comments`: the note starts with the hidden
marker line ``<!-- ci-mlops:ID -->``; the notes are read oldest first, 100 per page
(``sort=asc``), stopping at the first page holding a marker note written by the
token's own account (``GET /user``; anyone can paste our marker, and system notes are
GitLab's own); it is edited with ``PUT`` (skipped when unchanged). Creating is not
idempotent: when a ``POST``'s answer is lost, the notes are listed again and the note
that POST made is adopted instead of posting a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ci_mlops.github.comments import has_marker

if TYPE_CHECKING:
    from ci_mlops.gitlab.client import GitLabClient

# GitLab refuses a note longer than 1,000,000 characters (Note validates
# `note` against Gitlab::Database::MAX_TEXT_SIZE_LIMIT); see docs/gitlab.md.
NOTE_LIMIT = 1_000_000


@dataclass
class NoteOutcome:
    action: str  # created | updated | unchanged | adopted
    note: dict[str, Any]
    pages: int = 0
    scanned: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.note["id"])


class Author:
    """The token's own account (``GET /user``), asked for once and only when a marker note turns up."""

    def __init__(self, client: GitLabClient):
        self._client = client
        self._id: int | None = None

    def wrote(self, item: dict[str, Any]) -> bool:
        author = item.get("author")
        if not isinstance(author, dict) or isinstance(author.get("id"), bool):
            return False
        return author.get("id") == self.id()

    def id(self) -> int:
        if self._id is None:
            from ci_mlops.errors import UserError

            user = self._client.request_json("GET", "user")
            uid = user.get("id")
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise UserError("GitLab API: GET /user answered without the token's user id; cannot tell which "
                                "notes and issues are ours")
            self._id = uid
        return self._id


def notes_path(client: GitLabClient, project: str, kind: str, iid: int) -> str:
    return client.project_path(project, kind, iid, "notes")


def find_note(client: GitLabClient, project: str, iid: int, mark: str, *, kind: str = "merge_requests",
              author: Author | None = None) -> tuple[dict[str, Any] | None, int, int]:
    """(the oldest non-system note carrying ``mark`` that we wrote, pages read, notes read)."""
    author = author or Author(client)
    url: str | None = client.url(notes_path(client, project, kind, iid))
    params: dict[str, Any] | None = {"sort": "asc", "order_by": "created_at", "per_page": 100}
    pages = scanned = 0
    while url:
        response = client.request("GET", url, params=params)
        pages += 1
        for note in client.json(response, list):
            scanned += 1
            if not note.get("system") and has_marker(note.get("body"), mark) and author.wrote(note):
                return note, pages, scanned
        url = client.next_link(response)
        params = None
    return None, pages, scanned


def upsert_note(client: GitLabClient, project: str, iid: int, body: str, mark: str, *, new: bool = False,
                kind: str = "merge_requests") -> NoteOutcome:
    """Update the sticky note in place, or create it; ``new`` always creates."""
    author = Author(client)
    pages = scanned = 0
    if not new:
        found, pages, scanned = find_note(client, project, iid, mark, kind=kind, author=author)
        if found is not None:
            return _update(client, project, iid, found, body, kind, pages, scanned)
    adopted: list[dict[str, Any]] = []

    def find_created() -> dict[str, Any] | None:
        hit: dict[str, Any] | None
        if new:  # look for this exact body, newest first
            hit = next((n for n in client.paginate(notes_path(client, project, kind, iid), {"sort": "desc"})
                        if n.get("body") == body and author.wrote(n)), None)
        else:
            hit = find_note(client, project, iid, mark, kind=kind, author=author)[0]
        if hit is not None:
            adopted.append(hit)
        return hit

    note = client.create_once(notes_path(client, project, kind, iid), {"body": body}, find_created)
    if adopted and adopted[-1] is note:
        outcome = _update(client, project, iid, note, body, kind, pages, scanned)
        outcome.action = "adopted" if outcome.action == "unchanged" else outcome.action
        outcome.notes.append("the answer to a POST was lost; adopted the note it created instead of posting again")
        return outcome
    return NoteOutcome("created", note, pages, scanned)


def _update(client: GitLabClient, project: str, iid: int, note: dict[str, Any], body: str, kind: str, pages: int,
            scanned: int) -> NoteOutcome:
    if note.get("body") == body:
        return NoteOutcome("unchanged", note, pages, scanned)
    updated = client.request_json("PUT", client.project_path(project, kind, iid, "notes", int(note["id"])),
                                  json={"body": body})
    return NoteOutcome("updated", updated, pages, scanned)


def note_url(note: dict[str, Any], web_url: str | None, kind: str, iid: int) -> str:
    """The note's web address (GitLab's notes carry none in older versions: built from the project's)."""
    url = note.get("web_url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url
    return f"{web_url}/-/{kind}/{iid}#note_{note.get('id')}" if web_url else ""
