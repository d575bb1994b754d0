"""`ci-mlops report` on a repository whose TOML metrics file is plain reads it without importing tomllib
(ci_mlops/tomlplain.py), and prints what reading it with tomllib prints."""

from __future__ import annotations

import pytest

from ci_mlops import tomlplain
from ci_mlops.commands import report_run
from tests.conftest import git
from tests.support.report_process import report_importing

DVC_YAML = "metrics:\n- eval/summary.toml\nparams:\n- params.yaml\n"
SUMMARY = "# written by train.py\n[summary]\nquality = {quality}   # on the test split\nstable = true\nname = \"churn\"\n"


@pytest.fixture
def repo(tmp_path):
    """A DVC project at two states: committed (quality 0.7) and retrained in the workspace (0.8)."""
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    (repo / "eval").mkdir()
    (repo / ".dvc" / "config").write_text("")
    git(repo, "init", "-q", "-b", "main")
    files = {"dvc.yaml": DVC_YAML, "params.yaml": "lr: 0.1\n", "eval/summary.toml": SUMMARY.format(quality=0.7)}
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "eval" / "summary.toml").write_text(SUMMARY.format(quality=0.8))
    return repo


def _report(repo, *args: str) -> tuple[str, bool]:
    """The report's output, and whether the process imported tomllib."""
    return report_importing(repo, "tomllib", *args)


def test_a_plain_toml_metrics_file_is_reported_without_tomllib(repo):
    out, imported = _report(repo)
    assert not imported
    assert "summary.quality" in out and "0.8" in out and "0.7" in out
    _, imported = _report(repo, "--format", "json")
    assert not imported


def test_a_toml_file_outside_the_subset_is_read_by_tomllib(repo):
    (repo / "eval" / "summary.toml").write_text(SUMMARY.format(quality=0.8) + "folds = [0.79, 0.81]\n")
    out, imported = _report(repo)
    assert imported and "summary.quality" in out and "0.8" in out


def test_the_report_is_the_same_as_tomllib_reading_it(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITLAB_CI", raising=False)

    def report(fmt: str) -> str:
        report_run.run(base="main", head=None, fmt=fmt, output=None, show_all=True, history=None, no_plots=False,
                       max_chars=None, checks=True, summary=False, plots_dir=None, config_path=None,
                       gates_from="auto")
        return capsys.readouterr().out

    fast = [report("markdown"), report("json")]
    monkeypatch.setattr(tomlplain, "load", lambda text: None)  # safeload asks tomlplain when a TOML file is read
    assert [report("markdown"), report("json")] == fast
    assert "summary.stable" in fast[1] and "summary.quality" in fast[0]
