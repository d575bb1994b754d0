"""The sweep workflow `ci-mlops init` generates, run job by job: ChatOps -> plan -> matrix -> collect -> comment -> apply.

A real git + DVC project (tests/support/dvc_factory.py) is origin; a 2 x 3 grid in which one
combination diverges (its training exits with an error); every job runs in its own
workspace through tests/support/runner_sim.py against the loopback GitHub API. The PR's head is
mirrored into the fake's Git Data store so `/ci-mlops apply` commits to its branch there.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from itertools import count
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from tests.support import zygote
from tests.support.dvc_factory import commit_all, copy_repo, git, repro
from tests.support.fake_github import FakeGitHub
from tests.support.runner_sim import JobResult, Runner, load_workflow, run_matrix

REPO = "o/r"
WORKFLOWS = Path(".github/workflows")
GRID = {"train.lr": [0.1, 0.2], "train.epochs": [1, 2, 3]}  # the comment replaces the lr axis with 0.05,0.5
DIVERGES = "if params['lr'] >= 0.5 and params['epochs'] >= 3: raise SystemExit('diverged: lr 0.5 for 3 epochs')\n"
_runs = count(500)


@pytest.fixture(scope="module")
def template(tmp_path_factory, shared_dvc_repo) -> Path:
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("sweep-wf") / "repo")
    train = repo / "src" / "train.py"
    text = train.read_text()
    train.write_text(text.replace('with open("data/prepared/train.csv"', DIVERGES + 'with open("data/prepared/train.csv"', 1))
    (repo / "requirements.txt").write_text("")
    (repo / ".ci-mlops.yml").write_text(yaml.safe_dump({
        "version": 1, "metrics": {"test.accuracy": {"direction": "higher", "min": 0.5}},
        "experiments": {"grid": GRID, "rank_by": "test.accuracy", "max_parallel": 2, "runner": ["self-hosted", "gpu"]},
    }, sort_keys=False))
    out = run_cli("init", "--yes", cwd=repo)
    assert out.returncode == 0, out.stderr
    repro(repo, push=True)
    commit_all(repo, "sweep config and workflows")
    return repo


@pytest.fixture
def origin(template, tmp_path) -> Path:
    return copy_repo(template, tmp_path / "origin" / "repo")


def checkout_hook(origin: Path, workspace: Path, default_ref: str):
    """actions/checkout with `ref:` (a commit or branch) and fetch-depth, from origin."""

    def checkout(with_: dict[str, str]) -> None:
        ref = with_.get("ref") or default_ref
        workspace.mkdir(parents=True, exist_ok=True)
        git(workspace, "init", "-q")
        git(workspace, "remote", "add", "origin", origin.resolve().as_uri())
        depth = [] if with_.get("fetch-depth") == "0" else ["--depth=1"]
        git(workspace, "fetch", "-q", *depth, "origin", "+refs/heads/*:refs/remotes/origin/*")
        git(workspace, "checkout", "-q", "--force", "--detach", ref)
        shutil.copy(origin / ".dvc" / "config.local", workspace / ".dvc" / "config.local")

    return checkout


def make_runner(tmp_path: Path, name: str, gh: FakeGitHub, origin: Path, *, event_name: str, event: dict,
                sha: str, run_id: str, artifacts: Path, workflow: str) -> Runner:
    root = tmp_path / name
    return Runner(workspace=root / "work", temp=root / "temp", artifacts=artifacts, github={
        "token": "t", "event_name": event_name, "event": event, "repository": REPO, "sha": sha,
        "ref": "refs/heads/main", "ref_name": "main", "ref_type": "branch", "workflow": workflow, "run_id": run_id,
        "server_url": gh.server_url, "api_url": gh.api_url, "actor": "alice"},
        checkout=checkout_hook(origin, root / "work", sha))


def mirror(gh: FakeGitHub, origin: Path, sha: str, branch: str) -> None:
    """The commit's files into the fake's Git Data store (content-addressed blobs), and the branch at it."""
    store = gh.git(REPO)
    entries = {}
    for line in git(origin, "ls-tree", "-r", sha).splitlines():
        meta, path = line.split("\t", 1)
        blob = meta.split()[2]
        store.blobs[blob] = git_bytes(origin, blob)
        entries[path] = blob
    tree = hashlib.sha1(json.dumps(sorted(entries.items())).encode()).hexdigest()
    store.trees[tree] = entries
    store.commits[sha] = {"message": "PR head", "tree": tree, "parents": []}
    store.refs[f"refs/heads/{branch}"] = sha


def exp_show(workspace: Path) -> dict[str, dict]:
    """Experiment name -> its data in `dvc exp show --json`."""
    import subprocess

    out = subprocess.run([zygote.dvc_python(), "-m", "dvc", "exp", "show", "--json"], cwd=workspace, check=True,
                         capture_output=True, text=True).stdout
    return {rev["name"]: rev["data"] for entry in json.loads(out) for exp in entry.get("experiments") or []
            for rev in exp["revs"] if not rev.get("error")}


def git_bytes(repo: Path, blob: str) -> bytes:
    import subprocess

    return subprocess.run(["git", "cat-file", "blob", blob], cwd=repo, check=True, capture_output=True).stdout


def chatops(gh: FakeGitHub, origin: Path, tmp_path: Path, name: str, body: str, login: str,
            association: str) -> JobResult:
    """A PR comment, then the chatops workflow's job for its issue_comment event."""
    comment = gh.add_comment(REPO, 7, body, user=login)
    event = {"action": "created", "issue": {"number": 7, "pull_request": {"url": "x"}},
             "comment": {**comment, "author_association": association},
             "repository": {"full_name": REPO, "default_branch": "main"}}
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-chatops.yml")
    run = make_runner(tmp_path, name, gh, origin, event_name="issue_comment", event=event,
                      sha=git(origin, "rev-parse", "main").strip(), run_id=str(next(_runs)),
                      artifacts=tmp_path / name / "artifacts", workflow="ci-mlops chatops")
    return run.run_job(workflow, "dispatch")


