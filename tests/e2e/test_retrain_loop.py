"""Close the loop, as GitHub would run it: drifted production data -> the monitor's issue -> a retrain
branch with an updated dvc.lock -> one PR with the sticky report -> gates pass, merged, tagged ->
the release's lineage names the PR and the issue. Then the same monitor with unchanged data opens nothing.

Real git and DVC (tests/support/dvc_factory.py) with a local DVC remote; the generated workflows run job by
job (tests/support/runner_sim.py), each job in a fresh workspace cloned from "origin", against the loopback
GitHub (tests/support/fake_github.py), whose pulls, refs and merges act on origin's real git repository.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.e2e.test_workflows import REPO, WORKFLOWS, run_release, runner
from tests.support.dvc_factory import copy_repo, git
from tests.support.fake_github import FakeGitHub
from tests.support.init_repo import initialised_repo
from tests.support.runner_sim import JobResult, load_workflow

DRIFT_CRON = "0 6 * * 1"
RETRAIN_CRON = "0 5 * * 1"
CONFIG = {
    "metrics": {"test.accuracy": {"direction": "higher", "min": 0.5}},
    "drift": {
        "reference": "data/raw.csv", "current": "data/live.csv", "schedule": DRIFT_CRON,
        "fetch": 'cp "$LIVE_DATA" data/live.csv',
        "retrain": {"refresh": 'cp "$LIVE_DATA" data/raw.csv', "auto_merge": True, "schedule": RETRAIN_CRON},
    },
}


@pytest.fixture(scope="module")
def template(tmp_path_factory, shared_dvc_repo) -> Path:
    return initialised_repo(shared_dvc_repo, tmp_path_factory.mktemp("retrain-loop") / "repo",
                            "ci-mlops init with drift.retrain", CONFIG)


@pytest.fixture
def origin(template, tmp_path) -> Path:
    return copy_repo(template, tmp_path / "origin" / "repo")


@pytest.fixture
def gh(origin):
    with FakeGitHub() as fake:
        fake.attach_git(REPO, origin)
        fake.allow_auto_merge.add(REPO)
        yield fake


def live_data(path: Path, *, shift: float) -> Path:
    rng = random.Random(11)
    rows = ["x1,x2,label"]
    for _ in range(150):
        label = rng.random() < 0.5
        rows.append(f"{rng.gauss((1.0 if label else -1.0) + shift, 1.2):.4f},"
                    f"{rng.gauss((0.5 if label else -0.5) + shift, 1.5):.4f},{int(label)}")
    path.write_text("\n".join(rows) + "\n")
    return path


def run_monitor(origin: Path, tmp_path: Path, gh: FakeGitHub, name: str, live: Path, cron: str) -> dict[str, JobResult]:
    """A scheduled monitor run on main: drift, retrain, propose, each on its own runner."""
    sha = git(origin, "rev-parse", "main").strip()
    event = {"schedule": cron, "repository": {"full_name": REPO}}
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-monitor.yml")
    jobs: dict[str, JobResult] = {}
    for job_id in workflow["jobs"]:
        run = runner(tmp_path, f"{name}-{job_id}", gh, token="t", event_name="schedule", event=event, sha=sha,
                     ref="refs/heads/main", origin=origin, workflow="ci-mlops monitor",
                     artifacts=tmp_path / name / "artifacts")
        run.extra_env["LIVE_DATA"] = str(live)
        needs = workflow["jobs"][job_id].get("needs") or []
        jobs[job_id] = run.run_job(workflow, job_id, needs={n: jobs[n] for n in ([needs] if isinstance(needs, str) else needs)})
    return jobs


def run_dispatched(origin: Path, tmp_path: Path, gh: FakeGitHub, name: str, dispatch: dict) -> dict[str, JobResult]:
    """The PR workflow as GitHub runs a workflow_dispatch on the retrain branch."""
    ref = f"refs/heads/{dispatch['ref']}"
    event = {"inputs": dispatch["inputs"], "ref": ref, "repository": {"full_name": REPO}}
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-pr.yml")
    jobs: dict[str, JobResult] = {}
    for job_id in workflow["jobs"]:
        if job_id in ("push", "fetch", "commit"):
            continue  # push events and same-repo pull_request events only
        run = runner(tmp_path, f"{name}-{job_id}", gh, token="t", event_name="workflow_dispatch", event=event,
                     sha=dispatch["sha"], ref=ref, origin=origin, artifacts=tmp_path / name / "artifacts")
        needs = workflow["jobs"][job_id].get("needs") or []
        jobs[job_id] = run.run_job(workflow, job_id, needs={n: jobs[n] for n in ([needs] if isinstance(needs, str) else needs)})
    return jobs


def test_drift_to_a_merged_released_retrain_then_nothing_when_unchanged(origin, tmp_path, gh):
    live = live_data(tmp_path / "live.csv", shift=2.5)
    base = git(origin, "rev-parse", "main").strip()

    # 1-2. drifted data: the monitor opens its issue, retrains on a branch and proposes it
    jobs = run_monitor(origin, tmp_path, gh, "monitor", live, DRIFT_CRON)
    assert jobs["drift"].conclusion == "failure" and jobs["drift"].outputs == {"drift": "true"}, jobs["drift"].log()
    assert jobs["retrain"].conclusion == "success", jobs["retrain"].log()
    assert jobs["propose"].conclusion == "success", jobs["propose"].log()
    [issue] = gh.issues(REPO)
    [pull] = gh.pulls(REPO)
    branch = pull["head"]["ref"]
    assert branch.startswith("ci-mlops/retrain-") and pull["base"]["ref"] == "main"
    assert f"#{issue['number']}" in pull["body"] and pull["title"] == f"Retrain on data drift (#{issue['number']})"
    changed = git(origin, "diff", "--name-only", base, branch).split()
    assert {"dvc.lock", "data/raw.csv.dvc", "metrics.json"} <= set(changed), changed
    assert not any(p.startswith((".github/", "src/")) for p in changed)
    assert git(origin, "rev-parse", "main").strip() == base  # never pushed to the base branch
    assert any(f"#{pull['number']}" in c["body"] for c in gh.comments(REPO, issue["number"]))  # the issue links back
    # the token reached only the job that runs no project code
    assert not any("GITHUB_TOKEN" in s.env for s in jobs["retrain"].steps)
    [dispatch] = gh.dispatches
    assert dispatch["workflow"] == "ci-mlops-pr.yml" and dispatch["ref"] == branch

    # 3-4. the dispatched PR workflow: one sticky report on the PR, gates pass, merged
    pr_jobs = run_dispatched(origin, tmp_path, gh, "pr", dispatch)
    for job_id in ("train", "comment", "merge"):
        assert pr_jobs[job_id].conclusion == "success", pr_jobs[job_id].log()
    [report] = [c for c in gh.comments(REPO, pull["number"]) if "<!-- ci-mlops" in c["body"]]
    # compared with main where the branch started, named by the PR; the retrained data moved the metric
    assert "test.accuracy" in report["body"] and base[:7] in report["body"], report["body"]
    assert f"`main` (`{base[:7]}`) → PR #{pull['number']} (`{dispatch['sha'][:7]}`)" in report["body"], report["body"]
    [merged] = gh.pulls(REPO)
    assert merged["merged"] is True and merged["state"] == "closed"
    merge_sha = git(origin, "rev-parse", "main").strip()
    assert merge_sha == merged["merge_commit_sha"]
    assert git(origin, "rev-parse", f"{merge_sha}^2").strip() == dispatch["sha"]

    # 5. tagged and released: the lineage names the PR and the issue; audit log shows the chain
    git(origin, "tag", "v1.1.0", merge_sha)
    plan, release = run_release(origin, tmp_path, gh, "v1.1.0", "release")
    assert release.conclusion == "success", release.log()
    [rel] = [r for r in gh.releases(REPO) if r["tag_name"] == "v1.1.0"]
    [asset] = [a for a in gh.assets(REPO, rel["id"]) if a["name"] == "lineage.json"]
    lineage = json.loads(gh.asset_bytes(REPO, asset["id"]))
    assert lineage["retrained_from"] == {"reason": "drift", "drift_issue": issue["number"],
                                         "pull_request": pull["number"], "commit": dispatch["sha"]}
    work = tmp_path / "release-release" / "work"
    log = run_cli("audit", "log", cwd=work)
    assert log.returncode == 0, log.stderr
    assert f"retrained on drift #{issue['number']} via PR #{pull['number']}" in log.stdout, log.stdout

    # the same run again, now that the model trained on the live data: nothing drifts, the
    # scheduled retrain reproduces nothing -> no PR, no branch, no dispatch; the issue closes
    refs = len(gh.ref_log)
    again = run_monitor(origin, tmp_path, gh, "again", live, RETRAIN_CRON)
    assert again["drift"].conclusion == "success" and again["drift"].outputs == {"drift": "false"}, again["drift"].log()
    assert again["retrain"].conclusion == "success", again["retrain"].log()
    assert again["retrain"].outputs == {"changed": "false"}
    assert again["propose"].conclusion == "success", again["propose"].log()
    assert len(gh.pulls(REPO)) == 1 and len(gh.dispatches) == 1 and len(gh.ref_log) == refs
    assert [i["state"] for i in gh.issues(REPO)] == ["closed"]


def test_unchanged_data_on_the_drift_schedule_runs_no_retrain(origin, tmp_path, gh):
    same = tmp_path / "same.csv"
    same.write_bytes((origin / "data" / "raw.csv").read_bytes())
    jobs = run_monitor(origin, tmp_path, gh, "quiet", same, DRIFT_CRON)
    assert jobs["drift"].conclusion == "success", jobs["drift"].log()
    assert jobs["retrain"].conclusion == "skipped" and jobs["propose"].conclusion == "skipped"
    assert gh.issues(REPO) == [] and gh.pulls(REPO) == [] and gh.dispatches == [] and gh.ref_log == []
