"""The pipeline `ci-mlops init --ci gitlab` generates, run job by job against the loopback GitLab.

A real git + DVC repository (tests/support/dvc_factory.py) plays the GitLab project; each job runs
in a fresh clone at the pipeline's commit (tests/support/gitlab_sim.py: rules, stages, needs,
artifacts and dotenv reports as GitLab runs them). Four pipelines: a merge request (train,
gates, report: one sticky note, statuses, JUnit), the default branch (DVC push), a tag
(GitLab Release, then `audit verify`), and the scheduled drift monitor (issue opened, closed).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from tests.conftest import run_cli
from tests.support.dvc_factory import commit_all, copy_repo, git, repro, set_params
from tests.support.fake_gitlab import FakeGitLab
from tests.support.gitlab_sim import Pipeline

PROJECT = "ml/churn"
MARK = "<!-- ci-mlops:ci-mlops -->"


@pytest.fixture(scope="module")
def template(tmp_path_factory, shared_dvc_repo) -> Path:
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("gl-pipeline") / "repo")
    raw = (repo / "data" / "raw.csv").read_text()
    (repo / "data" / "live.csv").write_text(raw)  # production data, like the training data for now
    git(repo, "remote", "add", "origin", "git@gitlab.example.com:ml/churn.git")
    out = run_cli("init", "--yes", cwd=repo)  # --ci gitlab detected from the remote
    assert out.returncode == 0, out.stderr
    config = yaml.safe_load((repo / ".ci-mlops.yml").read_text())
    config["drift"] = {"reference": "data/raw.csv", "current": "data/live.csv"}
    (repo / ".ci-mlops.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert run_cli("init", "--yes", cwd=repo).returncode == 0  # the monitor job appears
    commit_all(repo, "ci-mlops init --ci gitlab")
    return repo


@pytest.fixture
def origin(template, tmp_path) -> Path:
    return copy_repo(template, tmp_path / "origin" / "repo")


@pytest.fixture
def gl():
    with FakeGitLab() as fake:
        fake.add_project(PROJECT)
        yield fake


def pipeline(gl: FakeGitLab, origin: Path, tmp_path: Path, name: str, **variables: str) -> Pipeline:
    predefined = {k: v for k, v in gl.env(project=PROJECT).items() if k != "CI_MLOPS_TOKEN"}
    predefined.update({"CI_PROJECT_DIR": "", "CI_JOB_URL": f"{gl.web_url}/{PROJECT}/-/jobs/{abs(hash(name)) % 10**6}"})
    predefined.update(variables)
    run = Pipeline(origin, tmp_path / name, predefined, {"CI_MLOPS_TOKEN": "glpat-write"})
    run.run()
    return run


def gate(origin: Path, minimum: float) -> None:
    config = yaml.safe_load((origin / ".ci-mlops.yml").read_text())
    config["metrics"] = {"test.accuracy": {"direction": "higher", "min": minimum}}
    (origin / ".ci-mlops.yml").write_text(yaml.safe_dump(config, sort_keys=False))


def mr_pipeline(gl: FakeGitLab, origin: Path, tmp_path: Path, name: str, sha: str) -> Pipeline:
    base = git(origin, "merge-base", "main", sha).strip()
    return pipeline(gl, origin, tmp_path, name, CI_PIPELINE_SOURCE="merge_request_event", CI_COMMIT_SHA=sha,
                    CI_COMMIT_REF_NAME="more-epochs", CI_MERGE_REQUEST_IID="1",
                    CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main", CI_MERGE_REQUEST_DIFF_BASE_SHA=base,
                    CI_MERGE_REQUEST_PROJECT_ID=str(gl.project(PROJECT).id),
                    CI_MERGE_REQUEST_SOURCE_PROJECT_ID=str(gl.project(PROJECT).id))


def test_merge_request_pipeline_reports_once_and_updates_in_place(gl, origin, tmp_path):
    gl.add_mr(PROJECT, 1)
    git(origin, "checkout", "-q", "-b", "more-epochs")
    set_params(origin, **{"train.epochs": 9})
    gate(origin, 0.999)  # the target branch has no gate yet: the workspace's would fail, base's decide
    first = commit_all(origin, "more epochs, a strict gate")  # DVC outputs not committed: CI retrains
    run = mr_pipeline(gl, origin, tmp_path, "mr1", first)
    assert set(run.results) == {"ci-mlops:train", "ci-mlops:report"}, run.results
    assert run.results["ci-mlops:train"].status == "success", run.results["ci-mlops:train"].log
    report = run.results["ci-mlops:report"]
    assert report.status == "success", report.log
    [note] = [n for n in gl.notes(PROJECT, 1) if n["body"].startswith(MARK)]
    assert "train.epochs" in note["body"] and "test.accuracy" in note["body"]
    statuses = {s["name"]: s["status"] for s in gl.gl_statuses(PROJECT, first)}
    assert statuses["ci-mlops/gates"] == "success"  # main's .ci-mlops.yml declares no gate: the MR's does not count
    assert "CI_MLOPS_COMMENT_URL" in report.dotenv and report.dotenv["CI_MLOPS_COMMENT_ID"] == str(note["id"])

    # The gate lands on main; the merge request's next commit misses it: the train job fails,
    # the report job still runs, the same note is updated, the failed gate is a status and a JUnit failure.
    git(origin, "checkout", "-q", "main")
    gate(origin, 0.999)
    commit_all(origin, "a strict gate on main")
    git(origin, "checkout", "-q", "more-epochs")
    git(origin, "merge", "-q", "--no-edit", "main")
    set_params(origin, **{"train.epochs": 7})
    second = commit_all(origin, "seven epochs")
    run = mr_pipeline(gl, origin, tmp_path, "mr2", second)
    assert run.results["ci-mlops:train"].status == "failed"
    assert run.results["ci-mlops:report"].status == "success", run.results["ci-mlops:report"].log
    notes = [n for n in gl.notes(PROJECT, 1) if n["body"].startswith(MARK)]
    assert [n["id"] for n in notes] == [note["id"]] and "train.epochs" in notes[0]["body"]
    statuses = {s["name"]: s["status"] for s in gl.gl_statuses(PROJECT, second)}
    assert statuses["ci-mlops/gates"] == "failed" and statuses["ci-mlops/gates/test.accuracy min"] == "failed"
    junit = ET.parse(run.results["ci-mlops:report"].workspace / ".ci-mlops/gates.xml").getroot()
    assert junit.find("testsuite").get("failures") == "1"
    # The train job ran the project's code without the API token.
    assert "glpat-write" not in run.results["ci-mlops:train"].log


def test_default_branch_pushes_outputs_and_a_tag_releases_them(gl, origin, tmp_path):
    set_params(origin, **{"train.epochs": 11})
    repro(origin)  # outputs in origin's cache, not on the remote
    head = commit_all(origin, "eleven epochs")
    model_md5 = next(o["md5"] for s in yaml.safe_load((origin / "dvc.lock").read_text())["stages"].values()
                     for o in s.get("outs", []) if o["path"] == "models/model.pkl")
    remote = (origin.parent / "remote")
    stored = lambda: any(p.name == model_md5[2:] for p in remote.rglob("*"))  # noqa: E731
    assert not stored()
    push = pipeline(gl, origin, tmp_path, "main", CI_PIPELINE_SOURCE="push", CI_COMMIT_SHA=head,
                    CI_COMMIT_BRANCH="main", CI_COMMIT_REF_NAME="main")
    assert set(push.results) == {"ci-mlops:train", "ci-mlops:dvc-push"}
    assert push.results["ci-mlops:dvc-push"].status == "success", push.results["ci-mlops:dvc-push"].log
    assert stored()

    git(origin, "tag", "v1.1.0")
    job_url = f"{gl.web_url}/{PROJECT}/-/jobs/5150"
    tag = pipeline(gl, origin, tmp_path, "tag", CI_PIPELINE_SOURCE="push", CI_COMMIT_SHA=head, CI_COMMIT_TAG="v1.1.0",
                   CI_COMMIT_REF_NAME="v1.1.0", CI_JOB_URL=job_url, GITLAB_USER_LOGIN="alice")
    assert set(tag.results) == {"ci-mlops:release"}
    assert tag.results["ci-mlops:release"].status == "success", tag.results["ci-mlops:release"].log
    release = gl.gl_releases(PROJECT)["v1.1.0"]
    assert sorted(link["name"] for link in release["assets"]["links"]) == ["lineage.json", "model-card.md", "model.pkl"]
    lineage = json.loads(gl.package_files(PROJECT)["churn/v1.1.0/lineage.json"])
    assert lineage["run_url"] == job_url and lineage["actor"] == "alice" and lineage["commit"] == head
    gl.add_job(PROJECT, 5150, sha=head, user="alice")
    env = {**gl.env(project=PROJECT), "CI_COMMIT_TAG": "v1.1.0"}
    verify = run_cli("audit", "verify", "v1.1.0", cwd=tag.results["ci-mlops:release"].workspace, env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def drifted(origin: Path) -> None:
    rows = list(csv.reader(io.StringIO((origin / "data" / "live.csv").read_text())))
    header, body = rows[0], rows[1:]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in body:
        writer.writerow([str(float(v) * 3 + 5) if v.replace(".", "", 1).lstrip("-").isdigit() else v for v in row])
    (origin / "data" / "live.csv").write_text(out.getvalue())


def test_scheduled_monitor_opens_then_closes_one_issue(gl, origin, tmp_path):
    schedule = {"CI_PIPELINE_SOURCE": "schedule", "CI_MLOPS_MONITOR": "true", "CI_COMMIT_BRANCH": "main"}
    original = (origin / "data" / "live.csv").read_text()
    drifted(origin)
    sha = commit_all(origin, "production data moved")
    run = pipeline(gl, origin, tmp_path, "monitor1", CI_COMMIT_SHA=sha, **schedule)
    assert set(run.results) == {"ci-mlops:monitor"}
    assert run.results["ci-mlops:monitor"].status == "failed"  # drift: the job fails, the issue says why
    [issue] = gl.gl_issues(PROJECT)
    assert issue["state"] == "opened" and "ci-mlops:drift" in issue["labels"]
    assert run.results["ci-mlops:monitor"].dotenv.get("CI_MLOPS_ISSUE_URL") == issue["web_url"]
    (origin / "data" / "live.csv").write_text(original)
    sha = commit_all(origin, "back to normal")
    run = pipeline(gl, origin, tmp_path, "monitor2", CI_COMMIT_SHA=sha, **schedule)
    assert run.results["ci-mlops:monitor"].status == "success", run.results["ci-mlops:monitor"].log
    [issue] = gl.gl_issues(PROJECT)
    assert issue["state"] == "closed" and len(gl.issue_notes(PROJECT, issue["iid"])) == 1
    # An ordinary schedule (no CI_MLOPS_MONITOR) runs none of ci-mlops' jobs.
    assert pipeline(gl, origin, tmp_path, "other", CI_COMMIT_SHA=sha, CI_PIPELINE_SOURCE="schedule").results == {}
