"""tests/support/zygote.py: DVC commands in a pre-imported, forked process give what a fresh process gives."""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
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
    # The set-up through the launcher (a fork, not a second DVC start): plain and served then read the same repo.
    subprocess.run([zygote.python(), "-m", "dvc", "init", "-q"], cwd=git_repo, check=True)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "dvc")
    assert sorted(p.name for p in (git_repo / ".dvc").iterdir()) == [".gitignore", "config", "tmp"]
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


# --- ci-mlops served by its zygote -----------------------------------------------------------

VENV_CLI = str(Path(sys.executable).parent / "ci-mlops")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """Zygotes of this module's own that note each request's outcome (CI_MLOPS_TEST_ZYGOTE_LOG's format)."""
    log = tmp_path_factory.mktemp("zygote-log") / "log"
    own = zygote._Zygote(log=str(log))
    yield own, log
    own.close()


@pytest.fixture(scope="module")
def dvc_repo(tmp_path_factory, shared_dvc_repo):
    from tests.support.dvc_factory import copy_repo

    return copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("zygote-cli") / "repo")


def _outcomes(log: Path, run) -> tuple[object, list[str]]:
    """What ``run()`` returns and the requests it made, as the zygotes noted them."""
    before = log.read_text().splitlines() if log.exists() else []
    result = run()
    after = log.read_text().splitlines()
    return result, [line for line in after[len(before):] if " read at import: " not in line]


def _cli_both(logged, args: list[str], **kw) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess, list]:
    """``ci-mlops ARGS`` run by the venv's script and by the launcher, with the same everything else."""
    own, log = logged
    plain = subprocess.run([VENV_CLI, *args], capture_output=True, text=True, **kw)
    served, outcomes = _outcomes(log, lambda: subprocess.run([str(own.bin / "ci-mlops"), *args], capture_output=True,
                                                            text=True, **kw))
    return plain, served, outcomes


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["report", "--help"], ["nonsense"],
                                  ["config", "--config", "missing.yml"], ["config", "--schema"],
                                  ["report", "--format", "json"], ["check", "--format", "json"]])
def test_ci_mlops_served_by_its_zygote_gives_what_the_real_script_gives(logged, dvc_repo, args):
    plain, served, outcomes = _cli_both(logged, args, cwd=dvc_repo)
    assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.stdout or plain.stderr
    assert outcomes == ["ci-mlops served"]


def test_a_served_ci_mlops_starts_its_dvc_driver_in_the_dvc_zygote(logged, dvc_repo, tmp_path):
    from tests.support.dvc_factory import copy_repo

    results = []
    for name in ("plain", "served"):
        repo = copy_repo(dvc_repo, tmp_path / name)
        (repo / ".ci-mlops.yml").write_text("data:\n  data/raw.csv:\n    rows: {min: 5}\n")
        (repo / "data" / "raw.csv").unlink()
        shutil.rmtree(repo / ".dvc" / "cache")  # so `check` has to `dvc pull` it
        results.append(repo)
    plain = subprocess.run([VENV_CLI, "check"], cwd=results[0], capture_output=True, text=True)
    own, log = logged
    served, outcomes = _outcomes(log, lambda: subprocess.run([str(own.bin / "ci-mlops"), "check"], cwd=results[1],
                                                            capture_output=True, text=True))
    assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.returncode == 0 and "rows" in plain.stdout
    assert outcomes == ["ci-mlops served", "python served"]  # the driver's `dvc pull`, through the python launcher


def _sigint(disposition):
    """A child's SIGINT as given: whatever pytest's own is (a background job's is ignored), the case is the same."""
    return lambda: signal.signal(signal.SIGINT, disposition)


@pytest.mark.parametrize(("signum", "sigint"), [(signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.SIG_DFL),
                                                ((signal.SIGINT, signal.SIGTERM), signal.SIG_IGN)],
                         ids=["SIGTERM", "SIGINT", "SIGINT-ignored-then-SIGTERM"])
