"""drift.retrain.auto_merge: GitHub's auto-merge through GraphQL (no REST endpoint exists), a merge at
once when the base branch requires nothing, and only ci-mlops' own retrain PRs at the checked commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_mlops.github.client import GitHubClient
from tests.conftest import git, run_cli
from tests.support.fake_github import FakeGitHub

REPO = "o/r"
PREFIX = "ci-mlops/retrain-"


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "dvc.lock").write_text("old\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    return repo


@pytest.fixture
def gh(origin):
    with FakeGitHub() as fake:
        fake.attach_git(REPO, origin)
        fake.allow_auto_merge.add(REPO)
        yield fake


def open_retrain_pr(gh: FakeGitHub, origin: Path, *, body: str = "<!-- ci-mlops:retrain -->\nretrain",
                    branch: str = PREFIX + "2026-12-02", token: str = "t") -> tuple[int, str]:
    git(origin, "checkout", "-q", "-b", branch)
    (origin / "dvc.lock").write_text("new\n")
    git(origin, "commit", "-qam", "retrain\n\nCi-Mlops-Retrain: drift")
    sha = git(origin, "rev-parse", "HEAD").strip()
    git(origin, "checkout", "-q", "main")
    client = GitHubClient(gh.api_url, token)
    pull = client.request_json("POST", f"repos/{REPO}/pulls", json={"title": "Retrain", "head": branch,
                                                                      "base": "main", "body": body})
    client.close()
    return pull["number"], sha


def merge(gh: FakeGitHub, pr: int, sha: str, *extra: str):
    return run_cli("retrain", "merge", "--pr", str(pr), "--sha", sha, "--branch-prefix", PREFIX, "--method", "merge",
                   *extra, env=gh.env(repo=REPO))


def test_no_required_checks_merges_at_once(gh, origin):
    pr, sha = open_retrain_pr(gh, origin)
    out = merge(gh, pr, sha)
    assert out.returncode == 0, out.stderr
    assert "merged" in out.stderr
    [pull] = gh.pulls(REPO)
    assert pull["merged"] and git(origin, "rev-parse", "main^2").strip() == sha
    graphql = [r for r in gh.requests if r.path == "/graphql" and "mutation" in r.json()["query"]]
    assert len(graphql) == 1 and "enablePullRequestAutoMerge" in graphql[0].json()["query"]
    assert graphql[0].json()["variables"] == {"id": pull["node_id"], "method": "MERGE", "head": sha}


def test_required_checks_enable_github_auto_merge(gh, origin):
    gh.protect_branch(REPO, "main", ["Train, test and check"])
    pr, sha = open_retrain_pr(gh, origin)
    out = merge(gh, pr, sha)
    assert out.returncode == 0, out.stderr
    assert "auto-merge on" in out.stderr
    [pull] = gh.pulls(REPO)
    assert not pull["merged"] and pull["auto_merge"]["merge_method"] == "merge"
    assert gh.run_auto_merge(REPO) == []  # the required check has not passed yet
    client = GitHubClient(gh.api_url, "t")
    client.request_json("POST", f"repos/{REPO}/statuses/{sha}", json={"state": "success", "context": "Train, test and check"})
    client.close()
    assert gh.run_auto_merge(REPO) == [pr]


def test_a_repository_without_auto_merge_is_one_line(gh, origin):
    gh.allow_auto_merge.clear()
    pr, sha = open_retrain_pr(gh, origin)
    out = merge(gh, pr, sha)
    assert out.returncode == 2 and "Auto merge is not allowed" in out.stderr and "Allow auto-merge" in out.stderr
    assert "Traceback" not in out.stderr and not gh.pulls(REPO)[0]["merged"]


def test_a_head_that_moved_after_the_checks_is_not_merged(gh, origin):
    pr, sha = open_retrain_pr(gh, origin)
    out = merge(gh, pr, "a" * 40)
    assert out.returncode == 2 and "not merging a commit that was not checked" in out.stderr
    assert not gh.pulls(REPO)[0]["merged"]
    assert not any(r.path == "/graphql" and "mutation" in r.json()["query"] for r in gh.requests)


@pytest.mark.parametrize("case", ["no marker", "other branch", "someone else's"])
def test_only_ci_mlops_own_retrain_prs_are_merged(gh, origin, case):
    if case == "someone else's":
        gh.users["pat"] = "mallory"
        gh.tokens["pat"] = "write"
    pr, sha = open_retrain_pr(gh, origin, body="just a PR" if case == "no marker" else "<!-- ci-mlops:retrain -->",
                              branch="feature" if case == "other branch" else PREFIX + "x",
                              token="pat" if case == "someone else's" else "t")
    out = merge(gh, pr, sha)
    assert out.returncode == 0, out.stderr
    assert "not a ci-mlops retrain PR" in out.stderr and not gh.pulls(REPO)[0]["merged"]
