"""tests/support/zygote.py: DVC commands in a pre-imported, forked process give what a fresh process gives."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git
from tests.support import zygote

pytestmark = pytest.mark.skipif(not zygote.enabled(), reason="the zygote needs Linux pidfds and SCM_RIGHTS")

REPORT = "import os, sys; print(os.getppid(), 'dvc.repo' in sys.modules, sys.argv, repr(sys.path[0]), os.getcwd())"


def _zygote_pid() -> int:
    zygote.launchers()
    assert zygote._running is not None
    return zygote._running.procs["dvc"].pid


def _both(args: list[str], **kw) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """``args`` run by the real interpreter and by the launcher, with the same everything else."""
    plain = subprocess.run([sys.executable, *args], capture_output=True, text=True, **kw)
    served = subprocess.run([zygote.python(), *args], capture_output=True, text=True, **kw)
    return plain, served


def test_a_driver_runs_in_a_child_of_the_zygote_as_a_fresh_interpreter_would(tmp_path):
    plain, served = _both(["-c", REPORT, "a", "b"], cwd=tmp_path)
    ppid, warm, *rest = served.stdout.split(" ", 2)
    assert int(ppid) == _zygote_pid() and warm == "True"
    assert plain.stdout.split(" ", 2)[1:] == ["False", rest[0]]  # argv, sys.path[0] and cwd agree
    assert served.stdout.endswith(f" {tmp_path}\n")


@pytest.mark.parametrize(("code", "stdin"), [
    ("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)", None),
    ("raise ValueError('boom')", None),
    ("import sys; print(sys.stdin.read()[::-1])", "olleh"),
    ("import os; print(sorted(k for k in os.environ if k.startswith('ZYG')), os.environ['ZYG_A'])", None),
    ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", None),
    ("import os; os.system('echo from-a-grandchild; echo to-stderr >&2')", None),
])
def test_output_exit_code_and_signal_are_the_real_ones(tmp_path, code, stdin):
    env = {**os.environ, "ZYG_A": "1", "ZYG_B": "two"}
    plain, served = _both(["-c", code], cwd=tmp_path, env=env, input=stdin)
    assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.returncode != 0 or plain.stdout


def test_dvc_through_the_launcher_on_path_equals_the_real_dvc(tmp_path, git_repo):
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=git_repo, check=True)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "dvc")
    venv_bin = str(Path(sys.executable).parent)
    for args in (["status"], ["nonsense"], ["params", "diff", "--json"], ["add", "missing.csv"]):
        plain = subprocess.run(["dvc", *args], cwd=git_repo, capture_output=True, text=True,
                               env={**os.environ, "PATH": venv_bin + os.pathsep + os.environ["PATH"]})
        served = subprocess.run(["dvc", *args], cwd=git_repo, capture_output=True, text=True,
                                env={**os.environ, "PATH": f"{zygote.launchers()}{os.pathsep}{venv_bin}{os.pathsep}"
                                                           f"{os.environ['PATH']}"})
        assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
        module = subprocess.run([zygote.python(), "-m", "dvc", *args], cwd=git_repo, capture_output=True, text=True)
        assert (module.returncode, module.stdout, module.stderr) == (plain.returncode, plain.stdout, plain.stderr)


def test_a_different_dvc_on_path_is_the_one_that_runs(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "dvc").write_text("#!/bin/sh\necho other-dvc \"$@\"\n")
    (other / "dvc").chmod(0o755)
    env = {**os.environ, "PATH": f"{zygote.launchers()}{os.pathsep}{other}{os.pathsep}{os.environ['PATH']}"}
    assert subprocess.run(["dvc", "status"], env=env, capture_output=True, text=True).stdout == "other-dvc status\n"


@pytest.mark.parametrize("change", ["PYTHONPATH", "HOME", "LC_ALL", "terminal"])
def test_what_would_differ_runs_the_real_interpreter(tmp_path, change):
    env = dict(os.environ)
    kw: dict = {}
    if change == "terminal":
        leader, follower = os.openpty()
        kw = {"stdin": follower}
    else:
        env[change] = {"PYTHONPATH": str(tmp_path), "HOME": str(tmp_path), "LC_ALL": "C"}[change]
    try:
        served = subprocess.run([zygote.python(), "-c", "import os, sys; print(os.getppid(), 'dvc' in sys.modules)"],
                                env=env, stdout=subprocess.PIPE, text=True, **kw)
    finally:
        if kw:
            os.close(leader)
            os.close(follower)
    ppid, warm = served.stdout.split()
    assert int(ppid) == os.getpid() and warm == "False"  # the launcher exec'd the real one


def test_a_killed_launcher_takes_its_command_with_it(tmp_path):
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    proc = subprocess.Popen([zygote.python(), "-c", code])
    while not pid_file.exists() or not pid_file.read_text():
        assert proc.poll() is None
    child = int(pid_file.read_text())
    assert child != proc.pid
    exited = os.pidfd_open(child)
    try:
        proc.kill()
        proc.wait()
        assert select.select([exited], [], [], 120)[0] == [exited], f"the command {child} outlived its launcher"
    finally:
        os.close(exited)


def test_a_signal_to_the_launcher_reaches_the_command(tmp_path):
    pid_file = tmp_path / "pid"
    code = (f"import os, signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(42)); "
            f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)")
    proc = subprocess.Popen([zygote.python(), "-c", code])
    while not pid_file.exists() or not pid_file.read_text():
        assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait() == 42
