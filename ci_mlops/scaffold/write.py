"""Compare planned files with the disk and the manifest; diff, then write without clobbering.

The manifest ``.github/ci-mlops.lock`` records, for every generated file, the
SHA-256 of the content as generated. A file on disk with that hash is "ours,
unchanged" and may be updated; any other content was edited by the user and is
kept unless ``force``. A generated file the user deleted stays deleted. Nothing
is written when nothing changed, so a re-run is byte-identical.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_mlops import __version__
from ci_mlops.errors import UserError
from ci_mlops.fsutil import atomic_write
from ci_mlops.scaffold import TEMPLATE_VERSION
from ci_mlops.scaffold.plan import PlannedFile

MANIFEST = ".github/ci-mlops.lock"

# Actions per file, in the order they are reported.
CREATE, UPDATE, UNCHANGED, KEEP_EDITED, KEEP_DELETED, OVERWRITE, REMOVE, KEEP_STALE, EXISTS = (
    "create", "update", "unchanged", "kept (edited by you; --force to overwrite)",
    "kept deleted (deleted by you; --force to recreate)", "overwrite (--force)", "remove (no longer generated)",
    "kept (no longer generated, edited by you)", "kept (exists)",
)
WRITES = {CREATE, UPDATE, OVERWRITE}


@dataclass
class Change:
    path: str
    action: str
    new: str | None  # planned content (None for a removal)
    old: str | None  # current content on disk
    template: str = ""
    managed: bool = True


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.exists():
        return {"files": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{MANIFEST}: cannot read ({exc.__class__.__name__}); delete it to start over") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise UserError(f"{MANIFEST}: not a ci-mlops manifest; delete it to start over")
    return data


def compare(root: Path, planned: list[PlannedFile], manifest: dict[str, Any], *, force: bool = False) -> list[Change]:
    """What writing ``planned`` would do to each file (managed, unmanaged and stale)."""
    recorded: dict[str, Any] = manifest.get("files", {})
    changes: list[Change] = []
    for file in planned:
        old = _read(root / file.path)
        entry = recorded.get(file.path)
        if not file.managed:
            action = CREATE if old is None else EXISTS
        elif old is None:
            action = KEEP_DELETED if entry and not force else CREATE
        elif old == file.content:
            action = UNCHANGED
        elif entry and sha256(old) == entry.get("sha256"):
            action = UPDATE
        else:
            action = OVERWRITE if force else KEEP_EDITED
        changes.append(Change(file.path, action, file.content, old, file.template, file.managed))
    planned_paths = {f.path for f in planned}
    for path, entry in sorted(recorded.items()):
        if path in planned_paths:
            continue
        old = _read(root / path)
        if old is None:
            continue
        ours = sha256(old) == entry.get("sha256")
        changes.append(Change(path, REMOVE if ours or force else KEEP_STALE, None, old, entry.get("template", "")))
    return changes


def new_manifest(changes: list[Change], mode: str, previous: dict[str, Any]) -> dict[str, Any]:
    """The manifest after applying ``changes``: kept files keep the hash of what was generated."""
    old_files = previous.get("files", {})
    files: dict[str, Any] = {}
    for c in changes:
        if not c.managed or c.action in (REMOVE,):
            continue
        if c.action in (CREATE, UPDATE, UNCHANGED, OVERWRITE):
            if c.action == UNCHANGED and c.path not in old_files:
                pass  # identical to what we would generate: adopt it
            files[c.path] = {"sha256": sha256(c.new or ""), "template": c.template}
        elif c.path in old_files:
            files[c.path] = old_files[c.path]
    return {
        "comment": "Written by `ci-mlops init`: what it generated, to tell its files from your edits. Do not edit.",
        "ci_mlops_version": __version__,
        "template_version": TEMPLATE_VERSION,
        "mode": mode,
        "files": dict(sorted(files.items())),
    }


def manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=False) + "\n"


def unified_diff(change: Change) -> str:
    """The change as a unified diff (``/dev/null`` for created or removed files)."""
    old = change.old if change.action not in (CREATE,) else None
    new = change.new if change.action in WRITES else None
    if change.action == REMOVE:
        new = None
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    return "".join(difflib.unified_diff(
        a, b, fromfile=f"a/{change.path}" if old is not None else "/dev/null",
        tofile=f"b/{change.path}" if new is not None else "/dev/null",
    ))


def apply(root: Path, changes: list[Change], manifest: dict[str, Any], previous_text: str | None) -> list[str]:
    """Write every change atomically, then the manifest if it changed. Returns the paths touched."""
    touched: list[str] = []
    for c in changes:
        if c.action in WRITES:
            atomic_write(root / c.path, c.new or "")
            touched.append(c.path)
        elif c.action == REMOVE:
            (root / c.path).unlink()
            touched.append(c.path)
    text = manifest_text(manifest)
    if text != previous_text and (manifest["files"] or previous_text is not None):
        atomic_write(root / MANIFEST, text)
        touched.append(MANIFEST)
    return touched


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
