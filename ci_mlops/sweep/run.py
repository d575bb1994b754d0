"""Run a sweep's experiments with DVC: all of them through DVC's queue, or one in a CI job.

Locally, every experiment is queued (``dvc exp run --queue --set-param ... --name ...``) and
the queue runs with N workers (``dvc exp run --run-all --jobs N``, DVC's queue workers),
all in one DVC process. In CI each matrix job runs one experiment in its workspace
(``dvc exp run --set-param ... --name ...``), optionally pulling inputs and the run-cache
first and pushing outputs and the run-cache after. A failing experiment is a result that
says so, never an exception: the sweep goes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ci_mlops.errors import UserError
from ci_mlops.git import Repo
from ci_mlops.sweep.plan import Experiment
from ci_mlops.sweep.results import Result, experiment_refs, failed, from_revision

# DVC commands in one Python process (one DVC import): each prints its exit code as JSON.
_DVC_BATCH = """\
import json, sys
from dvc.cli import main
codes = []
for args in json.loads(sys.argv[1]):
    codes.append(main(args))
print("ci-mlops-codes:" + json.dumps(codes))
"""


def dvc_batch(root: Path, commands: list[list[str]]) -> tuple[list[int], str]:
    """Exit code of each DVC command, and the combined output (for error messages)."""
    proc = subprocess.run([sys.executable, "-c", _DVC_BATCH, json.dumps(commands)], cwd=root,
                          capture_output=True, text=True, env=_env())
    output = proc.stdout + proc.stderr
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("ci-mlops-codes:"):
            return json.loads(line.partition(":")[2]), output
    last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
    raise UserError(f"dvc could not run in {root}: {last}")


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def run_local(root: Path, experiments: list[Experiment], jobs: int,
              echo: Callable[[str], None] = lambda _: None) -> dict[str, str]:
    """Queue and run every experiment with ``jobs`` workers; returns name -> error for those DVC refused."""
    repo = Repo.discover(root)
    baseline = repo.rev_parse("HEAD")
    stale = [e.name for e in experiments if e.name in experiment_refs(repo.root, baseline)]
    commands: list[list[str]] = []
    if stale:  # a re-run replaces the earlier run of the same sweep on the same commit
        commands.append(["exp", "remove", *stale])
    queued = []
    for experiment in experiments:
        args = ["exp", "run", "--queue", "--name", experiment.name]
        for item in experiment.set_params():
            args += ["--set-param", item]
        commands.append(args)
        queued.append(experiment.name)
    commands.append(["exp", "run", "--run-all", "--jobs", str(jobs)])
    echo(f"queued {len(experiments)} experiment(s); running them with {jobs} DVC queue worker(s)")
    codes, output = dvc_batch(repo.root, commands)
    errors = {}
    offset = 1 if stale else 0
    for name, code in zip(queued, codes[offset:offset + len(queued)]):
        if code != 0:
            errors[name] = f"DVC refused to queue it (exit {code})"
    return errors


def run_one(root: Path, experiment: Experiment, *, config: Any = None, pull: bool = False,
            push: bool = False) -> Result:
    """Run one experiment in the workspace (a CI matrix job) and read what it produced."""
    repo = Repo.discover(root)
    if pull:
        codes, output = dvc_batch(repo.root, [["pull", "--run-cache", "--allow-missing"]])
        if codes[0] != 0:
            raise UserError(f"sweep: `dvc pull --run-cache` failed before {experiment.name}: {_last(output)} "
                            "(the job needs the DVC remote's credentials)")
    # --force: a re-run of the job replaces an earlier experiment of the same name
    args = ["exp", "run", "--force", "--name", experiment.name]
    for item in experiment.set_params():
        args += ["--set-param", item]
    codes, output = dvc_batch(repo.root, [args])
    if codes[0] != 0:
        return failed(experiment, f"dvc exp run failed (exit {codes[0]}): {_last(output)}")
    baseline = repo.rev_parse("HEAD")
    result = from_revision(repo.root, experiment, None, config=config)
    result.sha = experiment_refs(repo.root, baseline).get(experiment.name)
    if push:
        codes, output = dvc_batch(repo.root, [["push", "--run-cache"]])
        if codes[0] != 0:
            raise UserError(f"sweep: `dvc push --run-cache` failed after {experiment.name}: {_last(output)}")
    return result


def _last(output: str) -> str:
    """DVC's error line (``ERROR: ...``), else the last line of its output."""
    lines = [line.strip() for line in output.strip().splitlines()
             if line.strip() and not line.startswith("ci-mlops-codes:")]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors[-1] if errors else lines[-1] if lines else "no output")[:300]
