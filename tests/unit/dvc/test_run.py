"""ci_mlops.dvc.run: the one way DVC runs as a subprocess (environment, batching, capture, failures)."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from ci_mlops.dvc.run import FIXED_ENV, DvcResult, dvc_env, run_dvc, run_dvc_batch, stream_dvc
from ci_mlops.errors import UserError

pytestmark = pytest.mark.plain_dvc  # the production launch of the driver, not the tests' zygote

# A stand-in `dvc` package whose entry point does what its arguments say, so the driver's
# environment, capture and failure handling are seen without importing DVC itself.
FAKE_CLI = '''
import json, os, sys, time

def main(args):
    what = args[0]
    if what == "env":
        print(json.dumps({k: os.environ.get(k) for k in args[1:]}))
    elif what == "stdin":
        print(repr(sys.stdin.read()))
    elif what == "child":
        os.system("echo from-a-child-process; echo child-error >&2")
    elif what == "exit":
        raise SystemExit(int(args[1]))
    elif what == "raise":
        raise RuntimeError("boom")
    elif what == "sleep":
        time.sleep(float(args[1]))
    elif what == "die":
        os._exit(9)
    elif what == "daemon":  # like DVC's experiment queue: a forked worker that outlives the command
        if os.fork() == 0:
            os.setsid()
            with open(args[1], "w") as pid:
                pid.write(str(os.getpid()))
            time.sleep(60)
            os._exit(0)
    else:
        print(f"said {what}")
        print(f"ERROR: failed {what}", file=sys.stderr) if what.startswith("fail") else None
        return 1 if what.startswith("fail") else 0
    return 0
'''


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    package = tmp_path / "fake" / "dvc"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(FAKE_CLI)
    return {**os.environ, "PYTHONPATH": str(package.parent)}


def test_every_child_gets_the_fixed_environment_over_the_callers():
    env = dvc_env({"DVC_NO_ANALYTICS": "", "GIT_TERMINAL_PROMPT": "1", "KEEP": "me"})
    assert env == {**FIXED_ENV, "KEEP": "me"}
    assert dvc_env()["PATH"] == os.environ["PATH"]


def test_the_child_sees_that_environment_in_the_root_without_stdin(tmp_path, fake_env):
    result = run_dvc(tmp_path, "env", "DVC_NO_ANALYTICS", "GIT_TERMINAL_PROMPT", "PWD_CHECK",
                     env={**fake_env, "PWD_CHECK": "kept", "DVC_NO_ANALYTICS": ""})
    assert json.loads(result.stdout) == {"DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0", "PWD_CHECK": "kept"}
    assert run_dvc(tmp_path, "stdin", env=fake_env).stdout.strip() == "''"  # nothing to wait for


def test_each_command_of_a_batch_keeps_its_own_output_and_code(tmp_path, fake_env):
    results = run_dvc_batch(tmp_path, [["one"], ["fail-two"], ["child"], ["exit", "3"], ["raise"]], env=fake_env)
    assert [r.returncode for r in results] == [0, 1, 0, 3, 255]
    assert [r.args for r in results][:2] == [("one",), ("fail-two",)]
    assert results[0].stdout == "said one\n" and results[0].stderr == ""
    assert results[1].stdout == "said fail-two\n" and results[1].problem() == "ERROR: failed fail-two"
    assert results[2].stdout == "from-a-child-process\n" and results[2].stderr == "child-error\n"
    assert results[4].problem() == "ERROR: RuntimeError: boom"
    assert results[1].command == "dvc fail-two" and not results[1].ok and results[0].ok


def test_stop_on_error_ends_the_batch_at_the_first_failure(tmp_path, fake_env):
    results = run_dvc_batch(tmp_path, [["one"], ["fail"], ["three"]], env=fake_env, stop_on_error=True)
    assert [r.args[0] for r in results] == ["one", "fail"]
    assert run_dvc_batch(tmp_path, [], env=fake_env) == []


@pytest.mark.parametrize("commands, said", [
    ([["one"], ["die"], ["three"]], "dvc could not run in"),  # the process died mid-batch
    ([["sleep", "30"]], "did not finish within 0.5 s"),
])
def test_a_driver_that_dies_or_hangs_is_one_line_error(tmp_path, fake_env, commands, said):
    with pytest.raises(UserError, match=said) as info:
        run_dvc_batch(tmp_path, commands, env=fake_env, timeout=0.5 if commands[0][0] == "sleep" else None)
    assert "\n" not in str(info.value)


def test_a_process_dvc_leaves_running_does_not_hold_the_batch(tmp_path, fake_env):
    # It inherits the driver's descriptors; the batch ends with the driver all the same.
    pid_file = tmp_path / "daemon.pid"
    try:
        [result] = run_dvc_batch(tmp_path, [["daemon", str(pid_file)]], env=fake_env, timeout=20)
        assert result.ok
    finally:
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text():
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
                break
            time.sleep(0.05)


def test_dvc_that_cannot_be_imported_says_why(tmp_path, fake_env):
    (Path(fake_env["PYTHONPATH"]) / "dvc" / "cli.py").write_text("raise ImportError('no DVC here')\n")
    with pytest.raises(UserError, match=r"dvc could not run in .*: ImportError: no DVC here"):
        run_dvc(tmp_path, "status", env=fake_env)


def test_a_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="dvc could not run in"):
        run_dvc(tmp_path / "missing", "status")


def test_real_dvc_commands_in_one_process(tmp_path):
    """DVC itself: init, set and read a config value; a failing command's own ERROR line."""
    results = run_dvc_batch(tmp_path, [["init", "--no-scm", "-q"], ["config", "core.autostage", "true"],
                                       ["config", "core.autostage"]])
    assert [r.returncode for r in results] == [0, 0, 0]
    assert results[2].stdout.strip() == "true"
    outside = run_dvc(tmp_path.parent, "status")
    assert outside.returncode != 0 and "not inside of a DVC repository" in outside.problem()


