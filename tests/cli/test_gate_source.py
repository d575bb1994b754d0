"""The gates that decide a pull request are the base branch's; a PR's gate changes are shown and apply after merge.

Each test is a real git repository: main carries .ci-mlops.yml, a PR branch edits it, and
`ci-mlops check` / `report` run as in a GitHub pull_request run (GITHUB_BASE_REF=main).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import git, run_cli

PR_ENV = {"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main", "GITHUB_EVENT_NAME": "pull_request"}
BASE = {"report": {"metrics_files": ["metrics.json"]},
        "metrics": {"acc": {"direction": "higher", "min": 0.9}},
        "data": {"data.csv": {"columns": {"label": {"allowed": ["a", "b"]}}}}}


def commit(repo: Path, message: str, *, config: dict | None = None, **files: str) -> None:
    if config is not None:
        (repo / ".ci-mlops.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for name, text in files.items():
        (repo / name.replace("__", ".")).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """main: acc 0.95, gate min 0.9, labels a/b allowed; checked out: branch `pr` (acc 0.8, a label c)."""
    git(git_repo, "branch", "-M", "main")
    commit(git_repo, "base", config=BASE, metrics__json='{"acc": 0.95}', data__csv="label\na\nb\n")
    git(git_repo, "checkout", "-q", "-b", "pr")
    commit(git_repo, "worse model, new label", metrics__json='{"acc": 0.8}', data__csv="label\na\nc\n")
    return git_repo


def pr_config(repo: Path, config: dict) -> None:
    commit(repo, "edit the gates", config=config)


class Checked:
    """`ci-mlops check --format json -o FILE` (annotations go to stdout in Actions, the JSON to FILE)."""

    def __init__(self, repo: Path, args: tuple[str, ...], env: dict):
        target = repo.parent / "check.json"
        target.unlink(missing_ok=True)
        out = run_cli("check", "--format", "json", "-o", str(target), *args, cwd=repo, env=env)
        self.returncode, self.stdout, self.stderr = out.returncode, out.stdout, out.stderr
        self.result = json.loads(target.read_text()) if target.exists() else None


def check(repo: Path, *args: str, env: dict | None = None) -> Checked:
    return Checked(repo, args, PR_ENV if env is None else env)


RELAXED = [
    ("lower the bound", {**BASE, "metrics": {"acc": {"direction": "higher", "min": 0.5}}}),
    ("drop the gate", {**BASE, "metrics": {"other": {"required": False}}}),
    ("drop the section", {k: v for k, v in BASE.items() if k != "metrics"}),
    ("flip the direction", {**BASE, "metrics": {"acc": {"direction": "lower", "max": 1.0}}}),
    ("empty gate", {**BASE, "metrics": {"acc": {}}}),
]


@pytest.mark.parametrize(("what", "config"), RELAXED, ids=[r[0] for r in RELAXED])
def test_a_pr_cannot_relax_the_gate_it_fails(repo, what, config):
    pr_config(repo, config)
    out = check(repo)
    assert out.returncode == 1, (what, out.stdout, out.stderr)
    result = out.result
    [gate] = [g for g in result["gates"] if g["key"] == "acc" and g["rule"] == "min"]
    assert not gate["passed"] and gate["bound"] == 0.9
    source = result["gate_source"]
    assert source["from"] == "base" and source["ref"] == "main" and source["changes"], source


def test_a_pr_cannot_relax_a_data_check(repo):
    pr_config(repo, {**BASE, "data": {"data.csv": {"columns": {"label": {"allowed": ["a", "b", "c"]}}}}})
    result = check(repo).result
    [allowed] = [d for d in result["data"] if d["check"] == "allowed"]
    assert not allowed["passed"]
    assert result["gate_source"]["changes"] == [
        {"key": ["data", "data.csv", "columns", "label", "allowed"], "base": ["a", "b"], "head": ["a", "b", "c"]}]


def test_the_changes_are_listed_setting_by_setting(repo):
    pr_config(repo, {**BASE, "metrics": {"acc": {"direction": "higher", "min": 0.5, "max_drop": 0.1},
                                         "new.metric": {}}})
    changes = check(repo).result["gate_source"]["changes"]
    assert changes == [
        {"key": ["metrics", "acc", "max_drop"], "base": None, "head": 0.1},
        {"key": ["metrics", "acc", "min"], "base": 0.9, "head": 0.5},
        {"key": ["metrics", "new.metric"], "base": None, "head": "(present)"},
    ]


def test_text_output_and_annotation_name_the_source(repo):
    pr_config(repo, RELAXED[0][1])
    out = run_cli("check", cwd=repo, env=PR_ENV)
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].startswith("Gates: from .ci-mlops.yml at main (")
    assert "this PR changes 1 gate setting(s), applied after merge" in out.stdout
    assert "::notice file=.ci-mlops.yml,title=Gates changed::" in out.stdout


def test_the_report_shows_the_change_and_what_the_prs_gates_would_decide(repo):
    pr_config(repo, {**BASE, "metrics": {"acc": {"direction": "higher", "min": 0.5}, "acc2": {"min": 0.1}}})
    out = run_cli("report", cwd=repo, env=PR_ENV)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "#### Gate changes in this PR" in text
    assert "The gates of `main` (`" in text and "the new ones apply after merge" in text
    assert "| `metrics.acc.min` | 0.9 | 0.5 |" in text
    assert "Under this PR's metric gates: ❌ 1 of 2 would fail: `acc2`" in text
    assert "❌ 1 of 1 quality gates failed" in text  # the deciding verdict: main's gate
    data = json.loads(run_cli("report", "--format", "json", cwd=repo, env=PR_ENV).stdout)
    assert data["gate_source"]["from"] == "base"


def test_the_first_pr_that_adds_the_config_is_judged_by_its_own_gates(git_repo):
    git(git_repo, "branch", "-M", "main")
    commit(git_repo, "no config yet", metrics__json='{"acc": 0.95}', data__csv="label\na\n")
    git(git_repo, "checkout", "-q", "-b", "pr")
    commit(git_repo, "add ci-mlops", config=BASE, metrics__json='{"acc": 0.8}')
    out = check(git_repo)
    assert out.returncode == 1  # its own gate (min 0.9) decides: nothing on main to relax
    assert out.result["gate_source"]["from"] == "proposed"
    report = run_cli("report", cwd=git_repo, env=PR_ENV).stdout
    assert "#### Quality gates proposed by this PR" in report and "has no `.ci-mlops.yml`" in report


def test_outside_a_pull_request_the_workspace_gates_decide_unless_asked(repo):
    pr_config(repo, RELAXED[0][1])
    local = {"GITHUB_ACTIONS": ""}
    assert check(repo, env=local).returncode == 1  # the data check (label c) still fails
    result = check(repo, env=local).result
    assert "gate_source" not in result and [g["bound"] for g in result["gates"] if g["rule"] == "min"] == [0.5]
    based = check(repo, "--gates-from", "base", env=local).result
    assert [g["bound"] for g in based["gates"] if g["rule"] == "min"] == [0.9]
    mine = check(repo, "--gates-from", "workspace").result
    assert [g["bound"] for g in mine["gates"] if g["rule"] == "min"] == [0.5] and "gate_source" not in mine


def test_the_base_tip_decides_not_the_merge_base(repo):
    # main tightened its gate after the PR branched: that is the gate in force at merge.
    git(repo, "checkout", "-q", "main")
    commit(repo, "tighten", config={**BASE, "metrics": {"acc": {"direction": "higher", "min": 0.99}}})
    git(repo, "checkout", "-q", "pr")
    result = check(repo).result
    assert [g["bound"] for g in result["gates"] if g["rule"] == "min"] == [0.99]


@pytest.mark.parametrize(("bad", "message"), [
    ("metrics: [", "invalid YAML"),
    ("metrics:\n  acc: {min: high}\n", "metrics.acc.min"),
    ("\xff", None),
])
def test_an_invalid_base_config_is_one_line_naming_it(repo, bad, message):
    git(repo, "checkout", "-q", "main")
    (repo / ".ci-mlops.yml").write_bytes(bad.encode("latin-1"))
    git(repo, "commit", "-q", "-am", "break the config")
    git(repo, "checkout", "-q", "pr")
    pr_config(repo, RELAXED[0][1])
    out = check(repo)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert ".ci-mlops.yml at main" in out.stderr and (message is None or message in out.stderr), out.stderr


def test_a_missing_base_branch_is_one_line_with_the_fix(repo):
    out = check(repo, env={**PR_ENV, "GITHUB_BASE_REF": "release"})
    assert out.returncode == 2 and "fetch-depth: 0" in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_hostile_gate_keys_in_the_change_table_are_escaped(repo):
    evil = "acc</details><img src=x>|@org/team"
    pr_config(repo, {**BASE, "metrics": {**BASE["metrics"], evil: {"min": 0.1, "required": False}}})
    text = run_cli("report", cwd=repo, env=PR_ENV).stdout
    row = next(line for line in text.splitlines() if "img" in line and line.startswith("| `metrics."))
    assert row.count(" | ") == 2 and "\\|" in row  # three cells: the pipe is escaped inside the code span
    assert "<img" not in text.replace("`metrics.acc</details><img src=x>\\|@org/team.", "")
