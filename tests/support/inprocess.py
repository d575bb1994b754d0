"""Run the ``ci-mlops`` entry point in this process as if it were a child process.

What a child would have of its own is swapped for the call and put back afterwards: the
working directory, ``os.environ``, ``sys.argv``, the standard streams and the file
descriptors 0-2 (so git and DVC children write into the captured output too). The exit
code is read from ``SystemExit`` as the interpreter would; an uncaught exception prints
its traceback and gives 1, as ``python -m`` does.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any


def run_in_process(argv: list[str], *, cwd: Path | None, env: dict[str, str],
                   input: str | None) -> subprocess.CompletedProcess:
    from ci_mlops.cli import main

    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved_fds = [os.dup(fd) for fd in (0, 1, 2)]
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin.write((input or "").encode())
        stdin.seek(0)
        for fd, handle in ((0, stdin), (1, out), (2, err)):
            os.dup2(handle.fileno(), fd)
        # Streams on the descriptors themselves, never closed: a logging handler that keeps
        # one (DVC's does) writes to whatever descriptor 2 is at the time, not to a closed file.
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False,  # noqa: SIM115
                          buffering=1)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = list(argv)
        code = 0
        try:
            if cwd is not None:
                os.chdir(cwd)
            main(argv[1:])
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:  # a child process would print it and exit 1
            traceback.print_exc()
            code = 1
        finally:
            gc.unfreeze()  # the quick report path freezes what it imported: a child would have exited
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            for fd, saved in zip((0, 1, 2), saved_fds, strict=True):
                os.dup2(saved, fd)
                os.close(saved)
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            sys.argv = saved_argv
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    return subprocess.CompletedProcess(argv, code, _universal(stdout), _universal(stderr))


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stderr.write(f"{exc.code}\n")
    return 1


def _universal(text: str) -> str:
    """Newlines as ``subprocess.run(text=True)`` gives them: CRLF and a lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def run_main(args: list[str], env: dict[str, str], monkeypatch: Any, capsys: Any,
             drop: tuple[str, ...] = ()) -> tuple[Any, str, str]:
    """``main(args)`` with ``env`` set and the ``drop`` variables unset through ``monkeypatch`` (put back
    after the test): (exit code, stdout, stderr) as pytest's ``capsys`` captured them."""
    import pytest

    from ci_mlops.cli import main

    for key in drop:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        with pytest.raises(SystemExit) as info:
            main(args)
    finally:
        gc.unfreeze()  # loading a command freezes what it imported: a child process would have exited
    out = capsys.readouterr()
    return info.value.code, out.out, out.err