def test_problem_prefers_the_error_line_and_stays_short():
    result = DvcResult(("pull",), 1, "progress\n", "ERROR: first\nwarning\nERROR: " + "x" * 500 + "\nlast\n")
    assert result.problem().startswith("ERROR: xxx") and len(result.problem()) == 300
    assert DvcResult(("x",), 1, "a\nlast line\n", "").problem() == "last line"
    assert DvcResult(("x",), 4, "", "").problem() == "exit 4"


def test_streamed_output_reaches_the_log_line_by_line(tmp_path, fake_env):
    seen: list[str] = []
    result = stream_dvc(tmp_path, "child", echo=seen.append, env=fake_env)
    assert result.ok and sorted(seen) == ["child-error", "from-a-child-process"]  # errors merged in
    assert result.stdout.splitlines() == seen
    failed = stream_dvc(tmp_path, "fail-now", echo=seen.append, env=fake_env, keep=1)
    assert failed.returncode == 1 and failed.stdout == "ERROR: failed fail-now\n"  # only the last line kept
    assert seen[-2:] == ["said fail-now", "ERROR: failed fail-now"]


def test_a_streamed_dvc_that_cannot_start_is_a_failed_result(tmp_path, fake_env):
    (Path(fake_env["PYTHONPATH"]) / "dvc" / "cli.py").write_text("raise ImportError('no DVC here')\n")
    result = stream_dvc(tmp_path, "repro", echo=lambda _: None, env=fake_env)
    assert result.returncode == 1 and result.stdout.splitlines()[-1] == "ImportError: no DVC here"
    missing = stream_dvc(tmp_path / "missing", "repro", echo=lambda _: None)
    assert missing.returncode == 127 and "dvc could not run in" in missing.stdout


def test_the_projects_own_dvc_runs_from_path_in_the_same_environment(tmp_path):
    """retrain runs the project's pipeline with the project's `dvc` (its plugins), not ci-mlops' DVC."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dvc"
    script.write_text('#!/bin/sh\necho "project dvc $* analytics=$DVC_NO_ANALYTICS prompt=$GIT_TERMINAL_PROMPT"\n'
                      'read line && echo "read: $line"\nexit 3\n')
    script.chmod(0o755)
    seen: list[str] = []
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = stream_dvc(tmp_path, "repro", "-q", echo=seen.append, env=env, project=True)
    assert result.returncode == 3 and seen == ["project dvc repro -q analytics=1 prompt=0"]  # stdin is empty
    missing = stream_dvc(tmp_path, "repro", echo=seen.append, env={"PATH": str(tmp_path / "empty")}, project=True)
    assert missing.returncode == 127 and "not found on PATH" in missing.stdout


ROOT = Path(__file__).resolve().parents[3]
_STARTS_DVC = re.compile(r"""from dvc\.cli import|dvc\.cli\.main|["']-m["'],\s*["']dvc["']"""
                         r"""|subprocess\.\w+\(\s*\[\s*["']dvc["']|which\(\s*["']dvc["']""")


def test_nothing_else_starts_dvc():
    """ci_mlops.dvc.run is the one way: no other module of the package or tool starts DVC itself."""
    found = []
    for path in sorted([*(ROOT / "ci_mlops").rglob("*.py"), *(ROOT / "tools").glob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "ci_mlops/dvc/run.py" or rel.startswith("ci_mlops/demo/project/"):
            continue
        found += [f"{rel}:{n}" for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                  if _STARTS_DVC.search(line)]
    assert found == []
    assert _STARTS_DVC.search('subprocess.run(["dvc", "pull"])') and _STARTS_DVC.search('[sys.executable, "-m", "dvc"]')
