"""Small file-system helpers shared by every command: the one safe writer, hashing."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from ci_mlops.errors import UserError
from ci_mlops.safeload import file_kind
from ci_mlops.safepath import cli_path


def atomic_write(path: str | os.PathLike[str], data: str | bytes, mode: int | None = None, *,
                 make_parents: bool = True, announce: Callable[[str], None] | None = None) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half.

    The content goes to a temporary file in the same directory, is flushed to disk,
    then renamed over the target (a rename replaces a path, it never writes through
    a link). The target's permission bits are kept. Only a regular file is ever
    replaced: a symbolic link, FIFO, device, socket or directory at ``path`` is a
    :class:`UserError` (as root, renaming over ``/dev/full`` would replace the device).
    Missing parent folders are created when ``make_parents``, each one reported to
    ``announce`` when given; otherwise they are an error naming the folder.
    """
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        raise UserError(f"{path}: cannot write: a parent is not a folder") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise UserError(f"{path}: is a {file_kind(info.st_mode)}; ci-mlops writes only regular files "
                        "(remove it or choose another path)")
    _parents(path.parent, make_parents, announce)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if mode is None and info is not None:
        mode = info.st_mode & 0o7777
    import tempfile  # lazy: with random and shutil ~4 ms, and only a command that writes a file needs it

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_output(path: str | os.PathLike[str], data: str | bytes, announce: Callable[[str], None]) -> None:
    """A command's ``-o FILE``: :func:`atomic_write`, saying so when it creates a missing folder.

    A relative path must stay in the work tree (see :func:`ci_mlops.safepath.cli_path`).
    """
    cli_path(path, "-o")
    try:
        atomic_write(path, data, announce=announce)
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory") from None
    except PermissionError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror}") from None


def _parents(folder: Path, make: bool, announce: Callable[[str], None] | None) -> None:
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        if probe.is_symlink():
            raise UserError(f"{probe}: is a dangling symbolic link; not writing through it")
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UserError(f"{probe}: is not a folder")
    if not missing:
        return
    if not make:
        raise UserError(f"{missing[-1]}: no such folder")
    for created in reversed(missing):
        created.mkdir(exist_ok=True)
        if announce:
            announce(f"created folder {created}")


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    return _digest("sha256", path, chunk)


def md5_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex MD5 of a file (DVC's content hash for files), read in chunks."""
    return _digest("md5", path, chunk)


def _digest(algorithm: str, path: str | os.PathLike[str], chunk: int) -> str:
    import hashlib  # lazy: OpenSSL's start-up, only when a file is hashed (not on the report's path)

    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_head_nofollow(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a file that the caller found to be regular, opened without
    following a link swapped in since: more than ``limit`` bytes back means the file is over
    ``limit``, whatever size it claimed."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        return fh.read(limit + 1)
