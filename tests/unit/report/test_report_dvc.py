"""`ci-mlops report` on real git + DVC repos, with DVC's own JSON as the oracle."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from ci_mlops.dvc.diff import as_dvc_diff as as_dvc
from ci_mlops.dvc.diff import dvc_diffs
from ci_mlops.dvc.project import cache_path, load_project
from ci_mlops.errors import UserError
from ci_mlops.report import build_report, render_markdown
from tests.support.dvc_factory import commit_all, copy_repo, git, repro, run_dvc, set_params


def dvc_json(repo: Path, kind: str, *revs: str) -> dict[str, Any]:
    proc = run_dvc(repo, kind, "diff", *revs, "--json", "--all")
    return json.loads(proc.stdout or "{}")


def assert_same(ours: dict, theirs: dict) -> None:
    assert sorted(ours) == sorted(theirs)
    for file in theirs:
        assert sorted(ours[file]) == sorted(theirs[file]), file
        for key, want in theirs[file].items():
            got = ours[file][key]
            assert set(got) == set(want), (file, key, got, want)
            for field in want:
                a, b = got[field], want[field]
                if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
                    assert math.isnan(b)
                else:
                    assert a == b and type(a) is type(b), (file, key, field, a, b)


@pytest.fixture(scope="module")
def mono(tmp_path_factory, dvc_layouts) -> dict[str, Any]:
    """A monorepo with YAML/JSON/TOML metrics and three commits of history; do not modify."""
    repo = dvc_layouts.copy(tmp_path_factory.mktemp("mono") / "repo", monorepo=True)
    churn = repo / "pipelines" / "churn" / "dvc.yaml"
    churn.write_text(churn.read_text().replace("  - eval/summary.toml\n", "  - eval/summary.toml\n  - eval/metrics.yaml\n"))
    first = commit_all(repo, "track churn yaml metrics")
    set_params(repo, **{"train.lr": 0.3, "train.epochs": 3})
    set_params(repo, params_file="pipelines/churn/params.yaml", **{"model.alpha": 0.9})
    repro(repo)
    second = commit_all(repo, "tune")
    return {"repo": repo, "first": first, "second": second}


def test_matches_dvc_between_commits(mono):
    repo = mono["repo"]
    report = build_report(repo, mono["first"], mono["second"])
    metrics, params = dvc_diffs(repo, mono["first"], mono["second"])
    assert_same(as_dvc(report["metrics"]), metrics)
    assert_same(as_dvc(report["params"]), params)
    files = {row["file"] for row in report["metrics"]}
    assert {"metrics.json", "pipelines/churn/eval/scores.json", "pipelines/churn/eval/summary.toml",
            "pipelines/churn/eval/metrics.yaml"} <= files
    by_key = {(r["file"], r["key"]): r for r in report["metrics"]}
    quality = by_key[("pipelines/churn/eval/metrics.yaml", "quality")]
    assert quality["direction"] == "higher" and quality["status"] == "improved"
    assert quality["change_pct"] == pytest.approx(quality["change"] / quality["base"] * 100)
    rmse = by_key[("pipelines/churn/eval/metrics.yaml", "rmse")]
    assert rmse["direction"] == "lower" and rmse["status"] == "improved"
    name = by_key[("pipelines/churn/eval/metrics.yaml", "name")]
    assert name["change"] is None and name["status"] == "unchanged"


def test_matches_dvc_head_vs_workspace(mono, tmp_path):
    repo = copy_repo(mono["repo"], tmp_path / "repo")
    set_params(repo, **{"prepare.split": 0.3})
    repro(repo)
    report = build_report(repo, "HEAD")
    assert report["head"] == {"ref": "workspace", "sha": git(repo, "rev-parse", "HEAD").strip()}
    metrics, params = dvc_diffs(repo, "HEAD")
    assert_same(as_dvc(report["metrics"]), metrics)
    assert_same(as_dvc(report["params"]), params)


def test_default_base_is_the_default_branch(mono, tmp_path):
    repo = copy_repo(mono["repo"], tmp_path / "repo")
    git(repo, "checkout", "-q", "-b", "feature")
    set_params(repo, **{"train.lr": 0.05})
    commit_all(repo, "feature change")
    report = build_report(repo)  # base: main (the merge base), head: workspace
    assert report["base"] == {"ref": "main", "sha": mono["second"]}
    lr = next(r for r in report["params"] if r["key"] == "train.lr")
    assert (lr["base"], lr["head"]) == (0.3, 0.05)


def test_project_model_paths(mono):
    project = load_project(mono["repo"], mono["second"])
    assert project.dvcyaml_paths == ["dvc.yaml", "pipelines/churn/dvc.yaml"]
    assert set(project.stages) == {"prepare", "train", "evaluate", "pipelines/churn/dvc.yaml:train",
                                   "pipelines/churn/dvc.yaml:score"}
    score = project.stages["pipelines/churn/dvc.yaml:score"]
    assert score.wdir == "pipelines/churn/eval"
    assert score.metrics == ["pipelines/churn/eval/scores.json"]
    assert score.params == {"pipelines/churn/params.yaml": ["score.threshold"]}
    assert project.lock_params["params.yaml"]["train.lr"] == 0.3
    assert project.lock_outs["models/model.pkl"]["md5"]
    assert project.artifacts["model"]["path"] == "models/model.pkl"
    assert project.params_paths["params.yaml"] == []  # DVC tracks the root params.yaml whole
    assert "pipelines/churn/config.json" in project.params_paths
    assert {p["id"] for p in project.plots} == {"eval/prc.csv", "eval/confusion.csv"}
    workspace = load_project(mono["repo"])
    assert workspace.lock_outs == project.lock_outs


def test_first_pr_base_without_metrics(mono, tmp_path):
    repo = copy_repo(mono["repo"], tmp_path / "repo")
    git(repo, "checkout", "-q", "--orphan", "empty")
    git(repo, "rm", "-rqf", "--cached", ".")
    empty = commit_all_only(repo, tmp_path)
    git(repo, "checkout", "-q", "-f", "main")
    report = build_report(repo, empty, "main")
    assert report["metrics"] and all(r["status"] == "new" and r["base"] is None for r in report["metrics"])
    assert_same(as_dvc(report["metrics"]), dvc_json(repo, "metrics", empty, "main"))
    text = render_markdown(report)
    assert "new" in text and "Traceback" not in text


def commit_all_only(repo: Path, tmp_path: Path) -> str:
    (repo / "README.md").write_text("# empty\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "empty base")
    return git(repo, "rev-parse", "HEAD").strip()


def test_history_reads_base_branch_trend(mono):
    report = build_report(mono["repo"], mono["first"], mono["second"], history=10)
    assert report["history"]["commits"][-1] == mono["first"]
    row = next(r for r in report["metrics"] if r["key"] == "test.loss")
    assert len(row["history"]["values"]) == len(report["history"]["commits"]) == 2
    assert row["history"]["values"][-1] == row["base"]
    assert "Trend" in render_markdown(report, show_all=True)


def test_cli_markdown_and_json(mono, tmp_path):
    repo = mono["repo"]
    out = tmp_path / "report.md"
    proc = run_cli("report", "--base", mono["first"], "--head", mono["second"], "-o", str(out), cwd=repo)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "#### Metrics" in text and "#### Params" in text and "train.lr" in text
    assert "```mermaid" in text and "xychart-beta" in text
    proc = run_cli("report", "--base", mono["first"], "--head", mono["second"], "--format", "json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= {"base", "head", "metrics", "params", "plots"}
    assert data["base"]["sha"] == mono["first"]
    assert set(data["metrics"][0]) >= {"file", "key", "base", "head", "change", "change_pct", "direction", "status"}
    assert set(data["params"][0]) == {"file", "key", "base", "head", "change"}
    again = run_cli("report", "--base", mono["first"], "--head", mono["second"], "--format", "json", cwd=repo)
    assert again.stdout == proc.stdout  # deterministic


# -- DVC-cached metrics ------------------------------------------------------------------


@pytest.fixture(scope="module")
def cached(tmp_path_factory, dvc_layouts) -> dict[str, Any]:
    repo = dvc_layouts.copy(tmp_path_factory.mktemp("cached") / "repo", cached_metrics=True)
    first = git(repo, "rev-parse", "HEAD").strip()
    set_params(repo, **{"train.lr": 0.5})
    repro(repo, push=True)
    second = commit_all(repo, "tune")
    return {"repo": repo, "first": first, "second": second}


def test_cached_metrics_read_from_dvc_cache(cached):
    repo = cached["repo"]
    assert "metrics.json" in (repo / ".gitignore").read_text()
    report = build_report(repo, cached["first"], cached["second"])
    assert report["metrics"], "cached metrics must be found"
    assert_same(as_dvc(report["metrics"]), dvc_json(repo, "metrics", cached["first"], cached["second"]))


def test_cached_metrics_fall_back_to_dvc_api(cached, tmp_path):
    repo = copy_repo(cached["repo"], tmp_path / "repo")
    md5 = load_project(repo, cached["first"]).lock_outs["metrics.json"]["md5"]
    cache_path(repo, md5).unlink()
    report = build_report(repo, cached["first"], cached["second"])
    old = {r["key"]: r["base"] for r in report["metrics"]}
    assert old["test.accuracy"] is not None


def test_cached_metrics_missing_everywhere_is_an_error_not_new(cached, tmp_path):
    # Reported as "new" it would skip every max_drop gate and let a regression through.
    repo = copy_repo(cached["repo"], tmp_path / "repo")
    shutil.rmtree(tmp_path / "remote")
    md5 = load_project(repo, cached["first"]).lock_outs["metrics.json"]["md5"]
    cache_path(repo, md5).unlink()
    with pytest.raises(UserError) as info:
        build_report(repo, cached["first"], cached["second"])
    message = info.value.message
    assert message.startswith(f"cannot read metrics.json at {cached['first'][:7]}"), message
    assert "DVC remote 'local' could not provide it" in message and "`dvc pull metrics.json`" in message and "dvc push" in message


def test_fresh_clone_without_dvc_data_fails_check_instead_of_passing(cached, tmp_path):
    """The audit's repro: a PR's clone with no DVC cache and no reachable remote."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(cached["repo"]), str(clone))
    git(clone, "checkout", "-q", "-b", "feat", cached["second"])
    (tmp_path / "empty-remote").mkdir()  # CI passes the remote's credentials to `dvc pull` only
    (clone / ".dvc" / "config.local").write_text(f"['remote \"local\"']\n    url = {tmp_path / 'empty-remote'}\n")
    (clone / ".ci-mlops.yml").write_text("metrics:\n  test.accuracy: {max_drop: 0.0}\n")
    git(clone, "add", ".ci-mlops.yml")
    git(clone, "commit", "-q", "-m", "gate")
    for command in (["check"], ["report", "--format", "json"]):
        proc = run_cli(*command, "--base", cached["first"], cwd=clone)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        [line] = proc.stderr.strip().splitlines()
        assert f"cannot read metrics.json at {cached['first'][:7]}" in line, line
        assert "remote 'local' could not provide it" in line and "`dvc pull metrics.json`" in line, line
        assert "passed" not in proc.stdout


