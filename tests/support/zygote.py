"""A DVC "zygote" for the test session: DVC imported once per test process, a fork per command.

What a DVC process costs in the suite is mostly importing DVC (about 0.45 CPU-s of a small
``dvc status``'s 0.6 s), paid by hundreds of processes. The zygote is one server process per
test process (xdist worker) that has imported DVC and its commands and forks a child per
request. The child takes the requester's argv, working directory, environment and file
descriptors 0-2 (passed over a unix socket with SCM_RIGHTS), then runs the same code a fresh
interpreter would: the ``-c`` driver of ``ci_mlops.dvc.run`` or the venv's ``dvc`` script. Its
exit status goes back to the requester, which exits with it (or dies of the same signal).

Requesters are two tiny launchers written into a temporary folder (:func:`launchers`):
``python`` (what ``ci_mlops.dvc.run`` starts its driver with, swapped in by ``tests/conftest.py``)
and ``dvc`` (put first on PATH by the runner simulations). Each falls back to the real program
(``exec``, same argv, environment and descriptors) whenever the zygote cannot give the
identical result:

- the zygote is not running or refuses;
- the environment differs in something the imported modules read at import time (Python's
  own ``PYTHON*`` variables, locale, HOME and XDG folders, DVC/fsspec/tqdm settings);
- a descriptor is a terminal (the zygote's streams are set up for pipes and files);
- the zygote has more than one thread (no fork with threads);
- ``dvc`` on PATH (after the launcher's folder) is not the venv's own.

A request whose launcher is killed kills its child; signals the launcher receives (TERM, INT,
HUP, QUIT) are passed on to it. The zygote exits when its test process closes the pipe to it.
"""

from __future__ import annotations

import atexit
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# What the modules the zygote imports read from the environment at import time: a request
# whose environment differs in one of these runs the real program instead.
IMPORT_TIME_KEYS = ("HOME", "LANG", "LANGUAGE", "PYCHARM_HOSTED", "DVC_SHOW_TRACEBACK", "AWS_NEW_RETRIES_2026",
                    "SSLKEYLOGFILE", "S3FS_LOGGING_LEVEL", "WRAPT_DISABLE_EXTENSIONS")
IMPORT_TIME_PREFIXES = ("PYTHON", "LC_", "XDG_", "FSSPEC_", "TQDM_")
IMPORT_TIME_SUFFIXES = ("_NO_EXTENSIONS",)  # aiohttp, yarl, multidict, frozenlist, propcache

# Imported before the first fork: DVC's command line with every command's parser, the repo,
# pipelines, experiments, outputs and the S3 plugin with its filesystem (not pygit2: libgit2 reads
# HOME when loaded).
WARM = ("dvc.cli", "dvc.cli.parser", "dvc.repo", "dvc.repo.index", "dvc.stage", "dvc.output",
        "dvc.repo.reproduce", "dvc.repo.experiments", "dvc.repo.experiments.show", "dvc.repo.fetch",
        "dvc.repo.push", "dvc.repo.status", "dvc.repo.metrics.show", "dvc.repo.params.show",
        "dvc.repo.plots", "dvc_s3", "s3fs", "aiobotocore.session", "scmrepo.git")

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)

_LAUNCHER = r'''#!{python} -IS
# Runs {what} in the test session's DVC zygote; falls back to the real program (tests/support/zygote.py).
import os, signal, socket, struct, sys
SOCKET, MODE, REAL, HERE = {socket!r}, {mode!r}, {real!r}, {here!r}
def real():
    os.execv(REAL[0], [*REAL, *sys.argv[1:]])
if MODE == "dvc":
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found = os.path.join(folder or ".", "dvc")
        if os.path.realpath(folder or ".") != HERE and os.path.isfile(found) and os.access(found, os.X_OK):
            if os.path.realpath(found) != os.path.realpath(REAL[0]):
                os.execv(found, [found, *sys.argv[1:]])
            break
pending, started = [], []
def forward(signum, frame):
    if not started:
        pending.append(signum)
        return
    try:
        link.send(bytes([signum]))
    except OSError:
        pass
for signum in {forwarded!r}:
    signal.signal(signum, forward)
try:
    link = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    link.connect(SOCKET)
    body = repr({{"mode": MODE, "argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}}).encode("utf-8", "surrogateescape")
    socket.send_fds(link, [struct.pack("!I", len(body)) + body], [0, 1, 2])
    answer = link.recv(1)
except Exception:
    answer = b""
if answer != b"S":
    for signum in {forwarded!r}:
        signal.signal(signum, signal.SIG_DFL)
    for signum in pending:
        os.kill(os.getpid(), signum)
    real()
started.append(True)
for signum in pending:
    forward(signum, None)
status = b""
while len(status) < 4:
    chunk = link.recv(4 - len(status))
    if not chunk:
        sys.stderr.write("dvc zygote: lost the command it was running\n")
        os._exit(255)
    status += chunk
code = struct.unpack("!i", status)[0]
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
os._exit(code if code >= 0 else 128 - code)
'''


