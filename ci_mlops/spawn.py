"""Start a program and read what it writes, without the ``subprocess`` module.

``import subprocess`` brings ``signal``, ``threading``, ``selectors``, ``locale`` and
``contextlib`` (~6 ms), a tenth of a ``ci-mlops report``, which runs nothing but git. This module
starts programs with ``os.posix_spawnp`` and waits with ``os.waitpid``, doing what ``subprocess``
does for the same call:

- the child's SIGPIPE and SIGXFSZ are reset to their default action (``restore_signals``: Python
  ignores SIGPIPE, and a child that inherited that would not stop when its reader goes away);
- the child gets only stdin, stdout and stderr: Python's own descriptors are not inheritable
  (PEP 446), and one that was made inheritable is closed in the child (``close_fds``);
- :func:`run` gives the child files in memory for stdout and stderr (and its input), so however
  much it writes to both, nothing blocks; :class:`Process` talks to a long-lived program through
  two pipes, a request written whole, then its answer read;
- a missing program is ``FileNotFoundError``.

There is no working directory: ``posix_spawn`` in Python 3.11 has no chdir action, so callers
say where in the command (``git -C DIR``). Where ``os.posix_spawnp`` does not exist (Windows),
``subprocess`` does the work, and :func:`run`'s too where there are no files in memory (macOS).
"""

from __future__ import annotations

import io
import os

from ci_mlops.record import frozen_record

TYPE_CHECKING = False  # typing's constant without importing typing (mypy reads it as typing's)
if TYPE_CHECKING:
    import signal as _signal
    import subprocess
    from collections.abc import Mapping
else:
    try:
        import _signal  # the C module under `signal`, loaded by the interpreter at start: numbers, no enums
    except ImportError:  # pragma: no cover - an interpreter without it
        import signal as _signal

