"""The workflows `ci-mlops init` generates, run job by job as a GitHub runner would.

A real git + DVC repo (tests/support/dvc_factory.py) plays the GitHub repository ("origin");
each job runs in a fresh workspace that its checkout step clones from origin the way
actions/checkout does (PR merge ref, tags, fetch-depth), against the loopback fake
GitHub API. tests/support/runner_sim.py evaluates the `if:` conditions and `${{ }}` values
and fails loudly on anything it does not model.
"""

from __future__ import annotations

import json
import shutil
from itertools import count
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from tests.support.dvc_factory import commit_all, copy_repo, git, repro, set_params
from tests.support.fake_github import FakeGitHub
from tests.support.init_repo import initialised_repo
from tests.support.runner_sim import JobResult, Runner, Scope, SimulationError, load_workflow, parse_output_file

REPO = "o/r"
FORK = "fork-owner/r"
WORKFLOWS = Path(".github/workflows")
_runs = count(100)


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory, shared_dvc_repo) -> Path:
    """The factory's repo after `ci-mlops init --yes`, committed on main."""
    return initialised_repo(shared_dvc_repo, tmp_path_factory.mktemp("wf-tpl") / "repo", "ci-mlops init")


@pytest.fixture
def origin(template, tmp_path) -> Path:
    return copy_repo(template, tmp_path / "origin" / "repo")


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        yield fake


# -- helpers: what GitHub and actions/checkout do -----------------------------------------------


def edit_config(repo: Path, **sections) -> None:
    path = repo / ".ci-mlops.yml"
    data = yaml.safe_load(path.read_text())
    data.update(sections)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def open_pr(origin: Path, number: int, branch: str, *, gate_min: float, **params) -> tuple[str, str]:
    """Push a PR branch that changes params (retrained) and the accuracy gate; make its merge ref.

    Returns (head sha, merge sha). The DVC outputs are not pushed, so CI must retrain.
    """
    git(origin, "checkout", "-q", "-B", branch, "main")
    set_params(origin, **params)
    edit_config(origin, metrics={"test.accuracy": {"direction": "higher", "min": gate_min}})
    repro(origin)
    head = commit_all(origin, f"PR {number}: {params}")
    merge_pr(origin, number, branch)
    git(origin, "checkout", "-q", "main")
    return head, git(origin, "rev-parse", f"refs/pull/{number}/merge").strip()


def merge_pr(origin: Path, number: int, branch: str) -> None:
    """refs/pull/N/merge: the test merge of the branch into main that GitHub builds."""
    tree = git(origin, "merge-tree", "--write-tree", "main", branch).split()[0]
    merge = git(origin, "commit-tree", tree, "-p", "main", "-p", branch, "-m", f"Merge {branch} into main").strip()
    git(origin, "update-ref", f"refs/pull/{number}/merge", merge)


def checkout_hook(origin: Path, workspace: Path, ref: str) -> callable:
    """actions/checkout: clone `ref` of origin into the workspace, honouring fetch-depth."""

    def checkout(with_: dict[str, str]) -> None:
        workspace.mkdir(parents=True, exist_ok=True)
        git(workspace, "init", "-q")
        git(workspace, "remote", "add", "origin", origin.resolve().as_uri())
        local = ref.replace("refs/heads/", "refs/remotes/origin/", 1) if ref.startswith("refs/heads/") else \
            ref.replace("refs/", "refs/remotes/", 1) if ref.startswith("refs/pull/") else ref
        if with_.get("fetch-depth", "1") == "0":
            git(workspace, "fetch", "-q", "--prune", "origin",
                "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*", f"+{ref}:{local}")
        else:
            git(workspace, "fetch", "-q", "--no-tags", "--depth=1", "origin", f"+{ref}:{local}")
        if ref.startswith("refs/heads/"):
            git(workspace, "checkout", "-q", "--force", "-B", ref.removeprefix("refs/heads/"), local)
        else:
            git(workspace, "checkout", "-q", "--force", "--detach", local)
        # The remote's location on this machine (on GitHub: credentials from secrets).
        local_config = origin / ".dvc" / "config.local"
        if local_config.is_file():
            shutil.copy(local_config, workspace / ".dvc" / "config.local")

    return checkout


