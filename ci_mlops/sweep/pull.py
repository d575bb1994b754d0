"""The PR a sweep runs for: checked before anything runs, and `apply`'s commit to its branch.

A sweep runs the PR's code with the DVC remote's credentials, and `apply` writes to its
branch, so both refuse a PR from a fork and a commit that is not the PR's head (the
PR moved since the sweep was asked for). The commit is made through the Git Data API
(a tree on the head's tree, a commit whose parent is the head, a fast-forward of the
branch), so no git credentials are ever written to disk and a branch that moved in
between is refused by GitHub rather than overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_mlops.errors import UserError
from ci_mlops.github import gitdata
from ci_mlops.github.client import ApiError, GitHubClient
from ci_mlops.github.pulls import get_pull

SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class PullHead:
    number: int
    sha: str
    branch: str


def parse_pr(text: str | None) -> int | None:
    """``--pr`` from a workflow input: empty is none; anything but a positive integer is refused."""
    if text is None or not text.strip():
        return None
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text.strip()):
        raise UserError(f"--pr: '{text[:20]}' is not a pull request number")
    return int(text)


def checked_head(client: GitHubClient, repo: str, number: int, sha: str | None, pull: dict[str, Any] | None = None) -> PullHead:
    """The PR's head when it is an open same-repository PR whose head is ``sha`` (None: whatever
    it is now); else one line why not. ``pull``: the PR as the API answered, when already read."""
    if pull is None:
        pull = get_pull(client, repo, number)
    head = pull.get("head")
    if not isinstance(head, dict):
        head = {}
    repo_of_head = head.get("repo")
    head_repo = repo_of_head.get("full_name") if isinstance(repo_of_head, dict) else None
    if head_repo != repo:
        raise UserError(f"pull request #{number} comes from a fork ({head_repo or 'a deleted repository'}): "
                        "sweeps run the PR's code with the DVC remote's credentials and apply writes to its "
                        "branch, so ci-mlops does neither for forks")
    if pull.get("state") != "open":
        raise UserError(f"pull request #{number} is {pull.get('state')}, not open")
    head_sha, branch = head.get("sha"), head.get("ref")
    if not isinstance(head_sha, str) or not SHA.fullmatch(head_sha) or not isinstance(branch, str) or not branch:
        raise UserError(f"pull request #{number}: GitHub's answer has no head commit and branch")
    if sha is not None and head_sha != sha:
        raise UserError(f"pull request #{number} moved: its head is {head_sha[:12]}, this run has {sha[:12]}; "
                        "comment /ci-mlops sweep again for the new head")
    return PullHead(number, head_sha, branch)


def commit_files(client: GitHubClient, repo: str, root: Path, head: PullHead, paths: list[str], message: str) -> str:
    """Commit ``paths`` (their content in the work tree) on top of the PR's head; returns the commit sha.

    Blobs, then a tree on the head's own tree (as GitHub has it), then a commit whose only
    parent is the head, then a fast-forward of the branch: a branch that moved meanwhile
    is refused by GitHub and nothing changes.
    """
    if not paths:
        raise UserError("nothing to commit: the branch already has these params and dvc.lock")
    files = [(rel, (root / rel).read_bytes()) for rel in paths]
    commit = gitdata.commit_files(client, repo, parent=head.sha, files=files, message=message)
    try:
        gitdata.move_branch(client, repo, head.branch, commit["sha"], force=False)
    except ApiError as exc:
        if exc.status == 422:
            raise UserError(f"the branch {head.branch} moved while applying (GitHub refused to update it: not a "
                            "fast-forward); nothing was changed") from None
        raise
    return commit["sha"]
