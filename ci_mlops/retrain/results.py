"""Which files a retrain (or a PR's training) may hand to the job that commits, and the
hand-over folder itself.

The committing job holds ``contents: write``; the files come from a job that ran the
project's code. So the folder is data, never trusted: every file must be listed in
``retrain.json`` with its SHA-256, be a regular file (no symlinks anywhere), and have a
path the DVC project declares as a git-tracked result - a ``dvc.lock``, a params file, a
``cache: false`` metrics/plots/out, a ``.dvc`` file - and nothing under ``.github/``,
``.git/`` or ``.dvc/``. Anything else refuses the whole folder.

Layout: ``retrain.json``, ``files/<path>`` (the changed files), ``dvc-outputs/`` (what
:func:`ci_mlops.dvc.outputs.stage` copies: content objects and run-cache entries).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

from ci_mlops.errors import CheckFailed, UserError

MANIFEST = "retrain.json"
FILES = "files"
OUTPUTS = "dvc-outputs"
FORMAT = 1
MAX_FILE_BYTES = 50 << 20  # a dvc.lock or metrics file; larger is not a git-tracked result
MAX_FILES = 1000
DENIED_TOP = (".git", ".github", ".dvc")
DENIED_NAMES = (".ci-mlops.yml", ".gitmodules", ".gitattributes")


def result_paths(root: Path) -> set[str]:
    """Every path the DVC project declares as a git-tracked result (repo-relative, POSIX).

    Read from the dvc.yaml files as data (safe YAML), never by running anything.
    """
    from ci_mlops.safeload import load_yaml

    allowed: set[str] = set()
    for dvcyaml in _dvc_yamls(root):
        folder = dvcyaml.parent.relative_to(root)
        allowed.add(_join(folder, "dvc.lock"))
        try:
            doc = load_yaml(dvcyaml.read_bytes()) or {}
        except (OSError, ValueError) as exc:
            raise UserError(f"{dvcyaml.relative_to(root).as_posix()}: cannot read it ({exc})") from None
        if not isinstance(doc, dict):
            continue
        for key in ("metrics", "plots", "params"):
            for entry in _entries(doc.get(key)):
                allowed.add(_join(folder, entry))
        stages = doc["stages"] if isinstance(doc.get("stages"), dict) else {}
        for stage in stages.values():
            if not isinstance(stage, dict):
                continue
            wdir = folder / str(stage.get("wdir") or ".")
            params = stage.get("params")
            if params:
                allowed.add(_join(wdir, "params.yaml"))
                for item in params if isinstance(params, list) else []:
                    if isinstance(item, dict):
                        allowed.update(_join(wdir, str(name)) for name in item)
            for key in ("outs", "metrics", "plots"):
                for item in stage.get(key) or []:
                    if isinstance(item, dict):
                        for name, opts in item.items():
                            if isinstance(opts, dict) and opts.get("cache") is False:  # git-tracked
                                allowed.add(_join(wdir, str(name)))
    for tracked in _git_ls(root, "*.dvc", "**/*.dvc"):
        allowed.add(tracked)
    return {p for p in allowed if p and not denied(p)}


def is_result(path: str, allowed: set[str]) -> bool:
    """``path`` is a declared result, a file inside a declared result folder, or a ``.dvc`` file."""
    if denied(path):
        return False
    if path in allowed or path.endswith(".dvc"):
        return True
    return any(path.startswith(folder.rstrip("/") + "/") for folder in allowed)


def denied(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return (not parts or parts[0] in DENIED_TOP or PurePosixPath(path).name in DENIED_NAMES
            or ".." in parts or path.startswith("/"))


def changed_files(root: Path) -> list[str]:
    """Files that differ from HEAD in the work tree (modified, added, untracked), repo-relative."""
    out = subprocess.run(["git", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"],
                         cwd=root, capture_output=True, check=True).stdout.decode("utf-8", "surrogateescape")
    paths = []
    for entry in filter(None, out.split("\0")):
        code, path = entry[:2], entry[3:]
        if "D" not in code:
            paths.append(path)
    return sorted(paths)


def write_folder(root: Path, folder: Path, paths: list[str], record: dict[str, Any]) -> dict[str, Any]:
    """Copy ``paths`` into ``folder/files`` and write the manifest; returns it."""
    files = []
    for rel in paths:
        source = root / rel
        if source.is_symlink() or not source.is_file():
            raise CheckFailed(f"{rel}: a result that is not a regular file; not handing it over")
        data = source.read_bytes()
        dest = folder / FILES / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        files.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    manifest = {"format": FORMAT, **record, "files": files}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest, checked for shape (not yet its files)."""
    from ci_mlops.safeload import load_json

    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        raise UserError(f"{path}: no {MANIFEST} here (did the retrain job upload its folder?)")
    try:
        manifest = load_json(path.read_bytes())
    except ValueError as exc:
        raise CheckFailed(f"{path}: not JSON ({exc}); refusing the folder") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list):
        raise CheckFailed(f"{path}: not a ci-mlops {MANIFEST} (format {FORMAT}); refusing the folder")
    return manifest


