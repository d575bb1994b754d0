"""Read a revision's metrics, params and plot data: git blobs, DVC cache, workspace files.

One :class:`Snapshot` per revision. Files come from one ``git cat-file --batch``
process (a revision) or the disk (the workspace); DVC-cached outputs (``cache: true``)
come from the local DVC cache by their ``dvc.lock`` md5, and only when that misses
from ``dvc.api`` (imported lazily, slow, may need the remote).
"""

from __future__ import annotations

import os
from collections.abc import Collection

from ci_mlops.dvc import cache as dvc_cache
from ci_mlops.dvc.project import DvcProject, load_project
from ci_mlops.dvc.values import ParseError, metrics_values, params_values, parse
from ci_mlops.errors import UserError
from ci_mlops.git import WORKSPACE, BlobReader
from ci_mlops.record import field, mutable_record
from ci_mlops.safeload import DocumentError, read_limited
from ci_mlops.safepath import inside_text, path_text, repo_relative

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

    from ci_mlops.config import Config

MAX_WORKSPACE_FILE_BYTES = 256 * 1024 * 1024  # a metrics, params or plot file read from disk

@mutable_record
class Snapshot:
    """What one revision holds. ``metrics``/``params``: file -> {dotted key: value}."""

    label: str  # "workspace" or the revision as given
    project: DvcProject
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)  # plot files' bytes, by path
    missing: list[str] = field(default_factory=list)  # metrics paths to read that are not there
    notes: list[str] = field(default_factory=list)  # what DVC would warn about at this revision


def declared_files(project: DvcProject, config: Config | None) -> tuple[list[str], dict[str, list[str]]]:
    """Metrics paths and params files to read: DVC's declarations, else ``report.*_files`` in config."""
    metrics = list(project.metrics_paths)
    params = dict(project.params_paths)
    report = config.settings.report if config is not None else None
    if report is not None:
        for path in report.metrics_files or ():
            if path not in metrics:
                metrics.append(path)
        for path in report.params_files or ():
            params.setdefault(path, [])
    return metrics, params


def read_files(root: str | os.PathLike[str], rev: str | None, paths: list[str], project: DvcProject,
               reader: BlobReader | None, *, required: Collection[str] = (),
               label: str | None = None, remote: str | None = None) -> dict[str, bytes | None]:
    """Bytes of each path at ``rev`` (None = workspace); DVC outputs via the cache, then the remote.

    A path git does not have is looked up in ``dvc.lock``: as an output of its own, or as
    a file inside a directory output (read through the directory's ``.dir`` manifest).
    What the local cache lacks is asked of DVC, which reads the remote as ``dvc metrics
    diff`` does (``remote``: the one ``dvc.remote`` in .ci-mlops.yml names, else DVC's
    default). None means "not there". A ``required`` path that ``dvc.lock`` records at
    ``rev`` but that neither the local cache nor the remote can provide is a
    :class:`UserError` naming ``label`` (default: the revision), the file and the fix: DVC
    itself fails to load it, and reporting it as absent would hide a regression behind "new".
    """
    root = path_text(root)
    out: dict[str, bytes | None] = {}
    for path in paths:
        repo_relative(path, "declared file")
    if rev is None:
        for path in paths:
            out[path] = read_workspace_file(root, path)
    else:
        assert reader is not None
        out.update(zip(paths, reader.read_many([(rev, p) for p in paths])))
    lacking: list[str] = []
    for path, blob in out.items():
        if blob is not None:
            continue
        location = dvc_cache.locate(project, path)
        if location is None or (location.relpath is None and location.md5.endswith(".dir")):
            continue
        if not location.cached:
            continue  # a `cache: false` output lives in git or the workspace only; DVC reads nothing else either
        found = dvc_cache.read_cached(root, location)
        if found is dvc_cache.NOT_IN_OUTPUT:
            continue  # the directory output has no such file at this revision
        if found is None:
            lacking.append(path)
        out[path] = found
    if lacking:
        fetched, reason = dvc_cache.fetch(root, rev, lacking, remote=remote)
        for path in lacking:
            out[path] = fetched.get(path)
            if out[path] is None and path in required:
                raise UserError(unreadable_output(label or rev or WORKSPACE, path, remote or default_remote(root),
                                                  reason))
    return out


def read_workspace_file(root: str | os.PathLike[str], path: str, what: str = "declared file") -> bytes | None:
    """A declared file's bytes from the work tree (None when absent), within the read bounds.

    A path resolving outside the repository (``..``, a symbolic link) and a FIFO or device
    are :class:`UserError`: a PR must not get a runner's files published as its metrics.
    """
    full = inside_text(root, path, what)
    try:
        return read_limited(full, MAX_WORKSPACE_FILE_BYTES)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except DocumentError as exc:
        if os.path.isdir(full):
            return None
        raise UserError(f"{what} {path}: cannot read: {exc}") from None
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot read: {exc.strerror or exc}") from None


