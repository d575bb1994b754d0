"""The drift monitor's issue on whichever forge this job runs on (``drift --issue``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULT_LABEL = "ci-mlops:drift"
DEFAULT_TITLE = "Data drift detected"
CLOSING_NOTE = "The latest monitor run found no dataset drift; closing this issue."


def sync_issue(settings: dict[str, Any], markdown: str, *, problem: bool,
               env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Open, update or close the monitor's issue; ``{"action", "number", "url"}``.

    ``settings`` is the ``drift:`` section (``issue.label``, ``issue.title``).
    """
    from ci_mlops.forge import forge_from_env

    env = os.environ if env is None else env
    forge = forge_from_env(env)
    issue_cfg = settings.get("issue") or {}
    run_url = forge.ctx.run_url
    body = markdown + (f"\n\n_Updated by [this monitor run]({run_url})._\n" if run_url else "")
    run_id = getattr(forge.ctx, "run_id", None) or getattr(forge.ctx, "pipeline_id", None)
    try:
        result = forge.sync_issue(problem=problem, body=body, label=issue_cfg.get("label", DEFAULT_LABEL),
                                  title=issue_cfg.get("title", DEFAULT_TITLE), closing_note=CLOSING_NOTE,
                                  run_id=run_id, run_url=run_url)
    finally:
        forge.close()
    return {"action": result.action, "number": result.number, "url": result.url}
