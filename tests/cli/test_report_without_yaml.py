"""`ci-mlops report` on a repository whose YAML is plain reads it without importing PyYAML
(ci_mlops/yamlplain.py), and prints what reading it with PyYAML prints."""

from __future__ import annotations

import pytest

from ci_mlops import config
from ci_mlops.commands import report_run
from ci_mlops.dvc import project
from tests.conftest import git
from tests.support.report_process import report_importing

DVC_YAML = """\
stages:
  train:
    cmd: python train.py  # writes metrics.json
    deps:
    - train.py
    params:
    - train.lr
    - train.layers
    - model
    metrics:
    - metrics.json:
        cache: false
"""
LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    params:
      params.yaml:
        train.lr: {lr}
    outs:
    - path: metrics.json
      hash: md5
      md5: 0123456789abcdef0123456789abcdef
      size: 40
"""
PARAMS = """\
train:
  lr: {lr}   # learning rate
  layers: [64, 32]
  early_stop: yes
model:
  name: 'tree'
  depth: 017
  seed: 0x1F
"""
CONFIG = "version: 1\nmetrics:\n  acc:\n    min: 0.5\nrunner: [ubuntu-latest]\n"
# The same project written in flow style, as docs/check.md writes gates and many dvc.yaml files lists.
FLOW = {
    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py  # writes metrics.json\n    deps: [train.py]\n"
                "    params: [train.lr, train.layers, model]\n    metrics: [{metrics.json: {cache: false}}]\n",
    ".ci-mlops.yml": "version: 1\nmetrics:\n  acc: {min: 0.5, max_drop: 0.05}   # the docs' style\n"
                     "  loss: {max: 0.9, required: false}\nrunner: [ubuntu-latest]\n",
}
FLOW_PARAMS = "train: {{lr: {lr}, layers: [64, 32], early_stop: yes}}\nmodel: {{name: 'tree', depth: 017, seed: 0x1F}}\n"


@pytest.fixture
def repo(tmp_path):
    """A DVC project at two states: committed (lr 0.1) and retrained in the workspace (lr 0.3)."""
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    (repo / ".dvc" / "config").write_text("")
    git(repo, "init", "-q", "-b", "main")
    files = {"dvc.yaml": DVC_YAML, "dvc.lock": LOCK.format(lr=0.1), "params.yaml": PARAMS.format(lr=0.1),
             "metrics.json": '{"acc": 0.7, "loss": 0.3}\n', ".ci-mlops.yml": CONFIG, "train.py": "\n"}
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "params.yaml").write_text(PARAMS.format(lr=0.3))
    (repo / "dvc.lock").write_text(LOCK.format(lr=0.3))
    (repo / "metrics.json").write_text('{"acc": 0.8, "loss": 0.25}\n')
    return repo


def _report(repo, *args: str) -> tuple[str, bool]:
    """The report's output, and whether the process imported PyYAML."""
    return report_importing(repo, "yaml", *args)


def test_a_plain_repository_is_reported_without_pyyaml(repo):
    out, imported = _report(repo)
    assert not imported
    assert "train.lr" in out and "0.3" in out and "acc" in out and "0.8" in out
    _, imported = _report(repo, "--format", "json")
    assert not imported


@pytest.fixture
def flow_repo(repo):
    """The same project, its dvc.yaml, params and .ci-mlops.yml in flow style at both states."""
    for name, text in FLOW.items():
        (repo / name).write_text(text)
    (repo / "params.yaml").write_text(FLOW_PARAMS.format(lr=0.1))
    git(repo, "commit", "-q", "-am", "flow style")
    (repo / "params.yaml").write_text(FLOW_PARAMS.format(lr=0.3))
    return repo


def test_flow_style_files_are_reported_without_pyyaml(flow_repo):
    out, imported = _report(flow_repo, "--all")
    assert not imported
    for row in ("| train.lr | 0.1 | 0.3 |", "| train.layers | \\[64, 32\\] |", "| train.early_stop | yes |",
                "| model.depth | 17 |", "| model.seed | 31 |"):  # DVC's YAML 1.2: yes a string, 017 decimal
        assert row in out
    assert "All 3 quality gates passed" in out  # acc's min and max_drop, loss's max: read from flow mappings


def test_a_file_outside_the_subset_is_read_by_pyyaml(repo):
    (repo / "params.yaml").write_text(PARAMS.format(lr=0.3) + "extra: &anchor 1\nagain: *anchor\n")
    out, imported = _report(repo)
    assert imported and "train.lr" in out and "extra" in out


@pytest.mark.parametrize("style", ["block", "flow"])
def test_the_report_is_the_same_as_pyyaml_reading_it(style, request, monkeypatch, capsys):
    repo = request.getfixturevalue("repo" if style == "block" else "flow_repo")
    monkeypatch.chdir(repo)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITLAB_CI", raising=False)

    def report(fmt: str) -> str:
        report_run.run(base="main", head=None, fmt=fmt, output=None, show_all=True, history=None, no_plots=False,
                       max_chars=None, checks=True, summary=False, plots_dir=None, config_path=None,
                       gates_from="auto")
        return capsys.readouterr().out

    fast = [report("markdown"), report("json")]
    monkeypatch.setattr(project, "load_plain", lambda *args, **kwargs: None)
    monkeypatch.setattr(config, "load_plain", lambda *args, **kwargs: None)
    assert [report("markdown"), report("json")] == fast
    assert "train.early_stop" in fast[0] and "model.depth" in fast[0]
