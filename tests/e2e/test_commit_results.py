"""train.commit_results, as GitHub would run it: CI trains a same-repo PR whose author pushed params
without retraining, and commits dvc.lock and the git-tracked metrics and plots back to the PR's branch
(outputs on the DVC remote); a fork's PR gets nothing committed and a report that says how to do it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_workflows import FORK, REPO, WORKFLOWS, runner
from tests.support.dvc_factory import commit_all, copy_repo, git, run_dvc, set_params
from tests.support.fake_github import FakeGitHub
from tests.support.init_repo import initialised_repo
from tests.support.runner_sim import JobResult, Runner, load_workflow

CONFIG = {"train": {"command": "dvc repro", "commit_results": True},
          "metrics": {"test.accuracy": {"direction": "higher", "min": 0.5}}}


@pytest.fixture(scope="module")
def template(tmp_path_factory, shared_dvc_repo) -> Path:
    return initialised_repo(shared_dvc_repo, tmp_path_factory.mktemp("commit-results") / "repo",
                            "ci-mlops init with train.commit_results", CONFIG)


@pytest.fixture
def origin(template, tmp_path) -> Path:
    return copy_repo(template, tmp_path / "origin" / "repo")


@pytest.fixture
def gh(origin):
    with FakeGitHub() as fake:
        fake.attach_git(REPO, origin)
        yield fake


def checkout_sha(origin: Path, workspace: Path, default: str):
    """actions/checkout of `with: ref` (a commit) or else the run's commit, with every branch fetched."""

    def checkout(with_: dict[str, str]) -> None:
        sha = with_.get("ref") or default
        workspace.mkdir(parents=True, exist_ok=True)
        git(workspace, "init", "-q")
        git(workspace, "remote", "add", "origin", origin.resolve().as_uri())
        git(workspace, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
        git(workspace, "checkout", "-q", "--force", "--detach", sha)
        shutil.copy(origin / ".dvc" / "config.local", workspace / ".dvc" / "config.local")

    return checkout


def push_pr_without_retraining(origin: Path, branch: str) -> str:
    """A PR that changes a param and pushes without `dvc repro`: dvc.lock and metrics are stale."""
    git(origin, "checkout", "-q", "-B", branch, "main")
    set_params(origin, **{"train.lr": 0.3})
    head = commit_all(origin, "try a smaller learning rate")
    git(origin, "checkout", "-q", "main")
    return head


def run_pr(origin: Path, tmp_path: Path, gh: FakeGitHub, name: str, number: int, head: str, branch: str, *,
           fork: bool, token: str) -> dict[str, JobResult]:
    base = git(origin, "rev-parse", "main").strip()
    event = {"action": "synchronize", "number": number, "pull_request": {
        "number": number, "head": {"sha": head, "ref": branch, "repo": {"full_name": FORK if fork else REPO}},
        "base": {"ref": "main", "sha": base, "repo": {"full_name": REPO}}}, "repository": {"full_name": REPO}}
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-pr.yml")
    jobs: dict[str, JobResult] = {}
    for job_id in ("train", "comment", "commit"):
        run: Runner = runner(tmp_path, f"{name}-{job_id}", gh, token=token, event_name="pull_request", event=event,
                             sha="f" * 40, ref=f"refs/pull/{number}/merge", base_ref="main", head_ref=branch,
                             artifacts=tmp_path / name / "artifacts")
        run.checkout = checkout_sha(origin, run.workspace, head)
        needs = workflow["jobs"][job_id].get("needs") or []
        jobs[job_id] = run.run_job(workflow, job_id, needs={n: jobs[n] for n in ([needs] if isinstance(needs, str) else needs)})
    return jobs


def test_a_same_repo_pr_gets_what_ci_trained_committed_to_its_branch(origin, tmp_path, gh):
    head = push_pr_without_retraining(origin, "feature")
    gh.add_pr(REPO, 7, head_sha=head, head_ref="feature")
    jobs = run_pr(origin, tmp_path, gh, "same", 7, head, "feature", fork=False, token="t")
    for job_id in ("train", "comment", "commit"):
        assert jobs[job_id].conclusion == "success", jobs[job_id].log()
    assert jobs["train"].outputs["results"] == "true"
    assert not any("GITHUB_TOKEN" in s.env for s in jobs["train"].steps)  # the PR's code never holds the token

    tip = git(origin, "rev-parse", "feature").strip()
    assert git(origin, "rev-parse", f"{tip}^").strip() == head  # one fast-forward commit on the PR's head
    changed = set(git(origin, "diff", "--name-only", head, tip).split())
    assert {"dvc.lock", "metrics.json"} <= changed and "params.yaml" not in changed and "src/train.py" not in changed
    message = git(origin, "log", "-1", "--format=%an%n%B", tip)
    assert message.startswith("github-actions[bot]") and f"Ci-Mlops-Results: {head}" in message
    # the branch now carries exactly what CI trained: its dvc.lock matches a fresh pipeline, and the
    # outputs it records are on the DVC remote
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", "-b", "feature", str(origin), str(fresh)], check=True)
    shutil.copy(origin / ".dvc" / "config.local", fresh / ".dvc" / "config.local")
    run_dvc(fresh, "pull", "-q")
    assert "changed" not in run_dvc(fresh, "status").stdout
    # the new head gets its checks: this workflow dispatched on the branch
    assert gh.dispatches == [{"repo": REPO, "workflow": "ci-mlops-pr.yml", "ref": "feature", "inputs": {"pr": "7"},
                              "sha": tip}]
    [comment] = [c for c in gh.comments(REPO, 7) if "<!-- ci-mlops" in c["body"]]
    assert "commits them to this branch" in comment["body"] and "`dvc.lock`" in comment["body"]


def test_a_fork_pr_is_told_what_to_run_and_nothing_is_committed(origin, tmp_path, gh):
    head = push_pr_without_retraining(origin, "fork-feature")
    gh.add_pr(REPO, 9, head_sha=head, head_ref="fork-feature", fork=True)
    jobs = run_pr(origin, tmp_path, gh, "fork", 9, head, "fork-feature", fork=True, token="ro")
    assert jobs["train"].conclusion == "success", jobs["train"].log()
    assert jobs["comment"].conclusion == "skipped" and jobs["commit"].conclusion == "skipped"
    assert git(origin, "rev-parse", "fork-feature").strip() == head and gh.ref_log == [] and gh.dispatches == []
    # the report the comment workflow posts for the fork says so, with the commands
    report = (tmp_path / "fork" / "artifacts" / "ci-mlops-report" / "report.md").read_text()
    assert "**they were not committed**" in report and "comes from a fork" in report
    commands = re.search(r"```sh\n(.*?)```", report, re.S)[1]
    assert commands.startswith("dvc repro\n") and "dvc push" in commands
    assert re.search(r"^git add .*dvc\.lock.*metrics\.json", commands, re.M), commands
    assert not (tmp_path / "fork" / "artifacts" / "ci-mlops-results").exists()
