"""The demo's ``ci-mlops`` steps as forks of the demo's own process, which has imported ci-mlops once.

A step started as ``python -m ci_mlops ARGS`` pays an interpreter start-up and the imports of
click, NumPy and pandas (0.3-1 CPU-s) every time; the GitLab loop runs ten of them. Forked
from a process that has imported them (:func:`warm`), a step starts at once. It is still a
process of its own, run as ``python -m ci_mlops`` runs it (``ci_mlops.__main__``): its own
working directory, environment, standard input (none), output and exit code, and nothing it
changes or caches reaches the demo or the next step. Every step forks from the same warm
state: the demo process only imports, it never runs a step itself.

Only on Linux (:func:`available`): elsewhere fork without exec is not safe with every
library (macOS), and the steps run as subprocesses.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

# What every step imports: the click app and the libraries most steps use (check, report and drift
# read tables with pandas; init renders with Jinja2; the forge steps talk HTTP with requests). Then
# each step's command module (:func:`warm`), which imports its packages at its top. None of these
# reads, while it is imported, a variable a step's environment changes (the forge's CI variables,
# GITHUB_*, the git identity): a step reads those when it runs.
WARM = ("ci_mlops.app", "click", "yaml", "jinja2", "numpy", "pandas", "requests")
# A plain `ci-mlops report ...` is parsed and run without click (ci_mlops/cli.py).
COMMAND_MODULES = {"report": ("ci_mlops.quick", "ci_mlops.commands.report_run", "ci_mlops.commands.report")}


def available() -> bool:
    """Whether steps can be forked here: Linux, where fork without exec is safe with these libraries."""
    return sys.platform == "linux" and hasattr(os, "fork")


def warm(commands: Iterable[str] = ()) -> None:
    """Import what the steps of ``commands`` (``check``, ``report``, ...) import, once, in the process
    they fork from; a command this build lacks is left to its step to report."""
    for name in WARM:
        importlib.import_module(name)
    for command in commands:
        for module in COMMAND_MODULES.get(command, (f"ci_mlops.commands.{command}",)):
            if importlib.util.find_spec(module) is not None:
                importlib.import_module(module)


def run_module(args: Sequence[str], *, cwd: Path, env: Mapping[str, str],
               module: str = "ci_mlops") -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` in ``cwd`` with ``env``, forked from this process; its output captured."""
    argv = [sys.executable, "-m", module, *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the step; it never returns
            _child(module, list(args), cwd, env, out.fileno(), err.fileno())
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, os.waitstatus_to_exitcode(status),
                                           out.read().decode("utf-8", "replace"),
                                           err.read().decode("utf-8", "replace"))


def _child(module: str, args: list[str], cwd: Path, env: Mapping[str, str], out: int, err: int) -> None:
    code = 255
    try:
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        # Streams of its own over descriptors 0-2: the demo's may be buffered, replaced or locked.
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True, errors="backslashreplace")
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [sys.executable, *args]
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except BaseException:  # what an uncaught exception does to `python -m ci_mlops`
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