def test_workspace_cached_metrics_missing_everywhere_is_an_error(cached, tmp_path):
    repo = copy_repo(cached["repo"], tmp_path / "repo")
    (repo / ".dvc" / "config").write_text("")  # no remote at all
    (repo / "metrics.json").unlink()
    cache_path(repo, load_project(repo).lock_outs["metrics.json"]["md5"]).unlink()
    with pytest.raises(UserError, match="not in the workspace or in the local DVC cache and no DVC remote"):
        build_report(repo, cached["first"], None)


def test_workspace_cached_metrics_come_from_the_cache_as_in_dvc(cached, tmp_path):
    repo = copy_repo(cached["repo"], tmp_path / "repo")
    (repo / "metrics.json").unlink()
    report = build_report(repo, cached["first"], None)
    assert_same(as_dvc(report["metrics"]), dvc_json(repo, "metrics", cached["first"]))
    assert all(r["head"] is not None for r in report["metrics"])


TEMPLATED_DVC_YAML = """\
vars:
  - params.yaml
stages:
  train:
    foreach: ${models}
    do:
      cmd: echo ${item.lr}
      params:
        - models.${key}.lr
      metrics:
        - ${out}/${key}.json:
            cache: false
"""


def test_templated_dvc_yaml_resolved_by_dvc(git_repo):
    repo = git_repo
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("")
    (repo / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (repo / "params.yaml").write_text("models:\n  a: {lr: 0.1}\n  b: {lr: 0.2}\nout: results\n")
    (repo / "dvc.yaml").write_text(TEMPLATED_DVC_YAML)
    (repo / "results").mkdir()
    (repo / "results" / "a.json").write_text('{"acc": 0.1}')
    (repo / "results" / "b.json").write_text('{"acc": 0.2}')
    commit_all(repo, "templated")
    (repo / "params.yaml").write_text("models:\n  a: {lr: 0.1}\n  b: {lr: 0.4}\nout: results\n")
    (repo / "results" / "b.json").write_text('{"acc": 0.4}')
    assert set(load_project(repo).stages) == {"train@a", "train@b"}
    report = build_report(repo, "HEAD")
    metrics, params = dvc_diffs(repo, "HEAD")
    assert_same(as_dvc(report["metrics"]), metrics)
    assert_same(as_dvc(report["params"]), params)
    assert {r["file"] for r in report["metrics"]} == {"results/a.json", "results/b.json"}