_CLI = """#!{python}
# ci-mlops whose DVC commands run in the test session's DVC zygote (tests/support/zygote.py).
import sys
from ci_mlops.dvc import run
run.interpreter = lambda: {launcher!r}
from ci_mlops.cli import main
if __name__ == "__main__":
    sys.argv[0] = sys.argv[0].removesuffix(".exe")
    sys.exit(main())
"""


def ci_mlops_script() -> Path:
    """The venv's ``ci-mlops`` script, or while the zygote is on the one whose DVC commands it serves."""
    return launchers() / "ci-mlops" if _active else Path(sys.executable).parent / "ci-mlops"


def _import_time_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items()
            if k in IMPORT_TIME_KEYS or k.startswith(IMPORT_TIME_PREFIXES) or k.endswith(IMPORT_TIME_SUFFIXES)}


class _Zygote:
    """The worker-side handle: the server process and the launchers' folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="dvc-zygote-"))
        self.socket = str(self.folder / "socket")
        self.bin = self.folder / "bin"
        self.bin.mkdir()
        real_dvc = str(Path(sys.executable).parent / "dvc")
        for name, mode, real in (("python", "python", [sys.executable]), ("dvc", "dvc", [real_dvc])):
            path = self.bin / name
            path.write_text(_LAUNCHER.format(python=sys.executable, what=name, socket=self.socket, mode=mode,
                                             real=real, here=os.path.realpath(self.bin),
                                             forwarded=tuple(int(s) for s in FORWARDED)))
            path.chmod(0o755)
        # ci-mlops as the venv's script runs it, its DVC driver started by the ``python`` launcher.
        cli = self.bin / "ci-mlops"
        cli.write_text(_CLI.format(python=sys.executable, launcher=str(self.bin / "python")))
        cli.chmod(0o755)
        ready = self.folder / "ready"
        self.proc = subprocess.Popen([sys.executable, __file__, self.socket, str(ready)], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder,
                                     env=_SESSION_ENV)
        _wait_for(ready, self.proc)  # until then (or if it never comes) requests run the real program

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _wait_for(ready: Path, proc: subprocess.Popen) -> bool:
    import time

    for _ in range(1200):
        if ready.exists():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


# The test process's environment before any test changed it: the zygote imports DVC under it.
_SESSION_ENV = dict(os.environ)
_running: _Zygote | None = None
_lock = threading.Lock()


def enabled() -> bool:
    """Whether this platform can run the zygote and the session did not turn it off (CI_MLOPS_TEST_ZYGOTE=0)."""
    return (_SESSION_ENV.get("CI_MLOPS_TEST_ZYGOTE", "1") != "0" and hasattr(os, "pidfd_open")
            and hasattr(socket, "send_fds") and os.path.isdir("/proc/self/task"))


def python() -> str:
    """The ``python`` launcher (``ci_mlops.dvc.run`` starts its driver with it in tests)."""
    return str(launchers() / "python")


def dvc_python() -> str:
    """What a test runs ``-m dvc`` with: the launcher while the zygote is on, else this interpreter."""
    return python() if _active else sys.executable


_active = False


def set_active(on: bool) -> None:
    """Whether the running test routes DVC through the zygote (``tests/conftest.py`` sets it per test)."""
    global _active
    _active = on and enabled()


def path_prefix() -> str:
    """What to put before the venv's folder on a simulated job's PATH: the ``dvc`` launcher's folder, or nothing."""
    return f"{launchers()}{os.pathsep}" if _active else ""


def launchers() -> Path:
    """The folder with the ``python`` and ``dvc`` launchers, starting this process's zygote on first use."""
    global _running
    with _lock:
        if _running is None or _running.proc.poll() is not None:
            _running = _Zygote()
            atexit.register(_running.close)
        return _running.bin


# --- the server ---------------------------------------------------------------------------

class _Request:
    def __init__(self, mode: str, argv: list[str], cwd: str, env: dict[str, str], fds: list[int]) -> None:
        self.mode, self.argv, self.cwd, self.env, self.fds = mode, argv, cwd, env, fds


def _receive(conn: socket.socket) -> _Request:
    import ast

    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    try:
        if len(fds) != 3 or len(data) < 4:
            raise ValueError("a request needs its length and three descriptors")
        size = struct.unpack("!I", data[:4])[0]
        body = data[4:]
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                raise ValueError("the request was cut short")
            body += chunk
        fields = ast.literal_eval(body.decode("utf-8", "surrogateescape"))
        return _Request(fields["mode"], fields["argv"], fields["cwd"], fields["env"], fds)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _refusal(request: _Request, own_env: dict[str, str]) -> str | None:
    if _import_time_env(request.env) != own_env:
        return "environment"
    if any(os.isatty(fd) for fd in request.fds):
        return "terminal"
    if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
        return "threads"
    return None


