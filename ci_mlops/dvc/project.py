"""A DVC project at any revision, read at git speed: ``dvc.yaml`` + ``dvc.lock`` -> plain data.

``load_project(root, rev)`` reads every ``dvc.yaml`` (a monorepo may have many) and
its ``dvc.lock`` through one ``git cat-file --batch`` process (or from disk for the
workspace) and returns stages, declared metrics/params/plots, locked hashes and
artifacts, with every path relative to the repository root (POSIX separators), the
way ``dvc metrics diff`` run at the root names them. With ``dvcfiles=True`` it reads the
``.dvc`` files of ``dvc add`` too, so their outputs are found like a stage's. DVC itself is imported only for
``dvc.yaml`` files that use templating (``${...}``, ``foreach``, ``matrix``).
"""

from __future__ import annotations

import os
import posixpath
import re

from ci_mlops.errors import UserError
from ci_mlops.git import WORKSPACE, BlobReader, Repo
from ci_mlops.record import field, mutable_record
from ci_mlops.safeload import MAX_YAML_BYTES, DocumentError, read_limited, yaml_error, yaml_syntax
from ci_mlops.safeload import load_yaml as load_bounded
from ci_mlops.safepath import folder_and_parents, inside_text, path_text
from ci_mlops.yamlplain import YAML12, int_12
from ci_mlops.yamlplain import load as load_plain

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

DVCYAML = "dvc.yaml"
DVCLOCK = "dvc.lock"
DEFAULT_PARAMS_FILE = "params.yaml"


@mutable_record
class Stage:
    """One pipeline stage. Paths are repo-root relative; ``wdir`` is too ("" = root)."""

    name: str
    dvcfile: str
    cmd: str | list[str] = ""
    wdir: str = ""
    deps: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)
    params: dict[str, list[str]] = field(default_factory=dict)  # file -> keys ([] = whole file)
    metrics: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    cached: dict[str, bool] = field(default_factory=dict)  # out path -> cache: true/false


@mutable_record
class DvcProject:
    """What DVC knows about a project at one revision (``rev`` None = workspace). ``root``: the repository's
    folder as text (as ``str(Path(root))`` writes it)."""

    root: str
    rev: str | None
    dvcyaml_paths: list[str] = field(default_factory=list)
    stages: dict[str, Stage] = field(default_factory=dict)
    lock_outs: dict[str, dict[str, Any]] = field(default_factory=dict)  # dvc.lock (and .dvc file) outputs
    lock_deps: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics_paths: list[str] = field(default_factory=list)
    params_paths: dict[str, list[str]] = field(default_factory=dict)  # file -> keys ([] = whole file)
    plots: list[dict[str, Any]] = field(default_factory=list)
    has_dvc: bool = False
    subprojects: list[str] = field(default_factory=list)  # folders with their own .dvc/: separate projects
    locks: dict[str, bool] = field(default_factory=dict)  # dvc.yaml path -> its dvc.lock exists at rev
    notes: list[str] = field(default_factory=list)  # what DVC would warn about, said once in the report
    files: list[str] = field(default_factory=list)  # every path git has at rev (workspace: tracked + untracked)
    dvcfiles: list[str] = field(default_factory=list)  # the ``.dvc`` files read (``load_project(dvcfiles=True)``)
    added_cached: dict[str, bool] = field(default_factory=dict)  # a .dvc file's out path -> cache: true/false

    def is_cached(self, path: str) -> bool:
        """True when ``path`` is a DVC-cached output (its content lives in the DVC cache, not git)."""
        return any(stage.cached.get(path) for stage in self.stages.values()) or self.added_cached.get(path, False)

    def out_md5(self, path: str) -> str | None:
        entry = self.lock_outs.get(path)
        return entry.get("md5") if entry else None


def cache_folder(root: str | os.PathLike[str]) -> str:
    """:func:`cache_dir` as text (the report's path: start-up without pathlib)."""
    dvc_folder = os.path.join(path_text(root), ".dvc")
    for name in ("config.local", "config"):
        cfg_path = os.path.join(dvc_folder, name)
        if not os.path.isfile(cfg_path):
            continue
        import configparser  # lazy: its regexes cost start-up, and only a DVC config file needs them

        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            with open(cfg_path, encoding="utf-8") as file:
                parser.read_string(file.read())
        except (configparser.Error, UnicodeDecodeError):
            continue
        if parser.has_option("cache", "dir"):
            configured = path_text(parser.get("cache", "dir").strip())
            return configured if configured.startswith("/") else os.path.realpath(os.path.join(dvc_folder, configured))
    return os.path.join(dvc_folder, "cache")


