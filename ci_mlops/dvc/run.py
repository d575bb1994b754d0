"""The one way ci-mlops runs ``dvc`` as a subprocess.

Every DVC command goes through :func:`run_dvc_batch` (several commands in one Python process,
so DVC is imported once), :func:`run_dvc` (one command) or :func:`stream_dvc` (one command
whose output goes to the job log as it comes). All start the same driver under
this interpreter (DVC is a dependency, so it is there even when ``dvc`` is not on PATH),
in the repository root, with the environment :func:`dvc_env` decides and no standard
input: a DVC child never sends usage analytics and never waits for an answer nobody can
type. Each command's exit code, output and errors are kept apart. (DVC checks for updates
only in ``dvc version``, which ci-mlops never runs.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ci_mlops.errors import UserError
from ci_mlops.record import frozen_record

# Set for every DVC child, whatever the caller's environment says.
FIXED_ENV = {
    "DVC_NO_ANALYTICS": "1",  # a CI job must not report usage
    "GIT_TERMINAL_PROMPT": "0",  # git inside DVC fails instead of asking for a password
}

# Runs each command with DVC's own entry point, its output captured at the file-descriptor
# level (DVC's logger and its child processes write there), one JSON line per command. In
# "stream" mode the output is left on the driver's own stdout and stderr.
_DRIVER = r'''
import json, os, sys, tempfile
from dvc.cli import main
commands = json.load(open(sys.argv[1], encoding="utf-8"))
results = open(sys.argv[2], "a", encoding="utf-8")
capture = sys.argv[3] != "stream"
for args in commands:
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    sys.stdout.flush(); sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    if capture:
        os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
    try:
        rc = main(args)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        rc = 255
        print(f"ERROR: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(saved[0], 1); os.dup2(saved[1], 2)
        os.close(saved[0]); os.close(saved[1])
    out.seek(0); err.seek(0)
    results.write(json.dumps({"rc": rc, "stdout": out.read().decode("utf-8", "replace"),
                              "stderr": err.read().decode("utf-8", "replace")}) + "\n")
    results.flush()
    if rc != 0 and sys.argv[3] == "stop":
        break
'''

MAX_PROBLEM = 300  # characters of DVC's error shown in a one-line message
_DRIVER_LOG_TAIL = 64 * 1024  # bytes of the driver's own output read when it fails


@frozen_record
class DvcResult:
    """One DVC command's outcome."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def command(self) -> str:
        return " ".join(("dvc", *self.args))

    def problem(self) -> str:
        """DVC's last ``ERROR`` line, else its last line of output, in one line."""
        lines = [line.strip() for line in (self.stderr + "\n" + self.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")]
        return (errors[-1] if errors else lines[-1] if lines else f"exit {self.returncode}")[:MAX_PROBLEM]


def interpreter() -> str:
    """The Python that runs the driver: this one (DVC is one of ci-mlops' dependencies)."""
    return sys.executable


def dvc_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a DVC child: ``base`` (default: this process's) plus :data:`FIXED_ENV`."""
    return {**(os.environ if base is None else base), **FIXED_ENV}


def run_dvc_batch(root: str | Path, commands: Sequence[Sequence[str]], *, env: Mapping[str, str] | None = None,
              stop_on_error: bool = False, timeout: float | None = None) -> list[DvcResult]:
    """Run DVC ``commands`` in turn in one process in ``root``; one result per command run.

    With ``stop_on_error`` the first failing command is the last one run. ``env`` is the base
    environment (:func:`dvc_env` adds what every DVC child gets). Raises :class:`UserError`
    when DVC itself cannot start or dies, or does not finish within ``timeout`` seconds.
    """
    wanted = [tuple(str(a) for a in args) for args in commands]
    if not wanted:
        return []
    import tempfile  # lazy: ~4 ms; `report` imports this module (through checks) but seldom runs DVC

    with tempfile.TemporaryDirectory(prefix="ci-mlops-dvc-") as tmp:
        spec, out = Path(tmp) / "commands.json", Path(tmp) / "results.jsonl"
        spec.write_text(json.dumps(wanted), encoding="utf-8")
        argv = [interpreter(), "-c", _DRIVER, str(spec), str(out), "stop" if stop_on_error else "all"]
        # The driver's own output goes to a file, not a pipe: a process DVC leaves running (the
        # experiment queue's workers, forked from the driver) inherits it, and reading a pipe
        # would wait for that process to end, not for the driver.
        log = Path(tmp) / "driver.log"
        try:
            with log.open("wb") as sink:
                proc = subprocess.run(argv, cwd=root, env=dvc_env(env), stdin=subprocess.DEVNULL,
                                      stdout=sink, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise UserError(f"`{_shown(wanted)}` did not finish within {timeout:g} s in {root}") from exc
        except OSError as exc:
            raise UserError(f"dvc could not run in {root}: {exc.strerror or exc}") from exc
        lines = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
        results = [DvcResult(args, row["rc"], row["stdout"], row["stderr"])
                   for args, row in zip(wanted, map(json.loads, lines))]
        finished = len(results) == len(wanted) or (stop_on_error and results and not results[-1].ok)
        if not finished:  # the driver itself failed: its last words say why
            with log.open("rb") as said_file:
                said_file.seek(max(0, log.stat().st_size - _DRIVER_LOG_TAIL))
                said = said_file.read().decode("utf-8", "replace")
            last = (said.strip() or f"exit {proc.returncode}").splitlines()[-1]
            raise UserError(f"dvc could not run in {root}: {last[:MAX_PROBLEM]}")
    return results


def run_dvc(root: str | Path, *args: str, env: Mapping[str, str] | None = None,
        timeout: float | None = None) -> DvcResult:
    """Run one DVC command (``dvc ARGS``) in ``root``; see :func:`run_dvc_batch`."""
    return run_dvc_batch(root, [args], env=env, timeout=timeout)[0]


def stream_dvc(root: str | Path, *args: str, echo: Callable[[str], None], env: Mapping[str, str] | None = None,
               keep: int = 30, project: bool = False) -> DvcResult:
    """Run one DVC command (a long ``dvc repro``), each line of its output (errors merged in)
    passed to ``echo`` as it comes; the result's ``stdout`` holds the last ``keep`` lines.

    ``project`` runs the project's own ``dvc`` (first on PATH: its DVC version and its
    remotes' plugins, for a pipeline the project runs) instead of ci-mlops' DVC; the
    environment is the same. A DVC that cannot start is a failed result (its last lines
    say why), not an exception: the caller reports a failed step with its log.
    """
    import shutil  # lazy: with tempfile, see run_dvc_batch
    import tempfile

    tail: deque[str] = deque(maxlen=keep)
    environment = dvc_env(env)
    with tempfile.TemporaryDirectory(prefix="ci-mlops-dvc-") as tmp:
        spec, out = Path(tmp) / "commands.json", Path(tmp) / "results.jsonl"
        spec.write_text(json.dumps([list(args)]), encoding="utf-8")
        argv = [interpreter(), "-c", _DRIVER, str(spec), str(out), "stream"]
        if project:
            found = shutil.which("dvc", path=environment.get("PATH", os.defpath))
            if found is None:
                return DvcResult(tuple(args), 127, "dvc: not found on PATH (the project's environment has no DVC)\n", "")
            argv = [found, *args]
        try:
            proc = subprocess.Popen(argv, cwd=root, env=environment, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as exc:
            return DvcResult(tuple(args), 127, f"dvc could not run in {root}: {exc.strerror or exc}\n", "")
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            tail.append(line)
            echo(line)
        code = proc.wait()
        lines = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
    rc = code if project else json.loads(lines[0])["rc"] if lines else (code or 1)
    return DvcResult(tuple(args), rc, "".join(f"{line}\n" for line in tail), "")


def _shown(commands: list[tuple[str, ...]]) -> str:
    return " && ".join(" ".join(("dvc", *args)) for args in commands)
