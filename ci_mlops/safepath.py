"""Paths that must stay inside the repository's work tree.

Paths written in the repository (``.ci-mlops.yml``, ``dvc.yaml``, ``dvc.lock``) and
relative paths on the command line are resolved here: an absolute path, a ``../``
that climbs out, or a symbolic link whose target lies outside the work tree is a
one-line :class:`UserError`. Otherwise a PR could make ci-mlops read (and publish)
any file on the runner by declaring it as a metrics file, or write through a link.
An absolute path on the command line is the caller's explicit choice (the workflows
write to ``$RUNNER_TEMP``) and is used as given.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from ci_mlops.errors import UserError


def work_tree(start: str | os.PathLike[str] = ".") -> Path | None:
    """The git work tree containing ``start`` (the nearest folder with ``.git``), or None."""
    start = Path(start).absolute()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def repo_relative(path: str, what: str) -> str:
    """Check a repository-relative path by its text: not absolute, no ``..`` out of the root."""
    text = str(path).replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise UserError(f"{what} {path}: an absolute path; paths in the repository are relative to its root")
    normal = posixpath.normpath(text) if text else "."
    if normal == ".." or normal.startswith("../"):
        raise UserError(f"{what} {path}: leaves the repository (through '..')")
    return "" if normal == "." else normal


def inside(root: str | os.PathLike[str], path: str, what: str) -> Path:
    """``root/path`` when it stays inside ``root`` once symbolic links are resolved; UserError otherwise."""
    relative = repo_relative(path, what)
    root = Path(root)
    full = root / relative if relative else root
    real_root = root.resolve()
    real = full.resolve()
    if real != real_root and real_root not in real.parents:
        raise UserError(f"{what} {path}: resolves to {real}, outside the repository (through a symbolic link); "
                        "not following it")
    return full


def cli_path(path: str | os.PathLike[str], what: str, start: str | os.PathLike[str] = ".") -> Path:
    """A path given on the command line: absolute as given; relative must stay in the work tree."""
    path = Path(path)
    if path.is_absolute():
        return path
    root = work_tree(start)
    if root is None:
        return path
    full = (Path(start).absolute() / path)
    try:
        relative = os.path.relpath(full, root)
    except ValueError:  # another drive
        return path
    inside(root, relative.replace(os.sep, "/"), what)
    return path