def cache_dir(root: str | os.PathLike[str]) -> Path:
    """The DVC cache directory: ``cache.dir`` from ``.dvc/config.local`` / ``.dvc/config``, else ``.dvc/cache``."""
    from pathlib import Path  # lazy: the report's path uses cache_folder (start-up without pathlib)

    return Path(cache_folder(root))


def cache_path(root: str | os.PathLike[str], md5: str) -> Path:
    """Where DVC 3 keeps a file whose ``dvc.lock`` md5 is ``md5``: ``.dvc/cache/files/md5/XX/REST``."""
    return cache_dir(root) / "files" / "md5" / md5[:2] / md5[2:]


def load_project(root: str | os.PathLike[str], rev: str | None = None, reader: BlobReader | None = None, *,
                 label: str | None = None, dvcfiles: bool = False) -> DvcProject:
    """Read the DVC project at ``rev`` (None or "workspace" = the files on disk).

    ``reader`` reuses an open :class:`BlobReader`; without one a reader is opened
    and closed here. A ``dvc.yaml`` that is not valid YAML, or that DVC 3 would reject, is a
    :class:`UserError` naming the revision (``label``, default ``rev``) and file.
    ``dvcfiles``: also read every ``.dvc`` file (``dvc add``); their outputs join ``lock_outs``.
    """
    root = path_text(root)
    rev = None if rev in (None, WORKSPACE) else rev
    own_reader = reader is None and rev is not None
    if own_reader:
        reader = BlobReader(root)
    try:
        files = _list_files(root, rev, reader)
        subprojects = _subprojects(root, rev, files)
        yaml_paths = sorted((p for p in files if posixpath.basename(p) == DVCYAML
                             and not _inside(p, subprojects)), key=_dvcfile_order)
        specs = [p for y in yaml_paths for p in (y, _sibling(y, DVCLOCK))]
        added = sorted(p for p in files if _is_dvcfile(p) and not _inside(p, subprojects)) if dvcfiles else []
        blobs = _read(root, rev, specs + added, reader)
    finally:
        if own_reader and reader is not None:
            reader.close()
    project = DvcProject(root=root, rev=rev, dvcyaml_paths=yaml_paths, subprojects=subprojects, files=files,
                         dvcfiles=added)
    project.has_dvc = bool(yaml_paths) or any(p.startswith(".dvc/") for p in files) or os.path.isdir(os.path.join(root, ".dvc"))
    label = label or rev or WORKSPACE
    for folder in subprojects:
        project.notes.append(f"{folder}/ is a separate DVC project (it has its own .dvc/); as in DVC, its "
                             f"metrics, params and plots are not part of this report")
    params_decl: list[dict[str, list[str]]] = []
    for index, yaml_path in enumerate(yaml_paths):
        text, lock_text = blobs[2 * index], blobs[2 * index + 1]
        if text is None:
            continue
        data = _parse_dvcyaml(text, yaml_path, label, root, rev)
        lock_path = _sibling(yaml_path, DVCLOCK)
        project.locks[yaml_path] = lock_text is not None
        lock = _parse_lock(lock_text, lock_path, label)
        if lock.pop(_DVC1, False):
            project.notes.append(f"{lock_path} at {label} is a DVC 1 lock file that DVC 3 cannot read "
                                 "(`dvc metrics diff` shows nothing there); the values shown are the files in "
                                 "git. Delete it and run `dvc repro` with DVC 3 to write one DVC 3 reads")
        _add_dvcfile(project, yaml_path, data, lock, params_decl)
    for path, text in zip(added, blobs[len(specs):], strict=True):
        if text is not None:
            _add_tracked(project, path, _load_yaml(text, f"{path} at {label}"))
    if rev is None:
        default_exists = os.path.isfile(os.path.join(root, DEFAULT_PARAMS_FILE))
    else:
        default_exists = DEFAULT_PARAMS_FILE in files
    if default_exists:
        params_decl.append({DEFAULT_PARAMS_FILE: []})
    project.params_paths = merge_params(params_decl)
    return project


