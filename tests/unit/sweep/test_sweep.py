"""Parameter sweeps: the plan, DVC runs (local queue and one-per-job), the leaderboard and apply."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ci_mlops.config import Config
from ci_mlops.errors import UserError
from ci_mlops.sweep.plan import expand, matrix, parse_overrides
from ci_mlops.sweep.results import load_result
from tests.conftest import run_cli
from tests.support import zygote
from tests.support.dvc_factory import commit_all, copy_repo, git


def _config(experiments: dict) -> Config:
    return Config({"version": 1, "experiments": experiments})


# -- the plan -----------------------------------------------------------------------------------------

def test_grid_then_sets_in_order_with_stable_names():
    experiments = expand(_config({"grid": {"train.lr": [0.01, 0.03], "train.epochs": [5, 10, 20]},
                                  "sets": [{"params.yaml:train.model": "tree", "train.depth": 3}],
                                  "rank_by": "test.f1"}))
    assert [e.name for e in experiments] == [f"sweep-0{i}" for i in range(1, 8)]
    assert experiments[0].set_params() == ["train.lr=0.01", "train.epochs=5"]
    assert experiments[1].set_params() == ["train.lr=0.01", "train.epochs=10"]
    assert experiments[6].set_params() == ["params.yaml:train.model=tree", "train.depth=3"]
    assert matrix(experiments)["include"][3] == {"experiment": "sweep-04"}


def test_overrides_replace_grid_axes():
    experiments = expand(_config({"grid": {"train.lr": [0.1]}, "rank_by": "f1"}),
                         parse_overrides("train.lr=0.01,0.03 train.seed=1"))
    assert [e.set_params() for e in experiments] == [["train.lr=0.01", "train.seed=1"],
                                                     ["train.lr=0.03", "train.seed=1"]]


@pytest.mark.parametrize("text", [
    "train.lr=$(id)", "train.lr=0.1;rm", "train.lr", "=3", "train.lr=`x`", "a b", "train.lr=0.1,", "x=1 x=2",
    "train.lr=" + "9" * 70, "../x=1", "train.lr=a|b",
])
def test_overrides_are_parsed_strictly(text):
    with pytest.raises(UserError):
        parse_overrides(text)


def test_a_sweep_over_the_matrix_limit_is_refused_in_one_line():
    grid = {"a": list(range(17)), "b": list(range(16))}  # 272 experiments
    with pytest.raises(UserError, match="272 experiments are more than 256"):
        expand(_config({"grid": grid, "rank_by": "f1"}))


@pytest.mark.parametrize("section, message", [
    ({"grid": {"train.lr": []}, "rank_by": "f1"}, "non-empty list"),
    ({"sets": [{"train.lr": 1}, {"train.lr": 1}], "rank_by": "f1"}, "declared twice"),
    ({"grid": {"train lr": [1]}, "rank_by": "f1"}, "not a param key"),
    ({"grid": {"train.lr": ["a;b"]}, "rank_by": "f1"}, "not a usable value"),
    ({"rank_by": "f1"}, "declares no experiment"),
])
def test_bad_sections_are_user_errors(section, message):
    with pytest.raises(UserError, match=message):
        expand(_config(section))


def test_plan_cli_and_schema(git_repo):
    (git_repo / ".ci-mlops.yml").write_text(yaml.safe_dump(
        {"version": 1, "experiments": {"grid": {"train.lr": [0.1, 0.2]}, "rank_by": "test.f1"}}))
    out = run_cli("sweep", "plan", "--format", "matrix", cwd=git_repo)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"include": [{"experiment": "sweep-01"}, {"experiment": "sweep-02"}]}
    (git_repo / ".ci-mlops.yml").write_text(yaml.safe_dump(
        {"version": 1, "experiments": {"grid": {"train.lr": ["$(id)"]}, "rank_by": "test.f1"}}))
    out = run_cli("sweep", "plan", cwd=git_repo)
    assert out.returncode == 2 and "experiments.grid.train.lr" in out.stderr and "Traceback" not in out.stderr


# -- results crossing a job boundary are untrusted ------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    ({"version": 2}, "version"),
    ({"version": 1, "name": "sweep-01; rm -rf /", "status": "success", "metrics": {}, "params": {},
      "set_params": []}, "name"),
    ({"version": 1, "name": "sweep-01", "status": "great", "metrics": {}, "params": {}, "set_params": []}, "status"),
    ({"version": 1, "name": "sweep-01", "status": "success", "metrics": [], "params": {}, "set_params": []},
     "metrics"),
])
def test_malformed_results_are_refused(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(content))
    with pytest.raises(UserError, match=message):
        load_result(path)


def test_deeply_nested_result_is_refused(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(UserError):
        load_result(path)


# -- real DVC runs --------------------------------------------------------------------------------------

SWEEP = {"grid": {"train.lr": [0.05, 0.2, "bogus"]}, "rank_by": "test.f1", "max_parallel": 2}


@pytest.fixture(scope="module")
def sweep_repo(tmp_path_factory, shared_dvc_repo) -> Path:
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("sweep") / "repo")
    (repo / ".ci-mlops.yml").write_text(yaml.safe_dump(
        {"version": 1, "metrics": {"test.accuracy": {"max_drop": 0.01}}, "experiments": SWEEP}, sort_keys=False))
    commit_all(repo, "sweep config")
    return repo


def _dvc_exp_show(repo: Path) -> dict[str, dict]:
    out = subprocess.run([zygote.dvc_python(), "-m", "dvc", "exp", "show", "--json"], cwd=repo, check=True,
                         capture_output=True, text=True).stdout
    shown = {}
    for entry in json.loads(out):
        for exp in entry.get("experiments") or []:
            for rev in exp["revs"]:
                if not rev.get("error"):
                    shown[rev["name"]] = rev["data"]
    return shown


def test_local_sweep_leaderboard_equals_dvc_exp_show(sweep_repo):
    out = run_cli("sweep", "run", "--local", "-j", "2", "--format", "json", cwd=sweep_repo)
    assert out.returncode == 0, out.stderr
    board = json.loads(out.stdout)
    rows = {r["name"]: r for r in board["rows"]}
    assert rows["sweep-03"]["status"] == "failed" and rows["sweep-03"]["rank"] is None
    assert board["rows"][-1]["name"] == "sweep-03"  # failed experiments rank last
    shown = _dvc_exp_show(sweep_repo)
    assert set(shown) == {"sweep-01", "sweep-02"}
    compared = 0
    for name, data in shown.items():
        dvc_metrics = data["metrics"]["metrics.json"]["data"]
        for metric in rows[name]["metrics"]:
            node = dvc_metrics
            for part in metric["key"].split("."):
                node = node[part]
            assert metric["head"] == node, (name, metric["key"])
            compared += 1
        assert rows[name]["params"]["train.lr"] == data["params"]["params.yaml"]["data"]["train"]["lr"]
    assert compared >= 10
    ranked = [r for r in board["rows"] if r["rank"]]
    values = [r["value"] for r in ranked]
    assert values == sorted(values, reverse=True) and board["best"] == ranked[0]["name"]
    assert all(isinstance(r["passed"], bool) for r in ranked)
    md = run_cli("sweep", "report", cwd=sweep_repo)
    assert md.returncode == 0 and "★" in md.stdout and "❌ failed" in md.stdout


def test_ci_jobs_results_report_and_apply(sweep_repo, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    for name in ("sweep-01", "sweep-03"):
        job = tmp_path / f"job-{name}"
        shutil.copytree(sweep_repo, job, symlinks=True)
        out = run_cli("sweep", "run", "--experiment", name, "-o", str(results / name / "result.json"), cwd=job)
        assert out.returncode == 0, out.stderr
    assert json.loads((results / "sweep-03" / "result.json").read_text())["status"] == "failed"
    out = run_cli("sweep", "report", "--results", str(results), "--format", "json", cwd=sweep_repo)
    assert out.returncode == 0, out.stderr
    board = json.loads(out.stdout)
    assert [r["name"] for r in board["rows"]] == ["sweep-01", "sweep-03"] and board["best"] == "sweep-01"

    branch = tmp_path / "branch"
    shutil.copytree(sweep_repo, branch, symlinks=True)
    out = run_cli("sweep", "apply", "sweep-01", "--results", str(results), cwd=branch)
    assert out.returncode == 0, out.stderr
    changed = sorted(line[3:] for line in git(branch, "status", "--porcelain").splitlines())
    assert changed == ["dvc.lock", "params.yaml"]
    assert yaml.safe_load((branch / "params.yaml").read_text())["train"]["lr"] == 0.05
    assert (branch / "dvc.lock").read_text() == json.loads(
        (results / "sweep-01" / "result.json").read_text())["lock"]
    # the collect job when no experiment job left a result: every experiment is a row that says so
    none = run_cli("sweep", "report", "--results", str(tmp_path / "absent"), "--expect-all", "--format", "json",
                   cwd=sweep_repo)
    assert none.returncode == 0, none.stderr
    assert [(r["name"], r["status"]) for r in json.loads(none.stdout)["rows"]] == [
        ("sweep-01", "failed"), ("sweep-02", "failed"), ("sweep-03", "failed")]
    missing = run_cli("sweep", "report", "--results", str(tmp_path / "absent"), cwd=sweep_repo)
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    refused = run_cli("sweep", "apply", "sweep-03", "--results", str(results), cwd=branch)
    assert refused.returncode == 2 and "did not succeed" in refused.stderr
