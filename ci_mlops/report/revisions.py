"""Which two revisions a report compares.

Base, first match wins: ``--base``; in a pull request (or GitLab merge request) job, the
merge base of HEAD with ``origin/BRANCH`` (or ``BRANCH``) of its target branch
(:func:`change_base_branch`); ``base`` in
``.ci-mlops.yml``; the default branch. Implicit bases use the merge base with HEAD,
so a PR is compared with the commit it branched from, as GitHub's diff does.
Head: ``--head``, else the workspace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ci_mlops.errors import UserError
from ci_mlops.git import WORKSPACE, Repo
from ci_mlops.record import mutable_record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from ci_mlops.config import Config

FETCH_HINT = ("set `fetch-depth: 0` on actions/checkout (or run `git fetch --no-tags origin {ref}`) "
              "so the base branch is in the clone")


@mutable_record
class Revision:
    ref: str          # as the user knows it: "main", "v1.2", "workspace"
    sha: str          # full SHA (for the workspace: HEAD's)
    rev: str | None   # what to read files at: the SHA, or None for the workspace


def change_base_branch(env: Mapping[str, str]) -> str | None:
    """The target branch of the pull or merge request this CI job runs for, else None.

    GitHub Actions: ``GITHUB_BASE_REF``; GitLab CI/CD: ``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``
    (set in merge request pipelines only).
    """
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_BASE_REF", "").strip():
        return env["GITHUB_BASE_REF"].strip()
    if env.get("GITLAB_CI") == "true" and env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "").strip():
        return env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"].strip()
    return None


def resolve_head(repo: Repo, head: str | None) -> Revision:
    if head is None or head == WORKSPACE:
        sha = repo.head()
        if sha is None:
            raise UserError("the repository has no commits yet: commit once so there is something to compare with")
        return Revision(WORKSPACE, sha, None)
    sha = repo.rev_parse(head)
    return Revision(head, sha, sha)


def resolve_base(repo: Repo, base: str | None, config: Config | None = None,
                 env: dict[str, str] | None = None) -> Revision:
    env = dict(os.environ) if env is None else env
    if base:
        sha = repo.rev_parse(base)
        return Revision(base, sha, sha)
    head_sha = repo.head()
    base_ref = change_base_branch(env)
    if base_ref:
        for candidate in (f"refs/remotes/origin/{base_ref}", base_ref):
            pr_base = repo.try_rev_parse(candidate)
            if pr_base:
                found = _merge_base(repo, pr_base, head_sha, base_ref)
                return Revision(base_ref, found, found)
        shallow = " (this is a shallow clone)" if repo.is_shallow() else ""
        raise UserError(f"the PR's base branch '{base_ref}' is not in this clone{shallow}: "
                        + FETCH_HINT.format(ref=base_ref))
    configured = config.settings.base if config is not None else None
    name = configured or repo.default_branch()
    named: str | None = None
    for candidate in (name, f"refs/remotes/origin/{name}"):
        named = repo.try_rev_parse(candidate)
        if named:
            break
    if named is None:
        if configured:
            raise UserError(f"base branch '{configured}' (from `base` in .ci-mlops.yml) is not in this clone: "
                            + FETCH_HINT.format(ref=configured))
        repo.rev_parse(name)  # raises the standard unknown-revision error (with the shallow hint)
        raise AssertionError("unreachable")
    found = _merge_base(repo, named, head_sha, name)
    return Revision(name, found, found)


def _merge_base(repo: Repo, base_sha: str, head_sha: str | None, name: str) -> str:
    if head_sha is None or head_sha == base_sha:
        return base_sha
    try:
        return repo.merge_base(base_sha, head_sha)
    except UserError as exc:
        if repo.is_shallow():
            raise UserError(f"cannot find where HEAD branched from '{name}' in this shallow clone: "
                            + FETCH_HINT.format(ref=name)) from exc
        raise

