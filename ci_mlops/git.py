"""git plumbing: repository discovery, revisions, batched blob reads.

Reading files at a revision goes through one long-lived ``git cat-file --batch``
process per repository (:class:`BlobReader`), so a report over many files and
revisions pays git's start-up once. git is started by :mod:`ci_mlops.spawn`, not
``subprocess`` (whose imports are ~6 ms of a report); the folder git works in is
given as ``git -C DIR``, which posix_spawn's missing chdir needs and git reads as
starting there.
"""

from __future__ import annotations

import os
import stat

from ci_mlops import spawn
from ci_mlops.errors import UserError
from ci_mlops.safepath import path_text

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from pathlib import Path

WORKSPACE = "workspace"  # DVC's name for the working tree as a "revision"


class GitError(UserError):
    """A git command failed in a way the user can fix (bad revision, not a repo)."""


def run_git(args: list[str], cwd: str | os.PathLike[str], *, check: bool = True, input: bytes | None = None) -> str:
    """Run ``git ARGS`` in ``cwd`` and return stdout as text (stripped of the final newline)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    proc = _run(["git", "-C", _folder(cwd), *args], env=env, input=input)
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {message[-1] if message else f'exit {proc.returncode}'}")
    return proc.stdout.decode("utf-8", "replace").rstrip("\n")


def _folder(cwd: str | os.PathLike[str]) -> str:
    """``cwd`` for ``git -C``, which must be a folder: the errors subprocess's ``cwd`` gave, as one line."""
    folder = os.fspath(cwd)
    try:
        is_dir = stat.S_ISDIR(os.stat(folder).st_mode)
    except FileNotFoundError as exc:
        raise UserError(f"{cwd}: no such directory") from exc
    except NotADirectoryError:  # a file on the way: /path/file/folder
        is_dir = False
    if not is_dir:
        raise UserError(f"{cwd}: not a directory")
    return folder


def _run(argv: list[str], *, env: dict[str, str] | None = None, input: bytes | None = None) -> spawn.Completed:
    try:
        return spawn.run(argv, env=env, input=input)
    except FileNotFoundError as exc:
        raise UserError("git is not installed or not on PATH") from exc


