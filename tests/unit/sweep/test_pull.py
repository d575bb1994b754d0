"""The PR a sweep runs for, and apply's commit to its branch through the Git Data API."""

from __future__ import annotations

import hashlib
import json

import pytest

from ci_mlops.errors import UserError
from ci_mlops.github.client import GitHubClient
from ci_mlops.sweep.pull import PullHead, checked_head, commit_files, parse_pr
from tests.support.fake_github import FakeGitHub

REPO = "o/r"
HEAD = "c" * 40


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        yield fake


def test_pr_numbers_from_workflow_inputs():
    assert parse_pr("") is None and parse_pr(None) is None and parse_pr(" 7 ") == 7
    for bad in ("0", "-1", "7; id", "1e3", "x"):
        with pytest.raises(UserError):
            parse_pr(bad)


def test_only_an_open_same_repository_pr_at_this_commit(gh):
    client = GitHubClient(gh.api_url, "t")
    gh.add_pr(REPO, 1, head_sha=HEAD, head_ref="feature")
    assert checked_head(client, REPO, 1, HEAD) == PullHead(1, HEAD, "feature")
    with pytest.raises(UserError, match="moved: its head is cccccccccccc"):
        checked_head(client, REPO, 1, "d" * 40)
    gh.add_pr(REPO, 2, head_sha=HEAD, fork=True)
    with pytest.raises(UserError, match="comes from a fork"):
        checked_head(client, REPO, 2, HEAD)
    gh.add_pr(REPO, 3, head_sha=HEAD, state="closed")
    with pytest.raises(UserError, match="is closed"):
        checked_head(client, REPO, 3, HEAD)
    with pytest.raises(UserError, match="not found"):
        checked_head(client, REPO, 9, HEAD)


def _seed(gh: FakeGitHub, files: dict[str, bytes], branch: str = "feature") -> str:
    """A commit with ``files`` in the fake's Git Data store, and ``branch`` at it."""
    store = gh.git(REPO)
    entries = {}
    for path, data in files.items():
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        store.blobs[blob] = data
        entries[path] = blob
    tree = hashlib.sha1(json.dumps(sorted(entries.items())).encode()).hexdigest()
    store.trees[tree] = entries
    store.commits[HEAD] = {"message": "head", "tree": tree, "parents": []}
    store.refs[f"refs/heads/{branch}"] = HEAD
    return HEAD


def test_commit_changes_exactly_the_given_files_on_top_of_the_head(gh, tmp_path):
    client = GitHubClient(gh.api_url, "t")
    before = {"params.yaml": b"train:\n  lr: 0.1\n", "dvc.lock": b"old\n", "src/train.py": b"print(1)\n"}
    _seed(gh, before)
    (tmp_path / "params.yaml").write_bytes(b"train:\n  lr: 0.05\n")
    (tmp_path / "dvc.lock").write_bytes(b"new\n")
    sha = commit_files(client, REPO, tmp_path, PullHead(7, HEAD, "feature"), ["params.yaml", "dvc.lock"], "apply")
    store = gh.git(REPO)
    assert store.refs["refs/heads/feature"] == sha and store.commits[sha]["parents"] == [HEAD]
    assert store.files(sha) == {**before, "params.yaml": b"train:\n  lr: 0.05\n", "dvc.lock": b"new\n"}
    # the branch moved meanwhile (someone pushed): GitHub refuses the update, nothing changes
    with pytest.raises(UserError, match="moved while applying"):
        commit_files(client, REPO, tmp_path, PullHead(7, HEAD, "feature"), ["dvc.lock"], "apply again")
    assert store.refs["refs/heads/feature"] == sha
    with pytest.raises(UserError, match="nothing to commit"):
        commit_files(client, REPO, tmp_path, PullHead(7, HEAD, "feature"), [], "nothing")
