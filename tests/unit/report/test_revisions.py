"""Which two revisions a report compares, in-process on real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git

from ci_mlops.config import parse_config
from ci_mlops.errors import UserError
from ci_mlops.git import WORKSPACE, Repo
from ci_mlops.report.revisions import resolve_base, resolve_head

ACTIONS_PR = {"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main"}


def commit(repo: Path, name: str, message: str) -> str:
    (repo / name).write_text(message)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def branched(git_repo: Path) -> tuple[Repo, str, str, str]:
    """main moved on after feature branched off it: (repo, fork point, main's tip, feature's tip)."""
    fork = git(git_repo, "rev-parse", "HEAD").strip()
    git(git_repo, "checkout", "-q", "-b", "feature")
    feature = commit(git_repo, "f.txt", "feature work")
    git(git_repo, "checkout", "-q", "main")
    main = commit(git_repo, "m.txt", "main moves on")
    git(git_repo, "checkout", "-q", "feature")
    return Repo(git_repo), fork, main, feature


def test_the_head_is_the_workspace_unless_named(branched: tuple[Repo, str, str, str]) -> None:
    repo, _, main, feature = branched
    head = resolve_head(repo, None)
    assert (head.ref, head.sha, head.rev) == (WORKSPACE, feature, None)
    named = resolve_head(repo, "main")
    assert (named.ref, named.sha, named.rev) == ("main", main, main)


def test_a_repository_without_commits_has_no_head(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    with pytest.raises(UserError, match="no commits yet"):
        resolve_head(Repo(tmp_path), None)


def test_an_explicit_base_is_taken_as_given_not_merge_based(branched: tuple[Repo, str, str, str]) -> None:
    repo, _, main, _ = branched
    base = resolve_base(repo, "main", env={})
    assert (base.ref, base.sha, base.rev) == ("main", main, main)


def test_the_default_branch_is_compared_at_the_fork_point(branched: tuple[Repo, str, str, str]) -> None:
    repo, fork, _, _ = branched
    base = resolve_base(repo, None, env={})
    assert (base.ref, base.sha) == ("main", fork)


def test_a_pull_request_run_uses_the_base_ref_over_the_config(branched: tuple[Repo, str, str, str]) -> None:
    repo, fork, main, _ = branched
    git(repo.root, "branch", "-q", "release", main)
    config = parse_config("base: release\n")
    assert resolve_base(repo, None, config, env=ACTIONS_PR).sha == fork
    assert resolve_base(repo, None, config, env={}).ref == "release"  # outside a PR run the config decides
    assert resolve_base(repo, None, config, env={}).sha == fork


def test_a_missing_pull_request_base_says_how_to_fetch_it(branched: tuple[Repo, str, str, str]) -> None:
    repo = branched[0]
    with pytest.raises(UserError, match=r"the PR's base branch 'develop' is not in this clone: set `fetch-depth: 0`"):
        resolve_base(repo, None, env={"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "develop"})


def test_a_configured_base_that_is_not_here_names_the_config(branched: tuple[Repo, str, str, str]) -> None:
    with pytest.raises(UserError, match=r"base branch 'stable' \(from `base` in .ci-mlops.yml\) is not in this clone"):
        resolve_base(branched[0], None, parse_config("base: stable\n"), env={})


def test_on_the_base_branch_itself_the_base_is_its_tip(branched: tuple[Repo, str, str, str]) -> None:
    repo, _, main, _ = branched
    git(repo.root, "checkout", "-q", "main")
    assert resolve_base(repo, None, env={}).sha == main


def test_unrelated_histories_have_no_base(branched: tuple[Repo, str, str, str]) -> None:
    repo = branched[0]
    git(repo.root, "checkout", "-q", "--orphan", "island")
    commit(repo.root, "i.txt", "unrelated")
    with pytest.raises(UserError, match="no common ancestor"):
        resolve_base(repo, None, env={})