def serve(path: str, ready: str) -> _Request:
    """Warm up, then answer requests until the test process goes; returns only in a forked child."""
    import gc
    import importlib

    initial = {s: signal.getsignal(s) for s in signal.valid_signals()
               if s not in (signal.SIGKILL, signal.SIGSTOP) and signal.getsignal(s) is not None}
    for name in WARM:
        importlib.import_module(name)
    from dvc.cli.parser import get_main_parser

    get_main_parser()
    own_env = _import_time_env(dict(os.environ))
    gc.collect()
    gc.freeze()  # the children share the imported modules' pages instead of copying them on first GC

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "parent")
    running: dict[int, tuple[socket.socket, int]] = {}  # pid -> (connection, pidfd)
    Path(ready).touch()
    while True:
        for key, _ in selector.select():
            what = key.data
            if what == "parent":
                if not os.read(sys.stdin.fileno(), 4096):
                    for pid in running:
                        os.kill(pid, signal.SIGKILL)
                    os._exit(0)
            elif what == "accept":
                conn, _ = listener.accept()
                try:
                    request = _receive(conn)
                except (OSError, ValueError, SyntaxError):
                    conn.close()
                    continue
                if _refusal(request, own_env) is not None:
                    _close_all(request.fds)
                    conn.close()
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    conn.close()
                    for other, pidfd in running.values():
                        other.close()
                        os.close(pidfd)
                    _become(request, initial)
                    return request
                _close_all(request.fds)
                pidfd = os.pidfd_open(pid)
                running[pid] = (conn, pidfd)
                selector.register(pidfd, selectors.EVENT_READ, ("exit", pid))
                selector.register(conn, selectors.EVENT_READ, ("conn", pid))
                conn.sendall(b"S")
            elif what[0] == "conn":
                pid = what[1]
                try:
                    data = key.fileobj.recv(16)  # type: ignore[union-attr]
                except OSError:
                    data = b""
                if data:
                    for signum in data:
                        os.kill(pid, signum)
                else:  # the launcher is gone: so is its command
                    selector.unregister(key.fileobj)
                    os.kill(pid, signal.SIGKILL)
            elif what[0] == "exit":
                pid = what[1]
                conn, pidfd = running.pop(pid)
                _, status = os.waitpid(pid, 0)
                selector.unregister(pidfd)
                os.close(pidfd)
                try:
                    selector.unregister(conn)
                except KeyError:
                    pass
                try:
                    conn.sendall(struct.pack("!i", os.waitstatus_to_exitcode(status)))
                except OSError:
                    pass
                conn.close()


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def _become(request: _Request, initial: dict) -> None:
    """In the child: the requester's descriptors, folder, environment and a fresh interpreter's signals."""
    for signum, handler in initial.items():
        try:
            signal.signal(signum, handler)
        except (OSError, ValueError):
            pass
    for target, fd in enumerate(request.fds):
        os.dup2(fd, target)
    _close_all([fd for fd in request.fds if fd > 2])
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)
    tempfile.tempdir = None


def run(request: _Request) -> None:
    """Run the request as ``python -c CODE ARGS`` or the ``dvc`` script would, in a fresh ``__main__``."""
    import types

    if request.mode == "python" and request.argv[:2] == ["-m", "dvc"]:
        import runpy

        sys.argv = ["-m", *request.argv[2:]]  # runpy puts the module's path first, as `python -m` does
        sys.path[0] = os.getcwd()
        runpy.run_module("dvc", run_name="__main__", alter_sys=True)
        return
    if request.mode == "python":
        if len(request.argv) < 2 or request.argv[0] != "-c":
            # Only `-c CODE` (the driver) and `-m dvc` are served; anything else gets the real interpreter.
            os.execv(sys.executable, [sys.executable, *request.argv])
        code, filename = request.argv[1], "<string>"
        sys.argv = ["-c", *request.argv[2:]]
        sys.path[0] = ""
    else:
        filename = str(Path(sys.executable).parent / "dvc")
        code = Path(filename).read_text(encoding="utf-8")
        sys.argv = [filename, *request.argv]
        sys.path[0] = str(Path(filename).parent)
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    if request.mode == "dvc":
        main.__file__ = filename
    sys.modules["__main__"] = main
    try:
        exec(compile(code, filename, "exec"), main.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:  # what the interpreter prints for an uncaught exception, without our frames
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        sys.stderr.flush()
        if isinstance(exc, KeyboardInterrupt):
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        raise SystemExit(1) from None


if __name__ == "__main__":
    run(serve(sys.argv[1], sys.argv[2]))