def merge_params(declared: list[dict[str, list[str]]]) -> dict[str, list[str]]:
    """Combine params declarations as DVC does: a file tracked whole (``[]``) wins over key lists."""
    whole = {f for item in declared for f, keys in item.items() if not keys}
    merged: dict[str, list[str]] = {}
    for item in declared:
        for path, keys in item.items():
            if path in whole:
                merged[path] = []
                continue
            bucket = merged.setdefault(path, [])
            bucket.extend(k for k in keys if k not in bucket)
    return merged


# -- reading ---------------------------------------------------------------------------


def _list_files(root: str, rev: str | None, reader: BlobReader | None) -> list[str]:
    if rev is None and not any(os.path.exists(os.path.join(folder, ".git")) for folder in folder_and_parents(root)):
        return _walk(root)  # a DVC project without git (`dvc init --no-scm`)
    return Repo(root, batch=reader).ls_files(rev)  # a revision's files listed in the reader's process


def _walk(root: str) -> list[str]:
    """Every file below ``root`` except DVC's own folder, as git would list the workspace."""
    found: list[str] = []
    below = len(root if root.endswith("/") else root + "/")  # os.walk joins each folder to ``root``
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".dvc")
        base = "." if folder == root else folder[below:]
        found.extend(name if base == "." else f"{base}/{name}" for name in sorted(names))
    return found


def _is_dvcfile(path: str) -> bool:
    """A ``.dvc`` file of ``dvc add`` (not a file inside DVC's own ``.dvc/`` folder)."""
    return path.endswith(".dvc") and posixpath.basename(path) != ".dvc" and ".dvc" not in path.split("/")[:-1]


def _read(root: str, rev: str | None, paths: list[str], reader: BlobReader | None) -> list[bytes | None]:
    if rev is None:
        out: list[bytes | None] = []
        for path in paths:
            try:
                out.append(read_limited(inside_text(root, path, "DVC file"), MAX_YAML_BYTES))
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                out.append(None)
            except DocumentError as exc:
                raise UserError(f"{path}: cannot read: {exc}") from None
        return out
    assert reader is not None
    return reader.read_many([(rev, p) for p in paths])


def _subprojects(root: str, rev: str | None, files: list[str]) -> list[str]:
    """Folders below the root that hold their own ``.dvc/``: DVC treats each as a separate project."""
    found = {p.split("/.dvc/", 1)[0] for p in files if "/.dvc/" in p and not p.startswith(".dvc/")}
    if rev is None:  # a nested project's .dvc/ may be untracked or ignored in the workspace
        for path in files:
            folder = posixpath.dirname(path)
            if posixpath.basename(path) == DVCYAML and folder and os.path.isdir(os.path.join(root, folder, ".dvc")):
                found.add(folder)
    # only the outermost ones: a project nested in a nested project is that project's business
    return sorted(f for f in found if not _inside(f, found - {f}))


def _inside(path: str, folders: Any) -> bool:
    return any(path == f or path.startswith(f + "/") for f in folders)


def _dvcfile_order(path: str) -> tuple[int, str]:
    return (path.count("/"), path)


def _sibling(path: str, name: str) -> str:
    folder = posixpath.dirname(path)
    return posixpath.join(folder, name) if folder else name


def _join(*parts: str) -> str:
    """Join and normalise to a repo-relative POSIX path ("" for the root)."""
    kept = [p for p in parts if p]
    joined = posixpath.normpath(posixpath.join(*kept)) if kept else "."
    return "" if joined == "." else joined


def yaml_loader() -> type:
    """PyYAML's C loader taught YAML 1.2's core schema, which DVC (ruamel) uses.

    So ``1e-3`` is a float and ``yes``/``on`` are strings, exactly as DVC reads
    them, at C speed (ruamel here is pure Python and ~20x slower). The table is
    ``yamlplain.YAML12``, which the plain reader resolves with too.
    """
    global _LOADER
    if _LOADER is None:
        import yaml  # lazy: PyYAML is slow to import, and plain files never need it (yamlplain)

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Yaml12Loader(base):  # type: ignore[misc, valid-type]
            pass

        Yaml12Loader.yaml_implicit_resolvers = {}
        for tag, pattern, first in YAML12:
            Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{tag}", re.compile(pattern, re.X),
                                               [ch if ch != "\0" else "" for ch in first])
        Yaml12Loader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: int_12(loader.construct_scalar(node)))
        _LOADER = Yaml12Loader
    return _LOADER


