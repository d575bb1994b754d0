"""`ci-mlops report` with no gate or check to apply skips the checks package, and prints the same."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ci_mlops.checks.gatesource import GATE_SECTIONS
from ci_mlops.commands import report_run
from ci_mlops.config import parse_config
from ci_mlops.errors import UserError
from tests.conftest import git

PLAIN = "version: 1\nreport:\n  metrics_files: [metrics.json]\n"


@pytest.fixture
def repo(tmp_path):
    """Two commits reporting `metrics.json`, with a config that sets no gate or check."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".ci-mlops.yml").write_text(PLAIN)
    (repo / "metrics.json").write_text('{"acc": 0.7, "loss": 0.3}\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "metrics.json").write_text('{"acc": 0.4, "loss": 0.25}\n')
    return repo


def _run(fmt: str = "markdown", gates_from: str = "auto") -> None:
    report_run.run(base="main", head=None, fmt=fmt, output=None, show_all=False, history=None, no_plots=False,
                   max_chars=None, checks=True, summary=False, plots_dir=None, config_path=None,
                   gates_from=gates_from)


def test_the_sections_that_judge_are_the_gate_sections():
    assert report_run.JUDGED_SECTIONS == GATE_SECTIONS


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_skipping_the_checks_prints_what_running_them_prints(repo, monkeypatch, capsys, fmt):
    monkeypatch.chdir(repo)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITLAB_CI", raising=False)
    _run(fmt)
    skipped = capsys.readouterr().out
    monkeypatch.setattr(report_run, "_may_judge", lambda config, gates_from: True)
    _run(fmt)
    judged = capsys.readouterr().out
    assert skipped == judged
    assert "acc" in skipped and "quality gate" not in skipped.lower()


@pytest.mark.parametrize("text, env, gates_from, judged", [
    (PLAIN, {}, "auto", False),
    (PLAIN, {}, "workspace", False),
    (PLAIN + "metrics: {}\n", {}, "auto", True),  # an empty section is still a section
    (PLAIN + "data:\n  a.csv: {rows: {min: 1}}\n", {}, "auto", True),
    (PLAIN + "slices:\n  file: s.csv\n  by: [g]\n  metrics: {accuracy: {min: 0.5}}\n", {}, "workspace", True),
    (PLAIN, {"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main"}, "auto", True),  # the base's gates
    (PLAIN, {"GITLAB_CI": "true", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}, "auto", True),
    (PLAIN, {"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main"}, "workspace", False),
    (PLAIN, {}, "base", True),
])
def test_when_gates_or_checks_may_apply(monkeypatch, text, env, gates_from, judged):
    for name in ("GITHUB_ACTIONS", "GITHUB_BASE_REF", "GITLAB_CI", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = parse_config(text)
    assert report_run._may_judge(config, gates_from) is judged


def test_an_invalid_gates_from_is_still_refused(repo, monkeypatch):
    monkeypatch.chdir(repo)
    with pytest.raises(UserError, match="--gates-from 'bogus'"):
        _run(gates_from="bogus")


def _imports_checks(repo, config: str) -> bool:
    (repo / ".ci-mlops.yml").write_text(config)
    code = ("import sys\nfrom ci_mlops.cli import main\ntry:\n    main(['report', '--base', 'main'])\n"
            "finally:\n    print('ci_mlops.checks' in sys.modules, file=sys.stderr)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stderr.strip().splitlines()[-1] == "True"


def test_a_plain_report_does_not_import_the_checks(repo):
    assert not _imports_checks(repo, PLAIN)
    assert _imports_checks(repo, PLAIN + "metrics:\n  acc:\n    min: 0.5\n")
