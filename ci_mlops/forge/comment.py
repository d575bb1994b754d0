"""The sticky report comment through the forge interface (GitLab merge requests use this path).

Read the report, put the marker line on top, shrink it to the forge's limit, show it in the
job log and save it as an artifact file, then create or update the one note. A merge request
from a fork runs in the fork's project without the parent's variables: with no token there,
the report stays in the job log and the artifact and the job succeeds with a notice; a
token that may not write (403) degrades the same way. A missing token in the project's own
merge request is a configuration error (exit 2), said in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import click

from ci_mlops.config import Config
from ci_mlops.config.records import Comment
from ci_mlops.errors import UserError
from ci_mlops.forge import outputs
from ci_mlops.forge.base import NoteResult, usage_line


@dataclass
class NotePlan:
    text: str
    body: str
    ident: str
    number: int

    @property
    def mark(self) -> str:
        from ci_mlops.github.comments import marker

        return marker(self.ident)


@dataclass
class NotePosted:
    result: NoteResult
    usage: str


@dataclass
class NoteSkipped:
    message: str


def gitlab_tail(run_url: str | None, limit: int) -> str:
    where = f"the [job log]({run_url})" if run_url else "the job log"
    return (f"\n\n> **Note:** this report was shortened to fit GitLab's {limit:,}-character note limit; the full "
            f"report is in {where} and its `report.md` artifact.\n")


def plan_note(ctx: Any, config: Config, *, text: str, number: int | None, marker_opt: str | None, limit: int,
              tail: str | None) -> NotePlan:
    from ci_mlops.github.comments import marker, marker_id
    from ci_mlops.github.shrink import shrink

    ident = marker_id(marker_opt, (config.settings.comment or Comment()).marker, None)
    number = number or ctx.merge_request
    if number is None:
        raise UserError("not in a merge request pipeline (no CI_MERGE_REQUEST_IID): pass --pr N, or run the job "
                        "with rules: if: $CI_PIPELINE_SOURCE == \"merge_request_event\"")
    body = shrink(f"{marker(ident)}\n{text}", limit, run_url=ctx.run_url, tail=tail)
    return NotePlan(text, body, ident, number)


def save_report(folder: Path, plan: NotePlan, head_sha: str | None) -> None:
    import json

    from ci_mlops.fsutil import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "report.md", plan.text)
    atomic_write(folder / "pr.json", json.dumps({"pr": plan.number, "head_sha": head_sha or "", "marker": plan.ident})
                 + "\n")


def post_note(forge_factory: Callable[[], Any], ctx: Any, plan: NotePlan, *, new: bool,
              env: Mapping[str, str]) -> NotePosted | NoteSkipped:
    """Create or update the note; NoteSkipped (never an error) for a fork's MR without a usable token."""
    from ci_mlops.github.client import ApiError

    if not ctx.token:
        if getattr(ctx, "from_fork", False):
            return NoteSkipped(f"merge request !{plan.number} comes from a fork and its pipeline has no "
                               "CI_MLOPS_TOKEN (GitLab withholds the parent project's variables): the report is in "
                               "the job log and the report.md artifact; not posted")
        ctx.require_token()  # UserError: the project's own MR must have the token
    forge = forge_factory()
    try:
        result = forge.upsert_note(plan.number, plan.body, plan.mark, new=new)
    except ApiError as exc:
        if exc.status == 403:
            return NoteSkipped(f"the token may not write notes on merge request !{plan.number} ({exc.message}); the "
                               "report is in the job log and the report.md artifact; not posted")
        if exc.status == 404:
            raise UserError(f"merge request !{plan.number} not found in project {forge.notes_project}, or the token "
                            "cannot see it") from None
        raise
    finally:
        forge.close()
    return NotePosted(result, usage_line(forge.calls, result.scanned, result.pages, "note"))


class Posting(Protocol):
    """The sticky comment or note as posted (GitHub's ``CommentOutcome``, a forge's :class:`NoteResult`)."""

    @property
    def action(self) -> str: ...
    @property
    def id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def notes(self) -> Sequence[str]: ...


def echo_posted(outcome: Posting, usage: str, noun: str) -> None:
    """What ``comment`` says once it posted: the step outputs, the notes, the URL, then the API calls."""
    outputs.set_output("comment-url", outcome.url)
    outputs.set_output("comment-id", str(outcome.id))
    for note in outcome.notes:
        click.echo(f"ci-mlops: {note}", err=True)
    click.echo(f"{outcome.action} {noun} {outcome.url}")
    click.echo(usage, err=True)
