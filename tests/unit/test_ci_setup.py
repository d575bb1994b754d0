""".ci/setup: uv installs the packages (pip when uv cannot), its three steps run at the same time, and each
step's failure is one line once all have finished.

The script runs for real, sourced by bash, in a copy of the project whose venv python, uv, npm, apt-get and
``id`` are stand-ins that write down how they were called: nothing is installed or downloaded.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the script and the stand-ins run from PATH.
TOOLS = ("bash", "dirname", "mktemp", "cat", "tail", "touch", "rm", "mkdir", "cp", "chmod", "seq", "sleep")

# The stand-ins append "<name> <args>" to $CALLS, and fail when $FAIL names them. Each waits (up to
# 20 s) for $MEET_<name>'s file when that is set, after creating its own: two stand-ins that wait for
# each other both succeed only when they run at the same time.
STANDIN = """#!/bin/bash
name={name}
echo "$name $*" >>"$CALLS"
touch "$CALLS.$name.started"
meet="MEET_$name"
if [ -n "${{!meet:-}}" ]; then
  for _ in $(seq 200); do [ -f "${{!meet}}" ] && break; sleep 0.1; done
  [ -f "${{!meet}}" ] || {{ echo "$name: waited alone"; exit 3; }}
fi
case " $FAIL " in *" $name "*) echo "$name: something broke"; exit 1;; esac
{body}
exit 0
"""

PYTHON_BODY = """
if [ "$1 $2 $3" = "-m venv $VENV" ]; then mkdir -p "$VENV/bin"; cp "$0" "$VENV/bin/python"; fi
case "$*" in *"pip install"*" uv") case " $FAIL " in *" uv-from-pypi "*)
  echo "ERROR: No matching distribution found for uv"; exit 1;; esac
  cp "$STANDINS/uv" "$VENV/bin/uv";; esac
