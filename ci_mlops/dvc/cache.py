"""Files kept in the DVC cache, read the way DVC reads them: by ``dvc.lock`` hash, through ``.dir`` manifests.

A cached output is a file (``dvc.lock`` records its md5) or a directory (its md5 ends in
``.dir``: the cache holds a JSON manifest ``[{"md5": ..., "relpath": ...}]`` and one object
per file). So ``eval/metrics.json`` inside ``outs: [eval]`` is found by reading ``eval``'s
manifest and then the object it names. DVC 3 keeps objects under ``files/md5/`` in the
cache; outputs locked without ``hash: md5`` (DVC 1 and 2 locks) are in the cache root.
When the local cache lacks something, :func:`fetch` asks DVC itself, which reads the
remote exactly as ``dvc metrics diff`` does.
"""

from __future__ import annotations

import os
import posixpath

from ci_mlops.dvc.project import DvcProject, cache_folder
from ci_mlops.record import mutable_record
from ci_mlops.safeload import load_json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

LEGACY = "md5-dos2unix"  # DVC's name for hashes written before DVC 3 (no `hash: md5` in the lock)
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


@mutable_record
class Location:
    """Where a path lives in the DVC cache: its own object, or an entry of a directory's manifest."""

    output: str  # the dvc.lock output that holds it (the path itself, or a parent directory)
    md5: str  # the output's md5 (ends in ".dir" for a directory)
    hash_name: str  # "md5" (DVC 3) or LEGACY
    relpath: str | None  # the path inside the directory output; None when the output is the file
    cached: bool  # `cache: true` in dvc.yaml (the default)


def locate(project: DvcProject, path: str) -> Location | None:
    """The ``dvc.lock`` output that records ``path`` (itself, or the directory containing it), if any."""
    info = project.lock_outs.get(path)
    if info and info.get("md5"):
        return Location(path, str(info["md5"]), info.get("hash") or LEGACY, None, project.is_cached(path))
    parent = posixpath.dirname(path)
    while parent:
        info = project.lock_outs.get(parent)
        if info and str(info.get("md5", "")).endswith(".dir"):
            return Location(parent, str(info["md5"]), info.get("hash") or LEGACY,
                            posixpath.relpath(path, parent), project.is_cached(parent))
        parent = posixpath.dirname(parent)
    return None


def object_files(root: str | os.PathLike[str], md5: str, hash_name: str) -> list[str]:
    """:func:`object_paths` as text (the report's path: start-up without pathlib)."""
    base = cache_folder(root)
    modern = os.path.join(base, "files", "md5", md5[:2], md5[2:])
    legacy = os.path.join(base, md5[:2], md5[2:])
    return [legacy, modern] if hash_name == LEGACY else [modern, legacy]


def object_paths(root: str | os.PathLike[str], md5: str, hash_name: str) -> list[Path]:
    """Where DVC may keep an object: DVC 3's ``files/md5/XX/REST`` or the legacy ``XX/REST``, likeliest first."""
    from pathlib import Path  # lazy: the report's path uses object_files (start-up without pathlib)

    return [Path(file) for file in object_files(root, md5, hash_name)]


def _read_bytes(file: str) -> bytes:
    with open(file, "rb") as handle:
        return handle.read()


def read_object(root: str | os.PathLike[str], md5: str, hash_name: str) -> bytes | None:
    for candidate in object_files(root, md5, hash_name):
        try:
            return _read_bytes(candidate)
        except OSError:
            continue
    return None


def manifest(root: str | os.PathLike[str], md5: str, hash_name: str) -> dict[str, tuple[str, str]] | None:
    """A directory output's files: ``{relpath: (md5, hash_name)}``, or None when the cache lacks the manifest."""
    for candidate in object_files(root, md5, hash_name):
        try:
            if os.stat(candidate).st_size > MAX_MANIFEST_BYTES:
                return None
            data = load_json(_read_bytes(candidate))
        except (OSError, ValueError):
            continue
        if not isinstance(data, list):
            continue
        entries: dict[str, tuple[str, str]] = {}
        for item in data:
            relpath = item.get("relpath") if isinstance(item, dict) else None
            if isinstance(item, dict) and isinstance(relpath, str) and item.get("md5"):
                entries[relpath.replace("\\", "/")] = (str(item["md5"]), hash_name)
        return entries
    return None


def read_cached(root: str | os.PathLike[str], location: Location) -> bytes | None:
    """The bytes at ``location`` from the local cache; None when the cache lacks them.

    A file that the directory's manifest does not list is absent at that revision: that
    is :data:`NOT_IN_OUTPUT`, distinct from "the cache lacks it".
    """
    if location.relpath is None:
        return read_object(root, location.md5, location.hash_name)
    files = manifest(root, location.md5, location.hash_name)
    if files is None:
        return None
    entry = files.get(location.relpath)
    if entry is None:
        return NOT_IN_OUTPUT
    return read_object(root, *entry)


NOT_IN_OUTPUT = b"\x00ci-mlops: not in the output\x00"  # sentinel, compared by identity


def list_cached_dir(root: str | os.PathLike[str], project: DvcProject, path: str) -> list[str] | None:
    """Files under ``path`` when it is (or is inside) a cached directory output; None when unknown."""
    location = locate(project, path)
    if location is None or not location.md5.endswith(".dir"):
        return None
    files = manifest(root, location.md5, location.hash_name)
    if files is None:
        return None
    prefix = "" if location.relpath is None else location.relpath.rstrip("/") + "/"
    return sorted(posixpath.join(location.output, rel) for rel in files if rel.startswith(prefix))


def fetch(root: str | os.PathLike[str], rev: str | None, paths: list[str], *,
          remote: str | None = None) -> tuple[dict[str, bytes | None], str | None]:
    """Ask DVC for ``paths`` at ``rev`` (None = workspace); it reads ``remote`` (default: DVC's
    default remote) when the cache lacks them.

    One DVC repository is opened for all paths. Returns the bytes (None where DVC could
    not provide them) and DVC's first complaint, shortened to one line, for the error.
    """
    out: dict[str, bytes | None] = dict.fromkeys(paths)
    reason: str | None = None
    try:  # DVC's Python API is slow to import: only when the local cache lacks a file
        from dvc.fs.dvc import DVCFileSystem
        from dvc.repo import Repo
    except ImportError:  # pragma: no cover - dvc is a dependency
        return out, "DVC is not installed"
    try:
        with Repo.open(str(root), rev=rev, subrepos=True, uninitialized=True, remote=remote) as repo:
            fs = DVCFileSystem(repo=repo, subrepos=True)
            for path in paths:
                try:
                    with fs.open(fs.from_os_path(path), mode="rb") as handle:
                        out[path] = handle.read()
                except Exception as exc:
                    reason = reason or _one_line(exc)
    except Exception as exc:
        reason = reason or _one_line(exc)
    return out, reason


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def is_missing(blob: Any) -> bool:
    return blob is None or blob is NOT_IN_OUTPUT
