"""Pull-request lookups the comment needs: a PR by number, the open PR of a commit, its head."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ci_mlops.errors import UserError
from ci_mlops.github.client import ApiError

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient


def not_found(repo: str, pr: int) -> UserError:
    return UserError(f"pull request #{pr} not found in {repo} (or the token cannot see it)")


def get_pull(client: GitHubClient, repo: str, pr: int) -> dict[str, Any]:
    """The pull request; UserError when GitHub answers 404."""
    try:
        pull: dict[str, Any] = client.request_json("GET", f"repos/{repo}/pulls/{pr}")
        return pull
    except ApiError as exc:
        if exc.status == 404:
            raise not_found(repo, pr) from None
        raise


def head_of(client: GitHubClient, repo: str, pr: int) -> str | None:
    """The PR's current head commit."""
    head = get_pull(client, repo, pr).get("head", {}).get("sha")
    return head if isinstance(head, str) else None


def open_pull_for_commit(client: GitHubClient, repo: str, sha: str) -> int | None:
    """The open PR whose head is ``sha`` (the lowest-numbered when several are), or None.

    Only the head counts: a push to the default branch is also "in" every open PR that
    branched after it, and its report must not replace the sticky comment of those PRs.
    """
    pulls = [p for p in client.paginate(f"repos/{repo}/commits/{sha}/pulls")
             if p.get("state") == "open" and (p.get("head") or {}).get("sha") == sha]
    pulls.sort(key=lambda p: p.get("number", 0))
    return int(pulls[0]["number"]) if pulls else None