def runner(tmp_path: Path, name: str, gh: FakeGitHub, *, token: str, event_name: str, event: dict, sha: str,
           ref: str, origin: Path | None = None, base_ref: str = "", head_ref: str = "",
           workflow: str = "ci-mlops PR", artifacts: Path | None = None) -> Runner:
    root = tmp_path / name
    ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
    workspace = root / "work"
    return Runner(
        workspace=workspace, temp=root / "temp", artifacts=artifacts or tmp_path / "artifacts",
        github={
            "token": token, "event_name": event_name, "event": event, "repository": REPO, "sha": sha, "ref": ref,
            "ref_name": ref.split("/", 2)[2], "ref_type": ref_type, "base_ref": base_ref, "head_ref": head_ref,
            "workflow": workflow, "run_id": str(next(_runs)), "server_url": gh.server_url, "api_url": gh.api_url,
            "actor": "octocat",
        },
        checkout=checkout_hook(origin, workspace, ref) if origin is not None else None,
    )


def pr_event(number: int, head_sha: str, branch: str, *, fork: bool = False) -> dict:
    return {"action": "synchronize", "number": number, "pull_request": {
        "number": number, "head": {"sha": head_sha, "ref": branch, "repo": {"full_name": FORK if fork else REPO}},
        "base": {"ref": "main", "repo": {"full_name": REPO}}}, "repository": {"full_name": REPO}}


def run_pr_job(origin: Path, tmp_path: Path, gh: FakeGitHub, name: str, number: int, head: str, merge: str,
               branch: str, *, token: str = "t", fork: bool = False) -> tuple[JobResult, JobResult]:
    """The PR workflow's train job, then its comment job (another runner: no checkout, the report by artifact)."""
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-pr.yml")
    jobs: dict[str, JobResult] = {}
    for job_id in ("train", "comment"):
        run = runner(tmp_path, f"{name}-{job_id}", gh, token=token, event_name="pull_request",
                     origin=origin if job_id == "train" else None,
                     event=pr_event(number, head, branch, fork=fork), sha=merge, ref=f"refs/pull/{number}/merge",
                     base_ref="main", head_ref=branch, artifacts=tmp_path / name / "artifacts")
        jobs[job_id] = run.run_job(workflow, job_id, needs=jobs)
    return jobs["train"], jobs["comment"]


def ci_comments(gh: FakeGitHub, number: int) -> list[dict]:
    return [c for c in gh.comments(REPO, number) if "ci-mlops" in c["body"]]


def outcomes(job: JobResult) -> dict[str, str]:
    return {s.name: s.outcome for s in job.steps}


# -- the PR workflow --------------------------------------------------------------------------------


