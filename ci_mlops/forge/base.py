"""The forge interface and the records it returns, the same for every forge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ci_mlops.forge.ci import Context

# ci-mlops' own status vocabulary (GitHub's); each forge maps it to its own.
STATES = ("success", "failure", "pending", "error")


@dataclass
class NoteResult:
    """What became of the sticky comment (GitHub) or note (GitLab)."""

    action: str  # created | updated | unchanged | adopted
    id: int
    url: str
    pages: int = 0  # pages of existing comments read to find it
    scanned: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class StatusResult:
    """A commit status as the forge recorded it; ``state`` in the forge's own words."""

    state: str
    context: str
    url: str = ""


@dataclass
class IssueResult:
    action: str  # opened | updated | closed | none
    number: int | None
    url: str | None


class Forge(Protocol):
    """What ci-mlops asks of the forge hosting the repository."""

    name: str  # "github" | "gitlab"
    title: str  # "GitHub" | "GitLab"
    change: str  # "pull request" | "merge request"
    note_limit: int  # characters a comment/note may hold

    @property
    def ctx(self) -> Context:
        """The run's context (run_url, token, ...)."""

    @property
    def calls(self) -> list[tuple[str, str, int | str]]:
        """Every HTTP exchange so far: (method, path, status)."""

    def upsert_note(self, number: int, body: str, mark: str, *, new: bool = False) -> NoteResult:
        """Create the sticky comment of change ``number`` or update it in place (``new``: always create)."""

    def set_status(self, sha: str, state: str, context: str, description: str,
                   target_url: str | None = None) -> StatusResult:
        """Mark commit ``sha`` with ``state`` (one of :data:`STATES`) under ``context``; safe to repeat."""

    def sync_issue(self, *, problem: bool, body: str, label: str, title: str, closing_note: str,
                   run_id: str | None = None, run_url: str | None = None) -> IssueResult:
        """Open or update the monitor's issue while ``problem``, close it once it is gone."""

    def close(self) -> None: ...


def usage_line(calls: list[tuple[str, str, Any]], scanned: int | None = None, pages: int | None = None,
               noun: str = "comment") -> str:
    """``ci-mlops: 3 API call(s) (2 GET, 1 PUT); read 120 existing note(s) in 2 page(s)``."""
    from collections import Counter

    counts = Counter(method for method, _path, _status in calls)
    text = ", ".join(f"{n} {m}" for m, n in sorted(counts.items()))
    read = f"; read {scanned} existing {noun}(s) in {pages} page(s)" if scanned is not None and pages else ""
    return f"ci-mlops: {len(calls)} API call(s) ({text}){read}"
