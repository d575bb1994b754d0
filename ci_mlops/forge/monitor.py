"""The drift monitor's issue on whichever forge this job runs on (``drift --issue``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ci_mlops.config.records import Drift, DriftIssue

if TYPE_CHECKING:
    from ci_mlops.github.issues import IssueOutcome

DEFAULT_LABEL = DriftIssue.label
DEFAULT_TITLE = DriftIssue.title
CLOSING_NOTE = "The latest monitor run found no dataset drift; closing this issue."


def sync_issue(settings: Drift | None, markdown: str, *, problem: bool,
               env: Mapping[str, str] | None = None) -> IssueOutcome:
    """Open, update or close the monitor's issue; ``{"action", "number", "url"}``.

    ``settings`` is the ``drift:`` section (``issue.label``, ``issue.title``).
    """
    from ci_mlops.forge import forge_from_env

    env = os.environ if env is None else env
    forge = forge_from_env(env)
    issue = (settings.issue if settings is not None else None) or DriftIssue()
    run_url = forge.ctx.run_url
    body = markdown + (f"\n\n_Updated by [this monitor run]({run_url})._\n" if run_url else "")
    run_id = getattr(forge.ctx, "run_id", None) or getattr(forge.ctx, "pipeline_id", None)
    try:
        result = forge.sync_issue(problem=problem, body=body, label=issue.label,
                                  title=issue.title, closing_note=CLOSING_NOTE,
                                  run_id=run_id, run_url=run_url)
    finally:
        forge.close()
    return {"action": result.action, "number": result.number, "url": result.url}
