"""GitHub behind the forge interface: a thin wrapper over :mod:`ci_mlops.github` (no second copy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ci_mlops.forge.base import IssueResult, NoteResult, StatusResult
from ci_mlops.github.shrink import COMMENT_LIMIT

if TYPE_CHECKING:
    from ci_mlops.github.context import GitHubContext


class GitHubForge:
    name = "github"
    title = "GitHub"
    change = "pull request"
    note_limit = COMMENT_LIMIT

    def __init__(self, ctx: GitHubContext, **client_kwargs: Any):
        self.ctx = ctx
        self.repo = ctx.require_repo()
        self.client = ctx.client(**client_kwargs)

    @property
    def calls(self) -> list[tuple[str, str, int | str]]:
        return self.client.calls

    def upsert_note(self, number: int, body: str, mark: str, *, new: bool = False) -> NoteResult:
        from ci_mlops.github.comments import upsert

        out = upsert(self.client, self.repo, number, body, mark, new=new)
        found = out.found
        return NoteResult(out.action, out.id, out.url, found.pages if found else 0, found.scanned if found else 0,
                          out.notes)

    def set_status(self, sha: str, state: str, context: str, description: str,
                   target_url: str | None = None) -> StatusResult:
        from ci_mlops.github.status import post_status, status_payload

        got = post_status(self.client, self.repo, sha.lower(), status_payload(state, description, context, target_url))
        return StatusResult(str(got.get("state", state)), context, str(got.get("target_url") or ""))

    def sync_issue(self, *, problem: bool, body: str, label: str, title: str, closing_note: str,
                   run_id: str | None = None, run_url: str | None = None) -> IssueResult:
        from ci_mlops.github.issues import upsert_issue

        out = upsert_issue(self.client, self.repo, problem=problem, body=body, label=label, title=title,
                           closing_note=closing_note, run_id=run_id, run_url=run_url)
        return IssueResult(out["action"], out["number"], out["url"])

    def close(self) -> None:
        self.client.close()