def unreadable_output(label: str, path: str, remote: str | None, reason: str | None = None) -> str:
    """The one-line error for a DVC output that ``dvc.lock`` records but nothing can provide."""
    where = "in the workspace or " if label == WORKSPACE else ""
    source = (f"the DVC remote '{remote}' could not provide it either" if remote
              else "no DVC remote is configured")
    why = f" ({reason})" if reason and remote else ""
    return (f"cannot read {path} at {label}: dvc.lock records it, but it is not {where}in the local DVC cache "
            f"and {source}{why}; run `dvc pull {path}` with the remote's credentials available to this step "
            "(and make sure CI ran `dvc push` on the base branch)")


def default_remote(root: str | os.PathLike[str]) -> str | None:
    """``core.remote`` from ``.dvc/config.local`` / ``.dvc/config``: the remote DVC would pull from."""
    import configparser  # lazy: its regexes cost start-up, and only a DVC config file needs them

    for name in ("config.local", "config"):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            with open(os.path.join(root, ".dvc", name), encoding="utf-8") as file:
                parser.read_string(file.read())
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
        if parser.has_option("core", "remote"):
            return parser.get("core", "remote").strip() or None
    return None


def missing_in_workspace(path: str) -> str:
    """The one-line error for a metrics file dvc.yaml declares that the pipeline did not write."""
    return (f"metrics file {path} is declared in dvc.yaml but missing from the workspace: did the stage "
            f"that writes it fail? Run `dvc repro` (or `dvc pull {path}` for a cached output) first")


def expand_plot_dirs(root: str | os.PathLike[str], project: DvcProject) -> list[dict[str, Any]]:
    """Plot declarations with each directory (``plots: - training/plots``) replaced by one per file in it.

    As ``dvc plots diff`` does: every file under the directory at this revision, from git,
    the workspace, or the directory output's ``.dir`` manifest, becomes a plot of its own
    with the directory's properties; its id is the file's path.
    """
    out: list[dict[str, Any]] = []
    for decl in project.plots:
        if decl["files"] != [decl["id"]]:
            out.append(decl)
            continue
        files = _files_under(root, project, decl["id"])
        if not files:
            out.append(decl)
            continue
        out.extend({**decl, "id": f, "files": [f], "directory": decl["id"]} for f in files)
    return out


def _files_under(root: str | os.PathLike[str], project: DvcProject, folder: str) -> list[str]:
    prefix = folder.rstrip("/") + "/"
    found = {p for p in project.files if p.startswith(prefix)}
    if project.rev is None and os.path.isdir(os.path.join(root, folder)):
        from pathlib import Path  # lazy: only a plot folder in the workspace is walked (start-up without pathlib)

        top = Path(root)
        found.update(p.relative_to(top).as_posix() for p in (top / folder).rglob("*") if p.is_file())
    if not found:
        found.update(dvc_cache.list_cached_dir(root, project, folder) or [])
    return sorted(found)


def missing_at_revision(project: DvcProject, path: str, label: str) -> str:
    """The note for a metrics file dvc.yaml declares at a revision that does not have it."""
    location = dvc_cache.locate(project, path)
    dvcfiles = [stage.dvcfile for stage in project.stages.values()
                if path in stage.outs or (location is not None and location.output in stage.outs)]
    has_lock = any(project.locks.get(f) for f in dvcfiles) if dvcfiles else any(project.locks.values())
    if not has_lock:
        why = "there is no dvc.lock, so the pipeline had not been run and committed there"
    elif location is not None:
        why = f"its dvc.lock output {location.output} does not contain it"
    else:
        why = "git does not have it and dvc.lock does not record it"
    return f"{path} is declared in dvc.yaml at {label} but absent there: {why}"


def snapshot(root: str | os.PathLike[str], rev: str | None, *, reader: BlobReader | None = None, config: Config | None = None,
             want_plots: bool = True, label: str | None = None) -> Snapshot:
    """Load the project at ``rev`` and read its metrics, params (and plot files).

    ``label`` names the revision in error messages (default: ``rev`` or "workspace").
    """
    root = path_text(root)
    label = label or rev or WORKSPACE
    project = load_project(root, rev, reader, label=label)
    metrics_paths, params_decl = declared_files(project, config)
    if want_plots:
        project.plots = expand_plot_dirs(root, project)
    plot_paths = sorted({f for plot in project.plots for f in plot["files"]}) if want_plots else []
    wanted = list(dict.fromkeys([*metrics_paths, *params_decl, *plot_paths]))
    remote = config.settings.dvc.remote if config is not None and config.settings.dvc else None
    # params files kept in the DVC cache (inside an output directory, say) must be readable too
    cached_params = [p for p in params_decl if (loc := dvc_cache.locate(project, p)) is not None and loc.cached]
    blobs = read_files(root, rev, wanted, project, reader, required=[*metrics_paths, *cached_params], label=label,
                       remote=remote)
    snap = Snapshot(label=label, project=project, notes=list(project.notes))
    for path in metrics_paths:
        blob = blobs.get(path)
        if blob is None:
            if rev is None and path in project.metrics_paths and not os.path.exists(os.path.join(root, path)):
                raise UserError(missing_in_workspace(path))
            snap.missing.append(path)
            if path in project.metrics_paths:
                snap.notes.append(missing_at_revision(project, path, label))
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
        values: dict[str, Any] = convert(parse(blob, path, as_written=as_written))
        return values
    except ParseError as exc:
        raise UserError(f"cannot read {kind} file {path} at {label}: {exc}") from exc
