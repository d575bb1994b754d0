"""Who the token is: the account its comments and issues are written under.

ci-mlops only takes over (edits, retitles, closes) comments and issues that this
account wrote: anyone can copy our marker or label, and another bot (another
GitHub App, another workflow's token) is not us.

How to ask, per kind of token:

* a personal access token or OAuth token: ``GET /user`` answers, and so does GraphQL;
* ``GITHUB_TOKEN`` and other GitHub App installation tokens: ``GET /user`` answers
  403 "Resource not accessible by integration" (and ``GET /app`` needs the app's JWT),
  but the GraphQL ``viewer`` is the app's bot user, ``github-actions[bot]`` for
  ``GITHUB_TOKEN``, with the same database id REST shows as ``user.id``.

So GraphQL's ``viewer { login databaseId }`` first, ``GET /user`` when GraphQL is not
there, and no guessing when neither answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_mlops.errors import UserError
from ci_mlops.github.client import ApiError, BadAnswer

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

VIEWER_QUERY = "query { viewer { login databaseId } }"


@dataclass(frozen=True)
class Identity:
    login: str
    id: int | None

    def wrote(self, item: object) -> bool:
        """Whether a comment or issue (its ``user``) was written by this account.

        By id when both sides have one (logins can be renamed and reused), else by login.
        """
        user = item.get("user") if isinstance(item, dict) else None
        if not isinstance(user, dict):
            return False
        uid = user.get("id")
        if self.id is not None and isinstance(uid, int) and not isinstance(uid, bool):
            return uid == self.id
        login = user.get("login")
        return isinstance(login, str) and login.lower() == self.login.lower()


def graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST API root: ``/graphql`` beside it, or ``/api/graphql``
    on GitHub Enterprise Server (REST at ``/api/v3``)."""
    api_url = api_url.rstrip("/")
    if api_url.endswith("/api/v3"):
        return api_url[: -len("/v3")] + "/graphql"
    return api_url + "/graphql"


def token_identity(client: GitHubClient) -> Identity:
    """The account behind the client's token; UserError when GitHub tells neither way."""
    problems = []
    try:
        answer = client.request_json("POST", graphql_url(client.api_url), json={"query": VIEWER_QUERY},
                                     idempotent=True)
        viewer = (answer.get("data") or {}).get("viewer") if isinstance(answer.get("data"), dict) else None
        found = _identity(viewer, "login", "databaseId")
        if found:
            return found
        problems.append(f"GraphQL viewer: {_graphql_error(answer)}")
    except ApiError as exc:
        problems.append(f"GraphQL viewer: {exc.status} {exc.message}")
    except BadAnswer as exc:
        problems.append(f"GraphQL viewer: {exc.message}")
    try:
        found = _identity(client.request_json("GET", "user"), "login", "id")
        if found:
            return found
        problems.append("GET /user: no login in the answer")
    except ApiError as exc:
        problems.append(f"GET /user: {exc.status} {exc.message}")
    except BadAnswer as exc:
        problems.append(f"GET /user: {exc.message}")
    raise UserError("cannot tell which account the token belongs to (" + "; ".join(problems) + "), so no "
                    "existing comment or issue can be recognised as ours; check the token and the API URL")


def _identity(node: Any, login_key: str, id_key: str) -> Identity | None:
    if not isinstance(node, dict) or not isinstance(node.get(login_key), str) or not node[login_key]:
        return None
    uid = node.get(id_key)
    return Identity(node[login_key], uid if isinstance(uid, int) and not isinstance(uid, bool) else None)


def _graphql_error(answer: Any) -> str:
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or "error")[:200]
    return "no viewer in the answer"
