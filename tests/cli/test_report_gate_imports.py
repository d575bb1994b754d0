"""What `ci-mlops report` imports to judge metric gates: the gates, never the other checks' machinery.

A project's `.ci-mlops.yml` usually has a few metric gates, and every pull request runs the report
with them. Judging them needs the gate rules, the deciding gates' source and the renderer
(`checks.gates`, `checks.gatesource`, `checks.records`, `checks.render`, `checks.runner`), not
`typing` (the check results are TypedDicts for the type checker only), nor the data checks' and
slices' readers (`checks.data`, `checks.slices`, `datafiles`, `dvc.run`), nor the
significance evidence (unless a gate asks for an interval), nor jsonschema or PyYAML for a valid
block-style file, nor GitHub's API client to name the pull request. Together they were ~12 ms of a ~67 ms
report (~7 ms more in a GitHub pull request run). Each module comes back with the
section that needs it, which the tests below show too, so the list cannot pass by accident.
benchmarks/bench_report.py measures the command.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import git
from tests.support.report_process import report_modules

# What judging block-style metric gates must not load (besides test_report_imports.UNUSED).
NOT_FOR_GATES = ("typing", "ci_mlops.checks.data", "ci_mlops.checks.slices", "ci_mlops.checks.locate",
                 "ci_mlops.checks.workspace", "ci_mlops.significance.evidence", "ci_mlops.datafiles",
                 "ci_mlops.dvc.run", "ci_mlops.github.client", "jsonschema", "yaml", "dataclasses", "tempfile")

GATES = "version: 1\nmetrics:\n  acc:\n    min: 0.5\n  loss:\n    max_drop: 0.1\n"


@pytest.fixture
def repo(tmp_path):
    """Two commits of a stage's JSON metrics, a data file and predictions, the workspace retrained;
    the gates committed on main (so the base branch has them too)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n"
                                   "    metrics:\n      - metrics.json:\n          cache: false\n")
    (repo / "data.csv").write_text("x,label\n1,0\n2,1\n3,1\n")
    (repo / "preds.csv").write_text("actual,predicted,group\n0,0,a\n1,1,a\n1,0,b\n")
    (repo / ".ci-mlops.yml").write_text(GATES)
    (repo / "metrics.json").write_text('{"acc": 0.6, "loss": 0.4}\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "metrics.json").write_text('{"acc": 0.7, "loss": 0.35}\n')
    return repo


def _loaded(repo, *args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """The report's output and which of NOT_FOR_GATES its process loaded."""
    return report_modules(repo, NOT_FOR_GATES, ["--base", "main", *args], env=env)


@pytest.mark.parametrize("args", [(), ("--format", "json"), ("--history", "2"), ("--gates-from", "base")])
def test_judging_metric_gates_loads_only_the_gates(repo, args):
    out, loaded = _loaded(repo, *args)
    assert loaded == []
    assert ("All 2 quality gates passed" in out) if "json" not in args else len(json.loads(out)["gates"]) == 2


@pytest.mark.parametrize("args, env", [((), {"GITLAB_CI": "true", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}),
                                       (("--gates-from", "base"), {})])
def test_nor_in_a_pull_request_whose_gates_come_from_the_base_branch(repo, args, env):
    (repo / ".ci-mlops.yml").write_text(GATES.replace("min: 0.5", "min: 0.9"))  # the PR tightens a gate
    out, loaded = _loaded(repo, *args, env=env)
    assert loaded == []
    assert "All 2 quality gates passed" in out  # main's gates decide
    assert "Gate changes in this PR" in out and "would fail" in out  # and the PR's are shown, judged


def test_nor_in_a_github_pull_request_run_that_names_its_pull_request(repo, tmp_path):
    """In Actions the report names the PR from the event payload: GitHub's context, not its API client."""
    (repo / ".ci-mlops.yml").write_text(GATES.replace("min: 0.5", "min: 0.9"))
    event = tmp_path / "event.json"
    event.write_text('{"number": 7, "pull_request": {"number": 7, "head": {"sha": "' + "1" * 40 + '"}}}')
    out, loaded = _loaded(repo, env={"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main", "GITHUB_REPOSITORY": "o/r",
                                     "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)})
    assert loaded == []
    assert "PR #7 (`1111111`)" in out and "All 2 quality gates passed" in out and "Gate changes in this PR" in out


def test_each_other_section_loads_what_it_needs(repo):
    (repo / ".ci-mlops.yml").write_text(GATES + "data:\n  data.csv:\n    rows:\n      min: 2\n")
    out, loaded = _loaded(repo)
    assert "ci_mlops.checks.data" in loaded and "ci_mlops.checks.slices" not in loaded
    assert "Data checks" in out and "data.csv" in out

    (repo / ".ci-mlops.yml").write_text(GATES + "slices:\n  file: preds.csv\n  by:\n    - group\n")
    out, loaded = _loaded(repo)
    assert "ci_mlops.checks.slices" in loaded
    assert "By `group`" in out

    (repo / ".ci-mlops.yml").write_text(GATES + "  f1:\n    max_drop: 0.1\n    significance: 0.95\n")
    out, loaded = _loaded(repo)
    assert "ci_mlops.significance.evidence" in loaded and "ci_mlops.checks.data" not in loaded
