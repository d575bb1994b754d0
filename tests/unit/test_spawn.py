"""The launcher without subprocess: exit codes, both streams, input, signals, descriptors, no zombies.

Each behaviour runs on posix_spawn, on posix_spawn without files in memory (macOS: ``run`` falls
back to subprocess) and on the subprocess fallback (Windows), which must all agree.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ci_mlops import spawn

LINUX = sys.platform.startswith("linux")
linux_only = pytest.mark.skipif(not LINUX, reason="reads /proc")


@pytest.fixture(params=["posix_spawn", "no_memfd", "subprocess"])
def way(request, monkeypatch):
    """Run the test with posix_spawn, then as the platforms without memory files or posix_spawn do."""
    if request.param == "subprocess":
        monkeypatch.setattr(spawn, "POSIX", False)
    if request.param == "no_memfd":
        def refused(*args):
            raise OSError(38, "Function not implemented")  # a sandbox without memfd_create
        monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    return request.param


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")} if LINUX else set()


def gone(pid: int) -> bool:
    """The process has ended and been waited for (a zombie still has its /proc entry)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@contextmanager
def killed_if_stuck(pid: int) -> Iterator[None]:
    """Kill ``pid`` if the block is still running after a minute: a hang fails the test (the
    program ends by SIGKILL, not the signal the test expects) instead of stopping the suite."""
    timer = threading.Timer(60, os.kill, (pid, signal.SIGKILL))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def test_exit_codes_and_what_each_stream_said(way):
    done = spawn.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (done.returncode, done.stdout, done.stderr) == (3, b"out\n", b"err\n")
    assert spawn.run(["true"]) == spawn.Completed(0, b"", b"")
    assert spawn.run(["sh", "-c", "kill -TERM $$"]).returncode == -signal.SIGTERM  # as Popen.returncode


def test_large_output_on_both_streams_at_once_does_not_block(way):
    # Each stream gets 2 MiB in 64 KiB pieces, alternating: a reader of one pipe at a time would stall.
    before = open_fds()
    code = ("import sys\nfor i in range(32):\n    sys.stdout.buffer.write(bytes([i]) * 65536); sys.stdout.flush()\n"
            "    sys.stderr.buffer.write(bytes([255 - i]) * 65536); sys.stderr.flush()\n")
    done = spawn.run(py(code))
    assert done.returncode == 0
    assert done.stdout == b"".join(bytes([i]) * 65536 for i in range(32))
    assert done.stderr == b"".join(bytes([255 - i]) * 65536 for i in range(32))
    assert open_fds() == before


def test_input_is_written_while_the_output_is_read(way):
    data = os.urandom(3 << 20)  # 3 MiB through `cat`: it writes while it reads
    done = spawn.run(["cat"], input=data)
    assert done.returncode == 0 and done.stdout == data
    assert spawn.run(["cat"], input=b"").stdout == b""
    # A child that stops reading: the rest of the input is dropped, as subprocess drops it.
    assert spawn.run(["head", "-c", "3"], input=data).stdout == data[:3]


