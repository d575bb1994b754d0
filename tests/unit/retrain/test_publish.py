"""Retrain end to end below the workflow: a real DVC project, its local remote, the loopback GitHub
backed by the real git repository, and the two halves (stage without a token, publish with one)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci_mlops.errors import CheckFailed
from ci_mlops.github.client import GitHubClient
from ci_mlops.github.issues import upsert_issue
from ci_mlops.retrain.publish import publish
from ci_mlops.retrain.pulls import MARKER
from ci_mlops.retrain.settings import RetrainSettings
from ci_mlops.retrain.stage import retrain
from tests.support.dvc_factory import commit_all, copy_repo, git, run_dvc
from tests.support.fake_github import FakeGitHub

REPO = "o/r"
DAY = dt.date(2026, 12, 2)
DRIFT = (f"{sys.executable} -c \"import random; r = random.Random(7); "
         "open('data/raw.csv', 'a').write(''.join(f'{r.gauss(3, 1):.4f},{r.gauss(2, 1):.4f},1\\n' for _ in range(60)))\"")


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_dvc_repo) -> Path:
    return copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("retrain") / "repo")


@pytest.fixture
def origin(built, tmp_path) -> Path:
    return copy_repo(built, tmp_path / "origin" / "repo")


@pytest.fixture
def gh(origin):
    with FakeGitHub() as fake:
        fake.attach_git(REPO, origin)
        yield fake


@pytest.fixture
def client(gh):
    c = GitHubClient(gh.api_url, "t", sleep=lambda s: None)
    yield c
    c.close()


def clone(origin: Path, dest: Path, *, pull: bool) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True)
    shutil.copy(origin / ".dvc" / "config.local", dest / ".dvc" / "config.local")
    if pull:
        run_dvc(dest, "pull", "-q")
    return dest


def stage(origin: Path, tmp_path: Path, name: str, refresh: str | None = DRIFT) -> tuple[Path, str]:
    work = clone(origin, tmp_path / name / "work", pull=True)
    folder = tmp_path / name / "handover"
    base = git(work, "rev-parse", "HEAD").strip()
    settings = RetrainSettings(refresh=refresh)
    try:
        retrain(work, folder, settings, reason="drift", base=base, echo=lambda line: None)
    except CheckFailed:
        pass
    return folder, base


def run_publish(origin: Path, tmp_path: Path, name: str, folder: Path, client, *, issue: int | None,
                settings: RetrainSettings = RetrainSettings()):
    checkout = clone(origin, tmp_path / name / "checkout", pull=False)
    parent = git(checkout, "rev-parse", "HEAD").strip()
    return publish(checkout, folder, settings, client, REPO, base_branch="main", parent=parent, issue=issue,
                   run_url="http://x/run/1", today=DAY, echo=lambda line: None)


def drift_issue(client) -> int:
    return upsert_issue(client, REPO, problem=True, body="drifted")["number"]


def test_drift_opens_one_pr_on_a_branch_with_the_new_lock_and_links_the_issue(origin, tmp_path, gh, client):
    issue = drift_issue(client)
    folder, base = stage(origin, tmp_path, "one")
    outcome = run_publish(origin, tmp_path, "one", folder, client, issue=issue)
    assert outcome.action == "opened" and outcome.branch == "ci-mlops/retrain-2026-12-02"
    [pull] = gh.pulls(REPO)
    assert pull["head"]["ref"] == outcome.branch and pull["base"]["ref"] == "main"
    assert MARKER in pull["body"] and f"#{issue}" in pull["body"] and "`dvc.lock`" in pull["body"]
    labels = client.request_json("GET", f"repos/{REPO}/issues/{outcome.pr}")["labels"]
    assert [lab["name"] for lab in labels] == ["ci-mlops:retrain"]
    # the branch is one commit on the base with the new dvc.lock, metrics and the data's .dvc file
    head = git(origin, "rev-parse", outcome.branch).strip()
    assert git(origin, "rev-parse", f"{head}^").strip() == base
    changed = git(origin, "diff", "--name-only", base, head).split()
    assert {"dvc.lock", "metrics.json", "data/raw.csv.dvc"} <= set(changed) and "src/train.py" not in changed
    message = git(origin, "log", "-1", "--format=%B", head)
    assert "Ci-Mlops-Retrain: drift" in message and f"Ci-Mlops-Drift-Issue: {issue}" in message
    # the outputs reached the DVC remote: a fresh clone of the branch pulls them
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", "-b", outcome.branch, str(origin), str(fresh)], check=True)
    shutil.copy(origin / ".dvc" / "config.local", fresh / ".dvc" / "config.local")
    run_dvc(fresh, "pull", "-q")
    assert "data/raw.csv" not in run_dvc(fresh, "status", "-q").stdout
    # the issue links back, and the PR workflow was dispatched on the branch for the checks
    notes = [c for c in gh.comments(REPO, issue) if f"#{outcome.pr}" in c["body"]]
    assert len(notes) == 1
    assert gh.dispatches == [{"repo": REPO, "workflow": "ci-mlops-pr.yml", "ref": outcome.branch,
                              "inputs": {"pr": str(outcome.pr)}, "sha": head}]

    # a re-run with the same results changes nothing: no second PR, comment, dispatch or ref move
    moves = len(gh.ref_log)
    again = run_publish(origin, tmp_path, "two", folder, client, issue=issue)
    assert again.action == "unchanged" and again.pr == outcome.pr
    assert len(gh.pulls(REPO)) == 1 and len(gh.dispatches) == 1 and len(gh.ref_log) == moves
    assert len([c for c in gh.comments(REPO, issue) if f"#{outcome.pr}" in c["body"]]) == 1


def test_a_later_retrain_updates_the_same_pr(origin, tmp_path, gh, client):
    issue = drift_issue(client)
    first, _ = stage(origin, tmp_path, "a")
    opened = run_publish(origin, tmp_path, "a", first, client, issue=issue)
    more = DRIFT.replace("Random(7)", "Random(8)")
    second, _ = stage(origin, tmp_path, "b", refresh=more)
    updated = run_publish(origin, tmp_path, "b", second, client, issue=issue)
    assert updated.action == "updated" and updated.pr == opened.pr and updated.branch == opened.branch
    assert len(gh.pulls(REPO)) == 1 and len(gh.dispatches) == 2
    assert gh.pulls(REPO)[0]["head"]["sha"] == git(origin, "rev-parse", opened.branch).strip()


def test_a_lost_answer_creates_no_second_pr(origin, tmp_path, gh, client):
    folder, _ = stage(origin, tmp_path, "lost")
    gh.lose_answer(method="POST", path=r"^/repos/o/r/pulls$")
    outcome = run_publish(origin, tmp_path, "lost", folder, client, issue=None)
    assert outcome.action == "opened" and len(gh.pulls(REPO)) == 1
    assert gh.pulls(REPO)[0]["title"] == "Retrain on data drift"


def test_unchanged_data_opens_nothing(origin, tmp_path, gh, client):
    folder, _ = stage(origin, tmp_path, "same", refresh=None)
    outcome = run_publish(origin, tmp_path, "same", folder, client, issue=None)
    assert outcome.action == "nothing"
    assert gh.pulls(REPO) == [] and gh.ref_log == [] and gh.dispatches == []


def test_a_failed_step_comments_on_the_issue_and_pushes_no_branch(origin, tmp_path, gh, client):
    issue = drift_issue(client)
    folder, _ = stage(origin, tmp_path, "fail", refresh="echo fetching; echo 'server said no' >&2; exit 3")
    with pytest.raises(CheckFailed, match="step `refresh: echo fetching"):
        run_publish(origin, tmp_path, "fail", folder, client, issue=issue)
    [note] = [c for c in gh.comments(REPO, issue) if "Retraining failed" in c["body"]]
    assert "exit 3" in note["body"] and "server said no" in note["body"]
    assert gh.pulls(REPO) == [] and gh.ref_log == [] and gh.dispatches == []


def test_when_opening_the_pr_fails_the_new_branch_is_deleted(origin, tmp_path, gh, client):
    folder, _ = stage(origin, tmp_path, "nopr")
    gh.fail(status=422, method="POST", path=r"^/repos/o/r/pulls$", message="Validation Failed")
    with pytest.raises(Exception, match="422"):
        run_publish(origin, tmp_path, "nopr", folder, client, issue=None)
    assert [entry[0] for entry in gh.ref_log] == ["create", "delete"]
    assert git(origin, "branch", "--list", "ci-mlops/*").strip() == ""


def test_a_person_s_commit_on_the_retrain_branch_is_never_overwritten(origin, tmp_path, gh, client):
    folder, _ = stage(origin, tmp_path, "p1")
    opened = run_publish(origin, tmp_path, "p1", folder, client, issue=None)
    git(origin, "checkout", "-q", opened.branch)
    (origin / "NOTES.md").write_text("reviewed\n")
    theirs = commit_all(origin, "a reviewer's fix")
    git(origin, "checkout", "-q", "main")
    second, _ = stage(origin, tmp_path, "p2", refresh=DRIFT.replace("Random(7)", "Random(9)"))
    with pytest.raises(CheckFailed, match="has commits ci-mlops did not make"):
        run_publish(origin, tmp_path, "p2", second, client, issue=None)
    assert git(origin, "rev-parse", opened.branch).strip() == theirs


def test_a_branch_left_from_an_earlier_loop_gets_a_numbered_name(origin, tmp_path, gh, client):
    git(origin, "branch", "ci-mlops/retrain-2026-12-02")
    folder, _ = stage(origin, tmp_path, "n")
    outcome = run_publish(origin, tmp_path, "n", folder, client, issue=None)
    assert outcome.branch == "ci-mlops/retrain-2026-12-02-2"


def test_a_lost_answer_on_the_new_branch_creates_it_once(origin, tmp_path, gh, client):
    folder, _ = stage(origin, tmp_path, "lostref")
    gh.lose_answer(method="POST", path=r"/git/refs$")
    outcome = run_publish(origin, tmp_path, "lostref", folder, client, issue=None)
    assert outcome.action == "opened"
    assert [entry[0] for entry in gh.ref_log] == ["create"] and len(gh.pulls(REPO)) == 1
