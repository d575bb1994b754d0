"""`check` and `status --check-run` annotate the same failure on the same line of the config.

Both read it through one locator (ci_mlops.checks.locate); this runs both commands, as a
workflow does, with the check JSON passed between them, and compares file:line pairs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import git, run_cli

from tests.support.fake_github import FakeGitHub

SHA = "c" * 40
CONFIG = """\
# quality gates
metrics:
  test.accuracy:
    min: 0.9
data:
  people.csv:
    rows: {min: 5}
    schema: strict
    columns:
      age:
        max: 120
slices:
  file: preds.csv
  by: [group]
  metrics:
    accuracy:
      max_gap: 0.1
"""
# The line of each failure's rule in CONFIG: the metric gate, three data checks, the slice gate.
EXPECTED_LINES = {4, 7, 8, 11, 17}
ERROR = re.compile(r"^::error file=(?P<file>[^,]+),line=(?P<line>\d+),title=(?P<title>[^:]+)::", re.M)


@pytest.fixture
def project(git_repo: Path) -> Path:
    """A git repository with a declared metrics file, a data file and predictions, all failing their gates."""
    (git_repo / "dvc.yaml").write_text("stages:\n  evaluate:\n    cmd: python eval.py\n"
                                       "    metrics:\n    - metrics.json:\n        cache: false\n")
    (git_repo / "metrics.json").write_text('{"test": {"accuracy": 0.8}}\n')
    (git_repo / "people.csv").write_text("id,age\n1,34\n2,200\n")
    (git_repo / "preds.csv").write_text("actual,predicted,group\n1,1,a\n0,1,a\n1,1,b\n0,0,b\n")
    return git_repo


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def check_then_status(repo: Path, tmp_path: Path, *extra: str, env: dict[str, str] | None = None):
    """(check's annotations, the check run's annotations) as {(title, file, line)} sets."""
    check_json = tmp_path / "check.json"
    out = run_cli("check", "--format", "json", "-o", str(check_json), *extra, cwd=repo,
                  env={"GITHUB_ACTIONS": "true", **(env or {})})
    assert out.returncode == 1, out.stderr
    from_check = {(m["title"].replace("%3A", ":"), m["file"], int(m["line"])) for m in ERROR.finditer(out.stdout)}
    with FakeGitHub() as gh:
        out = run_cli("status", str(check_json), "--check-run", "--sha", SHA, *extra, cwd=repo,
                      env=gh.env(**(env or {})))
        assert out.returncode == 0, out.stderr
        [check_run] = gh.check_runs("o/r")
    notes = check_run["output"]["annotations"]
    from_status = {(n["title"], n["path"], n["start_line"]) for n in notes}
    assert all(n["start_line"] == n["end_line"] for n in notes)
    return from_check, from_status


def test_check_and_check_run_annotate_the_same_config_lines(project: Path, tmp_path: Path):
    (project / ".ci-mlops.yml").write_text(CONFIG)
    commit(project, "gates")
    from_check, from_status = check_then_status(project, tmp_path)
    assert len(from_check) == 5  # the gate, people.csv's rows, schema and age max, the slice gap
    assert from_status == from_check
    assert {line for _, _, line in from_check} == EXPECTED_LINES
    # A failed data check is on its config line, not on line 1 of the data file.
    assert {file for _, file, _ in from_status} == {".ci-mlops.yml"}


def test_a_config_in_a_subfolder_is_named_from_the_repository_root(project: Path, tmp_path: Path):
    (project / "ci").mkdir()
    (project / "ci" / "gates.yml").write_text(CONFIG)
    commit(project, "gates")
    from_check, from_status = check_then_status(project, tmp_path, "--config", "ci/gates.yml")
    assert from_status == from_check
    assert {(file, line) for _, file, line in from_check} == {("ci/gates.yml", line) for line in EXPECTED_LINES}


def test_gates_changed_by_the_pr_are_not_placed_on_the_prs_lines(project: Path, tmp_path: Path):
    """The base branch's gates decide; the PR's file has other lines: both name the file, without a line of it."""
    (project / ".ci-mlops.yml").write_text(CONFIG)
    commit(project, "gates")
    git(project, "checkout", "-q", "-b", "relax")
    (project / ".ci-mlops.yml").write_text("# relaxed\n\n\n" + CONFIG.replace("min: 0.9", "min: 0.5"))
    commit(project, "relax the gate")
    pr = {"GITHUB_BASE_REF": "main"}
    check_json = tmp_path / "check.json"
    out = run_cli("check", "--format", "json", "-o", str(check_json), cwd=project, env={"GITHUB_ACTIONS": "true", **pr})
    assert out.returncode == 1, out.stderr
    errors = [line for line in out.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 5 and all(line.startswith("::error file=.ci-mlops.yml,title=") for line in errors)
    with FakeGitHub() as gh:
        out = run_cli("status", str(check_json), "--check-run", "--sha", SHA, cwd=project, env=gh.env(**pr))
        assert out.returncode == 0, out.stderr
        [check_run] = gh.check_runs("o/r")
    assert {(n["path"], n["start_line"]) for n in check_run["output"]["annotations"]} == {(".ci-mlops.yml", 1)}
    assert json.loads(check_json.read_text())["gate_source"]["changes"]
