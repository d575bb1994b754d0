"""``ci-mlops report ...`` without click: its options read by a small parser of their own.

Every pull request runs the report, and importing click (with its ``inspect``, ``uuid`` and
friends) is a quarter of that command's start-up. For a plain ``ci-mlops report`` with options
this parser understands, :func:`main` parses them exactly as click would and runs
:func:`ci_mlops.commands.report_run.run`; for anything else (``--help``, an unknown option, a
value click must judge or reject, shell completion) it returns and the click app runs as
before, so click writes every usage error. tests/cli/test_quick.py holds :data:`OPTIONS` to
the click command's declared options and shows both parse the same arguments to the same
values.
"""

from __future__ import annotations

import gc
import os
import stat
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

# The click command's options (ci_mlops/commands/report.py): option -> (parameter, kind, detail).
# "text": any value; "choice": one of detail; "int": an integer in detail's (min, max);
# "path": detail is click.Path's (file_okay, dir_okay, writable); "flag": detail is the value.
OPTIONS: dict[str, tuple[str, str, Any]] = {
    "--base": ("base", "text", None),
    "--head": ("head", "text", None),
    "--format": ("fmt", "choice", ("markdown", "json")),
    "-o": ("output", "path", (True, False, True)),
    "--output": ("output", "path", (True, False, True)),
    "--all": ("show_all", "flag", True),
    "--history": ("history", "int", (0, 1000)),
    "--no-plots": ("no_plots", "flag", True),
    "--max-chars": ("max_chars", "int", (1000, None)),
    "--checks": ("checks", "flag", True),
    "--no-checks": ("checks", "flag", False),
    "--summary": ("summary", "flag", True),
    "--no-summary": ("summary", "flag", False),
    "--plots-dir": ("plots_dir", "path", (False, True, True)),
    "--config": ("config_path", "path", (True, False, False)),
    "--gates-from": ("gates_from", "choice", ("auto", "base", "workspace")),
}
DEFAULTS: dict[str, Any] = {
    "base": None, "head": None, "fmt": "markdown", "output": None, "show_all": False, "history": None,
    "no_plots": False, "max_chars": None, "checks": True, "summary": True, "plots_dir": None,
    "config_path": None, "gates_from": "auto",
}


def main(args: list[str]) -> None:
    """Run ``ci-mlops report`` for ``args`` (those after ``report``) and exit, or return when
    click has to: the parser does not accept them, or the shell asks for completions."""
    if "_CI_MLOPS_COMPLETE" in os.environ:
        return
    values = parse(args)
    if values is None:
        return
    # Importing the command creates tens of thousands of long-lived objects (modules, classes,
    # functions) and no garbage: collecting while it runs only costs time. What it leaves is
    # then frozen, so the collections the report itself triggers do not walk it again.
    gc.disable()
    from ci_mlops.commands.report_run import run  # lazy: the command's own imports, only when it runs

    gc.freeze()
    gc.enable()
    try:
        run(**values)
    except SystemExit:
        raise
    except BaseException as exc:
        from ci_mlops.app import fail  # lazy: click only to report a failure as the click app does

        fail(exc, ["report", *args])
    sys.exit(0)


def parse(args: list[str]) -> dict[str, Any] | None:
    """The report's parameters for ``args``, as click would pass them; None when any argument is
    not one this parser is sure of (click then accepts or rejects it itself)."""
    values = dict(DEFAULTS)
    position = 0
    while position < len(args):
        token = args[position]
        position += 1
        name, equals, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        spec = OPTIONS.get(name)
        if spec is None:
            return None
        param, kind, detail = spec
        if kind == "flag":
            if equals:
                return None
            values[param] = detail
            continue
        if equals:
            value = inline
        elif position < len(args):
            value = args[position]
            position += 1
        else:
            return None
        if not value or value.startswith("-"):
            return None  # click's to judge: an empty value, a value that looks like an option
        converted = _convert(kind, detail, value)
        if converted is None:
            return None
        values[param] = converted
    return values


def _convert(kind: str, detail: Any, value: str) -> object:
    if kind == "text":
        return value
    if kind == "choice":
        return value if value in detail else None
    if kind == "int":
        if not (value.isascii() and value.isdigit()):
            return None
        number, (low, high) = int(value), detail
        return number if low <= number and (high is None or number <= high) else None
    file_okay, dir_okay, writable = detail  # click.Path: a path that exists must suit
    try:
        mode = os.stat(value).st_mode
    except OSError:
        return value
    if (not file_okay and stat.S_ISREG(mode)) or (not dir_okay and stat.S_ISDIR(mode)):
        return None
    if not os.access(value, os.R_OK) or (writable and not os.access(value, os.W_OK)):
        return None
    return value
