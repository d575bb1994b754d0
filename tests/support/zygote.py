"""Zygotes for the test session: DVC and ci-mlops imported once per test process, a fork per command.

What a DVC process costs in the suite is mostly importing DVC (about 0.45 CPU-s of a small
``dvc status``'s 0.6 s), and a ``ci-mlops`` step's start-up is ci-mlops, click, PyYAML and
requests (about 0.2 CPU-s of a small step), paid by hundreds of processes in the workflow
simulations. Each test process (xdist worker) keeps two server processes: the *DVC* zygote
has imported DVC and its commands, the *ci-mlops* zygote every module of ci-mlops' own and
the libraries its steps use (see :data:`CLI_LIBRARIES`). Each forks a child per request.
The child takes the requester's argv, working directory, environment, umask and file
descriptors 0-2 (passed over a unix socket with SCM_RIGHTS), then runs the same code a fresh
interpreter would: the ``-c`` driver of ``ci_mlops.dvc.run``, the venv's ``dvc`` script or
the venv's ``ci-mlops`` script (whose own DVC driver goes to the DVC zygote). Its exit status
goes back to the requester, which exits with it (or dies of the same signal).

Requesters are tiny launchers written into a temporary folder (:func:`launchers`):
``python`` (what ``ci_mlops.dvc.run`` starts its driver with, swapped in by ``tests/conftest.py``),
``dvc`` and ``ci-mlops`` (first on PATH in the runner simulations). Each falls back to the
real program (``exec``, same argv, environment and descriptors) whenever the zygote cannot
give the identical result:

- the zygote is not running or refuses;
- the environment differs in something the imported modules read at import time (Python's
  own ``PYTHON*`` variables, locale, HOME and XDG folders, DVC/fsspec/tqdm settings, and
  every variable Python code read while the zygote imported its modules: recorded);
- a descriptor is a terminal (the zygote's streams are set up for pipes and files);
- the zygote has more than one thread (no fork with threads);
- ``dvc`` on PATH (after the launcher's folder) is not the venv's own.

The ci-mlops zygote never imports DVC itself (importing ``dvc`` wraps ``sys.stdout`` and
``sys.stderr`` in colorama's ANSI stripper and sets up DVC's log handlers, which a real
``ci-mlops`` process does only when a step first uses DVC in-process) nor a library that starts
a thread when imported (NumPy's OpenBLAS, pyarrow's jemalloc, DuckDB): :data:`CLI_NEVER`.

A request whose launcher is killed kills its child; signals the launcher receives (TERM, INT,
HUP, QUIT) are passed on to it. The zygotes exit when their test process closes the pipe to them.

``CI_MLOPS_TEST_ZYGOTE=0`` turns them off (every command starts as in production), and so does
the ``plain_dvc`` marker for one test. ``CI_MLOPS_TEST_ZYGOTE_LOG=FILE`` appends one line per
request (served, refused and why, or run by the real program and why) to FILE; the test
session prints the tally at its end (``tests/conftest.py``).
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

# What the modules the zygotes import read from the environment at import time: a request
# whose environment differs in one of these runs the real program instead. Python-level reads
# are also recorded while a zygote imports (:class:`_Recorder`); these are the ones it cannot see
# (Python's start-up, C libraries: OpenSSL, libgit2) and the ones known from reading the code.
IMPORT_TIME_KEYS = ("HOME", "LANG", "LANGUAGE", "PYCHARM_HOSTED", "DVC_SHOW_TRACEBACK", "AWS_NEW_RETRIES_2026",
                    "SSLKEYLOGFILE", "S3FS_LOGGING_LEVEL", "WRAPT_DISABLE_EXTENSIONS", "CI_MLOPS_DUCKDB_MEMORY")
IMPORT_TIME_PREFIXES = ("PYTHON", "LC_", "XDG_", "FSSPEC_", "TQDM_", "OPENSSL_")
IMPORT_TIME_SUFFIXES = ("_NO_EXTENSIONS",)  # aiohttp, yarl, multidict, frozenlist, propcache

# Imported before the first fork: DVC's command line with every command's parser, the repo,
# pipelines, experiments, outputs and the S3 plugin with its filesystem (not pygit2: libgit2 reads
# HOME when loaded).
WARM = ("dvc.cli", "dvc.cli.parser", "dvc.repo", "dvc.repo.index", "dvc.stage", "dvc.output",
        "dvc.repo.reproduce", "dvc.repo.experiments", "dvc.repo.experiments.show", "dvc.repo.fetch",
        "dvc.repo.push", "dvc.repo.status", "dvc.repo.metrics.show", "dvc.repo.params.show",
        "dvc.repo.plots", "dvc_s3", "s3fs", "aiobotocore.session", "scmrepo.git")
# The ci-mlops zygote imports every module of ci_mlops (those that import nothing of CLI_NEVER),
# these libraries the steps import when they need them, and DVC's own dependencies (what the DVC
# zygote's warm-up imported besides DVC and its S3 stack, which it lists in a file).
CLI_LIBRARIES = ("click", "yaml", "requests", "jinja2", "jsonschema", "dvc_render", "dvc_render.vega",
                 "dvc_render.image", "dvc_render.markdown", "vl_convert")
# Never imported by the ci-mlops zygote: DVC (see the module's docstring), the libraries that start
# a thread when imported (a fork copies no threads: NumPy's OpenBLAS, pyarrow's jemalloc and those
# that import them, DuckDB), pygit2 (libgit2 reads HOME when loaded) and the S3 stack.
CLI_NEVER = ("dvc", "numpy", "pandas", "pyarrow", "scipy", "duckdb", "duckdb_extension_httpfs", "sklearn",
             "pygit2", "dvc_s3", "s3fs", "aiobotocore", "botocore", "boto3", "aiohttp", "moto")

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)

_LAUNCHER = r'''#!{python} -IS
# Runs {what} in the test session's {profile} zygote; falls back to the real program (tests/support/zygote.py).
# The interpreter's own modules, not their Python wrappers (signal and socket import enum: twice the start-up).
import os, sys, _signal, _socket, _struct
SOCKET, MODE, REAL, HERE, LOG = {socket!r}, {mode!r}, {real!r}, {here!r}, {log!r}
def note(line):
    if LOG:
        try:
            with open(LOG, "a", encoding="utf-8") as handle:
                handle.write(f"{{MODE}} {{line}}\n")
        except OSError:
            pass
def real():
    # ci-mlops' stand-in takes the name it was run by first, as sys.argv[0]
    os.execv(REAL[0], [*REAL, *sys.argv[MODE != "ci-mlops":]])
if MODE == "dvc":
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found = os.path.join(folder or ".", "dvc")
        if os.path.realpath(folder or ".") != HERE and os.path.isfile(found) and os.access(found, os.X_OK):
            if os.path.realpath(found) != os.path.realpath(REAL[0]):
                note("real: another dvc first on PATH")
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
# A signal the requester ignores stays ignored, as it would across exec (e.g. SIGINT in a background job).
ignored = [signum for signum in {forwarded!r} if _signal.getsignal(signum) == _signal.SIG_IGN]
for signum in {forwarded!r}:
    if signum not in ignored:
        _signal.signal(signum, forward)
try:
    link = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    link.connect(SOCKET)
    mask = os.umask(0o22)
    os.umask(mask)
    body = repr({{"mode": MODE, "argv": sys.argv[MODE != "ci-mlops":], "cwd": os.getcwd(), "env": dict(os.environ),
                 "umask": mask, "ignored": ignored}}).encode("utf-8", "surrogateescape")
    data = _struct.pack("!I", len(body)) + body
    sent = link.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _struct.pack("3i", 0, 1, 2))])
    if sent < len(data):
        link.sendall(data[sent:])
    answer = link.recv(1)
except Exception as exc:
    note(f"real: no zygote ({{type(exc).__name__}})")
    answer = b"-"
if answer != b"S":
    for signum in {forwarded!r}:
        _signal.signal(signum, _signal.SIG_IGN if signum in ignored else _signal.SIG_DFL)
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
        sys.stderr.write("{profile} zygote: lost the command it was running\n")
        os._exit(255)
    status += chunk
code = _struct.unpack("!i", status)[0]
if code < 0:
    _signal.signal(-code, _signal.SIG_DFL)
    os.kill(os.getpid(), -code)
os._exit(code if code >= 0 else 128 - code)
'''

# What the ``ci-mlops`` launcher runs when the zygote cannot: the venv's script, its DVC driver started
# by the ``python`` launcher. Its first argument is the name the launcher was run by (sys.argv[0]).
_CLI = """#!{python}
# ci-mlops whose DVC commands run in the test session's DVC zygote (tests/support/zygote.py).
import os, sys
del sys.argv[0]
sys.path[0] = os.path.dirname(os.path.realpath(sys.argv[0]))
from ci_mlops.dvc import run
run.interpreter = lambda: {launcher!r}
from ci_mlops.cli import main
if __name__ == "__main__":
    sys.argv[0] = sys.argv[0].removesuffix(".exe")
    sys.exit(main())