def test_pr_passing_then_failing_gate_keeps_one_comment(origin, tmp_path, gh):
    head, merge = open_pr(origin, 7, "feature", gate_min=0.5, **{"train.epochs": 1, "train.lr": 0.5})
    gh.add_pr(REPO, 7, head_sha=head, head_ref="feature")

    job, commenter = run_pr_job(origin, tmp_path, gh, "run1", 7, head, merge, "feature")
    assert job.conclusion == "success", job.log()
    assert commenter.conclusion == "success", commenter.log()
    assert job.concurrency == ("ci-mlops-pr-7", "true")  # a new push to the PR supersedes this run
    steps = outcomes(job)
    assert steps["Install dependencies"] == "success" and job.step("Install dependencies").kind == "pip"
    assert job.step("Train").kind == "run" and "Running stage 'train'" in job.step("Train").stdout, job.log()
    assert steps["Check the quality gates"] == "success"
    assert steps["Stage the DVC outputs for the push job"] == "skipped"  # a PR run never pushes
    [comment] = ci_comments(gh, 7)
    assert "test.accuracy" in comment["body"] and "train.epochs" in comment["body"], comment["body"]
    # named by the PR's head commit, not GitHub's merge commit that the runner checked out
    assert f"→ PR #7 (`{head[:7]}`)" in comment["body"] and merge[:7] not in comment["body"]
    post = commenter.step("Post the PR comment")
    assert post.outputs["comment-id"] == str(comment["id"])
    # the token reaches only the comment job, which runs none of the PR's code
    assert not any("GITHUB_TOKEN" in s.env for s in job.steps)
    # The job summary has check's verdicts and the report once (the report step writes it).
    assert job.summary.count("#### Metrics (`metrics.json`)") == 1, job.summary
    # the comment job's summary holds only the plot images it published (tests/e2e/test_plot_images_e2e.py)
    assert "## ci-mlops check" in job.summary and "Metrics" not in commenter.summary
    # upload-artifact ran: the PR run always leaves the report for the comment job and workflow
    pr_json = json.loads((tmp_path / "run1" / "artifacts" / "ci-mlops-report" / "pr.json").read_text())
    assert pr_json["pr"] == 7 and pr_json["head_sha"] == head

    # A new push tightens the PR's own gate past what the branch reaches: the base branch's
    # gates still decide (the PR's apply after merge); the comment shows the change and its effect.
    git(origin, "checkout", "-q", "feature")
    edit_config(origin, metrics={"test.accuracy": {"direction": "higher", "min": 0.99}})
    head2 = commit_all(origin, "tighten the gate")
    merge_pr(origin, 7, "feature")
    git(origin, "checkout", "-q", "main")
    merge2 = git(origin, "rev-parse", "refs/pull/7/merge").strip()
    gh.set_pr_head(REPO, 7, head2)

    job, commenter = run_pr_job(origin, tmp_path, gh, "run2", 7, head2, merge2, "feature")
    assert job.conclusion == "success", job.log()
    [updated] = ci_comments(gh, 7)
    assert "Gate changes in this PR" in updated["body"] and "would fail" in updated["body"], updated["body"]
    assert "Gates: from .ci-mlops.yml at main" in job.step("check").stdout, job.log()

    # The base branch tightens the gate: now it decides, check fails, report and comment still run.
    edit_config(origin, metrics={"test.accuracy": {"direction": "higher", "min": 0.99}})
    commit_all(origin, "main: tighten the gate")
    merge_pr(origin, 7, "feature")
    merge3 = git(origin, "rev-parse", "refs/pull/7/merge").strip()

    job, commenter = run_pr_job(origin, tmp_path, gh, "run3", 7, head2, merge3, "feature")
    assert job.conclusion == "failure", job.log()
    steps = outcomes(job)
    assert steps["Check the quality gates"] == "failure"
    assert job.step("check").returncode == 1, job.log()
    assert steps["Build the report"] == "success", job.log()
    assert outcomes(commenter)["Post the PR comment"] == "success", commenter.log()
    assert steps["Upload the report for the comment job and the comment workflow (fork PRs)"] == "success"
    [updated] = ci_comments(gh, 7)
    assert updated["id"] == comment["id"] and updated["body"] != comment["body"]
    body = updated["body"]
    assert "Quality gates" in body and "0.99" in body, body
    assert "test.accuracy" in body
    assert "::error" in job.step("check").stdout + job.step("check").stderr, job.log()


