"""Read a revision's metrics, params and plot data: git blobs, DVC cache, workspace files.

One :class:`Snapshot` per revision. Files come from one ``git cat-file --batch``
process (a revision) or the disk (the workspace); DVC-cached outputs (``cache: true``)
come from the local DVC cache by their ``dvc.lock`` md5, and only when that misses
from ``dvc.api`` (imported lazily, slow, may need the remote).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_mlops.dvc_project import DvcProject, cache_path, load_project
from ci_mlops.errors import UserError
from ci_mlops.git import WORKSPACE, BlobReader
from ci_mlops.report.values import ParseError, metrics_values, params_values, parse


@dataclass
class Snapshot:
    """What one revision holds. ``metrics``/``params``: file -> {dotted key: value}."""

    label: str  # "workspace" or the revision as given
    project: DvcProject
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)  # plot files' bytes, by path
    missing: list[str] = field(default_factory=list)  # metrics paths to read that are not there


def declared_files(project: DvcProject, config: Any | None) -> tuple[list[str], dict[str, list[str]]]:
    """Metrics paths and params files to read: DVC's declarations, else ``report.*_files`` in config."""
    metrics = list(project.metrics_paths)
    params = dict(project.params_paths)
    if config is not None:
        for path in config.get("report", "metrics_files", default=None) or []:
            if path not in metrics:
                metrics.append(path)
        for path in config.get("report", "params_files", default=None) or []:
            params.setdefault(path, [])
    return metrics, params


def read_files(root: Path, rev: str | None, paths: list[str], project: DvcProject,
               reader: BlobReader | None, *, required: Collection[str] = (),
               label: str | None = None) -> dict[str, bytes | None]:
    """Bytes of each path at ``rev`` (None = workspace); cached DVC outputs via the cache, then DVC's API.

    None means "not there". A ``required`` path that ``dvc.lock`` records at ``rev`` but
    that neither the local cache nor the remote can provide is a :class:`UserError`
    naming ``label`` (default: the revision), the file and the fix: DVC itself fails to
    load it, and reporting it as absent would hide a regression behind "new".
    """
    root = Path(root)
    out: dict[str, bytes | None] = {}
    if rev is None:
        for path in paths:
            try:
                out[path] = (root / path).read_bytes()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                out[path] = None
    else:
        assert reader is not None
        for path, blob in zip(paths, reader.read_many([(rev, p) for p in paths])):
            out[path] = blob
    for path, blob in out.items():
        md5 = project.out_md5(path)
        if blob is not None or not md5 or md5.endswith(".dir"):
            continue
        if rev is None and not project.is_cached(path):
            continue  # a `cache: false` output lives only in the workspace (DVC reads nothing else either)
        found = _from_dvc_cache(root, rev, path, md5)
        if found is None and path in required:
            raise UserError(unreadable_output(label or rev or WORKSPACE, path, default_remote(root)))
        out[path] = found
    return out


def unreadable_output(label: str, path: str, remote: str | None) -> str:
    """The one-line error for a DVC output that ``dvc.lock`` records but nothing can provide."""
    where = "in the workspace or " if label == WORKSPACE else ""
    source = (f"the DVC remote '{remote}' could not provide it either" if remote
              else "no DVC remote is configured")
    return (f"cannot read {path} at {label}: dvc.lock records it, but it is not {where}in the local DVC cache "
            f"and {source}; run `dvc pull {path}` with the remote's credentials available to this step "
            "(and make sure CI ran `dvc push` on the base branch)")


def default_remote(root: Path) -> str | None:
    """``core.remote`` from ``.dvc/config.local`` / ``.dvc/config``: the remote DVC would pull from."""
    import configparser

    for name in ("config.local", "config"):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string((root / ".dvc" / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
        if parser.has_option("core", "remote"):
            return parser.get("core", "remote").strip() or None
    return None


def _from_dvc_cache(root: Path, rev: str | None, path: str, md5: str) -> bytes | None:
    """The bytes from the local cache, else from DVC's API (None when neither has them)."""
    try:
        return cache_path(root, md5).read_bytes()
    except OSError:
        pass
    return _from_dvc_api(root, rev, path)


def _from_dvc_api(root: Path, rev: str | None, path: str) -> bytes | None:
    """Last resort for a cached output missing locally: DVC's API (may pull from the remote)."""
    try:
        import dvc.api
    except ImportError:  # pragma: no cover - dvc is a dependency
        return None
    try:
        return dvc.api.read(path, repo=str(root), rev=rev, mode="rb")
    except Exception:  # noqa: BLE001 - DVC's messages here mislead ("not a DVC output"); the caller explains
        return None


def missing_in_workspace(path: str) -> str:
    """The one-line error for a metrics file dvc.yaml declares that the pipeline did not write."""
    return (f"metrics file {path} is declared in dvc.yaml but missing from the workspace: did the stage "
            f"that writes it fail? Run `dvc repro` (or `dvc pull {path}` for a cached output) first")


def snapshot(root: str | Path, rev: str | None, *, reader: BlobReader | None = None, config: Any | None = None,
             want_plots: bool = True, label: str | None = None) -> Snapshot:
    """Load the project at ``rev`` and read its metrics, params (and plot files).

    ``label`` names the revision in error messages (default: ``rev`` or "workspace").
    """
    root = Path(root)
    label = label or rev or WORKSPACE
    project = load_project(root, rev, reader)
    metrics_paths, params_decl = declared_files(project, config)
    plot_paths = sorted({f for plot in project.plots for f in plot["files"]}) if want_plots else []
    wanted = list(dict.fromkeys([*metrics_paths, *params_decl, *plot_paths]))
    blobs = read_files(root, rev, wanted, project, reader, required=metrics_paths, label=label)
    snap = Snapshot(label=label, project=project)
    for path in metrics_paths:
        blob = blobs.get(path)
        if blob is None:
            if rev is None and path in project.metrics_paths and not (root / path).exists():
                raise UserError(missing_in_workspace(path))
            snap.missing.append(path)
            continue
        snap.metrics[path] = _values(blob, path, label, "metrics", metrics_values, as_written=True)
    for path, keys in params_decl.items():
        blob = blobs.get(path)
        if blob is None:
            continue
        snap.params[path] = _values(blob, path, label, "params", lambda data, keys=keys: params_values(data, keys))
    for path in plot_paths:
        if blobs.get(path) is not None:
            snap.raw[path] = blobs[path]  # type: ignore[assignment]
    return snap


def _values(blob: bytes, path: str, label: str, kind: str, convert: Any, *,
            as_written: bool = False) -> dict[str, Any]:
    try:
        return convert(parse(blob, path, as_written=as_written))
    except ParseError as exc:
        raise UserError(f"cannot read {kind} file {path} at {label}: {exc}") from exc