def test_without_input_the_child_reads_our_stdin(tmp_path: Path):
    (tmp_path / "in.txt").write_text("from the parent's stdin\n")
    code = ("import sys\nfrom ci_mlops import spawn\n"
            "print(spawn.run(['cat']).stdout.decode(), end='')\n")
    with open(tmp_path / "in.txt", "rb") as stdin:
        done = subprocess.run(py(code), stdin=stdin, capture_output=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout == b"from the parent's stdin\n", done.stderr


def test_the_environment_is_the_one_given(way):
    done = spawn.run(["sh", "-c", 'echo "$CI_MLOPS_SPAWN_X|$HOME"'], env={"PATH": os.environ["PATH"], "CI_MLOPS_SPAWN_X": "1"})
    assert done.stdout == b"1|\n"
    os.environ["CI_MLOPS_SPAWN_Y"] = "ours"
    try:
        assert spawn.run(["sh", "-c", 'echo "$CI_MLOPS_SPAWN_Y"']).stdout == b"ours\n"  # None: this process's
    finally:
        del os.environ["CI_MLOPS_SPAWN_Y"]


def test_a_missing_program_is_file_not_found_and_leaves_nothing_open(way, tmp_path: Path):
    before = open_fds()
    with pytest.raises(FileNotFoundError):
        spawn.run(["ci-mlops-no-such-program"])
    with pytest.raises(FileNotFoundError):
        spawn.Process(["ci-mlops-no-such-program"])
    with pytest.raises(FileNotFoundError):
        spawn.run([str(tmp_path / "nope")])
    assert open_fds() == before


@linux_only
def test_sigpipe_and_sigxfsz_are_default_in_the_child_as_subprocess_makes_them(way):
    """Python ignores SIGPIPE (and a parent may ignore SIGXFSZ); an ignored signal stays ignored across exec."""
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        ignored = spawn.run(["grep", "^SigIgn:", "/proc/self/status"]).stdout.split()[1]
        reference = subprocess.run(["grep", "^SigIgn:", "/proc/self/status"], capture_output=True).stdout.split()[1]
    finally:
        signal.signal(signal.SIGXFSZ, previous)
    mask = int(ignored, 16)
    assert not mask & (1 << (signal.SIGPIPE - 1)) and not mask & (1 << (signal.SIGXFSZ - 1))
    # What the kernel lets us set is as subprocess leaves it (glibc's posix_spawn also ignores its own
    # two internal signals, 32 and 33, in the child: below SIGRTMIN, which no program may use).
    internal = sum(1 << (n - 1) for n in range(32, signal.SIGRTMIN))
    assert mask & ~internal == int(reference, 16) & ~internal


def test_a_program_writing_to_a_closed_pipe_ends_by_sigpipe(way):
    proc = spawn.Process(["yes"])
    assert proc.stdout.read(4) == b"y\ny\n"
    with killed_if_stuck(proc.pid):
        assert proc.close() == -signal.SIGPIPE  # not a `yes` writing forever to a pipe nobody reads
    assert gone(proc.pid)


@linux_only
def test_the_child_gets_only_0_1_and_2_even_when_a_descriptor_was_made_inheritable(way):
    r, w = os.pipe()
    os.set_inheritable(w, True)  # as a library or a parent process may have left one
    try:
        code = "import os\nprint(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))"
        listed = spawn.run(py(code)).stdout
        with spawn.Process(py(code)) as proc:
            listed_by_process = proc.stdout.read()
    finally:
        os.close(r)
        os.close(w)
    assert listed == listed_by_process == b"[0, 1, 2, 3]\n"  # 3: the listing's own descriptor


def test_a_process_answers_requests_and_is_waited_for(way):
    before = open_fds()
    code = "import sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)\nsys.exit(5)"
    with spawn.Process(py(code)) as proc:
        for word in (b"spawn", b"git"):
            proc.write(word + b"\n")
            assert proc.stdout.readline() == word.upper() + b"\n"
    assert proc.returncode == 5 and proc.close() == 5  # close again: the same answer
    assert gone(proc.pid) and open_fds() == before


def test_closing_in_the_middle_of_a_large_answer_does_not_hang(way):
    """The program is blocked writing 8 MiB nobody reads: closing both pipes ends it."""
    before = open_fds()
    proc = spawn.Process(["sh", "-c", "read line; exec head -c 8388608 /dev/zero"])
    proc.write(b"go\n")
    assert proc.stdout.read(10) == b"\0" * 10
    with killed_if_stuck(proc.pid):
        assert proc.close() == -signal.SIGPIPE
    assert gone(proc.pid) and open_fds() == before


def test_writing_to_a_program_that_ended_is_broken_pipe(way):
    proc = spawn.Process(["true"])
    try:
        with pytest.raises(BrokenPipeError):
            for _ in range(64):  # the first writes may land in the pipe before `true` has gone
                proc.write(b"x" * 65536)
    finally:
        assert proc.close() == 0
    assert gone(proc.pid)


def test_stderr_of_a_process_goes_to_devnull_or_ours(tmp_path: Path):
    code = ("import sys\nfrom ci_mlops import spawn\n"
            "for stderr in (spawn.DEVNULL, None):\n"
            "    with spawn.Process(['sh', '-c', 'echo said >&2; cat'], stderr=stderr) as proc:\n"
            "        proc.write(b'ok\\n')\n"
            "        print(proc.stdout.readline().decode(), end='', flush=True)\n")
    done = subprocess.run(py(code), capture_output=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert (done.returncode, done.stdout, done.stderr) == (0, b"ok\nok\n", b"said\n")


def test_no_zombie_after_run(way):
    pid = int(spawn.run(["sh", "-c", "echo $$"]).stdout)
    assert gone(pid)


@pytest.mark.skipif(not hasattr(os, "posix_spawnp"), reason="posix_spawn")
def test_a_parent_with_stdin_stdout_and_stderr_closed_still_wires_the_child(tmp_path: Path):
    """New descriptors would take 0, 1 and 2: the pipes' ends are moved above them (moving an end
    onto the number it already has would keep it close-on-exec where libc does not clear that),
    and the child still gets its stdin, stdout and stderr."""
    code = ("import os, sys\nout = os.dup(1)\nos.close(0)\nos.close(1)\nos.close(2)\nfrom ci_mlops import spawn\n"
            "ends = [*spawn._pipe(), *spawn._memory_files(3)]\n[os.close(end) for end in ends]\n"
            "done = spawn.run(['sh', '-c', 'cat; echo e >&2'], input=b'in')\n"
            "os.write(out, repr((min(ends) > 2, done.returncode, done.stdout, done.stderr)).encode())\n")
    done = subprocess.run(py(code), capture_output=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout == b"(True, 0, b'in', b'e\\n')", done.stderr


OUT_OF_DESCRIPTORS = """
import errno, os, resource
from ci_mlops import spawn


def fds():
    found = []
    for fd in range(4096):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found


before = fds()
free = [fd for fd in range(max(before) + 3) if fd not in before]
resource.setrlimit(resource.RLIMIT_NOFILE, (free[1] + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
for start in (lambda: spawn.Process(["cat"]), lambda: spawn.run(["cat"], input=b"x")):
    try:
        start()
    except OSError as exc:
        assert exc.errno == errno.EMFILE, exc
    else:
        raise AssertionError("started")
    assert fds() == before, (fds(), before)
print("ok")
"""


def test_running_out_of_descriptors_half_way_leaves_none_open():
    """With room for one pipe (two descriptors) but not two, starting fails with EMFILE and closes
    what it made."""
    done = subprocess.run(py(OUT_OF_DESCRIPTORS), capture_output=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout == b"ok\n", done.stderr
