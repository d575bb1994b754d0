"""Start a program and talk to it through pipes, without the ``subprocess`` module.

``import subprocess`` brings ``signal``, ``threading``, ``selectors``, ``locale`` and
``contextlib`` (~6 ms), a tenth of a ``ci-mlops report``, which runs nothing but git. This module
starts programs with ``os.posix_spawnp`` and reads them with ``os.read``, ``select.poll`` (a small C
module) and ``os.waitpid``, doing what ``subprocess`` does for the same call:

- the child's SIGPIPE and SIGXFSZ are reset to their default action (``restore_signals``: Python
  ignores SIGPIPE, and a child that inherited that would not stop when its reader goes away);
- the child gets only stdin, stdout and stderr: Python's own descriptors are not inheritable
  (PEP 446), and one that was made inheritable is closed in the child (``close_fds``);
- stdout and stderr are read together, and input is written while they are, so a child that
  writes much to both, or reads while it writes, never blocks on a full pipe;
- a missing program is ``FileNotFoundError``.

There is no working directory: ``posix_spawn`` in Python 3.11 has no chdir action, so callers
say where in the command (``git -C DIR``). Where ``os.posix_spawnp`` does not exist (Windows),
``subprocess`` does the work.
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
_READ_BYTES = 65536  # a pipe's whole buffer per read
# The signals subprocess's restore_signals puts back to their default in the child.
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

    Without ``input`` the child reads this process's stdin, as subprocess's does."""
    if not POSIX:
        return _run_subprocess(argv, env, input)
    out_r, out_w = _pipe()
    err_r, err_w = _pipe()
    in_r, in_w = _pipe() if input is not None else (None, None)
    try:
        pid = _spawn(argv, env, stdin=in_r, stdout=out_w, stderr=err_w)
    except BaseException:
        _close(out_r, err_r, in_w)
        raise
    finally:
        _close(out_w, err_w, in_r)
    mine = {out_r, err_r} if in_w is None else {out_r, err_r, in_w}
    try:
        stdout, stderr = _communicate(mine, in_w, input or b"", out_r, err_r)
    finally:
        _close(*mine)  # those still open when reading failed
        returncode = _wait(pid)
    return Completed(returncode, stdout, stderr)


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
        out_r, out_w = _pipe()
        try:
            self.pid = _spawn(argv, env, stdin=in_r, stdout=out_w, stderr=stderr)
        except BaseException:
            _close(in_w, out_r)
            raise
        finally:
            _close(in_r, out_w)
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
        view = memoryview(data)
        while view:
            view = view[os.write(self._stdin, view):]

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
    """A pipe whose two ends are not 0, 1 or 2 (taken when this process runs with one of them
    closed), so that moving an end onto the child's stdin, stdout or stderr is never a no-op."""
    ends = []
    for end in os.pipe():
        low = []
        while end <= 2:
            low.append(end)
            end = os.dup(end)  # not inheritable, as os.pipe's
        _close(*low)
        ends.append(end)
    return ends[0], ends[1]


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


def _communicate(mine: set[int], in_w: int | None, data: bytes, out_r: int, err_r: int) -> tuple[bytes, bytes]:
    """Write ``data`` to ``in_w`` (then close it) while reading ``out_r`` and ``err_r`` to their end.

    Each descriptor is closed when done with and leaves ``mine`` (what is left is the caller's to close)."""
    import select  # lazy: only run() polls (a C module, ~0.1 ms); a BlobReader's Process never does

    def done(fd: int) -> None:
        poller.unregister(fd)
        mine.discard(fd)
        os.close(fd)

    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    for fd in chunks:
        poller.register(fd, select.POLLIN)
    view = memoryview(data)
    if in_w is not None:
        poller.register(in_w, select.POLLOUT)
        if not view:
            done(in_w)
    while mine:
        for fd, _event in poller.poll():
            if fd == in_w:
                try:  # POLLOUT: at least PIPE_BUF bytes fit, so this write does not block
                    view = view[os.write(fd, view[:select.PIPE_BUF]):]
                except BrokenPipeError:  # the child stopped reading: the rest is not wanted (as subprocess)
                    view = view[:0]
                if not view:
                    done(fd)
            else:
                chunk = os.read(fd, _READ_BYTES)
                if chunk:
                    chunks[fd].append(chunk)
                else:  # end of file: the child closed its end, or ended
                    done(fd)
    return b"".join(chunks[out_r]), b"".join(chunks[err_r])


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