_LOADER: type | None = None


def load_yaml(text: str) -> Any:
    """Parse YAML the way DVC does (YAML 1.2 core schema), within :mod:`ci_mlops.safeload`'s bounds.

    A plain document is read by :mod:`ci_mlops.yamlplain`, anything else by PyYAML.
    Raises ``yaml.YAMLError`` for bad syntax and :class:`~ci_mlops.safeload.DocumentError` for a bound.
    """
    plain = load_plain(text, "1.2")
    return plain if plain is not None else load_bounded(text, yaml_loader())


def _load_yaml(text: bytes, what: str) -> Any:
    try:
        return load_yaml(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"{what}: not UTF-8 text") from exc
    except DocumentError as exc:
        raise UserError(f"{what}: {exc}") from None
    except yaml_error() as exc:
        raise UserError(f"{what}: {yaml_syntax(exc)}") from exc


def _uses_templating(text: bytes) -> bool:
    return b"${" in text or b"foreach:" in text or b"matrix:" in text


def _parse_dvcyaml(text: bytes, path: str, label: str, root: str, rev: str | None) -> dict[str, Any]:
    what = f"{path} at {label}"
    if _uses_templating(text):
        data = _load_yaml(text, what) or {}
        if isinstance(data, dict):
            check_dvc3_keys(data, what)
        return _resolve_with_dvc(root, rev, path, what)
    data = _load_yaml(text, what) or {}
    if not isinstance(data, dict):
        raise UserError(f"{what}: expected a mapping at the top level")
    check_dvc3_keys(data, what)
    return data


# The keys DVC 3's dvc.yaml schema accepts (dvc/schema.py); anything else fails DVC's validation
# ("failed to load metrics ... dvc.yaml validation failed") and DVC shows nothing for the revision.
TOP_LEVEL_KEYS = frozenset({"stages", "vars", "plots", "metrics", "params", "artifacts", "datasets"})
STAGE_KEYS = frozenset({"cmd", "wdir", "deps", "params", "vars", "frozen", "meta", "desc", "always_changed",
                        "outs", "metrics", "plots", "matrix"})
_KEY_HINTS = {
    "live": " (DVC 2's DVCLive section; DVC 3 removed it: declare DVCLive's files as `metrics:` and "
            "`plots:`, e.g. `metrics: [dvclive/metrics.json]`, `plots: [dvclive/plots]`)",
}


def check_dvc3_keys(data: dict[str, Any], what: str) -> None:
    """Refuse a ``dvc.yaml`` that DVC 3 cannot load, naming the key, as DVC's validation would."""
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise UserError(f"{what}: {key}: not a dvc.yaml key DVC 3 accepts{_KEY_HINTS.get(str(key), '')}; "
                            "DVC cannot read this file either")
    stages = data.get("stages")
    if not isinstance(stages, dict):
        return
    for name, spec in stages.items():
        if not isinstance(spec, dict):
            continue
        if "foreach" in spec or "do" in spec:
            spec = spec.get("do") if isinstance(spec.get("do"), dict) else {}
        for key in spec:
            if key not in STAGE_KEYS:
                raise UserError(f"{what}: stages.{name}.{key}: not a stage key DVC 3 accepts"
                                f"{_KEY_HINTS.get(str(key), '')}; DVC cannot read this file either")
        if "cmd" not in spec:
            raise UserError(f"{what}: stages.{name}.cmd: missing (DVC 3 requires a command for every stage); "
                            "DVC cannot read this file either")


