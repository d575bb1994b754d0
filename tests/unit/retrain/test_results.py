"""The hand-over folder: only the results the DVC project declares, no symlinks, hashes matching."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from ci_mlops.errors import CheckFailed
from ci_mlops.retrain.results import (
    apply_files,
    changed_files,
    denied,
    is_result,
    read_manifest,
    result_paths,
    validate_files,
    write_folder,
)
from tests.conftest import git

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    params: [train.lr]
    outs:
      - model.pkl
      - summary.json:
          cache: false
    metrics:
      - metrics.json:
          cache: false
      - cached_metrics.json
    plots:
      - plots/roc.csv:
          cache: false
  sub:
    wdir: sub
    cmd: python s.py
    params:
      - other.yaml:
          - a
plots:
  - plots/
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "data.csv.dvc").write_text("outs:\n- md5: 0\n  path: data.csv\n")
    (root / "nested").mkdir()
    (root / "nested" / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo\n    metrics:\n    - m.json:\n        cache: false\n")
    for name in ("train.py", "params.yaml", "metrics.json", "dvc.lock"):
        (root / name).write_text("x\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def test_declared_results_and_nothing_else(project):
    allowed = result_paths(project)
    for path in ("dvc.lock", "params.yaml", "summary.json", "metrics.json", "plots/roc.csv", "sub/other.yaml",
                 "nested/dvc.lock", "nested/m.json", "data.csv.dvc"):
        assert is_result(path, allowed), path
    assert is_result("plots/extra.csv", allowed)  # inside a declared plots folder
    for path in ("train.py", "model.pkl", "cached_metrics.json", ".github/workflows/x.yml", ".dvc/config",
                 ".ci-mlops.yml", "../dvc.lock", "sub/../train.py", ".git/hooks/pre-commit"):
        assert not is_result(path, allowed), path
    assert denied(".github/x.dvc") and denied(".dvc/config")


def test_changed_files_sees_modified_and_untracked_not_deleted(project):
    (project / "dvc.lock").write_text("y\n")
    (project / "plots").mkdir()
    (project / "plots" / "roc.csv").write_text("1,2\n")
    (project / "train.py").unlink()
    assert changed_files(project) == ["dvc.lock", "plots/roc.csv"]


def _folder(tmp_path: Path, project: Path, paths: list[str]) -> Path:
    folder = tmp_path / "handover"
    write_folder(project, folder, paths, {"kind": "retrain", "status": "changed", "base": "b" * 40})
    return folder


def test_round_trip(project, tmp_path):
    (project / "dvc.lock").write_text("new lock\n")
    folder = _folder(tmp_path, project, ["dvc.lock", "metrics.json"])
    files = validate_files(folder, read_manifest(folder), result_paths(project))
    assert files == [("dvc.lock", b"new lock\n"), ("metrics.json", b"x\n")]
    target = tmp_path / "checkout"
    target.mkdir()
    apply_files(target, files)
    assert (target / "dvc.lock").read_text() == "new lock\n"


def _refused(folder: Path, project: Path, match: str) -> None:
    with pytest.raises(CheckFailed, match=match):
        validate_files(folder, read_manifest(folder), result_paths(project))


def test_a_path_that_is_not_a_result_refuses_the_folder(project, tmp_path):
    folder = _folder(tmp_path, project, ["train.py"])
    _refused(folder, project, "train.py is not a result")


def test_a_workflow_file_is_refused_even_when_dvc_yaml_declares_it(project, tmp_path):
    (project / "dvc.yaml").write_text(DVC_YAML + "metrics:\n  - .github/workflows/evil.yml\n")
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "evil.yml").write_text("on: push\n")
    folder = _folder(tmp_path, project, [".github/workflows/evil.yml"])
    _refused(folder, project, "is not a result")


def test_a_symlink_refuses_the_folder(project, tmp_path):
    folder = _folder(tmp_path, project, ["dvc.lock"])
    (folder / "files" / "metrics.json").symlink_to("/etc/passwd")
    _refused(folder, project, "symbolic link")


def test_a_symlinked_directory_refuses_the_folder(project, tmp_path):
    folder = _folder(tmp_path, project, ["dvc.lock"])
    (folder / "files" / "plots").symlink_to(tmp_path)
    _refused(folder, project, "symbolic link")


def test_an_unlisted_file_refuses_the_folder(project, tmp_path):
    folder = _folder(tmp_path, project, ["dvc.lock"])
    (folder / "files" / "metrics.json").write_text("sneaked in\n")
    _refused(folder, project, "not listed")


def test_changed_content_refuses_the_folder(project, tmp_path):
    folder = _folder(tmp_path, project, ["dvc.lock"])
    (folder / "files" / "dvc.lock").write_text("tampered\n")
    _refused(folder, project, "does not match its SHA-256")


def test_a_listed_path_with_dot_dot_refuses_the_folder(project, tmp_path):
    folder = _folder(tmp_path, project, [])
    manifest = json.loads((folder / "retrain.json").read_text())
    manifest["files"] = [{"path": "sub/../../outside/dvc.lock", "sha256": hashlib.sha256(b"").hexdigest()}]
    (folder / "retrain.json").write_text(json.dumps(manifest))
    _refused(folder, project, "plain relative path|is not a result")


def test_not_a_manifest(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "retrain.json").write_text('{"format": 99}')
    with pytest.raises(CheckFailed, match="not a ci-mlops retrain.json"):
        read_manifest(folder)


def test_apply_never_writes_through_a_symlink(tmp_path):
    checkout = tmp_path / "c"
    checkout.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, checkout / "plots")
    with pytest.raises(CheckFailed, match="symbolic link"):
        apply_files(checkout, [("plots/roc.csv", b"x")])
    assert not (outside / "roc.csv").exists()
