"""`ci-mlops outputs`: stage DVC outputs in the training job, validate and push them in another job."""

from __future__ import annotations

from pathlib import Path

import click

from ci_mlops.dvc.outputs import fetch, pull, push, stage, validate
from ci_mlops.git import Repo
from ci_mlops.github import actions


@click.group("outputs")
def command() -> None:
    """Move a commit's DVC outputs from the job that trains to the job that pushes.

    The training job runs the repository's code and never gets the remote's
    write credentials: `stage` copies what `dvc push --run-cache` would upload
    into a folder (uploaded as an artifact). The push job downloads it, and
    `push` validates every file (content objects must hash to their names,
    run-cache entries to their keys) before pushing with its own credentials.

    With keyless (OIDC) credentials the reverse happens too: `fetch` runs in a
    job that logs in and runs no project code; `pull` validates the folder in
    the training job and checks the data out.

    Exit codes: 0 done, 1 the folder failed validation or outputs are missing,
    2 bad input.
    """


@command.command("stage")
@click.argument("folder", type=click.Path(file_okay=False))
@click.argument("targets", nargs=-1)
def stage_command(folder: str, targets: tuple[str, ...]) -> None:
    """Copy the workspace's DVC outputs and run-cache into FOLDER (a local-remote layout).

    Sets the step output `files` to the number of files staged (0: nothing to push).
    """
    root = Repo.discover(".").root
    count = stage(root, Path(folder), targets=list(targets))
    actions.set_output("files", str(count))
    click.echo(f"staged {count} file(s) in {folder}")


@command.command("push")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--remote", "-r", default=None, help="DVC remote to push to. Default: the project's default remote.")
def push_command(folder: str, remote: str | None) -> None:
    """Validate the staged FOLDER, then push this commit's outputs and run-cache from it."""
    root = Repo.discover(".").root
    objects, runs = validate(Path(folder))
    click.echo(f"validated {objects} object(s) and {runs} run-cache entr{'y' if runs == 1 else 'ies'}")
    count = push(root, Path(folder), remote=remote)
    click.echo(f"pushed {count} file(s) to the DVC remote{f' {remote!r}' if remote else ''}")


@command.command("fetch")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--remote", "-r", default=None, help="DVC remote to fetch from. Default: the project's default remote.")
def fetch_command(folder: str, remote: str | None) -> None:
    """Fetch this commit's data, outputs and run-cache from the remote into FOLDER (for another job)."""
    root = Repo.discover(".").root
    count = fetch(root, Path(folder), remote=remote)
    actions.set_output("files", str(sum(1 for p in Path(folder).rglob("*") if p.is_file())))
    click.echo(f"fetched {count} file(s) into {folder}")


@command.command("pull")
@click.argument("folder", type=click.Path(file_okay=False))
def pull_command(folder: str) -> None:
    """Validate FOLDER (from `outputs fetch` in another job), then check its data out like `dvc pull`."""
    root = Repo.discover(".").root
    pull(root, Path(folder))
    click.echo(f"pulled from {folder}")