def test_pr_from_a_fork_comments_through_the_comment_workflow(origin, tmp_path, gh):
    head, merge = open_pr(origin, 9, "fork-feature", gate_min=0.5, **{"train.lr": 0.3})
    gh.add_pr(REPO, 9, head_sha=head, head_ref="fork-feature", fork=True)

    # The fork's run has a read-only token: no comment, no failure, the report is uploaded.
    job, commenter = run_pr_job(origin, tmp_path, gh, "fork-run", 9, head, merge, "fork-feature", token="ro",
                                fork=True)
    assert job.conclusion == "success", job.log()
    assert commenter.conclusion == "skipped"  # the comment workflow posts for forks
    assert gh.comments(REPO, 9) == []
    store = tmp_path / "fork-run" / "artifacts"
    uploaded = store / "ci-mlops-report"
    assert json.loads((uploaded / "pr.json").read_text())["head_sha"] == head
    assert "test.accuracy" in (uploaded / "report.md").read_text()

    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-comment.yml")
    assert "actions/checkout" not in json.dumps(workflow)  # never checks out the PR's code

    def comment_run(name: str, head_repo: str = FORK) -> JobResult:
        event = {"action": "completed", "workflow_run": {
            "id": 555, "event": "pull_request", "head_sha": head, "head_branch": "fork-feature",
            "conclusion": "success", "name": "ci-mlops PR", "head_repository": {"full_name": head_repo}}}
        run = runner(tmp_path, name, gh, token="t", event_name="workflow_run", event=event, sha="c" * 40,
                     ref="refs/heads/main", workflow="ci-mlops comment", artifacts=store)
        run.run_artifacts = {"555": store}  # the PR run's artifacts, downloaded by its run id
        return run.run_job(workflow, "comment")

    # A forged artifact (pr.json claims another head commit) is refused: nothing posted.
    genuine = (uploaded / "pr.json").read_text()
    (uploaded / "pr.json").write_text(json.dumps({**json.loads(genuine), "head_sha": "d" * 40}))
    forged = comment_run("forged")
    assert forged.conclusion == "failure", forged.log()
    assert forged.step("Post the PR comment").returncode == 1, forged.log()
    assert gh.comments(REPO, 9) == []

    (uploaded / "pr.json").write_text(genuine)
    gh.add_run(REPO, 555, conclusion="success", head_sha=head, head_repo=FORK)  # what the Actions API says
    job = comment_run("comment")
    assert job.conclusion == "success", job.log()
    [comment] = ci_comments(gh, 9)
    assert "test.accuracy" in comment["body"]
    # Marked as the fork run's report, with that run's conclusion from the API as the verdict.
    assert "Unverified report from a fork" in comment["body"] and "run concluded: ✅ success" in comment["body"]

    # A PR run that failed before building its report uploaded nothing: nothing to post, no failure.
    shutil.rmtree(uploaded)
    missing = comment_run("no-artifact")
    assert missing.conclusion == "success", missing.log()
    assert outcomes(missing)["Download the report"] == "failure"
    assert outcomes(missing)["Post the PR comment"] == "skipped"
    assert len(gh.comments(REPO, 9)) == 1

    # A same-repository PR was commented on by its own run: the comment job is skipped.
    assert comment_run("same-repo", head_repo=REPO).conclusion == "skipped"
    assert len(gh.comments(REPO, 9)) == 1


def run_push(origin: Path, tmp_path: Path, gh: FakeGitHub, name: str, sha: str, **runner_kw) -> dict[str, JobResult]:
    """A push to main: the train job, then the comment and push jobs (other runners)."""
    event = {"ref": "refs/heads/main", "after": sha, "repository": {"full_name": REPO}}
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-pr.yml")
    jobs: dict[str, JobResult] = {}
    runners = {}
    for job_id in workflow["jobs"]:  # written in dependency order
        run = runner(tmp_path, f"{name}-{job_id}", gh, token="t", event_name="push", event=event, sha=sha,
                     ref="refs/heads/main", origin=origin if job_id != "comment" else None,
                     artifacts=tmp_path / name / "artifacts")
        for key, value in runner_kw.items():
            setattr(run, key, value)
        runners[job_id] = run
        needs = workflow["jobs"][job_id].get("needs") or []
        jobs[job_id] = run.run_job(workflow, job_id, needs={n: jobs[n] for n in ([needs] if isinstance(needs, str) else needs)})
    jobs["runners"] = runners  # type: ignore[assignment]
    return jobs


