"""`ci-mlops sweep`: plan, run and rank a parameter sweep (the `experiments:` section)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from ci_mlops.config import Config, find_config, load_config
from ci_mlops.config.records import Experiments
from ci_mlops.errors import UserError
from ci_mlops.fsutil import atomic_write
from ci_mlops.git import BlobReader, Repo
from ci_mlops.github import actions
from ci_mlops.github.actions import append_summary, in_actions, set_output
from ci_mlops.github.context import GitHubContext
from ci_mlops.report.collect import snapshot
from ci_mlops.report.revisions import resolve_base
from ci_mlops.sweep import plan as planning
from ci_mlops.sweep.apply import apply_experiment
from ci_mlops.sweep.chatops import footer, handle
from ci_mlops.sweep.leaderboard import build, render_markdown
from ci_mlops.sweep.plan import Experiment, expand, find, matrix, parse_overrides
from ci_mlops.sweep.pull import checked_head, commit_files, parse_pr
from ci_mlops.sweep.results import complete, from_experiment_refs, load_results
from ci_mlops.sweep.run import run_local, run_one

_CONFIG = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                       help="Configuration file. Default: .ci-mlops.yml at the repository root.")
_SET = click.option("--set", "overrides", default=None, metavar="'KEY=V1,V2 ...'",
                    help="Replace grid axes, e.g. 'train.lr=0.01,0.03' (the syntax of a /ci-mlops sweep comment); "
                         "empty for none.")


@click.group("sweep")
def command() -> None:
    """Parameter sweeps: a leaderboard of experiments in the PR.

    Declare the sweep under `experiments:` in .ci-mlops.yml (a grid and/or sets of
    params in DVC's --set-param syntax, and the metric to rank by). `plan` prints
    the experiments (the GitHub Actions matrix), `run` runs them with DVC
    (all locally through DVC's queue, or one per CI job), `report` ranks them
    against the base, and `apply` takes one experiment's params and dvc.lock.
    """


def _load(config_path: str | None) -> tuple[Config, Path]:
    repo = Repo.discover(Path.cwd())
    return load_config(config_path or find_config(repo.root), required=config_path is not None), repo.root


def _plan(config: Config, overrides: str | None) -> list[Experiment]:
    return expand(config, parse_overrides(overrides) if overrides and overrides.strip() else None)


@command.command("plan")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "matrix"]), default="text", show_default=True,
              help="text: one experiment a line; json: names and params; matrix: the GitHub Actions matrix.")
@click.option("--pr", "pr_text", default=None, metavar="N",
              help="Refuse unless pull request N is from this repository (not a fork) and its head is the "
                   "checked-out commit (the sweep workflow's guard; needs a token). Empty for none.")
@_SET
@_CONFIG
def plan(fmt: str, pr_text: str | None, overrides: str | None, config_path: str | None) -> None:
    """Print the experiments the sweep runs (in Actions, also the `matrix` and `count` outputs)."""
    config, root = _load(config_path)
    experiments = _plan(config, overrides)
    _check_pr(root, pr_text)
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
@click.option("--base", default=None, metavar="REF",
              help="With --local: the revision the leaderboard compares against (as for `ci-mlops report`).")
@_SET
@_CONFIG
def run(local: bool, jobs: int | None, name: str | None, output: str | None, pull: bool, push: bool,
        fmt: str, base: str | None, overrides: str | None, config_path: str | None) -> None:
    """Run the sweep's experiments with DVC (a failed experiment is a row, not a failed run)."""
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

        set_output("status", result.status)
        return
    section = config.settings.experiments
    workers = jobs or (section or Experiments).max_parallel
    errors = run_local(root, experiments, workers, echo=lambda line: click.echo(f"ci-mlops: {line}", err=True))
    results = from_experiment_refs(root, experiments, config=config, errors=errors)
    _print_board(config, root, results, fmt, base=base)


@command.command("report")
@click.option("--results", "results_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of result JSON files (one per CI job). Default: the experiments DVC ran on HEAD.")
@click.option("--base", default=None, metavar="REF", help="Revision to compare against (as for `ci-mlops report`).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to FILE.")
@click.option("--expect-all", is_flag=True,
              help="With --results: every planned experiment without a result file is a row saying its job "
                   "left none (the collect job).")
@_SET
@_CONFIG
def report(results_dir: str | None, base: str | None, fmt: str, output: str | None, expect_all: bool,
           overrides: str | None, config_path: str | None) -> None:
    """The leaderboard: experiments ranked by `experiments.rank_by`, against the base."""
    config, root = _load(config_path)
    if results_dir:
        folder = Path(results_dir)
        if not folder.is_dir() and not expect_all:
            raise UserError(f"--results {results_dir}: no such folder")
        # with --expect-all, no folder means no job left a result: every experiment is a row that says so
        results = load_results(folder) if folder.is_dir() else []
        if expect_all:
            results = complete(results, _plan(config, overrides))
    else:
        results = from_experiment_refs(root, _plan(config, overrides), config=config)
    _print_board(config, root, results, fmt, base=base, output=output, overrides=overrides or "")


@command.command("apply")
@click.argument("name")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Folder of CI results to take dvc.lock from. Default: the experiment DVC ran on HEAD.")
@click.option("--commit-to-pr", "commit_pr", default=None, metavar="N",
              help="With --results: commit the changed params files and dvc.lock to pull request N's branch "
                   "through the GitHub API (its head must be the checked-out commit; never a fork).")
@_SET
@_CONFIG
def apply(name: str, results_dir: str | None, commit_pr: str | None, overrides: str | None,
          config_path: str | None) -> None:
    """Write experiment NAME's params and dvc.lock into the workspace (commit them yourself, or CI does)."""
    config, root = _load(config_path)
    number = parse_pr(commit_pr)
    if commit_pr is not None and (number is None or results_dir is None):
        raise UserError("--commit-to-pr needs a pull request number and --results (the CI results to apply)")
    experiments = _plan(config, overrides)
    if number is not None:
        head = _check_pr(root, commit_pr)
    changed = apply_experiment(root, config, name, experiments, Path(results_dir) if results_dir else None)
    click.echo(f"ci-mlops: applied {name}: {', '.join(changed) if changed else 'nothing changed'}")
    if number is not None and head is not None:
        ctx = GitHubContext.from_env()
        experiment = find(experiments, name)
        message = (f"sweep: apply {name} ({' '.join(experiment.set_params())})\n\nIts params and dvc.lock, "
                   "committed by `/ci-mlops apply`; `dvc pull` brings its outputs.")
        sha = commit_files(ctx.client(), ctx.require_repo(), root, head, changed, message)
        set_output("commit", sha)
        click.echo(f"ci-mlops: committed {name} to {head.branch} (#{head.number}) as {sha[:12]}")


@command.command("chatops")
@click.option("--workflow", default="ci-mlops-sweep.yml", show_default=True,
              help="The sweep workflow's file name, started with workflow_dispatch.")
def chatops(workflow: str) -> None:
    """Obey a `/ci-mlops sweep` or `/ci-mlops apply NAME` PR comment (the issue_comment workflow).

    The comment comes from $GITHUB_EVENT_PATH and is parsed strictly. Only OWNER, MEMBER
    and COLLABORATOR commenters with write access (confirmed through the collaborator
    permission API) are obeyed, never on a PR from a fork; the sweep workflow then runs
    on the PR's head commit. Exit codes: 0 started, refused or not a command (a notice
    says which); 2 a malformed command or a PR it cannot run on (the PR gets a reply).
    """
    ctx = GitHubContext.from_env()
    actions.mask(ctx.token)
    outcome = handle(ctx, workflow)
    if outcome.status == "refused":
        actions.annotate("warning", f"ci-mlops refused the command: {outcome.message}")
    click.echo(f"ci-mlops: {outcome.status}: {outcome.message}")
    actions.set_output("status", outcome.status)


def _check_pr(root: Path, pr_text: str | None) -> Any:
    """The PR's head, checked (same repository, head = HEAD); None when no PR is named."""
    number = parse_pr(pr_text)
    if number is None:
        return None
    ctx = GitHubContext.from_env()
    return checked_head(ctx.client(), ctx.require_repo(), number, Repo.discover(root).rev_parse("HEAD"))


def _print_board(config: Config, root: Path, results: list[Any], fmt: str, *, base: str | None,
                 output: str | None = None, overrides: str = "") -> None:
    repo = Repo.discover(root)
    base_rev = resolve_base(repo, base, config)
    with BlobReader(repo.root) as reader:
        base_snap = snapshot(repo.root, base_rev.sha, reader=reader, config=config, want_plots=False,
                             label=base_rev.ref)
    board = build(config, {"ref": base_rev.ref, "sha": base_rev.sha}, base_snap.metrics, results)
    text = json.dumps(board, indent=2, default=str) + "\n" if fmt == "json" else render_markdown(board)

    if in_actions() and fmt == "markdown":
        append_summary(text)
        run_id = os.environ.get("GITHUB_RUN_ID", "")
        if run_id.isdigit():  # which run and commit, for `/ci-mlops apply` (hidden in the comment)
            text += "\n" + footer(run_id, repo.rev_parse("HEAD"), " ".join(overrides.split()),
                                  [r["name"] for r in board["rows"] if r["status"] == "success"])
    if output:
        atomic_write(output, text)
    else:
        click.echo(text, nl=False)
