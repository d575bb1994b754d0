"""`check` as a plain function: the deciding gates, the verdict and where each failure is annotated."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git

from ci_mlops.checks.locate import Location
from ci_mlops.checks.workspace import check_workspace
from ci_mlops.errors import UserError

CONFIG = """\
metrics:
  test.accuracy:
    min: 0.9
data:
  people.csv:
    columns:
      age:
        max: 120
"""


@pytest.fixture
def project(git_repo: Path) -> Path:
    (git_repo / "dvc.yaml").write_text("stages:\n  evaluate:\n    cmd: python eval.py\n"
                                       "    metrics:\n    - metrics.json:\n        cache: false\n")
    (git_repo / "metrics.json").write_text('{"test": {"accuracy": 0.8}}\n')
    (git_repo / "people.csv").write_text("id,age\n1,34\n2,200\n")
    (git_repo / ".ci-mlops.yml").write_text(CONFIG)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "gates")
    return git_repo


def test_the_workspace_is_judged_and_each_failure_placed(project: Path):
    run = check_workspace(str(project / ".ci-mlops.yml"), env={})
    assert run.root == project and run.source.origin == "workspace" and run.report is not None
    assert not run.verdict.ok and run.verdict.total == 2
    assert [(item.kind, where) for item, where in run.annotations()] == [
        ("gate", Location(".ci-mlops.yml", 3)), ("data", Location(".ci-mlops.yml", 8))]
    assert "gate_source" not in run.verdict.to_json()


def test_in_a_pull_request_the_base_branchs_gates_decide(project: Path):
    git(project, "checkout", "-q", "-b", "relax")
    (project / ".ci-mlops.yml").write_text(CONFIG.replace("min: 0.9", "min: 0.5"))
    run = check_workspace(str(project / ".ci-mlops.yml"),
                          env={"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main"})
    assert run.source.origin == "base" and run.verdict.gates_changed
    assert [g["passed"] for g in run.verdict.gates] == [False]  # main's min: 0.9, not the PR's 0.5
    assert {where for _, where in run.annotations()} == {Location(".ci-mlops.yml")}
    assert run.verdict.to_json()["gate_source"]["changes"][0]["key"] == ["metrics", "test.accuracy", "min"]


def test_no_metric_gates_build_no_report_and_a_data_problem_is_a_user_error(project: Path):
    (project / ".ci-mlops.yml").write_text("data:\n  missing.csv:\n    rows: {min: 1}\n")
    with pytest.raises(UserError, match=r"missing\.csv: no such file"):
        check_workspace(str(project / ".ci-mlops.yml"), env={})
    (project / ".ci-mlops.yml").write_text("data:\n  people.csv:\n    rows: {min: 1}\n")
    run = check_workspace(str(project / ".ci-mlops.yml"), env={})
    assert run.report is None and run.verdict.ok and run.annotations() == []


def test_without_a_config_nothing_is_checked(git_repo: Path, monkeypatch):
    monkeypatch.chdir(git_repo)
    run = check_workspace(None, env={})
    assert run.verdict.ok and run.verdict.total == 0 and run.verdict.to_json()["config"] is None