"""


def ci_mlops_script() -> Path:
    """The venv's ``ci-mlops`` script, or while the zygote is on its launcher (served by the ci-mlops zygote)."""
    return launchers() / "ci-mlops" if _active else Path(sys.executable).parent / "ci-mlops"


def _import_time_env(env: dict[str, str], recorded: frozenset[str] = frozenset()) -> dict[str, str | None]:
    """The part of ``env`` an import could have read: the known keys and patterns, and ``recorded``
    (what the zygote's imports read; present or not: a variable set on one side only differs too)."""
    picked: dict[str, str | None] = {k: env.get(k) for k in recorded}
    picked.update((k, v) for k, v in env.items()
                  if k in IMPORT_TIME_KEYS or k.startswith(IMPORT_TIME_PREFIXES) or k.endswith(IMPORT_TIME_SUFFIXES))
    return picked


def _log_path() -> str:
    """Where requests' outcomes are noted: CI_MLOPS_TEST_ZYGOTE_LOG of the session (in a server: its own argument)."""
    return _server_log if _server_log is not None else _SESSION_ENV.get("CI_MLOPS_TEST_ZYGOTE_LOG", "")


_server_log: str | None = None


class _Zygote:
    """The worker-side handle: the two server processes and the launchers' folder."""

    def __init__(self, log: str | None = None) -> None:
        log = _log_path() if log is None else log
        self.folder = Path(tempfile.mkdtemp(prefix="ci-mlops-zygote-"))
        self.bin = self.folder / "bin"
        self.bin.mkdir()
        sockets = {"dvc": str(self.folder / "dvc.socket"), "ci-mlops": str(self.folder / "ci-mlops.socket")}
        venv = Path(sys.executable).parent
        # ci-mlops as the venv's script runs it, its DVC driver started by the ``python`` launcher.
        routed = self.folder / "ci-mlops-routed"
        routed.write_text(_CLI.format(python=sys.executable, launcher=str(self.bin / "python")))
        routed.chmod(0o755)
        for name, profile, real in (("python", "dvc", [sys.executable]), ("dvc", "dvc", [str(venv / "dvc")]),
                                    ("ci-mlops", "ci-mlops", [sys.executable, str(routed)])):
            path = self.bin / name
            path.write_text(_LAUNCHER.format(python=sys.executable, what=name, profile=profile, socket=sockets[profile],
                                             mode=name, real=real, here=os.path.realpath(self.bin), log=log,
                                             forwarded=tuple(int(s) for s in FORWARDED)))
            path.chmod(0o755)
        self.procs = {
            profile: subprocess.Popen([sys.executable, __file__, profile, sockets[profile], str(self.folder), log],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      cwd=self.folder, env=_SESSION_ENV)
            for profile in ("dvc", "ci-mlops")
        }
        for profile, proc in self.procs.items():  # until then (or if it never comes) requests run the real program
            _wait_for(self.folder / f"{profile}.ready", proc)
        # The servers are this process's children. A fork of it (the demo forks its steps) cannot poll or close
        # them: it takes them as alive (a launcher runs the real program if one is gone) and leaves them be.
        self.owner = os.getpid()

    def alive(self) -> bool:
        if os.getpid() != self.owner:
            return True
        return all(proc.poll() is None for proc in self.procs.values())

    def close(self) -> None:
        if os.getpid() != self.owner:
            return
        for proc in self.procs.values():
            if proc.stdin:
                proc.stdin.close()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
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