def _resolve_with_dvc(root: str, rev: str | None, path: str, what: str) -> dict[str, Any]:
    """Let DVC resolve ``${...}``/``foreach``/``matrix``; returns the plain dvc.yaml structure."""
    try:  # DVC's Python API costs a second to import: only for templated dvc.yaml files
        from dvc.parsing import DataResolver
        from dvc.repo import Repo as DvcRepo
        from dvc.utils.serialize import parse_yaml
    except ImportError as exc:  # pragma: no cover - dvc is a dependency
        raise UserError(f"{what}: uses templating, which needs DVC installed") from exc
    try:
        with DvcRepo(str(root)) as dvc_repo:
            if rev is None:
                fs = dvc_repo.fs
                text = fs.read_text(fs.join(dvc_repo.root_dir, path))
                wdir = fs.join(dvc_repo.root_dir, posixpath.dirname(path))
                return _dvc_resolve(DataResolver, parse_yaml, dvc_repo, fs, wdir, text, path)
            with dvc_repo.switch(rev):
                fs = dvc_repo.fs
                full = fs.join(dvc_repo.root_dir, path)
                text = fs.read_text(full)
                wdir = fs.join(dvc_repo.root_dir, posixpath.dirname(path))
                return _dvc_resolve(DataResolver, parse_yaml, dvc_repo, fs, wdir, text, path)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{what}: cannot resolve templating: {exc}") from exc


def _dvc_resolve(resolver_cls: Any, parse_yaml: Any, dvc_repo: Any, fs: Any, wdir: str, text: str, path: str) -> dict[str, Any]:
    data = parse_yaml(text, path) or {}
    resolver = resolver_cls(dvc_repo, wdir, data)
    resolved = dict(data)
    resolved["stages"] = resolver.resolve().get("stages", {})
    for key in ("metrics", "params", "plots", "artifacts"):
        if key in data:
            resolve = getattr(resolver, f"resolve_{key}", None)
            resolved[key] = resolve() if resolve is not None else data[key]
    resolved.pop("vars", None)
    return resolved


_DVC1 = "__dvc1__"


def _parse_lock(text: bytes | None, path: str, label: str) -> dict[str, Any]:
    """A ``dvc.lock`` as ``{"stages": ...}``; a DVC 1 lock (stages at the top level, no ``schema``)
    is read the same way and marked with the ``_DVC1`` key."""
    if text is None:
        return {}
    data = _load_yaml(text, f"{path} at {label}") or {}
    if not isinstance(data, dict):
        return {}
    if "schema" not in data and "stages" not in data and data and all(
            isinstance(v, dict) and "cmd" in v for v in data.values()):
        return {"stages": data, _DVC1: True}
    return data


# -- interpreting dvc.yaml ---------------------------------------------------------------