class Repo:
    """A git work tree. With ``batch`` (an open :class:`BlobReader`), revisions are resolved
    through its ``git cat-file --batch`` process instead of one ``git rev-parse`` each.

    ``top`` is the work tree's folder as text (``str(root)``), which the report's path uses;
    ``root`` is the same folder as a ``Path``, made on first use (pathlib is not imported before).
    """

    __slots__ = ("_root", "batch", "top")

    def __init__(self, root: str | os.PathLike[str], batch: BlobReader | None = None) -> None:
        self.top = path_text(root)
        self.batch = batch
        self._root: Path | None = None

    @property
    def root(self) -> Path:
        if self._root is None:
            from pathlib import Path  # lazy: the report's path reads ``top`` (start-up without pathlib)

            self._root = Path(self.top)
        return self._root

    def __repr__(self) -> str:
        return f"Repo(root={self.top!r})"

    def __eq__(self, other: object) -> bool:
        return self.top == other.top if isinstance(other, Repo) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by its folder (as the record it was)

    @classmethod
    def discover(cls, path: str | os.PathLike[str] = ".") -> Repo:
        """The work tree containing ``path``. Bare repositories and non-repos are user errors."""
        path = os.path.realpath(path_text(path))  # Path(path).resolve()'s text
        if not os.path.exists(path):
            raise UserError(f"{path}: no such directory")
        cwd = path if os.path.isdir(path) else os.path.dirname(path)
        proc = _run(["git", "-C", _folder(cwd), "rev-parse", "--is-bare-repository", "--show-toplevel"])
        out = os.fsdecode(proc.stdout).splitlines()  # one answer per line: a top level may hold spaces
        if proc.returncode != 0:
            if out[:1] == ["true"] or "must be run in a work tree" in proc.stderr.decode("utf-8", "replace"):
                raise UserError(f"{path}: is a bare git repository; run ci-mlops in a clone with a work tree")
            raise UserError(f"{path}: not a git repository (run `git init` first)")
        if out[:1] == ["true"] or len(out) < 2:
            raise UserError(f"{path}: is a bare git repository; run ci-mlops in a clone with a work tree")
        return cls(out[1])

    def git(self, *args: str, check: bool = True) -> str:
        return run_git(list(args), self.top, check=check)

    # -- revisions -------------------------------------------------------------------

    def rev_parse(self, ref: str) -> str:
        """Full SHA of a commit-ish; unknown revisions are one clear error (with a shallow-clone hint)."""
        out = self.try_rev_parse(ref)
        if out:
            return out
        hint = ""
        if self.is_shallow():
            hint = " (this is a shallow clone: fetch full history with `fetch-depth: 0` in actions/checkout, or `git fetch --unshallow`)"
        elif not self.has_commits():
            hint = " (the repository has no commits yet)"
        raise GitError(f"unknown revision '{ref}'{hint}")

    def try_rev_parse(self, ref: str) -> str | None:
        if self.batch is not None and _one_name(ref):
            return self.batch.commit(ref)  # the same name lookup as rev-parse's, in the open process
        out = run_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], self.top, check=False)
        return out.strip() or None

    def merge_base(self, a: str, b: str) -> str:
        out = run_git(["merge-base", a, b], self.top, check=False)
        if not out:
            hint = " (shallow clone: use `fetch-depth: 0`)" if self.is_shallow() else ""
            raise GitError(f"no common ancestor of '{a}' and '{b}'{hint}")
        return out.strip()

    def head(self) -> str | None:
        return self.try_rev_parse("HEAD")

    def has_commits(self) -> bool:
        return self.head() is not None

    def is_shallow(self) -> bool:
        return self.git("rev-parse", "--is-shallow-repository", check=False).strip() == "true"

    def current_branch(self) -> str | None:
        out = self.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
        return out or None

    def default_branch(self) -> str:
        """origin's HEAD if known, else an existing main/master, else init.defaultBranch, else 'main'."""
        remote_head = self.git("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False).strip()
        if remote_head:
            return remote_head.split("/", 1)[1]
        for name in ("main", "master"):
            if self.try_rev_parse(f"refs/heads/{name}") or self.try_rev_parse(f"refs/remotes/origin/{name}"):
                return name  # the remote's: a clone on another branch (a workflow_dispatch run) has no local main
        configured = self.git("config", "--get", "init.defaultBranch", check=False).strip()
        return configured or self.current_branch() or "main"

    def log(self, ref: str, max_count: int, first_parent: bool = True) -> list[str]:
        """SHAs of up to ``max_count`` commits reachable from ``ref``, newest first."""
        args = ["rev-list", f"--max-count={max_count}"]
        if first_parent:
            args.append("--first-parent")
        out = self.git(*args, ref)
        return out.split() if out else []

    def tags(self, pattern: str | None = None) -> list[str]:
        args = ["tag", "--list", "--sort=creatordate"]
        if pattern:
            args.append(pattern)
        out = self.git(*args)
        return out.splitlines() if out else []

    # -- files -------------------------------------------------------------------------

    def ls_files(self, rev: str | None = None) -> list[str]:
        """Paths tracked at ``rev`` (or in the index, plus untracked files, for the workspace)."""
        if rev is None or rev == WORKSPACE:
            out = self.git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        else:
            listed = self.batch.list_tree(rev) if self.batch is not None and _one_name(rev) else None
            if listed is not None:  # read in the open process: no `git ls-tree` to start
                return listed
            out = self.git("ls-tree", "-r", "-z", "--name-only", rev)
        return [p for p in out.split("\0") if p]

    def is_dirty(self, paths: list[str] | None = None) -> bool:
        out = self.git("status", "--porcelain", "--", *(paths or []))
        return bool(out.strip())


def _one_name(ref: str) -> bool:
    """``ref`` can be asked of the batch process: one line, not an option (git would read those differently)."""
    return bool(ref) and ref[0] != "-" and not any(c in ref for c in "\n\r\0")


_CHUNK_BYTES = 16384  # request bytes written at once: well within a pipe's 64 KiB buffer
_PARENTS_PER_ROUND = 100  # REV~0..REV~99 per round: git walks each name from its anchor
# What one listing reads through the batch at most. Measured with git's side: a folder costs ~40 us there
# (a request, git's lookup, the answer), an entry ~1.2 us, a `git ls-tree -r` process ~1.1-1.3 ms; so a
# larger tree (a big monorepo) is listed by ls-tree, which is the cheaper of the two for it.
_MAX_LISTED_TREES = 24
_MAX_LISTED_BYTES = 16384  # of tree objects: ~350 entries
_TREE_MODES = (b"40000", b"040000")  # a subtree's mode in a tree object (the second from old git versions)


class BlobReader:
    """Read many ``rev:path`` blobs through one ``git cat-file --batch`` process.

    ``read(rev, path)`` returns the bytes, or None when the path does not exist
    at that revision. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.top = path_text(root)  # the folder as text; ``root`` as a Path
        self._proc: spawn.Process | None = None

    @property
    def root(self) -> Path:
        from pathlib import Path  # lazy: the report's path reads ``top`` (start-up without pathlib)

        return Path(self.top)

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> spawn.Process:
        if self._proc is None:
            try:
                self._proc = spawn.Process(["git", "-C", _folder(self.top), "cat-file", "--batch"],
                                           stderr=spawn.DEVNULL)
            except FileNotFoundError as exc:
                raise UserError("git is not installed or not on PATH") from exc
        return self._proc

    def _send(self, request: bytes) -> spawn.Process:
        proc = self._start()
        try:
            proc.write(request)
        except BrokenPipeError as exc:  # git ended (it reads requests until it is told to stop)
            raise GitError("git cat-file stopped unexpectedly") from exc
        return proc

    def commit(self, ref: str) -> str | None:
        """The full SHA of the commit ``ref`` names (``git rev-parse --verify ref^{commit}``), else None.

        ``ref`` must be one line: the batch reads one name per line."""
        proc = self._send(f"{ref}^{{commit}}\n".encode())
        header = proc.stdout.readline()
        if not header:
            raise GitError("git cat-file stopped unexpectedly")
        parts = header.split()
        if len(parts) != 3 or parts[1] != b"commit":  # "<name> missing" or "<name> ambiguous"
            return None
        proc.stdout.read(int(parts[2]) + 1)  # the commit object and its newline
        return parts[0].decode("ascii")

    def read(self, rev: str, path: str) -> bytes | None:
        return self.read_many([(rev, path)])[0]

    def read_many(self, specs: list[tuple[str, str]]) -> list[bytes | None]:
        """Read several blobs in one round trip: all requests written, then all answers read."""
        return [data if kind == b"blob" else None
                for _, kind, data in self._ask([f"{rev}:{path}\n".encode() for rev, path in specs])]

    def first_parents(self, rev: str, count: int) -> list[str]:
        """SHAs of the commit ``rev`` and its first parents, up to ``count``, newest first:
        ``git rev-list --first-parent --max-count=COUNT REV``, asked of the open process
        (``REV~N`` names the N-th first parent) instead of starting another git."""
        shas: list[str] = []
        anchor, start = rev, 0
        while len(shas) < count:
            wanted = min(count - len(shas), _PARENTS_PER_ROUND)
            answers = self._ask([f"{anchor}~{n}\n".encode() for n in range(start, start + wanted)])
            found = [name.decode("ascii") for name, kind, _ in answers if kind == b"commit"]
            shas.extend(found)
            if len(found) < wanted:  # the first commit of the history, or a shallow clone's boundary
                break
            anchor, start = shas[-1], 1
        return shas

    def list_tree(self, rev: str) -> list[str] | None:
        """The files at ``rev`` as ``git ls-tree -r -z --name-only REV`` lists them (same paths, same
        order), read as tree objects in the open process, one round trip per level of folders. None
        when ``rev`` names no tree (``git ls-tree`` says why) or holds more than ``_MAX_LISTED_TREES``
        folders or ``_MAX_LISTED_BYTES`` of them (``git ls-tree`` lists those faster)."""
        tree = rev if ":" in rev else f"{rev}^{{tree}}"  # REV:PATH names an object already (its path may hold '^')
        ((root, kind, data),) = self._ask([f"{tree}\n".encode()])
        if kind != b"tree" or data is None or len(data) > _MAX_LISTED_BYTES:
            return None
        size = len(data)
        width = len(root) // 2  # bytes of a raw object name: 20 (SHA-1) or 32 (SHA-256)
        trees = {root: _tree_entries(data, width)}
        wanted = [sha for is_tree, _, sha in trees[root] if is_tree]
        while wanted:
            wanted = list(dict.fromkeys(sha for sha in wanted if sha not in trees))  # a folder seen twice: once
            if len(trees) + len(wanted) > _MAX_LISTED_TREES:
                return None
            answers = self._ask([sha + b"\n" for sha in wanted])
            size += sum(len(data or b"") for _, _, data in answers)
            if size > _MAX_LISTED_BYTES:
                return None
            found: list[bytes] = []
            for sha, (_, kind, data) in zip(wanted, answers, strict=True):
                if kind != b"tree" or data is None:
                    return None  # a missing subtree (a partial clone): ls-tree's own answer
                trees[sha] = _tree_entries(data, width)
                found.extend(sub for is_tree, _, sub in trees[sha] if is_tree)
            wanted = found
        paths: list[str] = []
        stack = [(iter(trees[root]), b"")]  # depth first, each tree in its own order: ls-tree -r's
        while stack:
            entries, prefix = stack[-1]
            for is_tree, name, sha in entries:
                if is_tree:
                    stack.append((iter(trees[sha]), prefix + name + b"/"))
                    break
                paths.append((prefix + name).decode("utf-8", "replace"))
            else:
                stack.pop()
        return paths

    def _ask(self, requests: list[bytes]) -> list[tuple[bytes, bytes | None, bytes | None]]:
        """(object name, type, content) per request line; type and content None for a missing object.

        Requests go in chunks that fit a pipe buffer: a chunk is written whole (git reads it while
        this process waits), then its answers are read, so neither side blocks the other."""
        if not requests:
            return []
        answers: list[tuple[bytes, bytes | None, bytes | None]] = []
        chunks: list[list[bytes]] = [[]]
        size = 0
        for line in requests:
            if chunks[-1] and size + len(line) > _CHUNK_BYTES:  # a longer line goes alone
                chunks.append([])
                size = 0
            chunks[-1].append(line)
            size += len(line)
        for chunk in chunks:
            proc = self._send(b"".join(chunk))
            answers.extend(self._read_answer(proc) for _ in chunk)
        return answers

    @staticmethod
    def _read_answer(proc: spawn.Process) -> tuple[bytes, bytes | None, bytes | None]:
        header = proc.stdout.readline()
        if not header:
            raise GitError("git cat-file stopped unexpectedly")
        parts = header.split()
        if len(parts) < 3 or parts[-1] == b"missing" or parts[1] == b"ambiguous":
            return parts[0] if parts else b"", None, None
        size = int(parts[2])
        data = proc.stdout.read(size)
        proc.stdout.read(1)  # the newline after the content
        return parts[0], parts[1], data

    def close(self) -> None:
        if self._proc is not None:
            self._proc.close()  # both pipes, so git ends even in the middle of an answer; then waited for
            self._proc = None


def _tree_entries(data: bytes, width: int) -> list[tuple[bool, bytes, bytes]]:
    """(is a subtree, name, object name in hex) of each entry of a tree object: ``MODE NAME\\0RAW``."""
    entries = []
    start, end = 0, len(data)
    while start < end:
        space = data.index(b" ", start)
        nul = data.index(b"\0", space)
        entries.append((data[start:space] in _TREE_MODES, data[space + 1:nul],
                        data[nul + 1:nul + 1 + width].hex().encode("ascii")))
        start = nul + 1 + width
    return entries