"""
# apt-get "installs" a tool by putting a stand-in for it on PATH.
APT_BODY = """
for p in "$@"; do case "$p" in shellcheck|chromium) printf '#!/bin/bash\\n' >"$BIN/$p"; chmod +x "$BIN/$p";; esac; done
"""


@dataclass
class Run:
    code: int
    out: str
    err: str
    calls: list[str]
    path: str


class Project:
    """A copy of .ci/setup in a scratch project, with stand-ins for everything it runs."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "project"
        (self.root / ".ci").mkdir(parents=True)
        shutil.copy(ROOT / ".ci" / "setup", self.root / ".ci" / "setup")
        (self.root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
        self.render = self.root / "tests" / "support" / "render"
        self.render.mkdir(parents=True)
        (self.render / "package-lock.json").write_text("{}\n")
        self.venv = tmp / "venv"
        self.bin = tmp / "bin"
        self.standins = tmp / "standins"
        self.calls = tmp / "calls"
        for d in (self.bin, self.standins):
            d.mkdir()
        for tool in TOOLS:
            found = shutil.which(tool)
            assert found, tool
            (self.bin / tool).symlink_to(found)
        self.standin(self.standins / "python", "python", PYTHON_BODY)
        self.standin(self.standins / "uv", "uv", "")
        self.standin(self.bin / "npm", "npm", 'mkdir -p node_modules; echo "{}" >node_modules/.package-lock.json')
        self.standin(self.bin / "apt-get", "apt-get", APT_BODY)
        # As root, so the Debian step runs (through the apt-get stand-in).
        (self.bin / "id").write_text("#!/bin/bash\necho 0\n")
        (self.bin / "id").chmod(0o755)

    def standin(self, path: Path, name: str, body: str) -> None:
        path.write_text(STANDIN.format(name=name, body=body))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def run(self, *args: str, **env: str) -> Run:
        """``source .ci/setup ARGS`` (none: as a plain ``source .ci/setup``)."""
        self.calls.write_text("")
        environ = {"PATH": str(self.bin), "CALLS": str(self.calls), "FAIL": "", "VENV": str(self.venv),
                   "STANDINS": str(self.standins), "BIN": str(self.bin), "CI_MLOPS_VENV": str(self.venv),
                   "PYTHON": str(self.standins / "python"), "HOME": str(self.root), **env}
        proc = subprocess.run(["bash", "-c", 'source .ci/setup "$@"; echo "PATH=$PATH"', "bash", *args], cwd=self.root,
                              env=environ, executable=shutil.which("bash"), capture_output=True, text=True,
                              timeout=120, check=False)
        calls = [line for line in self.calls.read_text().splitlines() if line]
        path = next((line[5:] for line in proc.stdout.splitlines() if line.startswith("PATH=")), "")
        return Run(proc.returncode, proc.stdout, proc.stderr, calls, path)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def notes(run: Run) -> list[str]:
    return [line for line in run.err.splitlines() if line]


def test_a_fresh_clone_gets_uv_then_the_editable_install_with_the_test_extra(project):
    run = project.run()
    assert run.code == 0, run.err
    assert notes(run) == []
    venv_python = f"{project.venv}/bin/python"
    assert f"python -m venv {project.venv}" in run.calls
    assert "python -m pip install --disable-pip-version-check -q uv" in run.calls
    assert f"uv pip install --python {venv_python} -e {project.root}[test]" in run.calls
    assert not any("pip install --disable-pip-version-check -e" in c for c in run.calls), run.calls
    assert (project.venv / ".ci-mlops-installed").is_file()
    assert run.path.split(":")[0] == f"{project.venv}/bin"
    # The Debian packages and the renderer's npm packages, one apt-get update for both.
    assert [c for c in run.calls if c.startswith("apt-get")] == [
        "apt-get update -qq", "apt-get install -y -qq shellcheck",
        "apt-get install -y -qq chromium fonts-dejavu-core fonts-noto-color-emoji"]
    assert "npm ci --ignore-scripts --no-audit --no-fund --loglevel=error" in run.calls


def test_the_three_steps_run_at_the_same_time(project):
    # uv, apt-get and npm each wait for another to have started: run one after another, the first waits alone.
    run = project.run(MEET_uv=f"{project.calls}.npm.started", MEET_npm=f"{project.calls}.apt-get.started",
                      **{"MEET_apt-get": f"{project.calls}.uv.started"})
    assert run.code == 0, run.out + run.err
    assert notes(run) == []
    assert {c.split()[0] for c in run.calls} >= {"uv", "npm", "apt-get"}


def test_a_second_run_installs_nothing_until_pyproject_changes(project):
    assert project.run().code == 0
    again = project.run()
    assert again.code == 0 and again.calls == [] and notes(again) == []
    stamp = project.venv / ".ci-mlops-installed"
    os.utime(project.root / "pyproject.toml", (stamp.stat().st_mtime + 10,) * 2)
    changed = project.run()
    # uv is in the venv already: no second download of it.
    assert changed.calls == [f"uv pip install --python {project.venv}/bin/python -e {project.root}[test]"]
    assert changed.code == 0 and notes(changed) == []


def test_uv_on_path_is_used_as_it_is(project):
    shutil.copy(project.standins / "uv", project.bin / "uv")
    run = project.run()
    assert run.code == 0 and notes(run) == []
    assert not any(c.endswith(" uv") for c in run.calls), run.calls
    assert f"uv pip install --python {project.venv}/bin/python -e {project.root}[test]" in run.calls


def test_without_uv_pip_installs_and_says_so_in_one_line(project):
    run = project.run(FAIL="uv-from-pypi")
    assert run.code == 0, run.err
    assert notes(run) == [("note: uv could not be installed from PyPI (ERROR: No matching distribution found "
                           "for uv); installing with pip, which is slower")]
    assert "python -m pip install --disable-pip-version-check --upgrade pip" in run.calls
    assert f"python -m pip install --disable-pip-version-check -e {project.root}[test]" in run.calls
    assert (project.venv / ".ci-mlops-installed").is_file()


def test_when_uv_fails_pip_tries(project):
    run = project.run(FAIL="uv")
    assert run.code == 0, run.err
    assert notes(run) == ["note: uv could not install the packages (uv: something broke); trying pip"]
    assert f"python -m pip install --disable-pip-version-check -e {project.root}[test]" in run.calls


def test_pip_can_be_asked_for(project):
    run = project.run(CI_MLOPS_INSTALLER="pip")
    assert run.code == 0 and notes(run) == []
    assert not any(c.startswith("uv") or c.endswith(" uv") for c in run.calls), run.calls
    assert f"python -m pip install --disable-pip-version-check -e {project.root}[test]" in run.calls


def test_every_failure_is_reported_after_all_steps_finished(project):
    (project.venv / "bin").mkdir(parents=True)
    shutil.copy(project.standins / "python", project.venv / "bin" / "python")
    run = project.run(FAIL="python apt-get npm")
    assert run.code == 1
    lines = notes(run)
    # The installers' output, then one line per failed step; the other steps were not cut short.
    assert lines[-4:] == [
        f"error: installing ci-mlops and its test tools into {project.venv} failed (the installer's output above)",
        "note: shellcheck not installed; actionlint will skip shell checks",
        "note: chromium not installed; the browser rendering tests will be skipped",
        "note: npm ci in tests/support/render failed; the browser rendering tests will be skipped",
    ], run.err
    assert lines[0] == "note: uv could not be installed from PyPI (python: something broke); installing with pip, which is slower"
    assert "python: something broke" in lines[1:-4]
    assert not (project.venv / ".ci-mlops-installed").exists()
    assert "PATH=" not in run.out


def test_a_failed_optional_step_does_not_fail_the_setup(project):
    run = project.run(FAIL="npm")
    assert run.code == 0
    assert notes(run) == ["note: npm ci in tests/support/render failed; the browser rendering tests will be skipped"]


def test_the_demo_gets_ci_mlops_alone_and_no_test_tools(project):
    run = project.run("demo")
    assert run.code == 0, run.err
    assert notes(run) == []
    assert f"uv pip install --python {project.venv}/bin/python -e {project.root}" in run.calls
    assert not any("[test]" in c for c in run.calls), run.calls
    # no Debian packages (shellcheck, chromium) and no renderer packages: only the tests use them
    assert not any(c.startswith(("apt-get", "npm")) for c in run.calls), run.calls
    assert run.path.split(":")[0] == f"{project.venv}/bin"
    assert (project.venv / ".ci-mlops-installed-demo").is_file()
    assert not (project.venv / ".ci-mlops-installed").exists()


def test_the_tests_after_the_demo_get_their_tools_and_the_demo_after_the_tests_nothing(project):
    assert project.run("demo").code == 0
    tests = project.run("test")
    assert tests.code == 0 and notes(tests) == []
    assert f"uv pip install --python {project.venv}/bin/python -e {project.root}[test]" in tests.calls
    assert {c.split()[0] for c in tests.calls} >= {"uv", "npm", "apt-get"}
    demo = project.run("demo")
    assert demo.code == 0 and demo.calls == [] and notes(demo) == []
    # a changed pyproject.toml installs the demo's set again
    stamp = project.venv / ".ci-mlops-installed"
    os.utime(project.root / "pyproject.toml", (stamp.stat().st_mtime + 10,) * 2)
    changed = project.run("demo")
    assert changed.calls == [f"uv pip install --python {project.venv}/bin/python -e {project.root}"]


def test_an_unknown_set_is_one_line_and_installs_nothing(project):
    run = project.run("docs")
    assert run.code == 2 and run.calls == []
    assert notes(run) == ["error: .ci/setup: unknown set 'docs' (test or demo)"]


def test_the_demo_and_the_tests_name_their_set():
    assert 'source "$here/.ci/setup" demo' in (ROOT / ".ci" / "demo").read_text()
    assert 'source "$here/.ci/setup" test' in (ROOT / ".ci" / "run").read_text()


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (.ci/setup installs it)")
def test_the_ci_scripts_pass_shellcheck():
    proc = subprocess.run(["shellcheck", "-x", ".ci/setup", ".ci/run", ".ci/demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
