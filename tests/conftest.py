"""Shared fixtures: real git repositories in temporary folders, and the CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ci_mlops.dvc import run as dvc_run
from tests.support import zygote
from tests.support.dvc_layouts import Layouts, run_folder

# Two shared cores under `pytest -n 3` (.ci/run): time is not what property tests check.
settings.register_profile("ci-mlops", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci-mlops")

ROOT = Path(__file__).resolve().parents[1]

# How ci_mlops.dvc.run starts its driver in production (what _route_dvc restores for `plain_dvc` tests).
_PRODUCTION_INTERPRETER = dvc_run.interpreter


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity and return stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository on branch main with one commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# test\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None,
            process: bool = False) -> subprocess.CompletedProcess:
    """Run ``ci-mlops ARGS`` as a user would, and return what a subprocess would.

    By default the command runs in this process (what costs a CLI test is the interpreter
    and its imports, paid again per call): with ``cwd``, the environment, stdin and the
    file descriptors 0-2 swapped for the call, so even DVC and git children write into the
    captured output. ``process=True`` (or an environment that changes how Python starts,
    such as ``PYTHONPATH``) runs ``python -m ci_mlops`` in a child, for tests where the
    process boundary matters: start-up, imports, signals, a shifted clock.
    """
    full_env = {**os.environ, **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None) if env is None or "GITHUB_ACTIONS" not in env else None
    if process or any(k.startswith("PYTHON") and full_env.get(k) != os.environ.get(k)
                      for k in {*full_env, *os.environ}):
        return subprocess.run(
            [sys.executable, "-m", "ci_mlops", *args], cwd=cwd, env=full_env,
            capture_output=True, text=True, input=input,
        )
    from tests.support.inprocess import run_in_process

    return run_in_process(["ci-mlops", *args], cwd=cwd, env=full_env, input=input)


def _route_dvc(on: bool) -> None:
    """DVC commands from here on run in this process's zygote (tests/support/zygote.py: DVC imported
    once, a fork per command) when ``on``, else they start as in production."""
    zygote.set_active(on)
    dvc_run.interpreter = zygote.python if on and zygote.enabled() else _PRODUCTION_INTERPRETER


@pytest.fixture(scope="session", autouse=True)
def _dvc_zygote_for_fixtures():
    """Session- and module-scoped fixtures (a module's repository retrained with `dvc repro`, a release
    made by `ci-mlops deploy`) run their DVC commands in the zygote too: they are set up before any
    test's own fixture routes DVC, and between tests the zygote stays on."""
    _route_dvc(True)
    yield
    _route_dvc(False)


@pytest.fixture(autouse=True)
def _dvc_zygote(request):
    """A test's DVC commands run in the zygote unless it is marked ``plain_dvc``, where they start as
    in production."""
    _route_dvc(request.node.get_closest_marker("plain_dvc") is None)
    yield
    _route_dvc(True)


@pytest.fixture(scope="session")
def dvc_layouts(tmp_path_factory) -> Layouts:
    """Each layout of the DVC factory built once per test run (shared by the xdist workers); take
    ``dvc_layouts.copy(DEST, **options)`` (tests/support/dvc_layouts.py)."""
    return Layouts(run_folder(tmp_path_factory.getbasetemp()) / "dvc-layouts")


@pytest.fixture(scope="session")
def shared_dvc_repo(dvc_layouts: Layouts) -> Path:
    """The factory's default repository (git + DVC, pushed to its local remote), built once per
    test run; never change it: take ``copy_repo(shared_dvc_repo, DEST)`` (it brings its own remote)."""
    return dvc_layouts.template()


def pytest_sessionstart(session):
    """CI_MLOPS_TEST_ZYGOTE_LOG=FILE: the zygotes note each request there (tests/support/zygote.py); a new session starts it empty."""
    log = os.environ.get("CI_MLOPS_TEST_ZYGOTE_LOG")
    if log and not hasattr(session.config, "workerinput"):
        Path(log).write_text("")


def pytest_collection(session):
    """Each xdist worker rewrites its share of the test modules' asserts first (tests/support/rewrite_share.py)."""
    from tests.support import rewrite_share

    rewrite_share.share(session.config)


def pytest_terminal_summary(terminalreporter):
    """The zygotes' requests of this session, counted by outcome (served, refused and why, run by the real program)."""
    log = os.environ.get("CI_MLOPS_TEST_ZYGOTE_LOG")
    if not log or not Path(log).is_file():
        return
    from collections import Counter

    counts = Counter(line for line in Path(log).read_text().splitlines() if " read at import: " not in line)
    terminalreporter.section("zygote requests")
    for line, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        terminalreporter.write_line(f"{n:6d}  {line}")