def sweep_run(gh: FakeGitHub, origin: Path, tmp_path: Path, name: str, inputs: dict[str, str],
              run_artifacts: dict[str, Path]) -> tuple[str, dict[str, JobResult], list[JobResult]]:
    """The sweep workflow for one workflow_dispatch event, job by job as GitHub orders them."""
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-sweep.yml")
    run_id = str(next(_runs))
    artifacts = tmp_path / name / "artifacts"
    run_artifacts[run_id] = artifacts
    event = {"inputs": inputs, "ref": "refs/heads/main", "repository": {"full_name": REPO}}
    main = git(origin, "rev-parse", "main").strip()

    def runner(job: str) -> Runner:
        run = make_runner(tmp_path, f"{name}-{job}", gh, origin, event_name="workflow_dispatch", event=event, sha=main,
                          run_id=run_id, artifacts=artifacts, workflow="ci-mlops sweep")
        run.run_artifacts = run_artifacts
        return run

    jobs: dict[str, JobResult] = {"plan": runner("plan").run_job(workflow, "plan")}
    jobs["experiment"], matrix = run_matrix(workflow, "experiment", jobs, runner("x").github,
                                            lambda combo: runner(combo["experiment"]))
    jobs["collect"] = runner("collect").run_job(workflow, "collect", jobs)
    jobs["comment"] = runner("comment").run_job(workflow, "comment", {"collect": jobs["collect"]})
    jobs["apply"] = runner("apply").run_job(workflow, "apply")
    return run_id, jobs, matrix