# The test process's environment before any test changed it: the zygotes import under it.
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
    """What to put before the venv's folder on a simulated job's PATH: the launchers' folder, or nothing."""
    return f"{launchers()}{os.pathsep}" if _active else ""


def launchers() -> Path:
    """The folder of the ``python``, ``dvc`` and ``ci-mlops`` launchers; starts this process's zygotes on first use."""
    global _running
    with _lock:
        if _running is None or not _running.alive():
            if _running is not None:
                _running.close()
            _running = _Zygote()
            atexit.register(_running.close)
        return _running.bin


# --- the server ---------------------------------------------------------------------------

class _Request:
    def __init__(self, mode: str, argv: list[str], cwd: str, env: dict[str, str], umask: int,
                 fds: list[int], ignored: tuple[int, ...] = ()) -> None:
        self.mode, self.argv, self.cwd, self.env, self.umask, self.fds = mode, argv, cwd, env, umask, fds
        self.ignored = ignored  # the forwarded signals the requester ignores


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
        return _Request(fields["mode"], fields["argv"], fields["cwd"], fields["env"], fields["umask"], fds,
                        tuple(int(s) for s in fields.get("ignored", ())))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


class _Recorder(type(os.environ)):  # type: ignore[misc]
    """``os.environ`` while a zygote imports: notes every variable Python code looks up, and which
    files walk the whole environment (``"*FILE"``; a known one looks for a prefix in IMPORT_TIME_PREFIXES)."""

    seen: set[str]

    def __getitem__(self, key: str) -> str:
        if not sys._getframe(1).f_code.co_filename.endswith(KNOWN_WALKS):  # dict(os.environ) in a known walk
            self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.seen.add(key)
        return super().__contains__(key)

    def _walked(self) -> None:
        frame = sys._getframe(2)
        while frame.f_back is not None and frame.f_code.co_filename.startswith(("<frozen", os.__file__)):
            frame = frame.f_back
        self.seen.add("*" + frame.f_code.co_filename)

    def __iter__(self):
        self._walked()
        return super().__iter__()

    def items(self):  # without noting each variable it yields
        self._walked()
        return {self.decodekey(k): self.decodevalue(v) for k, v in self._data.items()}.items()


