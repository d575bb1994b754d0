"""DVC's "get started" layout: metrics and plots inside a cached output directory (`outs: [eval]`).

The oracle is `dvc metrics diff --json --all` on the same repository.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from ci_mlops.dvc import cache as dvc_cache
from ci_mlops.dvc.project import load_project
from ci_mlops.errors import UserError
from ci_mlops.report import build_report
from tests.support.dvc_factory import commit_all, copy_repo, git, repro, run_dvc_batch, set_params
from tests.unit.report.test_report_dvc import as_dvc, assert_same


@pytest.fixture(scope="module")
def get_started(tmp_path_factory, dvc_layouts) -> dict[str, Any]:
    """Two commits of the layout, everything pushed to a local-directory remote; do not modify."""
    repo = dvc_layouts.copy(tmp_path_factory.mktemp("gs") / "repo", cached_dir=True)
    first = git(repo, "rev-parse", "HEAD").strip()
    set_params(repo, **{"train.lr": 0.5, "train.epochs": 2})
    repro(repo, push=True)
    second = commit_all(repo, "tune")
    out = run_dvc_batch(repo, [["metrics", "diff", first, second, "--json", "--all"]])
    return {"repo": repo, "first": first, "second": second, "dvc": json.loads(out.stdout)}


def _drop_local_objects(repo: Path, rev: str) -> None:
    """Delete a revision's `eval` directory (manifest and files) from the local DVC cache only."""
    project = load_project(repo, rev)
    location = dvc_cache.locate(project, "eval/metrics.json")
    assert location is not None and location.output == "eval" and location.relpath == "metrics.json"
    for md5, hash_name in dvc_cache.manifest(repo, location.md5, location.hash_name).values():
        for path in dvc_cache.object_paths(repo, md5, hash_name):
            path.unlink(missing_ok=True)
    for path in dvc_cache.object_paths(repo, location.md5, location.hash_name):
        path.unlink(missing_ok=True)


def test_metrics_in_a_cached_directory_at_base_and_head(get_started):
    repo = get_started["repo"]
    assert "eval" in (repo / ".gitignore").read_text() and not git(repo, "ls-files", "eval").strip()
    report = build_report(repo, get_started["first"], get_started["second"])
    assert {r["file"] for r in report["metrics"]} == {"eval/metrics.json"}
    assert all(r["base"] is not None and r["head"] is not None for r in report["metrics"])
    assert_same(as_dvc(report["metrics"]), get_started["dvc"])
    assert report["summary"]["new"] == report["summary"]["removed"] == 0


def test_plots_inside_the_cached_directory_are_read(get_started):
    repo = get_started["repo"]
    report = build_report(repo, get_started["first"], get_started["second"])
    plots = {p["id"]: p for p in report["plots"]}
    assert set(plots) == {"eval/prc.csv", "Confusion"}
    assert all(p["base"] and p["head"] and not p.get("error") for p in plots.values())


def test_a_cache_miss_is_fetched_from_the_remote(get_started, tmp_path):
    repo = copy_repo(get_started["repo"], tmp_path / "repo")
    _drop_local_objects(repo, get_started["first"])
    report = build_report(repo, get_started["first"], get_started["second"])
    assert_same(as_dvc(report["metrics"]), get_started["dvc"])


def test_neither_cache_nor_remote_is_an_error_naming_revision_file_and_fix(get_started, tmp_path):
    repo = copy_repo(get_started["repo"], tmp_path / "repo")
    _drop_local_objects(repo, get_started["first"])
    shutil.rmtree(tmp_path / "remote")
    with pytest.raises(UserError) as info:
        build_report(repo, get_started["first"], get_started["second"])
    message = info.value.message
    assert message.startswith(f"cannot read eval/metrics.json at {get_started['first'][:7]}"), message
    assert "remote 'local' could not provide it" in message and "dvc pull eval/metrics.json" in message


