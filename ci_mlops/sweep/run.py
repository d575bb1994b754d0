"""Run a sweep's experiments with DVC: all of them through DVC's queue, or one in a CI job.

Locally, every experiment is queued (``dvc exp run --queue --set-param ... --name ...``) and
the queue runs with N workers (``dvc exp run --run-all --jobs N``, DVC's queue workers),
all in one DVC process. In CI each matrix job runs one experiment in its workspace
(``dvc exp run --set-param ... --name ...``), optionally pulling inputs and the run-cache
first and pushing outputs and the run-cache after. A failing experiment is a result that
says so, never an exception: the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ci_mlops.config import Config
from ci_mlops.dvc.run import run_dvc, run_dvc_batch
from ci_mlops.errors import UserError
from ci_mlops.git import Repo
from ci_mlops.sweep.plan import Experiment
from ci_mlops.sweep.results import Result, experiment_refs, failed, from_revision


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
    results = run_dvc_batch(repo.root, commands)
    errors = {}
    offset = 1 if stale else 0
    for name, result in zip(queued, results[offset:offset + len(queued)]):
        if not result.ok:
            errors[name] = f"DVC refused to queue it (exit {result.returncode})"
    return errors


def run_one(root: Path, experiment: Experiment, *, config: Config | None = None, pull: bool = False,
            push: bool = False) -> Result:
    """Run one experiment in the workspace (a CI matrix job) and read what it produced."""
    repo = Repo.discover(root)
    if pull:
        pulled = run_dvc(repo.root, "pull", "--run-cache", "--allow-missing")
        if not pulled.ok:
            raise UserError(f"sweep: `dvc pull --run-cache` failed before {experiment.name}: {pulled.problem()} "
                            "(the job needs the DVC remote's credentials)")
    # --force: a re-run of the job replaces an earlier experiment of the same name
    args = ["exp", "run", "--force", "--name", experiment.name]
    for item in experiment.set_params():
        args += ["--set-param", item]
    ran = run_dvc(repo.root, *args)
    if not ran.ok:
        return failed(experiment, f"dvc exp run failed (exit {ran.returncode}): {_why(ran)}")
    baseline = repo.rev_parse("HEAD")
    result = from_revision(repo.root, experiment, None, config=config)
    result.sha = experiment_refs(repo.root, baseline).get(experiment.name)
    if push:
        pushed = run_dvc(repo.root, "push", "--run-cache")
        if not pushed.ok:
            raise UserError(f"sweep: `dvc push --run-cache` failed after {experiment.name}: {pushed.problem()}")
    return result


def _why(ran: Any) -> str:
    """DVC's error line, after the line the stage printed just before it (the cause, e.g. a
    training that diverged): a leaderboard cell shows the start of it."""
    problem: str = ran.problem()
    lines = [line.strip() for line in ran.stderr.splitlines() if line.strip()]
    first = next((i for i, line in enumerate(lines) if line.startswith("ERROR")), None)
    if not first:
        return problem
    cause = lines[first - 1]
    if cause.startswith(("Running stage", "> ", "Reproducing", "WARNING", "Stage ", "Verifying")):
        return problem
    return f"{cause[:150]} ({problem})"[:300]
