"""`ci-mlops sweep`: plan, run and rank a parameter sweep (the `experiments:` section)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_CONFIG = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                       help="Configuration file. Default: .ci-mlops.yml at the repository root.")
_SET = click.option("--set", "overrides", default=None, metavar="'KEY=V1,V2 ...'",
                    help="Replace grid axes, e.g. 'train.lr=0.01,0.03' (the syntax of a /ci-mlops sweep comment).")


@click.group("sweep")
def command() -> None:
    """Parameter sweeps: a leaderboard of experiments in the PR.

    Declare the sweep under `experiments:` in .ci-mlops.yml (a grid and/or sets of
    params in DVC's --set-param syntax, and the metric to rank by). `plan` prints
    the experiments (the GitHub Actions matrix), `run` runs them with DVC
    (all locally through DVC's queue, or one per CI job), `report` ranks them
    against the base, and `apply` takes one experiment's params and dvc.lock.
    """


def _load(config_path: str | None) -> tuple[Any, Path]:
    from ci_mlops.config import find_config, load_config
    from ci_mlops.git import Repo

    repo = Repo.discover(Path.cwd())
    return load_config(config_path or find_config(repo.root), required=config_path is not None), repo.root


def _plan(config: Any, overrides: str | None) -> list[Any]:
    from ci_mlops.sweep.plan import expand, parse_overrides

    return expand(config, parse_overrides(overrides) if overrides else None)


@command.command("plan")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "matrix"]), default="text", show_default=True,
              help="text: one experiment a line; json: names and params; matrix: the GitHub Actions matrix.")
@_SET
@_CONFIG
def plan(fmt: str, overrides: str | None, config_path: str | None) -> None:
    """Print the experiments the sweep runs (in Actions, also the `matrix` and `count` outputs)."""
    import json

    from ci_mlops.github.actions import in_actions, set_output
    from ci_mlops.sweep.plan import matrix

    config, _ = _load(config_path)
    experiments = _plan(config, overrides)
    if fmt == "text":
        for e in experiments:
            click.echo(f"{e.name}  {' '.join(e.set_params())}")
    elif fmt == "json":
        click.echo(json.dumps([e.as_dict() for e in experiments], indent=2))
    else:
        click.echo(json.dumps(matrix(experiments)))
    if in_actions():
        set_output("matrix", json.dumps(matrix(experiments)))
        set_output("count", str(len(experiments)))


@command.command("run")
@click.option("--local", "local", is_flag=True, help="Run every experiment here, through DVC's queue.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Queue workers for --local. Default: experiments.max_parallel, else 1.")
@click.option("--experiment", "name", default=None, metavar="NAME",
              help="Run one experiment in the workspace (a CI matrix job) and write its result with -o.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="With --experiment: where to write the result JSON.")
@click.option("--pull/--no-pull", default=False, help="With --experiment: `dvc pull --run-cache` first.")
@click.option("--push/--no-push", default=False, help="With --experiment: `dvc push --run-cache` after.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@_SET
@_CONFIG
def run(local: bool, jobs: int | None, name: str | None, output: str | None, pull: bool, push: bool,
        fmt: str, overrides: str | None, config_path: str | None) -> None:
    """Run the sweep's experiments with DVC (a failed experiment is a row, not a failed run)."""
    from ci_mlops.errors import UserError
    from ci_mlops.fsutil import atomic_write
    from ci_mlops.sweep import plan as planning
    from ci_mlops.sweep.results import from_experiment_refs
    from ci_mlops.sweep.run import run_local, run_one

    if local == bool(name):
        raise UserError("sweep run: give --local (every experiment here) or --experiment NAME (one, in CI)")
    config, root = _load(config_path)
    experiments = _plan(config, overrides)
    if name:
        result = run_one(root, planning.find(experiments, name), config=config, pull=pull, push=push)
        text = result.to_json()
        if output:
            atomic_write(output, text)
        else:
            click.echo(text, nl=False)
        click.echo(f"ci-mlops: {name}: {result.status}" + (f": {result.error}" if result.error else ""), err=True)
        return
    workers = jobs or int((config.get("experiments") or {}).get("max_parallel", 1))
    errors = run_local(root, experiments, workers, echo=lambda line: click.echo(f"ci-mlops: {line}", err=True))
    results = from_experiment_refs(root, experiments, config=config, errors=errors)
    _print_board(config, root, results, fmt, base=None)


@command.command("report")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Folder of result JSON files (one per CI job). Default: the experiments DVC ran on HEAD.")
@click.option("--base", default=None, metavar="REF", help="Revision to compare against (as for `ci-mlops report`).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to FILE.")
@_SET
@_CONFIG
def report(results_dir: str | None, base: str | None, fmt: str, output: str | None, overrides: str | None,
           config_path: str | None) -> None:
    """The leaderboard: experiments ranked by `experiments.rank_by`, against the base."""
    from ci_mlops.sweep.results import from_experiment_refs, load_results

    config, root = _load(config_path)
    if results_dir:
        results = load_results(Path(results_dir))
    else:
        results = from_experiment_refs(root, _plan(config, overrides), config=config)
    _print_board(config, root, results, fmt, base=base, output=output)


@command.command("apply")
@click.argument("name")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Folder of CI results to take dvc.lock from. Default: the experiment DVC ran on HEAD.")
@_SET
@_CONFIG
def apply(name: str, results_dir: str | None, overrides: str | None, config_path: str | None) -> None:
    """Write experiment NAME's params and dvc.lock into the workspace (commit them yourself, or CI does)."""
    from ci_mlops.sweep.apply import apply_experiment

    config, root = _load(config_path)
    changed = apply_experiment(root, config, name, _plan(config, overrides),
                               Path(results_dir) if results_dir else None)
    click.echo(f"ci-mlops: applied {name}: {', '.join(changed) if changed else 'nothing changed'}")


def _print_board(config: Any, root: Path, results: list[Any], fmt: str, *, base: str | None,
                 output: str | None = None) -> None:
    import json

    from ci_mlops.fsutil import atomic_write
    from ci_mlops.git import BlobReader, Repo
    from ci_mlops.report.collect import snapshot
    from ci_mlops.report.revisions import resolve_base
    from ci_mlops.sweep.leaderboard import build, render_markdown

    repo = Repo.discover(root)
    base_rev = resolve_base(repo, base, config)
    with BlobReader(repo.root) as reader:
        base_snap = snapshot(repo.root, base_rev.sha, reader=reader, config=config, want_plots=False,
                             label=base_rev.ref)
    board = build(config, {"ref": base_rev.ref, "sha": base_rev.sha}, base_snap.metrics, results)
    text = json.dumps(board, indent=2, default=str) + "\n" if fmt == "json" else render_markdown(board)
    if output:
        atomic_write(output, text)
    else:
        click.echo(text, nl=False)