def test_check_fails_instead_of_skipping_the_gates(get_started, tmp_path):
    """A PR's clone with no DVC cache: `check` must not say "All checks passed"."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(get_started["repo"]), str(clone))
    (tmp_path / "empty-remote").mkdir()
    (clone / ".dvc" / "config.local").write_text(f"['remote \"local\"']\n    url = {tmp_path / 'empty-remote'}\n")
    (clone / ".ci-mlops.yml").write_text("metrics:\n  test.accuracy: {max_drop: 0.0}\n")
    proc = run_cli("check", "--base", get_started["first"], cwd=clone)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "cannot read eval/metrics.json at" in proc.stderr and "passed" not in proc.stdout


def test_the_pr_clone_reads_base_metrics_from_the_remote(get_started, tmp_path):
    """A fresh clone (empty cache) with the remote reachable: base and head both come from the remote."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(get_started["repo"]), str(clone))
    (clone / ".dvc" / "config.local").write_text(
        f"['remote \"local\"']\n    url = {get_started['repo'].parent / 'remote'}\n")
    (clone / ".ci-mlops.yml").write_text("metrics:\n  test.accuracy: {max_drop: 1.0}\n")
    proc = run_cli("check", "--base", get_started["first"], "--format", "json", cwd=clone)
    # the workspace has no eval/ (never pulled): DVC's workspace view is the cache, then the remote
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    [gate] = json.loads(proc.stdout)["gates"]
    assert gate["base"] is not None and gate["value"] is not None and not gate["skipped"]


def test_history_reads_metrics_inside_cached_directories(get_started):
    repo = get_started["repo"]
    report = build_report(repo, get_started["second"], get_started["second"], history=2)
    row = next(r for r in report["metrics"] if r["key"] == "test.accuracy")
    assert None not in row["history"]["values"] and len(row["history"]["values"]) == 2


def test_history_says_which_commits_the_local_cache_could_not_give(get_started, tmp_path):
    """The trend does not fetch: a commit whose eval/ is not in the local cache is a gap, and a note says so."""
    repo = copy_repo(get_started["repo"], tmp_path / "repo")
    _drop_local_objects(repo, get_started["first"])
    report = build_report(repo, get_started["second"], get_started["second"], history=2)
    row = next(r for r in report["metrics"] if r["key"] == "test.accuracy")
    assert row["history"]["values"][0] is None and row["history"]["values"][1] is not None
    [note] = [n for n in report["notes"] if "trend" in n]
    assert note.startswith(f"eval/metrics.json could not be read at 1 of the 2 commits of the trend on "
                           f"{get_started['second']} ({get_started['first'][:7]}): their dvc.lock records it but "
                           "the local DVC cache does not have it"), note

    complete = build_report(get_started["repo"], get_started["second"], get_started["second"], history=2)
    assert not [n for n in complete["notes"] if "trend" in n]  # nothing lost: nothing said


def test_a_file_the_directory_does_not_hold_is_not_fetched(get_started):
    project = load_project(get_started["repo"], get_started["second"])
    location = dvc_cache.locate(project, "eval/nothing.json")
    assert dvc_cache.read_cached(get_started["repo"], location) is dvc_cache.NOT_IN_OUTPUT
    assert dvc_cache.list_cached_dir(get_started["repo"], project, "eval") == [
        "eval/confusion.csv", "eval/metrics.json", "eval/prc.csv"]


def test_the_remote_named_in_the_config_is_the_one_fetched_from(get_started, tmp_path):
    """`dvc.remote` in .ci-mlops.yml (the remote CI uses) wins over DVC's default remote."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(get_started["repo"]), str(clone))
    (tmp_path / "empty-remote").mkdir()
    (clone / ".dvc" / "config.local").write_text(
        f"['remote \"local\"']\n    url = {tmp_path / 'empty-remote'}\n"
        f"['remote \"ci\"']\n    url = {get_started['repo'].parent / 'remote'}\n")
    (clone / ".ci-mlops.yml").write_text("dvc:\n  remote: ci\nmetrics:\n  test.accuracy: {max_drop: 1.0}\n")
    proc = run_cli("check", "--base", get_started["first"], "--format", "json", cwd=clone)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    [gate] = json.loads(proc.stdout)["gates"]
    assert gate["base"] is not None and not gate["skipped"]
    (clone / ".ci-mlops.yml").write_text("metrics:\n  test.accuracy: {max_drop: 1.0}\n")
    proc = run_cli("check", "--base", get_started["first"], cwd=clone)
    assert proc.returncode == 2 and "remote 'local' could not provide it" in proc.stderr, proc.stderr
