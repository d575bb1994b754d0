"""The retrain and results commands' one-line errors and exit codes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import git, run_cli
from tests.support.fake_github import FakeGitHub

REPO = "o/r"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo\n    metrics:\n    - m.json:\n        cache: false\n")
    (root / ".ci-mlops.yml").write_text("version: 1\ndrift:\n  reference: a.csv\n  current: b.csv\n  retrain: {}\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def handover(root: Path, folder: Path, path: str, data: bytes) -> None:
    (folder / "files" / Path(path).parent).mkdir(parents=True, exist_ok=True)
    (folder / "files" / path).write_bytes(data)
    head = git(root, "rev-parse", "HEAD").strip()
    (folder / "retrain.json").write_text(json.dumps({
        "format": 1, "kind": "retrain", "status": "changed", "reason": "drift", "base": head,
        "files": [{"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}]}))


def test_retrain_without_drift_retrain_is_one_line(project):
    (project / ".ci-mlops.yml").write_text("version: 1\n")
    out = run_cli("retrain", "run", "out", cwd=project)
    assert out.returncode == 2 and out.stderr.strip().endswith("drift.retrain is not set; nothing to retrain")
    assert len(out.stderr.strip().splitlines()) == 1


def test_publish_refuses_a_workflow_file_and_writes_nothing(project, tmp_path):
    folder = tmp_path / "h"
    handover(project, folder, ".github/workflows/evil.yml", b"on: push\n")
    with FakeGitHub() as gh:
        gh.attach_git(REPO, project)
        out = run_cli("retrain", "publish", str(folder), cwd=project, env=gh.env(repo=REPO))
        assert out.returncode == 1, out.stderr
        assert ".github/workflows/evil.yml is not a result" in out.stderr and "Traceback" not in out.stderr
        assert not any(r.is_write for r in gh.requests) and gh.ref_log == []
    assert not (project / ".github").exists()


def test_publish_of_an_unchanged_run_opens_nothing(project, tmp_path):
    folder = tmp_path / "h"
    folder.mkdir()
    (folder / "retrain.json").write_text(json.dumps({"format": 1, "kind": "retrain", "status": "unchanged",
                                                     "base": "x", "files": []}))
    with FakeGitHub() as gh:
        gh.attach_git(REPO, project)
        out = run_cli("retrain", "publish", str(folder), cwd=project, env=gh.env(repo=REPO))
        assert out.returncode == 0, out.stderr
        assert "nothing changed after `dvc repro`: no pull request" in out.stderr
        assert not any(r.is_write for r in gh.requests)


def test_results_commit_never_writes_a_fork_s_branch(project, tmp_path):
    folder = tmp_path / "h"
    handover(project, folder, "m.json", b"{}")
    with FakeGitHub() as gh:
        gh.attach_git(REPO, project)
        gh.add_pr(REPO, 3, head_sha=git(project, "rev-parse", "HEAD").strip(), head_ref="f", fork=True)
        out = run_cli("results", "commit", str(folder), "--pr", "3", cwd=project, env=gh.env(repo=REPO))
        assert out.returncode == 2 and "comes from a fork; its branch is never written" in out.stderr
        assert not any(r.is_write for r in gh.requests)


def test_init_in_reusable_mode_says_retrain_has_no_jobs_there(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".ci-mlops.yml").write_text("version: 1\ntrain: {command: python train.py, commit_results: true}\n"
                                        "drift: {reference: a.csv, current: b.csv, retrain: {}}\n")
    out = run_cli("init", "--yes", "--mode", "reusable", "--dry-run", cwd=root)
    assert out.returncode == 0, out.stderr
    assert ("warning: .ci-mlops.yml: drift.retrain and train.commit_results: --mode reusable has no jobs for them yet"
            in out.stderr)
    full = run_cli("init", "--yes", "--dry-run", cwd=root)
    assert full.returncode == 0 and "has no jobs for" not in full.stderr
    assert "ci-mlops retrain publish" in full.stdout and "ci-mlops results commit" in full.stdout


def test_a_retrain_job_that_staged_nothing_is_reported_on_the_drift_issue(project, tmp_path):
    from ci_mlops.github.client import GitHubClient
    from ci_mlops.github.issues import upsert_issue

    with FakeGitHub() as gh:
        gh.attach_git(REPO, project)
        client = GitHubClient(gh.api_url, "t")
        issue = upsert_issue(client, REPO, problem=True, body="drifted")["number"]
        client.close()
        out = run_cli("retrain", "publish", str(tmp_path / "never-uploaded"), cwd=project, env=gh.env(repo=REPO))
        assert out.returncode == 1 and "retraining failed at step `the retrain job (before retraining)`" in out.stderr
        [note] = [c for c in gh.comments(REPO, issue) if "Retraining failed" in c["body"]]
        assert "no branch or pull request was pushed" in note["body"]
        assert gh.ref_log == [] and gh.pulls(REPO) == []
