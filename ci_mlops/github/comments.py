"""The sticky pull-request comment: find it through every page, update it in place.

A ci-mlops comment starts with a hidden marker line, ``<!-- ci-mlops:ID -->``.
Finding it reads the PR's comments oldest first, 100 per page, and stops at the
first page holding the marker, so an update costs at most one list request per
100 existing comments plus one write. Creating is not idempotent: when a POST's
answer is lost, the comments are listed again and a comment that the lost POST
created is adopted instead of posting a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ci_mlops.errors import UserError
from ci_mlops.github.identity import token_identity

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient
    from ci_mlops.github.identity import Identity

MARKER_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
# CML appends ![](https://cml.dev/watermark.png#SHA "CML watermark LABEL") to its comments.
CML_WATERMARK_RE = re.compile(r"!\[\]\(https://cml\.dev/watermark\.png[^)\s]*\s+\"CML watermark[^\"]*\"\)")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64]


def marker_id(explicit: str | None, configured: str | None, workflow: str | None) -> str:
    """``--marker``, else ``comment.marker`` from the config, else the workflow name slugified."""
    value = explicit or configured or slugify(workflow or "") or "report"
    if not MARKER_ID_RE.fullmatch(value):
        raise UserError(f"marker {value!r}: use letters, digits, '.', '_', '-' or '/' (at most 100)")
    return value


def marker(ident: str) -> str:
    return f"<!-- ci-mlops:{ident} -->"


def has_marker(body: str | None, mark: str) -> bool:
    return body is not None and body.lstrip().startswith(mark)


def is_cml(body: str | None) -> bool:
    return body is not None and CML_WATERMARK_RE.search(body) is not None


@dataclass
class Found:
    comment: dict[str, Any] | None
    pages: int
    scanned: int
    via: str = ""  # "marker" or "cml"


@dataclass
class CommentOutcome:
    action: str  # created | updated | unchanged | adopted
    comment: dict[str, Any]
    found: Found | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.comment.get("html_url", ""))

    @property
    def id(self) -> int:
        return int(self.comment["id"])


def comments_path(repo: str, pr: int) -> str:
    return f"repos/{repo}/issues/{pr}/comments"


class Authors:
    """Decides whose comments (and issues) ci-mlops may take over: only the token's own.

    Anyone can post a comment that starts with our marker, and other bots and apps
    label issues too. Adopting such an item would let its author later edit "the
    ci-mlops report" into anything, or have us retitle and close their issue, so only
    items written by the token's own account count (:mod:`ci_mlops.github.identity`:
    ``github-actions[bot]`` for a ``GITHUB_TOKEN``, the app's bot for an app token,
    the user for a personal token). The account is asked for once, and only when an
    item carrying the marker turns up.
    """

    def __init__(self, client: GitHubClient):
        self._client = client
        self._identity: Identity | None = None

    def trusted(self, item: dict[str, Any]) -> bool:
        return self.identity().wrote(item)

    def identity(self) -> Identity:
        if self._identity is None:
            self._identity = token_identity(self._client)
        return self._identity


def find_sticky(client: GitHubClient, repo: str, pr: int, mark: str, *, replace_cml: bool = False) -> Found:
    """The oldest comment carrying ``mark``; failing that (with ``replace_cml``) the newest CML comment.

    Only comments written by the token's own account count (see :class:`Authors`).
    Stops reading at the first page holding the marker.
    """
    authors = Authors(client)
    cml: dict[str, Any] | None = None
    scanned = pages = 0
    url: str | None = client.url(comments_path(repo, pr))
    params: dict[str, Any] | None = {"per_page": 100}
    while url:
        response = client.request("GET", url, params=params)
        pages += 1
        for comment in client.json(response, list):
            scanned += 1
            if has_marker(comment.get("body"), mark) and authors.trusted(comment):
                return Found(comment, pages, scanned, "marker")
            if replace_cml and is_cml(comment.get("body")) and authors.trusted(comment):
                cml = comment
        url = client.next_link(response)
        params = None
    return Found(cml, pages, scanned, "cml" if cml else "")


def upsert(client: GitHubClient, repo: str, pr: int, body: str, mark: str, *, new: bool = False,
           replace_cml: bool = False) -> CommentOutcome:
    """Update the sticky comment in place, or create it; ``new`` always creates."""
    path = comments_path(repo, pr)
    found = None
    if not new:
        found = find_sticky(client, repo, pr, mark, replace_cml=replace_cml)
        if found.comment is not None:
            return _update(client, repo, found.comment, body, found)

    state: dict[str, Found] = {}

    def find_created() -> dict[str, Any] | None:
        # After a lost answer: did our POST land? Look for this exact body.
        again = find_sticky(client, repo, pr, mark) if not new else _find_body(client, repo, pr, body)
        state["found"] = again
        return again.comment

    comment = client.create_once(path, {"body": body}, find_created)
    if "found" in state and state["found"].comment is comment:
        outcome = _update(client, repo, comment, body, found)  # adopt; a no-op when it is ours
        outcome.action = "adopted" if outcome.action == "unchanged" else outcome.action
        outcome.notes.append("the answer to a POST was lost; adopted the comment it created instead of posting again")
        return outcome
    return CommentOutcome("created", comment, found)


def _update(client: GitHubClient, repo: str, comment: dict[str, Any], body: str, found: Found | None) -> CommentOutcome:
    if comment.get("body") == body:
        return CommentOutcome("unchanged", comment, found)
    updated = client.request_json("PATCH", f"repos/{repo}/issues/comments/{int(comment['id'])}", json={"body": body})
    outcome = CommentOutcome("updated", updated, found)
    if found is not None and found.via == "cml":
        outcome.notes.append("replaced the CML comment")
    return outcome


def _find_body(client: GitHubClient, repo: str, pr: int, body: str) -> Found:
    """The newest comment with exactly ``body`` that the token's own account wrote (what a lost POST made)."""
    authors = Authors(client)
    newest = None
    pages = scanned = 0
    for comment in client.paginate(comments_path(repo, pr)):
        scanned += 1
        if comment.get("body") == body and authors.trusted(comment):
            newest = comment
    return Found(newest, pages, scanned, "body")
