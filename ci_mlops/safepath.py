"""Paths that must stay inside the repository's work tree.

Paths written in the repository (``.ci-mlops.yml``, ``dvc.yaml``, ``dvc.lock``) and
relative paths on the command line are resolved here: an absolute path, a ``../``
that climbs out, or a symbolic link whose target lies outside the work tree is a
one-line :class:`UserError`. Otherwise a PR could make ci-mlops read (and publish)
any file on the runner by declaring it as a metrics file, or write through a link.
An absolute path on the command line is the caller's explicit choice (the workflows
write to ``$RUNNER_TEMP``) and is used as given.

The report's path works on paths as text (``os.path``): ``pathlib`` and what it imports
(``urllib.parse``, ``ipaddress``, ``fnmatch``: ~4.5 ms) stay off its start-up
(docs/architecture.md). The functions returning a ``Path`` build it from the text ones.
"""

from __future__ import annotations

import os
import posixpath

from ci_mlops.errors import UserError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def path_text(path: str | os.PathLike[str]) -> str:
    """``str(Path(path))`` without pathlib: empty and ``.`` parts and trailing slashes dropped, ``..`` kept
    (a path's text in a message stays what it was when it was a ``Path``)."""
    text = os.fspath(path)
    if not text:
        return "."
    anchor = ("//" if text[:2] == "//" and text[2:3] != "/" else "/") if text[0] == "/" else ""
    return anchor + "/".join(part for part in text.split("/") if part and part != ".") or "."


def absolute_text(path: str | os.PathLike[str]) -> str:
    """``str(Path(path).absolute())``: joined to the working folder, not resolved."""
    text = path_text(path)
    if text.startswith("/"):
        return text
    cwd = os.getcwd()
    return cwd if text == "." else f"{cwd.rstrip('/')}/{text}"


def folder_and_parents(text: str) -> Iterator[str]:
    """``text`` (as :func:`path_text` writes it) and its parents, as ``(path, *path.parents)`` lists them."""
    yield text
    while text not in ("/", "//", "."):
        text = posixpath.dirname(text) or "."
        yield text


def work_tree_text(start: str | os.PathLike[str] = ".") -> str | None:
    """:func:`work_tree` as text."""
    for folder in folder_and_parents(absolute_text(start)):
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
    return None


def work_tree(start: str | os.PathLike[str] = ".") -> Path | None:
    """The git work tree containing ``start`` (the nearest folder with ``.git``), or None."""
    found = work_tree_text(start)
    if found is None:
        return None
    from pathlib import Path  # lazy: the report's path uses work_tree_text (start-up without pathlib)

    return Path(found)


def repo_relative(path: str, what: str) -> str:
    """Check a repository-relative path by its text: not absolute, no ``..`` out of the root."""
    text = str(path).replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise UserError(f"{what} {path}: an absolute path; paths in the repository are relative to its root")
    normal = posixpath.normpath(text) if text else "."
    if normal == ".." or normal.startswith("../"):
        raise UserError(f"{what} {path}: leaves the repository (through '..')")
    return "" if normal == "." else normal


def inside_text(root: str | os.PathLike[str], path: str, what: str) -> str:
    """:func:`inside` as text (``root`` as :func:`path_text` writes it, joined to the path)."""
    relative = repo_relative(path, what)
    root = path_text(root)
    full = (root if root.endswith("/") else root + "/") + relative if relative else root
    real_root = os.path.realpath(root)
    real = os.path.realpath(full)
    if real != real_root and not real.startswith(real_root if real_root.endswith("/") else real_root + "/"):
        raise UserError(f"{what} {path}: resolves to {real}, outside the repository (through a symbolic link); "
                        "not following it")
    return full


def inside(root: str | os.PathLike[str], path: str, what: str) -> Path:
    """``root/path`` when it stays inside ``root`` once symbolic links are resolved; UserError otherwise."""
    full = inside_text(root, path, what)
    from pathlib import Path  # lazy: the report's path uses inside_text (start-up without pathlib)

    return Path(full)


def check_cli_path(path: str | os.PathLike[str], what: str, start: str | os.PathLike[str] = ".") -> None:
    """:func:`cli_path`'s check alone: a relative path must stay in the work tree (UserError otherwise)."""
    text = path_text(path)
    if text.startswith("/"):
        return
    root = work_tree_text(start)
    if root is None:
        return
    full = f"{absolute_text(start).rstrip('/')}/{text}" if text != "." else absolute_text(start)
    try:
        relative = os.path.relpath(full, root)
    except ValueError:  # another drive
        return
    inside_text(root, relative.replace(os.sep, "/"), what)


def cli_path(path: str | os.PathLike[str], what: str, start: str | os.PathLike[str] = ".") -> Path:
    """A path given on the command line: absolute as given; relative must stay in the work tree."""
    check_cli_path(path, what, start)
    from pathlib import Path  # lazy: the report's path uses check_cli_path (start-up without pathlib)

    return Path(path)
