"""Commit statuses on GitLab: one per check, attached to the running pipeline, safe to repeat.

``POST /projects/:id/statuses/:sha`` with GitLab's states (``pending``, ``running``,
``success``, ``failed``, ``canceled``). ``pipeline_id`` and ``ref`` tie the status to
this job's pipeline, so it shows on the merge request next to the pipeline's jobs.
GitLab refuses to post a status in the state it already has (400 "Cannot transition
status via :success from :success"): a re-run, or a retried request whose first answer
was lost, reads the status back and counts it as done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ci_mlops.github.client import ApiError

if TYPE_CHECKING:
    from ci_mlops.gitlab.client import GitLabClient

STATE = {"success": "success", "failure": "failed", "error": "failed", "pending": "running"}
DESCRIPTION_LIMIT = 255


def status_payload(state: str, context: str, description: str, target_url: str | None, *,
                   ref: str | None = None, pipeline_id: str | None = None) -> dict[str, Any]:
    from ci_mlops.github.status import clip

    payload: dict[str, Any] = {"state": STATE[state], "name": context, "description": clip(description, DESCRIPTION_LIMIT)}
    if target_url and target_url.startswith(("http://", "https://")):
        payload["target_url"] = target_url
    if ref:
        payload["ref"] = ref
    if pipeline_id and pipeline_id.isdigit():
        payload["pipeline_id"] = int(pipeline_id)
    return payload


def post_status(client: GitLabClient, project: str, sha: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Post ``payload``; when GitLab says the commit already has that state, the existing status."""
    try:
        posted: dict[str, Any] = client.request_json("POST", client.project_path(project, "statuses", sha),
                                                     json=payload, idempotent=True)
        return posted
    except ApiError as exc:
        if exc.status != 400 or "cannot transition status" not in exc.message.lower():
            raise
        current = latest_status(client, project, sha, payload["name"])
        if current is None or current.get("status") != payload["state"]:
            raise
        return current


def latest_status(client: GitLabClient, project: str, sha: str, name: str) -> dict[str, Any] | None:
    for status in client.paginate(client.project_path(project, "repository", "commits", sha, "statuses"),
                                  {"name": name, "all": "true"}):
        if status.get("name") == name:
            return status  # newest first
    return None