def validate_files(folder: Path, manifest: dict[str, Any], allowed: set[str]) -> list[tuple[str, bytes]]:
    """The listed files as (path, bytes), after every check; CheckFailed refuses the whole folder."""
    entries = manifest["files"]
    if len(entries) > MAX_FILES:
        raise CheckFailed(f"{MANIFEST}: {len(entries)} files listed, more than {MAX_FILES}; refusing the folder")
    listed: dict[str, dict[str, Any]] = {}
    for entry in entries:
        rel = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(rel, str) or not isinstance(entry.get("sha256"), str):
            raise CheckFailed(f"{MANIFEST}: a malformed file entry ({str(entry)[:80]}); refusing the folder")
        if rel != PurePosixPath(rel).as_posix() or "\\" in rel or any(ord(c) < 32 for c in rel):
            raise CheckFailed(f"{MANIFEST}: {rel!r} is not a plain relative path; refusing the folder")
        if not is_result(rel, allowed):
            raise CheckFailed(f"{MANIFEST}: {rel} is not a result the DVC project declares (dvc.lock, params, "
                              "git-tracked metrics or plots, .dvc files); refusing the folder")
        listed[rel] = entry
    base = folder / FILES
    present = set()
    if base.exists():
        if base.is_symlink() or not base.is_dir():
            raise CheckFailed(f"{FILES}/: not a folder; refusing it")
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                mode = path.lstat().st_mode
                rel = path.relative_to(base).as_posix()
                if stat.S_ISLNK(mode):
                    raise CheckFailed(f"{FILES}/{rel}: a symbolic link; refusing the folder")
                if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                    raise CheckFailed(f"{FILES}/{rel}: not a regular file; refusing the folder")
                if stat.S_ISREG(mode):
                    present.add(rel)
    extra = sorted(present - set(listed))
    if extra:
        raise CheckFailed(f"{FILES}/{extra[0]}: not listed in {MANIFEST}; refusing the folder")
    out = []
    for rel, entry in sorted(listed.items()):
        path = base / rel
        if rel not in present:
            raise CheckFailed(f"{FILES}/{rel}: listed in {MANIFEST} but missing; refusing the folder")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CheckFailed(f"{FILES}/{rel}: larger than {MAX_FILE_BYTES >> 20} MB; refusing the folder")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise CheckFailed(f"{FILES}/{rel}: content does not match its SHA-256; refusing the folder")
        out.append((rel, data))
    return out


def apply_files(root: Path, files: list[tuple[str, bytes]]) -> None:
    """Write validated files into the checkout (so DVC reads the new dvc.lock); never through a symlink."""
    for rel, data in files:
        dest = root / rel
        for parent in [dest, *dest.parents]:
            if parent == root:
                break
            if parent.is_symlink():
                raise CheckFailed(f"{rel}: the checkout has a symbolic link at {parent.relative_to(root)}; "
                                  "not writing through it")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


def _dvc_yamls(root: Path) -> list[Path]:
    return [root / p for p in _git_ls(root, "dvc.yaml", "**/dvc.yaml") if (root / p).is_file()
            and not (root / p).is_symlink()]


def _git_ls(root: Path, *patterns: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *patterns],
                         cwd=root, capture_output=True, check=True).stdout.decode("utf-8", "surrogateescape")
    return sorted(set(filter(None, out.split("\0"))))


def _entries(value: Any) -> list[str]:
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                out.extend(str(k) for k in item)
        return out
    return []


def _join(folder: Path | PurePosixPath, name: str) -> str:
    joined = os.path.normpath(PurePosixPath(folder.as_posix()) / name)
    return PurePosixPath(joined).as_posix().removeprefix("./")