# Files that walk the whole environment at import time for variables of their own prefix (in
# IMPORT_TIME_PREFIXES): fsspec's FSSPEC_ settings, tqdm's TQDM_ defaults.
KNOWN_WALKS = ("/fsspec/config.py", "/tqdm/utils.py")


def _recording() -> _Recorder:
    recorder = _Recorder.__new__(_Recorder)
    recorder.__dict__.update(os.environ.__dict__)  # the same variables (one dict), put and unset as before
    recorder.seen = set()
    return recorder


class _Never(BaseException):
    """Raised by :class:`_Fence` for a module the ci-mlops zygote must not import (never caught as ImportError)."""


class _Fence:
    """A meta path finder for the ci-mlops zygote's warm-up: no module of :data:`CLI_NEVER`, not even a probe."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in CLI_NEVER:
            raise _Never(name)


def _try_import(name: str) -> object | None:
    """Import ``name``, or leave it unimported if it (or anything it imports) fails or needs a module of CLI_NEVER.

    What it imported before that stays, as after any failed import: modules that imported cleanly. (Removing
    them too would leave two copies of a module: the one others kept, and the one imported again later.)"""
    import importlib

    try:
        return importlib.import_module(name)
    except (Exception, _Never):
        return None


def _ci_mlops_modules(package: object) -> list[str]:
    import pkgutil

    names = []
    for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):  # type: ignore[attr-defined]
        if info.name.endswith(".__main__") or info.name == "ci_mlops.demo.project":
            continue  # a module run as a program; a user's project the demo writes out
        names.append(info.name)
        module = _try_import(info.name) if info.ispkg else None
        if module is not None:
            names.extend(_ci_mlops_modules(module))
    return names


def _warm_dvc(folder: Path) -> None:
    import importlib

    before = set(sys.modules)
    stack = ("dvc_s3", "s3fs", "aiobotocore.session")
    for name in WARM:
        if name not in stack:
            importlib.import_module(name)
    # In the order they were imported (a module is listed when its import starts): importing them in another
    # order can start a C extension inside its own import (``_asyncio`` before ``asyncio``: two copies of it).
    deps = [m for m in sys.modules if m not in before and m.partition(".")[0] not in CLI_NEVER]
    (folder / "dvc-deps.tmp").write_text("\n".join(deps))
    (folder / "dvc-deps.tmp").rename(folder / "dvc-deps")  # what the ci-mlops zygote imports of DVC's
    for name in stack:
        importlib.import_module(name)


def _warm_ci_mlops(folder: Path) -> str | None:
    """Import what ci-mlops' steps import; returns what went wrong, if the result is not a clean ci-mlops process."""
    import importlib
    import time

    streams = sys.stdout, sys.stderr
    fence = _Fence()
    sys.meta_path.insert(0, fence)
    try:
        import ci_mlops

        for name in ("ci_mlops.cli", "ci_mlops.app", "ci_mlops.quick", *_ci_mlops_modules(ci_mlops), *CLI_LIBRARIES):
            _try_import(name)
        deps = folder / "dvc-deps"
        for _ in range(1200):  # the DVC zygote lists them after importing DVC
            if deps.exists():
                for name in deps.read_text().split():
                    _try_import(name)
                break
            time.sleep(0.05)
    finally:
        sys.meta_path.remove(fence)
    importlib.invalidate_caches()
    imported = sorted({m.partition(".")[0] for m in sys.modules} & set(CLI_NEVER))
    if imported:
        return f"the warm-up imported {', '.join(imported)}"
    if (sys.stdout, sys.stderr) != streams:
        return "the warm-up replaced sys.stdout or sys.stderr"
    return None