POSIX = hasattr(os, "posix_spawnp")  # False on Windows: subprocess starts the programs there
DEVNULL = -3  # ``stderr=DEVNULL``: the child's stderr is /dev/null (``subprocess.DEVNULL``'s value)
# The signals subprocess's restore_signals puts back to their default in the child. (glibc's posix_spawn
# also leaves its two internal signals, 32 and 33, ignored in the child: below SIGRTMIN, no program's.)
_RESTORED = tuple(getattr(_signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(_signal, name))
_FD_DIRS = ("/proc/self/fd", "/dev/fd")  # Linux, then macOS and the BSDs


@frozen_record
class Completed:
    """A finished program: its exit code (``-N`` for signal N) and what it wrote."""

    returncode: int
    stdout: bytes
    stderr: bytes


def run(argv: list[str], *, env: Mapping[str, str] | None = None, input: bytes | None = None) -> Completed:
    """Run ``argv`` to its end: ``subprocess.run(argv, input=input, capture_output=True, env=env)``.

    Without ``input`` the child reads this process's stdin, as subprocess's does. Its stdout and
    stderr are files in memory (``memfd_create``) read once it has ended: no pipe to keep
    drained, so nothing blocks however much it writes to either, and nothing to poll. Without
    memory files (not Linux, or refused), subprocess runs it."""
    files = _memory_files(2 if input is None else 3) if POSIX else None
    if files is None:
        return _run_subprocess(argv, env, input)
    try:
        stdin = None
        if input is not None:
            stdin = files[2]
            _write_all(stdin, input)
            os.lseek(stdin, 0, os.SEEK_SET)
        returncode = _wait(_spawn(argv, env, stdin=stdin, stdout=files[0], stderr=files[1]))
        return Completed(returncode, _read_all(files[0]), _read_all(files[1]))
    finally:
        _close(*files)


class Process:
    """A running program whose stdin and stdout are pipes to this process; stderr goes to
    ``stderr`` (``None``: this process's, or :data:`DEVNULL`).

    Write a request with :meth:`write`, read the answer from :attr:`stdout` (a buffered
    reader). :meth:`close` closes both pipes, so the program ends even in the middle of an
    answer (it reads end of input, or its next write fails), then waits for it: no zombie,
    no descriptor left open. Use it as a context manager, or call :meth:`close`."""

    def __init__(self, argv: list[str], *, env: Mapping[str, str] | None = None, stderr: int | None = None) -> None:
        self.returncode: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        if not POSIX:
            self._popen = _popen(argv, env, stderr)
            assert self._popen.stdout is not None
            self.stdout: io.BufferedReader = self._popen.stdout  # type: ignore[assignment]  # Popen's is one
            self.pid = self._popen.pid
            return
        in_r, in_w = _pipe()
        out_r = out_w = None
        try:
            out_r, out_w = _pipe()
            self.pid = _spawn(argv, env, stdin=in_r, stdout=out_w, stderr=stderr)
        except BaseException:
            _close(in_w, out_r)
            raise
        finally:
            _close(in_r, out_w)  # the child's ends: it has its copies
        self._stdin: int | None = in_w
        self.stdout = open(out_r, "rb")  # noqa: SIM115  # closed by close()

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, data: bytes) -> None:
        """Write all of ``data`` to the program's stdin (``BrokenPipeError`` if it has gone)."""
        if self._popen is not None:
            assert self._popen.stdin is not None
            self._popen.stdin.write(data)
            self._popen.stdin.flush()
            return
        if self._stdin is None:
            raise ValueError("write to a closed process")
        _write_all(self._stdin, data)

    def close(self) -> int:
        """Close the pipes, wait for the program and return its exit code (again on later calls)."""
        if self.returncode is not None:
            return self.returncode
        if self._popen is not None:
            for stream in (self._popen.stdin, self._popen.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except BrokenPipeError:  # the buffered request the program never read
                        pass
            self.returncode = self._popen.wait()
            return self.returncode
        self.stdout.close()
        _close(self._stdin)
        self._stdin = None
        self.returncode = _wait(self.pid)
        return self.returncode


# -- posix_spawn ------------------------------------------------------------------------


def _pipe() -> tuple[int, int]:
    read, write = os.pipe()
    return _above_std(read), _above_std(write)


def _memory_files(count: int) -> list[int] | None:
    """``count`` new files in memory, or None where there are none (then subprocess runs the program)."""
    files: list[int] = []
    try:
        for _ in range(count):
            files.append(_above_std(os.memfd_create("ci-mlops-spawn", os.MFD_CLOEXEC)))
    except (AttributeError, OSError):  # not Linux (or FreeBSD), or a sandbox that refuses it
        _close(*files)
        return None
    return files


def _above_std(fd: int) -> int:
    """``fd``, or a copy of it above 2 when it is 0, 1 or 2 (free because this process runs with one of
    them closed): moving it onto the child's stdin, stdout or stderr must never be a no-op, which
    would leave it close-on-exec where libc does not clear that."""
    low = []
    while fd <= 2:
        low.append(fd)
        fd = os.dup(fd)  # not inheritable, as the original
    _close(*low)
    return fd


def _spawn(argv: list[str], env: Mapping[str, str] | None, *, stdin: int | None, stdout: int | None,
           stderr: int | None) -> int:
    """Start ``argv`` (searched on PATH) with the given descriptors as its 0, 1 and 2 (None:
    this process's; :data:`DEVNULL`: /dev/null) and nothing else open; return its pid."""
    actions: list[tuple[int | str, ...]] = []
    for target, fd in enumerate((stdin, stdout, stderr)):
        if fd == DEVNULL:
            actions.append((os.POSIX_SPAWN_OPEN, target, os.devnull, os.O_RDWR, 0))
        elif fd is not None:
            actions.append((os.POSIX_SPAWN_DUP2, fd, target))  # dup2 clears close-on-exec on the copy
    actions.extend((os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds())
    return os.posix_spawnp(argv[0], argv, os.environ if env is None else env, file_actions=actions,
                           setsigdef=_RESTORED)


def _inheritable_fds() -> list[int]:
    """This process's descriptors above 2 that a child would inherit: none, unless something
    made one inheritable (``os.set_inheritable``, a library, a parent that passed one down)."""
    for folder in _FD_DIRS:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found = []
        for name in names:
            fd = int(name)
            try:
                if fd > 2 and os.get_inheritable(fd):
                    found.append(fd)
            except OSError:  # the listing's own descriptor, closed by now
                pass
        return found
    return []


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_all(fd: int) -> bytes:
    """What a memory file holds, from its start (the child's writes moved the shared offset)."""
    os.lseek(fd, 0, os.SEEK_SET)
    with open(fd, "rb", buffering=0, closefd=False) as file:
        return file.readall()


def _wait(pid: int) -> int:
    """Wait for ``pid``; its exit code, or ``-N`` when signal N ended it (as ``Popen.returncode``)."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _close(*fds: int | None) -> None:
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:  # closed already
                pass


# -- Windows ----------------------------------------------------------------------------


def _run_subprocess(argv: list[str], env: Mapping[str, str] | None, input: bytes | None) -> Completed:
    import subprocess  # lazy: only where os.posix_spawnp does not exist

    done = subprocess.run(argv, input=input, capture_output=True, env=env)
    return Completed(done.returncode, done.stdout, done.stderr)


def _popen(argv: list[str], env: Mapping[str, str] | None, stderr: int | None) -> subprocess.Popen[bytes]:
    import subprocess  # lazy: only where os.posix_spawnp does not exist

    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                            stderr=subprocess.DEVNULL if stderr == DEVNULL else stderr)
