"""Commit files and move branches through GitHub's Git Data API (no git credentials on disk).

Blobs, trees and commits are content-addressed, so resending them after a lost answer
is harmless; creating a branch is reconciled by reading it back. A commit made this way
with ``GITHUB_TOKEN`` is authored by github-actions[bot] and signed by GitHub. The retrain
pull request, a PR's training results, a sweep's ``apply`` and the plot images commit
through here.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from ci_mlops.errors import UserError
from ci_mlops.github.client import ApiError, GitHubClient


def ref_path(repo: str, branch: str, *, singular: bool = False) -> str:
    # Branch names keep their slashes in these paths (refs/heads/ci-mlops/retrain-...).
    return f"repos/{repo}/git/{'ref' if singular else 'refs'}/heads/{quote(branch, safe='/')}"


def branch_sha(client: GitHubClient, repo: str, branch: str) -> str | None:
    """The branch's head commit, or None when it does not exist."""
    try:
        ref = client.request_json("GET", ref_path(repo, branch, singular=True))
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    return str(ref["object"]["sha"])


def get_commit(client: GitHubClient, repo: str, sha: str) -> dict[str, Any]:
    commit: dict[str, Any] = client.request_json("GET", client.repo_path(repo, "git", "commits", sha))
    return commit


def commit_files(client: GitHubClient, repo: str, *, parent: str, files: list[tuple[str, bytes]],
                 message: str) -> dict[str, str]:
    """A new commit on ``parent`` with ``files`` written (mode 100644); ``{"sha", "tree"}``. No ref moves."""
    tree_of_parent = get_commit(client, repo, parent).get("tree")
    if not isinstance(tree_of_parent, dict) or not isinstance(tree_of_parent.get("sha"), str):
        raise UserError(f"GitHub's answer for commit {parent[:12]} has no tree")
    base_tree = tree_of_parent["sha"]
    entries = [{"path": path, "mode": "100644", "type": "blob", "sha": create_blob(client, repo, data)}
               for path, data in files]
    tree = client.request_json("POST", client.repo_path(repo, "git", "trees"), idempotent=True,
                               json={"base_tree": base_tree, "tree": entries})
    commit = client.request_json("POST", client.repo_path(repo, "git", "commits"), idempotent=True,
                                 json={"message": message, "tree": tree["sha"], "parents": [parent]})
    return {"sha": str(commit["sha"]), "tree": str(tree["sha"]), "base_tree": str(base_tree)}


def create_blob(client: GitHubClient, repo: str, data: bytes) -> str:
    """Store ``data`` as a blob; its sha. Content-addressed: sending it twice stores it once, so a retry is safe."""
    blob = client.request_json("POST", client.repo_path(repo, "git", "blobs"), idempotent=True,
                               json={"content": base64.b64encode(data).decode("ascii"), "encoding": "base64"})
    return str(blob["sha"])


def create_branch(client: GitHubClient, repo: str, branch: str, sha: str) -> None:
    """Create ``refs/heads/<branch>`` at ``sha``, once even when the answer is lost."""
    def find() -> dict[str, Any] | None:
        return {"sha": sha} if branch_sha(client, repo, branch) == sha else None

    client.create_once(client.repo_path(repo, "git", "refs"), {"ref": f"refs/heads/{branch}", "sha": sha}, find=find)


def move_branch(client: GitHubClient, repo: str, branch: str, sha: str, *, force: bool) -> None:
    """Point the branch at ``sha``; without ``force`` only a fast-forward (GitHub answers 422 otherwise)."""
    client.request_json("PATCH", ref_path(repo, branch), json={"sha": sha, "force": force})


def delete_branch(client: GitHubClient, repo: str, branch: str) -> None:
    try:
        client.request("DELETE", ref_path(repo, branch))
    except ApiError as exc:
        if exc.status not in (404, 422):  # already gone
            raise
