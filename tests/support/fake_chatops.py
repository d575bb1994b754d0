"""Collaborator permissions, workflow dispatches and reactions, for tests/support/fake_github.py.

As on GitHub: ``GET /collaborators/{user}/permission`` answers ``permission`` (admin, write,
read or none; maintain reads as write and triage as read there) and ``role_name`` (the
finer role); a user who is not a collaborator of a public repository has read.
``POST /actions/workflows/{file}/dispatches`` needs a ref and at most 25 inputs, each a
string, number or boolean, and answers 204 with no body; the workflow file must exist
(``workflows``) or it is 404. ``POST /issues/comments/{id}/reactions`` takes one of
GitHub's eight reaction contents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
_COARSE = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}


class ChatopsError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class RepoChatops:
    roles: dict[str, str] = field(default_factory=dict)  # login -> admin|maintain|write|triage|read
    workflows: set[str] = field(default_factory=set)  # workflow file names that exist
    dispatches: list[dict] = field(default_factory=list)  # {"workflow", "ref", "inputs"}
    reactions: list[dict] = field(default_factory=list)  # {"comment_id", "content", "user"}


def route(state: RepoChatops, method: str, rest: str, data: dict, actor: str,
          comment_exists: Any) -> tuple[int, Any] | None:
    """Serve the request when it is one of these endpoints; None when it is not."""
    if (m := re.fullmatch(r"/collaborators/([^/]+)/permission", rest)) and method == "GET":
        role = state.roles.get(m[1], "read")
        return 200, {"permission": _COARSE.get(role, "none"), "role_name": role,
                     "user": {"login": m[1], "type": "User"}}
    if (m := re.fullmatch(r"/actions/workflows/([^/]+)/dispatches", rest)) and method == "POST":
        if m[1] not in state.workflows:
            raise ChatopsError(404, "Not Found")
        inputs = data.get("inputs") or {}
        if not isinstance(data.get("ref"), str) or not data["ref"]:
            raise ChatopsError(422, "Invalid request: ref is required")
        if not isinstance(inputs, dict) or len(inputs) > 25 or not all(
                isinstance(v, (str, int, float, bool)) for v in inputs.values()):
            raise ChatopsError(422, "Invalid request: inputs")
        state.dispatches.append({"workflow": m[1], "ref": data["ref"], "inputs": dict(inputs)})
        return 204, None
    if (m := re.fullmatch(r"/issues/comments/(\d+)/reactions", rest)) and method == "POST":
        if not comment_exists(int(m[1])):
            raise ChatopsError(404, "Not Found")
        if data.get("content") not in REACTIONS:
            raise ChatopsError(422, "Validation Failed")
        reaction = {"comment_id": int(m[1]), "content": data["content"], "user": actor}
        state.reactions.append(reaction)
        return 201, reaction
    return None
