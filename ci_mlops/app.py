"""The ``ci-mlops`` command line (click), reached through :func:`ci_mlops.cli.main`.

Commands are registered by module path and loaded only when invoked, so
``ci-mlops --help`` never imports DVC, pandas or requests. Each command lives in
``ci_mlops/commands/<name>.py`` as a click command called ``command``; its imports
are at module top, except heavy libraries (and modules that import them), which stay
inside the function body with a comment. Help screens are also kept pre-rendered in
:mod:`ci_mlops.helptext` (``python tools/gen_help.py``), so ``--help`` needs no click.
"""

from __future__ import annotations

import errno
import gc
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn, TextIO, cast

import click

from ci_mlops import __version__
from ci_mlops.errors import EXIT_INTERNAL_ERROR, EXIT_USER_ERROR, CiMlopsError, exhausted
from ci_mlops.escape import log_text

# name -> (module, one-line help shown by `ci-mlops --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("ci_mlops.commands.init", "Scaffold .ci-mlops.yml and secure GitHub workflows into a repo."),
    "report": ("ci_mlops.commands.report", "Diff metrics, params and plots between two revisions."),
    "check": ("ci_mlops.commands.check", "Run the metric gates, data checks and slice checks."),
    "comment": ("ci_mlops.commands.comment", "Post or update the sticky PR comment."),
    "status": ("ci_mlops.commands.status", "Publish the gate verdict as a commit status or check run."),
    "deploy": ("ci_mlops.commands.deploy", "Release the model for a version tag."),
    "audit": ("ci_mlops.commands.audit", "Verify releases against their lineage, list model history."),
    "sweep": ("ci_mlops.commands.sweep", "Plan, run and rank a parameter sweep (a leaderboard in the PR)."),
    "drift": ("ci_mlops.commands.drift", "Detect drift between reference and current data."),
    "retrain": ("ci_mlops.commands.retrain", "Retrain on drift or a schedule and propose it as one pull request."),
    "results": ("ci_mlops.commands.results", "Commit a same-repo PR's training results back to its branch."),
    "outputs": ("ci_mlops.commands.outputs", "Stage DVC outputs in the training job; validate and push them in another."),
    "demo": ("ci_mlops.commands.demo", "Build a small ML repo and show the whole loop on it, offline."),
    "config": ("ci_mlops.commands.config", "Validate .ci-mlops.yml or print its JSON Schema."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (module, _) in COMMANDS.items() if _module_exists(module))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not _module_exists(COMMANDS[name][0]):
            return None
        # Importing a command creates many long-lived objects and no garbage: no collection while
        # it loads, and what it loaded is frozen out of later ones (ci_mlops/quick.py does the same).
        gc.disable()
        try:
            command: click.Command = importlib.import_module(COMMANDS[name][0]).command
        finally:
            gc.freeze()
            gc.enable()
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ci-mlops")
@click.option("--debug", is_flag=True, envvar="CI_MLOPS_DEBUG", help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """ci-mlops: a CI/CD loop for ML repositories that use git and DVC.

    Every pull request retrains, tests and gets one sticky comment showing how
    metrics, params and plots moved; every version tag releases the model with a
    model card and lineage record; a scheduled monitor watches for drift.

    Exit codes: 0 ok, 1 the checked thing is bad (gate failed, drift found),
    2 bad input or configuration, 3 an outside service kept failing.
    """
    ctx.obj = {"debug": debug}


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: map expected errors to one line and an exit code."""
    _finish(lambda: cli.main(args=argv, prog_name="ci-mlops", standalone_mode=False), argv)


def fail(exc: BaseException, argv: list[str]) -> NoReturn:
    """End a command that ran without click (``ci_mlops/quick.py``) and raised ``exc``, exactly as
    when click's ``main`` had run it: an interrupt is an abort, a broken pipe exits 1 quietly."""

    def again() -> None:
        try:
            raise exc
        except (EOFError, KeyboardInterrupt) as interrupt:
            click.echo(file=sys.stderr)  # click closes the terminal's ^C echo with a blank line
            raise click.exceptions.Abort() from interrupt
        except OSError as error:
            if error.errno != errno.EPIPE:
                raise
            sys.stdout = cast(TextIO, _PacifyFlush(sys.stdout))
            sys.stderr = cast(TextIO, _PacifyFlush(sys.stderr))
            sys.exit(1)

    _finish(again, argv)


class _PacifyFlush:
    """A stream whose flush ignores a broken pipe (at exit Python flushes stdout and stderr)."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as error:
            if error.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _finish(call: Callable[[], object], argv: list[str] | None) -> NoReturn:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or bool(os.environ.get("CI_MLOPS_DEBUG"))
    try:
        rv = call()
    except CiMlopsError as exc:
        if debug:  # the traceback, but still the documented exit code (1 means "checked thing is bad")
            traceback.print_exc()

        # One line, whatever a file name or value inside it holds (a CR would start a new log line).
        message = log_text(exc.message)
        click.echo(f"ci-mlops: error: {message}" if exc.exit_code != 1 else f"ci-mlops: {message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("ci-mlops: aborted", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.UsageError as exc:  # bad flags or arguments: one line, like every user error
        where = exc.ctx.command_path if exc.ctx else "ci-mlops"
        click.echo(f"ci-mlops: error: {exc.format_message()} (see `{where} --help`)", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USER_ERROR if exc.exit_code != 0 else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("ci-mlops: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug (one line, the traceback only with --debug), or out of memory
        if debug:
            traceback.print_exc()
        if exhausted(exc):  # the input is bigger than this machine allows: say that, not "internal error"
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            click.echo(f"ci-mlops: error: out of memory{f' ({detail})' if detail else ''}: the input needs more "
                       "memory than this machine has; read fewer columns (--columns) or use a larger runner "
                       "(see docs/limits.md)", err=True)
            sys.exit(EXIT_USER_ERROR)
        click.echo(
            f"ci-mlops: internal error: {type(exc).__name__}: {exc} "
            "(rerun with --debug for the traceback, and please report it)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL_ERROR)
    sys.exit(rv if isinstance(rv, int) else 0)


HELP_WIDTH = 80  # click renders help at most this wide


def render_help(path: list[str]) -> str:
    """What ``ci-mlops [path...] --help`` prints on a terminal at least HELP_WIDTH wide."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)
    try:
        with cli.make_context("ci-mlops", [], resilient_parsing=True) as ctx:
            if not path:
                return ctx.get_help() + "\n"
            command = cli.get_command(ctx, path[0])
            assert command is not None
            with command.make_context(path[0], [], parent=ctx, resilient_parsing=True) as sub:
                return sub.get_help() + "\n"
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def all_help() -> dict[str, str]:
    """Every help screen: the top level ("") and each command."""
    return {"": render_help([]), **{name: render_help([name]) for name in sorted(COMMANDS) if _module_exists(COMMANDS[name][0])}}