def _refusal(request: _Request, own_env: dict[str, str | None], recorded: frozenset[str]) -> str | None:
    theirs = _import_time_env(request.env, recorded)
    if theirs != own_env:
        keys = sorted(k for k in {*theirs, *own_env} if theirs.get(k) != own_env.get(k))
        return f"environment: {' '.join(keys)}"
    if any(os.isatty(fd) for fd in request.fds):
        return "terminal"
    if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
        return "threads"
    return None


def _note(line: str) -> None:
    if _log_path():
        try:
            with open(_log_path(), "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError:
            pass


def serve(profile: str, path: str, folder: Path) -> _Request:
    """Warm up, then answer requests until the test process goes; returns only in a forked child."""
    import gc

    initial = {s: signal.getsignal(s) for s in signal.valid_signals()
               if s not in (signal.SIGKILL, signal.SIGSTOP) and signal.getsignal(s) is not None}
    environ = os.environ
    os.environ = recorder = _recording()  # the same variables, watched while the zygote imports
    try:
        broken = _warm_ci_mlops(folder) if profile == "ci-mlops" else _warm_dvc(folder)
    finally:
        os.environ = environ  # noqa: B003 (the original object back)
    walks = sorted(k[1:] for k in recorder.seen if k.startswith("*") and not k.endswith(KNOWN_WALKS))
    if walks:
        broken = broken or f"the warm-up read the whole environment in {' '.join(walks)}"
    recorded = frozenset(k for k in recorder.seen if not k.startswith("*"))
    if profile == "dvc":  # every command's parser built once (argparse reads COLUMNS then: not kept, not recorded)
        from dvc.cli.parser import get_main_parser

        get_main_parser()
    own_env = _import_time_env(dict(os.environ), recorded)
    _note(f"{profile} zygote read at import: {' '.join(sorted(recorded - set(_import_time_env(dict(os.environ)))))}")
    gc.collect()
    gc.freeze()  # the children share the imported modules' pages instead of copying them on first GC

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "parent")
    running: dict[int, tuple[socket.socket, int]] = {}  # pid -> (connection, pidfd)
    (folder / f"{profile}.ready").touch()
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
                except (OSError, ValueError, SyntaxError, KeyError):
                    conn.close()
                    continue
                refusal = broken or _refusal(request, own_env, recorded)
                if refusal is not None:
                    _note(f"{request.mode} refused: {refusal}")
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
                _note(f"{request.mode} served")
                _close_all(request.fds)
                pidfd = os.pidfd_open(pid)
                running[pid] = (conn, pidfd)
                selector.register(pidfd, selectors.EVENT_READ, ("exit", pid))
                selector.register(conn, selectors.EVENT_READ, ("conn", pid))
                try:
                    conn.sendall(b"S")
                except OSError:  # the launcher is gone already: its closed connection (below) kills the command
                    pass
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
    """In the child: the requester's descriptors, folder, environment, umask and a fresh interpreter's signals."""
    for signum, handler in initial.items():
        try:
            signal.signal(signum, handler)
        except (OSError, ValueError):
            pass
    # The forwarded signals as a fresh interpreter started by the requester has them, whatever the
    # zygote itself inherited: ignored where the requester ignores them, else Python's defaults.
    for signum in FORWARDED:
        if signum in request.ignored:
            signal.signal(signum, signal.SIG_IGN)
        else:
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
    for target, fd in enumerate(request.fds):
        os.dup2(fd, target)
    _close_all([fd for fd in request.fds if fd > 2])
    os.chdir(request.cwd)
    os.umask(request.umask)
    os.environ.clear()
    os.environ.update(request.env)
    tempfile.tempdir = None


