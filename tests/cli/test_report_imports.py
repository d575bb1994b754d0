"""What `ci-mlops report` imports: start-up is most of the command, so modules it does not use stay out.

Every pull request runs the report. ``dataclasses`` (with ``inspect``, ``ast``, ``dis`` and
``tokenize``) and ``tempfile`` (with ``random`` and ``shutil``) cost ~13 ms of a ~100 ms command
and are not needed by it: its classes are records (``ci_mlops/record.py``), and a temporary file
is made only when a file is written. ``datetime`` and ``csv`` load only for a plot that needs
them. ``typing`` (~3 ms) loads only with tomllib (a TOML file tomlplain leaves to it), not with the
gates either (test_report_gate_imports.py). Our own modules load only on the path that uses them:
``tomlplain`` for a TOML file, ``fsutil`` for ``--output``, ``report.plots`` with Mermaid's charts for a
project that declares plots, ``config.accept`` for a ``.ci-mlops.yml`` to validate. ``subprocess`` (with ``signal``,
``threading``, ``selectors``, ``locale`` and, through ``importlib.util``, ``contextlib``: ~6 ms) is
not needed either: git is started by ``ci_mlops/spawn.py``. Nor is PyYAML (~10 ms) for files in
block or one-line flow style (``ci_mlops/yamlplain.py``), nor ``pathlib`` (with ``fnmatch``, ``ntpath``,
``urllib.parse`` and ``ipaddress``: ~4.5 ms): the report's modules work on paths as text (``os.path``).
benchmarks/bench_report.py measures the command.
"""

from __future__ import annotations

import pytest

from tests.conftest import git
from tests.support.report_process import report_modules

UNUSED = ("dataclasses", "inspect", "ast", "tokenize", "tempfile", "random", "shutil", "datetime", "csv", "typing",
          "ci_mlops.tomlplain", "ci_mlops.fsutil", "subprocess", "signal", "threading", "selectors", "locale",
          "contextlib", "importlib.util", "yaml", "select", "ci_mlops.report.plots", "ci_mlops.report.mermaid",
          "ci_mlops.config.accept", "pathlib", "fnmatch", "ntpath", "urllib", "urllib.parse", "ipaddress")


@pytest.fixture
def repo(tmp_path):
    """Three commits of a stage's JSON metrics and its params, the workspace retrained."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    params: [lr]\n"
                                   "    metrics:\n      - metrics.json:\n          cache: false\n")
    for step in range(3):
        (repo / "params.yaml").write_text(f"lr: 0.{step + 1}\n")
        (repo / "metrics.json").write_text(f'{{"acc": 0.{step + 5}, "loss": 0.{5 - step}}}\n')
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"step {step}")
    (repo / "metrics.json").write_text('{"acc": 0.9, "loss": 0.1}\n')
    return repo


def _imported(repo, *args: str) -> list[str]:
    """The UNUSED modules a `ci-mlops report ARGS` process has loaded when it ends."""
    return report_modules(repo, UNUSED, args)[1]


@pytest.mark.parametrize("args", [("--base", "main"), ("--base", "HEAD~1", "--head", "HEAD", "--history", "3"),
                                  ("--base", "main", "--format", "json")])
def test_the_report_imports_neither_dataclasses_nor_tempfile_nor_typing(repo, args):
    assert _imported(repo, *args) == []


def test_nor_does_a_report_with_a_config_or_gates(repo):
    (repo / ".ci-mlops.yml").write_text("version: 1\nreport:\n  history: 2\n")  # scalars only
    assert _imported(repo, "--base", "main") == ["ci_mlops.config.accept"]  # the file is validated
    (repo / ".ci-mlops.yml").write_text("version: 1\nmetrics:\n  acc:\n    min: 0.5\n")
    assert _imported(repo, "--base", "main") == ["ci_mlops.config.accept"]  # the file is validated
    (repo / ".ci-mlops.yml").write_text("version: 1\nmetrics:\n  acc: {min: 0.5, max_drop: 0.1}\n")  # docs' style
    assert _imported(repo, "--base", "main") == ["ci_mlops.config.accept"]  # the file is validated


def test_writing_the_report_to_a_file_loads_tempfile_then(repo):
    assert _imported(repo, "--base", "main", "-o", "out/report.md") == [  # fsutil's writes work on Paths
        "tempfile", "random", "shutil", "ci_mlops.fsutil", "pathlib", "fnmatch", "ntpath", "urllib", "urllib.parse",
        "ipaddress"]
    assert "| loss | 0.3 | 0.1 |" in (repo / "out" / "report.md").read_text()
