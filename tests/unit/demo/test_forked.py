"""The demo's forked steps (ci_mlops/demo/forked.py) end as ``python -m`` subprocesses do, and keep their
working directory, environment and changes to themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tests.unit.demo.forked_probe_state as state
from ci_mlops.demo import forked
from ci_mlops.demo.scenario import Runner
from ci_mlops.errors import UserError

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not forked.available(), reason="steps are forked on Linux only")
PROBE = "tests.unit.demo.forked_probe"


def subprocess_run(args: list[str], cwd: Path, env: dict[str, str], module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False)


def probe_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


@pytest.mark.parametrize("how", ["0", "3", "raise", "message"])
def test_a_forked_step_ends_as_the_same_subprocess_does(tmp_path, how):
    env = probe_env(PROBE="step's own")
    forked_run = forked.run_module([how], cwd=tmp_path, env=env, module=PROBE)
    real = subprocess_run([how], tmp_path, env, PROBE)
    assert forked_run.returncode == real.returncode
    assert forked_run.stdout == real.stdout
    seen = json.loads(forked_run.stdout)
    assert seen == {"cwd": str(tmp_path), "probe": "step's own", "argv": [how], "stdin": "", "leaked": [None, False]}
    # a traceback names the places it came through (runpy's frames differ); its last line is the same
    assert forked_run.stderr.splitlines()[0] == real.stderr.splitlines()[0] == "to stderr"
    assert forked_run.stderr.splitlines()[-1] == real.stderr.splitlines()[-1]


def test_nothing_a_step_changes_reaches_the_demo_or_the_next_step(tmp_path):
    state.touched = False
    here, environ = os.getcwd(), dict(os.environ)
    env = probe_env(PROBE="one")
    first = forked.run_module(["0"], cwd=tmp_path, env=env, module=PROBE)
    second = forked.run_module(["0"], cwd=tmp_path, env=env, module=PROBE)
    assert first.returncode == second.returncode == 0
    assert json.loads(second.stdout)["leaked"] == [None, False]  # what the first step set is gone
    assert os.getcwd() == here and dict(os.environ) == environ and "PROBE_LEAK" not in os.environ
    assert state.touched is False


def test_output_the_demo_had_not_flushed_is_not_repeated_by_a_step(tmp_path, capfd):
    print("the demo's line", end="")  # still in this process's buffer when the step forks
    step = forked.run_module(["0"], cwd=tmp_path, env=probe_env(), module=PROBE)
    assert "the demo's line" not in step.stdout
    assert capfd.readouterr().out.count("the demo's line") == 1


def test_ci_mlops_steps_forked_or_started_give_the_same_result(tmp_path):
    for fork in (True, False):
        runner = Runner(tmp_path, lambda _: None, fork=fork)
        assert runner.ci_mlops("--version").stdout.startswith("ci-mlops, version ")
        with pytest.raises(UserError) as failed:  # a step's one-line error ends the demo with it
            runner.ci_mlops("sweep", "run")
        assert str(failed.value) == ("demo step `ci-mlops sweep run` failed (exit 2): ci-mlops: error: sweep run: "
                                     "give --local (every experiment here) or --experiment NAME (one, in CI)")