def test_push_to_main_pushes_to_the_dvc_remote_even_when_a_gate_fails(origin, tmp_path, gh):
    set_params(origin, **{"train.epochs": 2})
    edit_config(origin, metrics={"test.accuracy": {"direction": "higher", "min": 0.99}})
    repro(origin)  # not pushed: the default-branch run pushes
    sha = commit_all(origin, "fewer epochs")
    remote = origin.parent / "remote"
    before = {p for p in remote.rglob("*") if p.is_file()}
    jobs = run_push(origin, tmp_path, gh, "push", sha)
    job, pusher = jobs["train"], jobs["push"]
    assert job.conclusion == "failure", job.log()
    assert job.step("check").returncode == 1, job.log()
    assert job.concurrency == ("ci-mlops-pr-refs/heads/main", "false")  # default-branch runs finish their push
    steps = outcomes(job)
    assert steps["Save the PR number and head commit with the report"] == "skipped"
    assert steps["Stage the DVC outputs for the push job"] == "success", job.log()
    assert pusher.conclusion == "success", pusher.log()
    assert "validated" in pusher.step("Push data, models and run-cache to the DVC remote").stdout
    assert {p for p in remote.rglob("*") if p.is_file()} > before  # the new model reached the remote
    assert jobs["comment"].conclusion == "success"  # no open PR has this commit: nothing posted
    assert not [r for r in gh.requests if r.is_write]


@pytest.mark.plain_dvc  # one workflow whose `dvc` and ci-mlops' DVC start as in production
def test_push_job_refuses_tampered_outputs(origin, tmp_path, gh):
    set_params(origin, **{"train.epochs": 3})
    repro(origin)
    sha = commit_all(origin, "three epochs")
    remote = origin.parent / "remote"
    before = {p for p in remote.rglob("*") if p.is_file()}
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-pr.yml")
    event = {"ref": "refs/heads/main", "after": sha, "repository": {"full_name": REPO}}
    store = tmp_path / "artifacts"
    train = runner(tmp_path, "t-train", gh, token="t", event_name="push", event=event, sha=sha, ref="refs/heads/main",
                   origin=origin, artifacts=store).run_job(workflow, "train")
    assert train.outputs["staged-files"] not in ("", "0"), train.log()
    # something between the jobs swaps the model for other bytes under the same name
    model = next(p for p in (store / "ci-mlops-dvc-outputs" / "files").rglob("*") if p.is_file())
    model.write_bytes(b"planted")
    pusher = runner(tmp_path, "t-push", gh, token="t", event_name="push", event=event, sha=sha, ref="refs/heads/main",
                    origin=origin, artifacts=store).run_job(workflow, "push", needs={"train": train})
    step = pusher.step("Push data, models and run-cache to the DVC remote")
    assert step.returncode == 1 and "does not match its hash" in step.stderr, pusher.log()
    assert {p for p in remote.rglob("*") if p.is_file()} == before  # nothing reached the remote


