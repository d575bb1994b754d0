"""Hand a training job's DVC outputs to a separate job that pushes them to the remote.

The job that trains runs the pull request's (or the branch's) code, so it never holds
the remote's write credentials. It :func:`stage`\\ s what ``dvc push --run-cache``
would upload into a folder laid out like a local DVC remote (``files/md5/..``,
``runs/..``), which the workflow uploads as an artifact. The push job downloads it,
:func:`validate`\\ s every file (content objects must hash to their names, run-cache
entries to their keys and values; nothing but regular files), and :func:`push`\\ es it
with the credentials only that job has.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ci_mlops.errors import CheckFailed, UserError
from ci_mlops.fsutil import md5_file

STAGE_REMOTE = "ci-mlops-staged-outputs"
_OBJECT = re.compile(r"files/md5/([0-9a-f]{2})/([0-9a-f]{30})(\.dir)?")
_RUN = re.compile(r"runs/([0-9a-f]{2})/([0-9a-f]{64})/([0-9a-f]{64})")
MAX_RUN_ENTRY = 1 << 20  # a run-cache entry is a small YAML file


def stage(root: Path, folder: Path, *, targets: list[str] | None = None) -> int:
    """Copy the workspace's DVC outputs and run-cache into ``folder``; the number of files copied."""
    folder.mkdir(parents=True, exist_ok=True)
    with _dvc_repo(root, {"remote": {STAGE_REMOTE: {"url": str(folder.resolve())}}}) as repo, _missing_warnings() as missing:
        count = int(repo.push(targets=targets or None, remote=STAGE_REMOTE, run_cache=True) or 0)
    if missing:
        raise CheckFailed(f"{len(missing)} DVC output(s) are neither in the cache nor on the remote "
                          f"(e.g. md5 {missing[0]}); run the pipeline (`dvc repro`) before staging")
    return count


def validate(folder: Path) -> tuple[int, int]:
    """Refuse a staged folder unless every file is a content object or run-cache entry that hashes
    to its own name. Returns (objects, run-cache entries)."""
    if not folder.is_dir() or folder.is_symlink():
        raise UserError(f"{folder}: no staged DVC outputs here (not a folder)")
    objects = runs = 0
    for path in _walk(folder):
        rel = path.relative_to(folder).as_posix()
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            raise CheckFailed(f"staged outputs: {rel}: not a regular file; refusing the whole folder")
        if match := _OBJECT.fullmatch(rel):
            if md5_file(path) != match[1] + match[2]:
                raise CheckFailed(f"staged outputs: {rel}: content does not match its hash; refusing the whole folder")
            objects += 1
        elif match := _RUN.fullmatch(rel):
            _check_run_entry(path, rel, key=match[2], value=match[3], prefix=match[1])
            runs += 1
        else:
            raise CheckFailed(f"staged outputs: {rel}: not a DVC object or run-cache entry; refusing the whole folder")
    return objects, runs


def push(root: Path, folder: Path, *, remote: str | None = None) -> int:
    """``dvc push --run-cache`` of the commit's outputs, read from the validated ``folder``."""
    with _dvc_repo(root, {"cache": {"dir": str(folder.resolve())}}) as repo, _missing_warnings() as missing:
        count = int(repo.push(remote=remote or None, run_cache=True) or 0)
    if missing:
        raise CheckFailed(f"{len(missing)} output(s) that this commit's dvc.lock records were not staged by the "
                          f"training job and are not on the remote (e.g. md5 {missing[0]}): is dvc.lock committed "
                          "after `dvc repro`?")
    return count


def fetch(root: Path, folder: Path, *, remote: str | None = None) -> int:
    """``dvc fetch --run-cache`` into ``folder`` (laid out like a cache): for a job without credentials."""
    folder.mkdir(parents=True, exist_ok=True)
    with _dvc_repo(root, {"cache": {"dir": str(folder.resolve())}}) as repo:
        result = repo.fetch(remote=remote or None, run_cache=True)
    return int(result or 0) if not isinstance(result, dict) else int(result.get("fetched", 0))


def pull(root: Path, folder: Path) -> None:
    """Validate ``folder`` (fetched by another job), then ``dvc pull --run-cache`` from it."""
    validate(folder)
    with _dvc_repo(root, {"remote": {STAGE_REMOTE: {"url": str(folder.resolve())}}}) as repo:
        repo.pull(remote=STAGE_REMOTE, run_cache=True, allow_missing=True)


# -- helpers ---------------------------------------------------------------------------------


def _walk(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        for name in dirnames:
            if (base / name).is_symlink():
                yield base / name  # reported as "not a regular file"
        for name in filenames:
            yield base / name


def _check_run_entry(path: Path, rel: str, *, key: str, value: str, prefix: str) -> None:
    from dvc.stage.cache import _get_cache_hash  # DVC's API is slow to import: only when validating

    if path.stat().st_size > MAX_RUN_ENTRY or not key.startswith(prefix):
        raise CheckFailed(f"staged outputs: {rel}: not a DVC run-cache entry; refusing the whole folder")
    try:
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        entry = None
    if not isinstance(entry, dict) or not isinstance(entry.get("outs", []), list):
        raise CheckFailed(f"staged outputs: {rel}: not a DVC run-cache entry; refusing the whole folder")
    try:
        computed_value = _get_cache_hash(dict(entry))
        computed_key = _get_cache_hash(dict(entry), key=True)
    except Exception:
        computed_value = computed_key = ""
    if (computed_key, computed_value) != (key, value):
        raise CheckFailed(f"staged outputs: {rel}: content does not match its run-cache key; refusing the whole folder")


@contextmanager
def _dvc_repo(root: Path, config: dict[str, Any]) -> Iterator[Any]:
    """A DVC repo at ``root`` with ``config`` layered over its own (no config file is written)."""
    from dvc.exceptions import DvcException  # DVC's API is slow to import: only here
    from dvc.repo import Repo

    try:
        with Repo(str(root), config=config) as repo:
            yield repo
    except DvcException as exc:
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        raise UserError(f"dvc: {lines[-1] if lines else type(exc).__name__}") from exc


@contextmanager
def _missing_warnings() -> Iterator[list[str]]:
    """Collect the hashes DVC names in its 'Missing cache files' warning (push does not fail on them)."""
    found: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "Missing cache files" in message:
                found.extend(re.findall(r"md5: ([0-9a-f]{32})", message) or ["?"])

    handler = Handler(logging.WARNING)
    loggers = [logging.getLogger(name) for name in ("dvc", "dvc_data")]  # DVC warns from either
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield found
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