def test_chatops_sweep_leaderboard_and_apply(origin, tmp_path):
    git(origin, "checkout", "-q", "-b", "feature")
    (origin / "NOTES.md").write_text("A change under review.\n")
    head = commit_all(origin, "PR 7")
    git(origin, "checkout", "-q", "main")
    with FakeGitHub() as gh:
        gh.add_pr(REPO, 7, head_sha=head, head_ref="feature")
        gh.chatops(REPO).workflows.add("ci-mlops-sweep.yml")
        gh.chatops(REPO).roles["alice"] = "write"
        mirror(gh, origin, head, "feature")

        # Someone without write access: refused, nothing starts (the job itself succeeds).
        refused = chatops(gh, origin, tmp_path, "stranger", "/ci-mlops sweep", "mallory", "CONTRIBUTOR")
        assert refused.conclusion == "success", refused.log()
        assert refused.step("Check the command and start it").outputs["status"] == "refused"
        assert gh.chatops(REPO).dispatches == []
        assert [r["content"] for r in gh.chatops(REPO).reactions] == ["-1"]

        # A collaborator with write access: the sweep workflow starts on the PR's head commit.
        started = chatops(gh, origin, tmp_path, "alice-sweep", "/ci-mlops sweep train.lr=0.05,0.5", "alice",
                          "COLLABORATOR")
        assert started.conclusion == "success", started.log()
        [dispatch] = gh.chatops(REPO).dispatches
        assert dispatch["ref"] == "main" and dispatch["inputs"] == {"pr": "7", "sha": head, "set": "train.lr=0.05,0.5"}

        run_artifacts: dict[str, Path] = {}
        run_id, jobs, matrix = sweep_run(gh, origin, tmp_path, "sweep", dispatch["inputs"], run_artifacts)
        assert jobs["plan"].conclusion == "success", jobs["plan"].log()
        assert json.loads(jobs["plan"].outputs["matrix"]) == {"include": [{"experiment": f"sweep-0{i}"}
                                                                         for i in range(1, 7)]}
        assert len(matrix) == 6 and all(j.conclusion == "success" for j in matrix), \
            "\n".join(j.log() for j in matrix if j.conclusion != "success")
        assert jobs["apply"].conclusion == "skipped"
        statuses = {j.step("Run the experiment").env["EXPERIMENT"]: j.step("Run the experiment").outputs["status"]
                    for j in matrix}
        assert sorted(statuses.values()) == ["failed"] + ["success"] * 5
        [bad] = [n for n, s in statuses.items() if s == "failed"]
        assert bad == "sweep-06"  # lr 0.5, 3 epochs: the grid's last combination
        bad_job = next(j for j in matrix if j.step("Run the experiment").env["EXPERIMENT"] == bad)
        assert bad_job.step("Push the experiment's outputs to the DVC remote").outcome == "skipped"
        assert jobs["collect"].conclusion == "success", jobs["collect"].log()
        assert jobs["comment"].conclusion == "success", jobs["comment"].log()

        # The leaderboard: its own sticky comment, six rows, the failure a row, the best marked.
        [board] = [c for c in gh.comments(REPO, 7) if c["body"].startswith("<!-- ci-mlops:sweep -->")]
        body = board["body"]
        assert "**6 experiments**, 1 failed" in body and "★" in body, body
        failed_row = next(line for line in body.splitlines() if "`sweep-06`" in line)
        assert "❌ failed" in failed_row and "diverged" in failed_row
        # every number is what `dvc exp show --json` lists for that experiment in its job's workspace
        results = tmp_path / "sweep" / "artifacts" / "ci-mlops-sweep-results" / "results"
        compared = 0
        for job in matrix:
            name = job.step("Run the experiment").env["EXPERIMENT"]
            result = json.loads(next(results.rglob(f"{name}.json")).read_text())
            if result["status"] != "success":
                continue
            shown = exp_show(tmp_path / f"sweep-{name}" / "work")[name]["metrics"]["metrics.json"]["data"]
            for key, value in result["metrics"]["metrics.json"].items():
                node = shown
                for part in key.split("."):
                    node = node[part]
                assert value == node, (name, key)
                compared += 1
        assert compared >= 10
        best = body.split("best: **`", 1)[1].split("`", 1)[0]

        # Apply the best through ChatOps: a commit on the PR branch with its params and dvc.lock only.
        applied = chatops(gh, origin, tmp_path, "alice-apply", f"/ci-mlops apply {best}", "alice", "MEMBER")
        assert applied.conclusion == "success", applied.log()
        inputs = gh.chatops(REPO).dispatches[-1]["inputs"]
        assert inputs == {"pr": "7", "sha": head, "set": "train.lr=0.05,0.5", "apply": best, "results-run": run_id}
        _, jobs2, matrix2 = sweep_run(gh, origin, tmp_path, "apply", inputs, run_artifacts)
        assert jobs2["plan"].conclusion == "skipped" and matrix2 == []
        assert jobs2["apply"].conclusion == "success", jobs2["apply"].log()
        store = gh.git(REPO)
        new = store.refs["refs/heads/feature"]
        assert store.commits[new]["parents"] == [head]
        before, after = store.files(head), store.files(new)
        assert sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)) == ["dvc.lock", "params.yaml"]
        result = json.loads(next(results.rglob(f"{best}.json")).read_text())
        assert after["dvc.lock"].decode() == result["lock"]
        chosen = yaml.safe_load(after["params.yaml"])["train"]
        assert [f"train.lr={chosen['lr']}", f"train.epochs={chosen['epochs']}"] == result["set_params"]