def test_a_signal_reaches_a_served_ci_mlops_as_it_reaches_the_real_one(logged, tmp_path, signum, sigint):
    """``ci-mlops comment`` waits for an API that accepts the connection and never answers; then the signal(s).
    A SIGINT the requester ignores is ignored by the served command too (only the SIGTERM after it ends it)."""
    own, log = logged
    signums = signum if isinstance(signum, tuple) else (signum,)
    (tmp_path / "report.md").write_text("# Report\n")
    answers = []
    with socket.socket() as api:
        api.bind(("127.0.0.1", 0))
        api.listen()
        api.settimeout(120)
        env = {**os.environ, "GITHUB_API_URL": f"http://127.0.0.1:{api.getsockname()[1]}", "GITHUB_REPOSITORY": "o/r",
               "GITHUB_TOKEN": "t", "CI_MLOPS_TOKEN": ""}
        env.pop("GITHUB_ACTIONS", None)
        for program in (VENV_CLI, str(own.bin / "ci-mlops")):
            noted = len(log.read_text().splitlines())
            proc = subprocess.Popen([program, "comment", "report.md", "--pr", "7"], cwd=tmp_path, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    preexec_fn=_sigint(sigint))
            conn, _ = api.accept()  # ci-mlops is waiting for the answer
            for one in signums:
                proc.send_signal(one)
                if one != signums[-1]:
                    with pytest.raises(subprocess.TimeoutExpired):  # ignored: still waiting for the API
                        proc.wait(timeout=1)
            out, err = proc.communicate(timeout=120)
            conn.close()
            answers.append((proc.returncode, out, err))
    assert answers[1] == answers[0]
    assert answers[0][0] != 0
    assert log.read_text().splitlines()[noted:] == ["ci-mlops served"]


@pytest.mark.parametrize("change", ["HOME", "PYTHONPATH", "terminal"])
def test_a_ci_mlops_the_zygote_cannot_serve_runs_the_real_script(logged, tmp_path, change):
    env = dict(os.environ)
    kw: dict = {}
    if change == "terminal":
        leader, follower = os.openpty()
        kw = {"stdin": follower}
    else:
        env[change] = str(tmp_path)
    try:
        plain, served, outcomes = _cli_both(logged, ["config", "--config", "missing.yml"], cwd=tmp_path, env=env, **kw)
    finally:
        if kw:
            os.close(leader)
            os.close(follower)
    assert (served.returncode, served.stdout, served.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.returncode == 2
    assert outcomes == [f"ci-mlops refused: {'terminal' if change == 'terminal' else f'environment: {change}'}"]


def test_what_ci_mlops_reads_from_the_environment_at_import_time_is_compared():
    """A module-level read of a variable in ci_mlops (not inside a function) is one the zygote must compare."""
    import ast

    from tests.conftest import ROOT

    found = {}
    for path in sorted((ROOT / "ci_mlops").rglob("*.py")):
        if "project" in path.relative_to(ROOT / "ci_mlops").parts:
            continue  # the demo's user project: written out, never imported
        todo = list(ast.parse(path.read_text(encoding="utf-8")).body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                todo.extend(d for d in [*node.args.defaults, *node.args.kw_defaults] if d is not None)
                todo.extend(getattr(node, "decorator_list", []))
                continue
            if isinstance(node, (ast.Call, ast.Subscript)):
                text = ast.unparse(node.func if isinstance(node, ast.Call) else node.value)
                key = node.args[0] if isinstance(node, ast.Call) and node.args else getattr(node, "slice", None)
                if text in ("os.environ.get", "os.getenv", "os.environ") and isinstance(key, ast.Constant):
                    found[key.value] = path.name
            todo.extend(ast.iter_child_nodes(node))
    assert found  # drift/sql.py's DuckDB memory limit, at least
    assert not {k: f for k, f in found.items() if not zygote._import_time_env({k: ""})}, "add these to IMPORT_TIME_KEYS"


def test_the_ci_mlops_zygote_s_imports_leave_one_copy_of_each_module(tmp_path):
    """Its warm-up imports DVC's dependencies by name; in another order than DVC imported them, ``_asyncio``
    would start inside its own import and a task on fsspec's loop would not know itself (s3fs's aiohttp
    timeouts failed: "Timeout should be used inside a task")."""
    zygote.launchers()
    assert zygote._running is not None
    code = ("import sys; from pathlib import Path; from tests.support import zygote\n"
            "assert 'asyncio' not in sys.modules\n"
            f"assert zygote._warm_ci_mlops(Path({str(zygote._running.folder)!r})) is None\n"
            "import asyncio, fsspec.asyn\n"
            "async def main():\n    return asyncio.current_task() is not None\n"
            "print(fsspec.asyn.sync(fsspec.asyn.get_loop(), main), 'dvc_data.index' in sys.modules,"
            " 'dvc' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[3])
    assert out.stdout == "True True False\n", out.stderr


def test_a_fork_of_the_test_process_uses_its_zygote_and_leaves_it_running():
    """The demo forks its steps: a fork cannot poll its parent's servers, and must not close or delete them."""
    folder = zygote.launchers()
    pid = os.fork()
    if pid == 0:  # the fork: the same launchers, and closing is not its business
        code = 1
        try:
            same = zygote.launchers() == folder
            zygote._running.close()  # type: ignore[union-attr]
            code = 0 if same else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert folder.is_dir() and zygote._running is not None and zygote._running.alive()
    assert zygote.launchers() == folder