@pytest.mark.parametrize("flags, in_summary", [((), True), (("--no-summary",), False)])
def test_report_summary_flag(template, tmp_path, flags, in_summary):
    summary = tmp_path / "summary.md"
    summary.write_text("")
    out = run_cli("report", "--base", "main", "-o", str(tmp_path / "report.md"), *flags, cwd=template,
                  env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert out.returncode == 0, out.stderr
    assert "8 metrics" in (tmp_path / "report.md").read_text()
    assert ("8 metrics" in summary.read_text()) is in_summary


# -- the release workflow ----------------------------------------------------------------------------


def run_release(origin: Path, tmp_path: Path, gh: FakeGitHub, tag: str, name: str) -> tuple[JobResult, JobResult]:
    sha = git(origin, "rev-parse", f"{tag}^{{commit}}").strip()
    ref = f"refs/tags/{tag}"
    event = {"ref": ref, "after": sha, "repository": {"full_name": REPO, "default_branch": "main"}}
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-release.yml")
    jobs: dict[str, JobResult] = {}
    for job_id in ("plan", "release"):
        run = runner(tmp_path, f"{name}-{job_id}", gh, token="t", event_name="push", event=event, sha=sha, ref=ref,
                     origin=origin, workflow="ci-mlops release")
        jobs[job_id] = run.run_job(workflow, job_id, needs=jobs)
    return jobs["plan"], jobs["release"]


def release_assets(gh: FakeGitHub, tag: str) -> set[str]:
    [release] = [r for r in gh.releases(REPO) if r["tag_name"] == tag]
    return {a["name"] for a in gh.assets(REPO, release["id"])}


def test_release_on_a_version_tag_then_rerun_uploads_nothing(origin, tmp_path, gh):
    git(origin, "tag", "v1.0.0")
    plan, release = run_release(origin, tmp_path, gh, "v1.0.0", "first")
    assert plan.conclusion == "success", plan.log()
    assert plan.outputs == {"environment": "production", "release": "true"}
    assert release.conclusion == "success", release.log()
    assert release.environment == "production"
    assert {"model.pkl", "model-card.md", "lineage.json"} <= release_assets(gh, "v1.0.0")
    [lineage_asset] = [a for r in gh.releases(REPO) for a in gh.assets(REPO, r["id"]) if a["name"] == "lineage.json"]
    lineage = json.loads(gh.asset_bytes(REPO, lineage_asset["id"]))
    assert lineage["tag"] == "v1.0.0" and lineage["commit"] == git(origin, "rev-parse", "v1.0.0").strip()
    assert release.step("deploy").outputs["release-url"]

    gh.clear_log()
    plan, release = run_release(origin, tmp_path, gh, "v1.0.0", "again")
    assert release.conclusion == "success", release.log()
    assert [r for r in gh.requests if r.host == "uploads"] == []
    assert len(gh.releases(REPO)) == 1


def test_stage_tag_releases_into_the_environment_the_default_branch_allows(origin, tmp_path, gh):
    git(origin, "tag", "model@v1.2.0")
    git(origin, "tag", "model#prod#1")
    plan, release = run_release(origin, tmp_path, gh, "model#prod#1", "closed")
    assert plan.conclusion == "failure" and "no stages are allowed" in plan.log()  # nothing declares stages
    assert release.conclusion == "skipped" and gh.releases(REPO) == []

    edit_config(origin, deploy={"target": "github-release", "stages": {"prod": "production"}})
    commit_all(origin, "allow the prod stage")
    git(origin, "tag", "model#prod#2")
    plan, release = run_release(origin, tmp_path, gh, "model#prod#2", "stage")
    assert plan.outputs == {"environment": "production", "release": "true"}, plan.log()
    assert release.conclusion == "success", release.log()
    assert release.environment == "production"
    assert {"model.pkl", "model-card.md", "lineage.json"} <= release_assets(gh, "model#prod#2")

    # A tag pusher's own commit cannot widen the allow-list: settings come from main, not the tag.
    git(origin, "checkout", "-q", "-b", "sneaky")
    edit_config(origin, deploy={"target": "github-release", "stages": {"prod": "production", "anything": "anything"}})
    commit_all(origin, "allow any stage")
    git(origin, "tag", "model#anything#3")
    git(origin, "checkout", "-q", "main")
    plan, release = run_release(origin, tmp_path, gh, "model#anything#3", "sneaky")
    assert plan.conclusion == "failure", plan.log()
    assert "stage 'anything', which is not an allowed stage (allowed: prod" in plan.log()
    assert release.conclusion == "skipped"


def test_deregistration_tag_skips_the_release_job(origin, tmp_path, gh):
    git(origin, "tag", "model@v1.2.0!")
    plan, release = run_release(origin, tmp_path, gh, "model@v1.2.0!", "dereg")
    assert plan.conclusion == "success", plan.log()
    assert plan.outputs["release"] == "false"
    assert release.conclusion == "skipped"
    assert gh.releases(REPO) == []


# -- the monitor workflow ------------------------------------------------------------------------------

FETCH_PY = '''\
import csv, os, sys
shift = float(os.environ.get("SHIFT", "3"))
with open("data/prepared/train.csv", newline="") as fh:
    rows = list(csv.DictReader(fh))
with open("data/live.csv", "w", newline="") as fh:
    writer = csv.DictWriter(fh, fieldnames=["x1", "x2", "label"])
    writer.writeheader()
    for row in rows:
        writer.writerow({"x1": float(row["x1"]) + shift, "x2": float(row["x2"]) - shift, "label": row["label"]})
'''


def test_monitor_opens_one_drift_issue_and_updates_it(origin, tmp_path, gh):
    (origin / "scripts").mkdir()
    (origin / "scripts" / "fetch_live.py").write_text(FETCH_PY)
    edit_config(origin, drift={"reference": "data/prepared/train.csv", "current": "data/live.csv",
                               "fetch": "python scripts/fetch_live.py", "schedule": "0 6 * * 1"})
    out = run_cli("init", "--yes", cwd=origin)
    assert out.returncode == 0, out.stderr
    monitor = origin / WORKFLOWS / "ci-mlops-monitor.yml"
    assert monitor.is_file(), out.stdout
    commit_all(origin, "monitor drift")
    workflow = load_workflow(monitor)

    def scheduled(name: str) -> JobResult:
        head = git(origin, "rev-parse", "main").strip()
        run = runner(tmp_path, name, gh, token="t", event_name="schedule", event={"schedule": "0 6 * * 1"},
                     sha=head, ref="refs/heads/main", origin=origin, workflow="ci-mlops monitor")
        return run.run_job(workflow, "drift")

    first = scheduled("monitor1")
    assert outcomes(first)["Pull the data from the DVC remote"] == "success", first.log()
    drift = first.step("Check for drift and update the issue")
    assert drift.returncode == 1, first.log()  # drift found: the run shows red
    assert first.conclusion == "failure"
    assert drift.outputs["drift"] == "true"
    [issue] = gh.issues(REPO)
    assert "ci-mlops:drift" in [label["name"] for label in issue["labels"]]
    assert issue["state"] == "open"
    assert drift.outputs["issue-url"] == issue["html_url"]
    assert "Data drift" in first.summary

    gh.clear_log()
    second = scheduled("monitor2")
    assert second.step("Check for drift and update the issue").returncode == 1, second.log()
    [again] = gh.issues(REPO)
    assert again["number"] == issue["number"] and again["state"] == "open"
    assert [r for r in gh.requests if r.is_write], "the second run updates the issue"

    # Production data back to normal: the run is green and the issue is closed.
    (origin / "scripts" / "fetch_live.py").write_text(FETCH_PY.replace('"3"', '"0"'))
    commit_all(origin, "live data without shift")
    third = scheduled("monitor3")
    assert third.conclusion == "success", third.log()
    assert third.step("Check for drift and update the issue").outputs["drift"] == "false"
    [closed] = gh.issues(REPO)
    assert closed["number"] == issue["number"] and closed["state"] == "closed"


def test_monitor_is_not_generated_without_drift_config(origin):
    assert not (origin / WORKFLOWS / "ci-mlops-monitor.yml").exists()


# -- the simulator itself: it must refuse what it does not model -----------------------------------------


def scope(**steps) -> Scope:
    return Scope(github={"event_name": "pull_request", "event": {"workflow_run": {"event": "push"}}, "repository": REPO},
                 runner={"temp": "/tmp"}, steps={k: {"outcome": v, "outputs": {}} for k, v in steps.items()})


@pytest.mark.parametrize("expr, failed, expected", [
    (None, False, True),
    (None, True, False),
    ("github.event_name == 'push'", False, False),
    ("github.event_name == 'PULL_REQUEST'", False, True),  # string comparison ignores case
    ("github.event_name == 'pull_request'", True, False),  # implicit success()
    ("${{ !cancelled() && (success() || steps.check.outcome == 'failure') }}", True, True),
    ("${{ !cancelled() && (success() || steps.check.outcome == 'failure') }}", False, True),
    ("always()", True, True),
    ("failure()", True, True),
    ("failure()", False, False),
    ("github.event.workflow_run.event == 'pull_request' && github.repository != 'x/y'", False, False),
    ("github.event.pull_request.number", False, False),  # missing property is null: falsy
    # the functions the sweep and ChatOps workflows use; string comparisons ignore case, as in Actions
    ("contains(fromJSON('[\"OWNER\", \"MEMBER\"]'), 'member') && startsWith('/ci-mlops sweep', '/CI-MLOPS ')", False, True),
    ("contains(fromJSON('[\"OWNER\"]'), 'NONE') || startsWith('LGTM', '/ci-mlops')", False, False),
])
def test_condition_evaluator(expr, failed, expected):
    s = scope(check="failure")
    s.failed = failed
    assert s.condition(expr) is expected


@pytest.mark.parametrize("expr", [
    "endsWith(github.event_name, 'pull')",  # a function we do not model (fromJSON, startsWith, contains are)
    "vars.TOKEN == 'x'",  # a context we do not model
    "steps.nope.outcome == 'success'",  # a step id that never ran
    "github.event_name == 'push' ||",
    "github.event_name > 'a'",
    "(success()",
])
def test_condition_evaluator_refuses_what_it_does_not_model(expr):
    with pytest.raises(SimulationError):
        scope(check="success").condition(expr)


def test_substitution_and_output_files():
    s = scope()
    s.github["token"] = "tok"
    assert s.substitute("${{ github.token }}/${{ runner.temp }}/${{ github.event.nope }}") == "tok//tmp/"
    assert parse_output_file("a=1\nb<<EOF\nx\ny=2\nEOF\nc=\n") == {"a": "1", "b": "x\ny=2", "c": ""}
    with pytest.raises(SimulationError):
        parse_output_file("b<<EOF\nnever closed\n")


def test_unknown_action_or_step_key_is_refused(tmp_path):
    run = Runner(workspace=tmp_path / "w", temp=tmp_path / "t", artifacts=tmp_path / "a",
                 github={"event_name": "push", "event": {}, "repository": REPO, "sha": "a" * 40,
                         "ref": "refs/heads/main", "ref_name": "main", "ref_type": "branch", "workflow": "w",
                         "run_id": "1", "server_url": "http://x", "api_url": "http://x"})
    for step in ({"uses": "docker/login-action@v3"}, {"run": "true", "shell": "sh"},
                 {"run": "true", "continue-on-error": "${{ matrix.experimental }}"}):
        with pytest.raises(SimulationError):
            run.run_job({"jobs": {"j": {"steps": [step]}}}, "j")
    tolerated = run.run_job({"jobs": {"j": {"steps": [
        {"run": "exit 1", "id": "flaky", "continue-on-error": True},
        {"run": "true", "name": "next", "if": "steps.flaky.outcome == 'failure'"}]}}}, "j")
    assert tolerated.conclusion == "success" and tolerated.step("next").outcome == "success"
    ok = run.run_job({"jobs": {"j": {"steps": [{"run": "echo x=1 >> \"$GITHUB_OUTPUT\"; exit 3", "id": "s"},
                                               {"run": "echo never", "name": "after"}]}}}, "j")
    assert ok.conclusion == "failure" and ok.step("s").returncode == 3 and ok.step("s").outputs == {"x": "1"}
    assert ok.step("after").outcome == "skipped"