def run(request: _Request, folder: Path) -> None:
    """Run the request as ``python -c CODE ARGS``, the ``dvc`` script or the ``ci-mlops`` script would,
    in a fresh ``__main__``."""
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
    elif request.mode == "ci-mlops":
        from ci_mlops.dvc import run as dvc_run

        launcher = str(folder / "bin" / "python")
        dvc_run.interpreter = lambda: launcher  # its DVC driver goes to the DVC zygote, as in _CLI
        # The venv's script, run as the launcher's name (what sys.argv[0] and sys.path[0] are for a script).
        code = (Path(sys.executable).parent / "ci-mlops").read_text(encoding="utf-8")
        filename = request.argv[0]
        sys.argv = list(request.argv)
        sys.path[0] = os.path.dirname(os.path.realpath(filename))
    else:
        filename = str(Path(sys.executable).parent / "dvc")
        code = Path(filename).read_text(encoding="utf-8")
        sys.argv = [filename, *request.argv]
        sys.path[0] = str(Path(filename).parent)
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    if request.mode != "python":
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
    sys.path[0] = str(Path(sys.executable).parent)  # not tests/support: the imports find what a program finds
    _server_log = sys.argv[4]
    _folder = Path(sys.argv[3])
    run(serve(sys.argv[1], sys.argv[2], _folder), _folder)
