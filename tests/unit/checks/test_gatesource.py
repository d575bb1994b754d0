"""deciding_config reads the base branch's gates through one git process (a pull request's report runs it each time)."""

from __future__ import annotations

import os
import subprocess

import pytest

from ci_mlops.checks.gatesource import deciding_config
from ci_mlops.config import load_config
from ci_mlops.errors import UserError
from ci_mlops.git import BlobReader, Repo
from ci_mlops.report import build_report
from tests.conftest import git

MR = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}


@pytest.fixture
def repo(git_repo):
    """main has a gate `acc: min 0.9`; the checked-out branch `pr` loosens it to 0.1."""
    (git_repo / ".ci-mlops.yml").write_text("version: 1\nmetrics:\n  acc:\n    min: 0.9\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "gate")
    git(git_repo, "checkout", "-q", "-b", "pr")
    (git_repo / ".ci-mlops.yml").write_text("version: 1\nmetrics:\n  acc:\n    min: 0.1\n")
    return git_repo


@pytest.fixture
def processes(monkeypatch):
    """The programs started from here on (their argv), however they are started."""
    started: list[list[str]] = []
    spawnp, popen = os.posix_spawnp, subprocess.Popen

    def counted_spawn(path, argv, *rest, **options):
        started.append(list(argv))
        return spawnp(path, argv, *rest, **options)

    class Counted(popen):  # type: ignore[misc, valid-type]
        def __init__(self, args, *rest, **options):
            started.append(list(args))
            super().__init__(args, *rest, **options)

    monkeypatch.setattr(os, "posix_spawnp", counted_spawn)
    monkeypatch.setattr(subprocess, "Popen", Counted)  # subprocess.run starts its process through it too
    return started


@pytest.mark.parametrize("base", [None, "main"])
def test_the_base_branch_is_resolved_and_read_in_one_git_process(repo, processes, base):
    config = load_config(repo / ".ci-mlops.yml")
    found, tip = Repo.discover(repo), git(repo, "rev-parse", "main").strip()
    processes.clear()
    deciding, source = deciding_config(config, found, base=base, env=MR)
    assert deciding.written["metrics"] == {"acc": {"min": 0.9}}
    assert (source.origin, source.ref, source.sha) == ("base", "main", tip)
    assert source.changes == [{"key": ["metrics", "acc", "min"], "base": 0.9, "head": 0.1}]
    assert len(processes) == 1 and processes[0][-2:] == ["cat-file", "--batch"]


def test_a_path_gives_the_same_as_a_discovered_repository(repo):
    config = load_config(repo / ".ci-mlops.yml")
    by_path = deciding_config(config, repo, env=MR)
    by_repo = deciding_config(config, Repo.discover(repo), env=MR)
    assert by_path[0] == by_repo[0] and by_path[1].to_json() == by_repo[1].to_json()


def test_a_missing_base_branch_is_still_the_one_line_error(repo):
    config = load_config(repo / ".ci-mlops.yml")
    with pytest.raises(UserError, match="the base branch 'gone' is not in this clone"):
        deciding_config(config, Repo.discover(repo), env={**MR, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "gone"})
    with pytest.raises(UserError, match="unknown revision 'gone'"):
        deciding_config(config, Repo.discover(repo), base="gone", gates_from="base", env={})


def test_the_report_reads_the_base_branchs_gates_in_its_own_git_process(repo, processes):
    """`report` hands its blob reader to deciding_config and then to build_report: the gates cost no process."""
    (repo / "metrics.json").write_text('{"acc": 0.5}\n')
    config, found = load_config(repo / ".ci-mlops.yml"), Repo.discover(repo)
    processes.clear()
    build_report(found, "main", None, config=config)
    alone = list(processes)
    processes.clear()
    reader = BlobReader(found.root)
    deciding, source = deciding_config(config, found, env=MR, reader=reader)
    assert source.origin == "base" and reader._proc is not None  # left open for the report
    report = build_report(found, "main", None, config=deciding, reader=reader)
    assert reader._proc is None  # the report closed it
    assert processes == alone and report["base"]["ref"] == "main"


def test_a_merge_requests_report_starts_no_more_git_processes_than_one_judged_by_the_workspace(repo, processes,
                                                                                             monkeypatch, capsys):
    from ci_mlops.commands import report_run

    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python t.py\n    metrics:\n      - metrics.json\n")
    (repo / "metrics.json").write_text('{"acc": 0.5}\n')
    monkeypatch.chdir(repo)
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "GITHUB_BASE_REF"):
        monkeypatch.delenv(name, raising=False)

    def started(**env: str) -> tuple[int, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        processes.clear()
        report_run.run(base="main", head=None, fmt="markdown", output=None, show_all=False, history=None,
                       no_plots=False, max_chars=None, checks=True, summary=False, plots_dir=None, config_path=None,
                       gates_from="auto")
        return len(processes), capsys.readouterr().out

    workspace, text = started()
    assert "| acc | min | 0.1 | 0.5 |" in text  # the PR's own gate
    merge_request, text = started(**MR)
    assert "| acc | min | 0.9 | 0.5 |" in text and "Gate changes in this PR" in text  # main's gate decides
    assert merge_request == workspace