def _entries(items: Any) -> list[tuple[str, dict[str, Any]]]:
    """``[path, {path: {opts}}]`` declarations -> [(path, opts)]."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(items, (str, dict)):
        items = [items]
    for item in items or []:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict):
            for key, opts in item.items():
                out.append((str(key), opts if isinstance(opts, dict) else {}))
    return out


def _params_decl(items: Any, base: str) -> dict[str, list[str]]:
    """Stage ``params:`` -> {repo-relative file: keys}; bare keys go to ``params.yaml`` in the wdir."""
    declared: dict[str, list[str]] = {}
    if isinstance(items, (str, dict)):
        items = [items]
    for item in items or []:
        if isinstance(item, str):
            declared.setdefault(_join(base, DEFAULT_PARAMS_FILE), []).append(item)
        elif isinstance(item, dict):
            for file, keys in item.items():
                bucket = declared.setdefault(_join(base, str(file)), [])
                if isinstance(keys, list):
                    bucket.extend(str(k) for k in keys)
    return declared


def _add_dvcfile(project: DvcProject, yaml_path: str, data: dict[str, Any], lock: dict[str, Any],
                 params_decl: list[dict[str, list[str]]]) -> None:
    folder = posixpath.dirname(yaml_path)
    lock_stages = lock.get("stages") if isinstance(lock.get("stages"), dict) else {}
    stages = data["stages"] if isinstance(data.get("stages"), dict) else {}
    for name, spec in stages.items():
        if not isinstance(spec, dict):
            continue
        wdir = _join(folder, str(spec.get("wdir") or ""))
        stage = Stage(
            name=str(name) if not folder else f"{yaml_path}:{name}",
            dvcfile=yaml_path, cmd=spec.get("cmd", ""), wdir=wdir,
        )
        stage.deps = [_join(wdir, p) for p, _ in _entries(spec.get("deps"))]
        stage.params = _params_decl(spec.get("params"), wdir)
        for kind in ("outs", "metrics", "plots"):
            for path, opts in _entries(spec.get(kind)):
                full = _join(wdir, path)
                stage.outs.append(full)
                stage.cached[full] = bool(opts.get("cache", True))
                if kind == "metrics":
                    stage.metrics.append(full)
                    _append_unique(project.metrics_paths, full)
                elif kind == "plots":
                    stage.plots.append(full)
                    project.plots.append(_plot_decl(full, opts, yaml_path))
        project.stages[stage.name] = stage
        params_decl.append(stage.params)
        locked = lock_stages.get(name) if isinstance(lock_stages, dict) else None
        if isinstance(locked, dict):
            _add_lock(project, wdir, locked)
    # foreach/matrix stages resolved by DVC have names like "train@1"; lock entries match them.
    for path, _ in _entries(data.get("metrics")):
        _append_unique(project.metrics_paths, _join(folder, path))
    for path, _ in _entries(data.get("params")):
        params_decl.append({_join(folder, path): []})
    _add_top_level_plots(project, data.get("plots"), folder, yaml_path)
    artifacts = data.get("artifacts")
    if isinstance(artifacts, dict):
        for name, spec in artifacts.items():
            if isinstance(spec, dict):
                project.artifacts[str(name)] = {
                    "path": _join(folder, str(spec.get("path", ""))), "type": spec.get("type"),
                    "desc": spec.get("desc"), "labels": list(spec.get("labels") or []),
                    "meta": dict(spec.get("meta") or {}),
                }


def _add_tracked(project: DvcProject, path: str, data: Any) -> None:
    """The outputs of one ``.dvc`` file, relative to its folder (and its ``wdir``)."""
    if not isinstance(data, dict):
        return
    wdir = _join(posixpath.dirname(path), str(data.get("wdir") or ""))
    for out in data.get("outs") or []:
        if isinstance(out, dict) and "path" in out:
            full = _join(wdir, str(out["path"]))
            project.lock_outs[full] = _hash_info(out)
            project.added_cached[full] = bool(out.get("cache", True))


def _add_lock(project: DvcProject, wdir: str, locked: dict[str, Any]) -> None:
    for dep in locked.get("deps") or []:
        if isinstance(dep, dict) and "path" in dep:
            project.lock_deps[_join(wdir, str(dep["path"]))] = _hash_info(dep)
    for out in locked.get("outs") or []:
        if isinstance(out, dict) and "path" in out:
            project.lock_outs[_join(wdir, str(out["path"]))] = _hash_info(out)
    params = locked.get("params")
    if isinstance(params, dict):
        for file, values in params.items():
            if isinstance(values, dict):
                project.lock_params.setdefault(_join(wdir, str(file)), {}).update(values)


def _hash_info(entry: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {k: entry[k] for k in ("md5", "size", "nfiles", "hash") if k in entry}
    if "md5" not in info and "etag" in entry:
        info["etag"] = entry["etag"]
    return info


def _plot_decl(path: str, opts: dict[str, Any], dvcfile: str) -> dict[str, Any]:
    return {
        "id": path, "files": [path], "dvcfile": dvcfile,
        "x": opts.get("x"), "y": opts.get("y"), "template": opts.get("template", "linear"),
        "title": opts.get("title"), "x_label": opts.get("x_label"), "y_label": opts.get("y_label"),
    }


def _add_top_level_plots(project: DvcProject, plots: Any, folder: str, dvcfile: str) -> None:
    """Top-level ``plots:``: a path, or ``{id: {x, y, template}}`` where x/y may map files to columns."""
    for item in plots or []:
        if isinstance(item, str):
            project.plots.append(_plot_decl(_join(folder, item), {}, dvcfile))
            continue
        if not isinstance(item, dict):
            continue
        for plot_id, opts in item.items():
            opts = opts if isinstance(opts, dict) else {}
            y = opts.get("y")
            x = opts.get("x")
            if isinstance(y, dict):
                files = [_join(folder, str(f)) for f in y]
                y = {_join(folder, str(f)): cols for f, cols in y.items()}
            else:
                files = [_join(folder, str(plot_id))]
            if isinstance(x, dict):
                x = {_join(folder, str(f)): col for f, col in x.items()}
            decl = _plot_decl(str(plot_id) if isinstance(opts.get("y"), dict) else files[0], {**opts, "x": x, "y": y}, dvcfile)
            decl["files"] = files
            project.plots.append(decl)


def _append_unique(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)
