"""GitLab behind the forge interface (:class:`ci_mlops.forge.base.Forge`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ci_mlops.forge.base import IssueResult, NoteResult, StatusResult
from ci_mlops.gitlab import issues, notes, status
from ci_mlops.gitlab.notes import NOTE_LIMIT

if TYPE_CHECKING:
    from ci_mlops.gitlab.context import GitLabContext


class GitLabForge:
    name = "gitlab"
    title = "GitLab"
    change = "merge request"
    note_limit = NOTE_LIMIT

    def __init__(self, ctx: GitLabContext, **client_kwargs: Any):
        self.ctx = ctx
        self.project = ctx.require_project()
        self.client = ctx.client(**client_kwargs)

    @property
    def calls(self) -> list[tuple[str, str, int | str]]:
        return self.client.calls

    @property
    def notes_project(self) -> str:
        """Where the merge request lives: the target project (a fork's MR pipeline runs in the fork)."""
        return self.ctx.merge_request_project or self.project

    def upsert_note(self, number: int, body: str, mark: str, *, new: bool = False) -> NoteResult:
        project = self.notes_project
        out = notes.upsert_note(self.client, project, number, body, mark, new=new)
        web = self.ctx.project_url if project == self.project else None
        return NoteResult(out.action, out.id, notes.note_url(out.note, web, "merge_requests", number),
                          out.pages, out.scanned, out.notes)

    def set_status(self, sha: str, state: str, context: str, description: str,
                   target_url: str | None = None) -> StatusResult:
        payload = status.status_payload(state, context, description, target_url, ref=self.ctx.ref_name,
                                        pipeline_id=self.ctx.pipeline_id)
        got = status.post_status(self.client, self.project, sha.lower(), payload)
        return StatusResult(str(got.get("status", payload["state"])), context, str(got.get("target_url") or ""))

    def sync_issue(self, *, problem: bool, body: str, label: str, title: str, closing_note: str,
                   run_id: str | None = None, run_url: str | None = None) -> IssueResult:
        out = issues.upsert_issue(self.client, self.project, problem=problem, body=body, label=label, title=title,
                                  closing_note=closing_note, run_id=run_id, run_url=run_url)
        return IssueResult(out["action"], out["number"], out["url"])

    def close(self) -> None:
        self.client.close()
