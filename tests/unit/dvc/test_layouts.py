"""The test run's DVC layouts (tests/support/dvc_layouts.py): built once, whoever asks first, and copied."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.support import dvc_layouts
from tests.support.dvc_factory import git
from tests.support.dvc_layouts import Layouts, layout_name, run_folder


@pytest.fixture
def builds(monkeypatch) -> list[dict]:
    """make_dvc_repo replaced by a slow stand-in that records each build and writes a marker file."""
    calls: list[dict] = []

    def fake(path, **options):
        calls.append(options)
        time.sleep(0.3)  # long enough for a second request to arrive while the first builds
        if options.get("monorepo"):
            raise RuntimeError("dvc repro failed")
        Path(path).mkdir(parents=True)
        (Path(path) / "marker").write_text(str(len(calls)))
        return Path(path)

    monkeypatch.setattr(dvc_layouts, "make_dvc_repo", fake)
    return calls


def test_a_layout_is_named_by_the_options_that_differ_from_the_defaults():
    assert layout_name({}) == layout_name({"remote": True, "cached_dir": False}) == "default"
    assert layout_name({"remote": False}) == "remote=False"
    assert layout_name({"monorepo": True, "cached_metrics": True}) == "cached_metrics=True-monorepo=True"
    with pytest.raises(TypeError, match="no option remotes"):
        layout_name({"remotes": False})


def test_concurrent_requests_build_a_layout_once(tmp_path, builds):
    """Two requesters (as two xdist workers would) get the one build; each lock is its own open file."""
    got: list[Path] = []
    threads = [threading.Thread(target=lambda: got.append(Layouts(tmp_path).template(remote=False)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [{"remote": False}]
    assert got == [tmp_path / "remote=False" / "repo"] * 2
    Layouts(tmp_path).template()
    assert builds == [{"remote": False}, {}]  # another layout is another build


def test_a_failed_build_is_cleared_and_tried_again(tmp_path, builds):
    layouts = Layouts(tmp_path)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="dvc repro failed"):
            layouts.template(monorepo=True)
    assert len(builds) == 2 and not (tmp_path / "monorepo=True" / "built").exists()


def test_copies_are_independent_repositories_with_their_own_remote(dvc_layouts, tmp_path):
    first = dvc_layouts.copy(tmp_path / "a" / "repo")
    second = dvc_layouts.copy(tmp_path / "b" / "repo")
    template = dvc_layouts.template()
    (first / "params.yaml").write_text("changed: true\n")
    git(first, "commit", "-qam", "changed")
    assert git(second, "status", "--porcelain") == "" and (template / "params.yaml").read_text() != "changed: true\n"
    assert git(first, "rev-parse", "HEAD~1") == git(second, "rev-parse", "HEAD") == git(template, "rev-parse", "HEAD")
    for copy in (first, second):
        assert str(copy.parent / "remote") in (copy / ".dvc" / "config.local").read_text()


def test_the_run_folder_is_shared_by_xdist_workers_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert run_folder(tmp_path / "popen-gw1") == tmp_path
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert run_folder(tmp_path) == tmp_path  # without xdist, never the folder of earlier runs
