"""What a repository already has, read from files (no DVC import, nothing written).

:func:`detect` gathers the facts ``init`` needs to propose settings: git root and
default branch, Python version, install command, DVC state (``dvc.yaml`` files with
their stages, metrics and plots; remotes from ``.dvc/config``), tests, a training
script, and the workflows that exist. Anything malformed that ``init`` would rely on
(``dvc.yaml``, ``.ci-mlops.yml``) is a :class:`UserError` naming the file.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_mlops.config import CONFIG_NAME, Config, load_config
from ci_mlops.errors import UserError
from ci_mlops.git import Repo
from ci_mlops.safeload import MAX_YAML_BYTES, DocumentError, load_toml, load_yaml, read_limited
from ci_mlops.scaffold.existing import Workflow, read_workflows
from ci_mlops.scaffold.needs import (
    ProjectEnv,
    conda_python,
    detect_env,
    detect_tests,
    gpu_reasons,
    python_ceiling,
    read_text,
    stage_requirements,
    tidy_path,
)

TRAIN_SCRIPTS = ("train.py", "src/train.py", "scripts/train.py", "training/train.py", "src/models/train_model.py")
# Directories never searched for dvc.yaml files.
SKIP_DIRS = {".git", ".dvc", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", "site-packages"}
# Environment variables each remote type reads its credentials from (DVC's plugins).
REMOTE_SECRETS = {
    "s3": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    "azure": ["AZURE_STORAGE_CONNECTION_STRING"],
    "gdrive": ["GDRIVE_CREDENTIALS_DATA"],
}
# pip extras of dvc that a remote type needs in CI.
REMOTE_EXTRAS = {"s3": "s3", "gs": "gs", "gcs": "gs", "azure": "azure", "gdrive": "gdrive",
                 "ssh": "ssh", "hdfs": "hdfs", "webhdfs": "webhdfs", "oss": "oss", "webdav": "webdav",
                 "webdavs": "webdav", "http": None, "https": None}


# .dvc/config options of an http(s) remote that give it credentials (DVC's HTTP remote).
HTTP_AUTH_OPTIONS = ("auth", "user", "password", "ask_password", "custom_auth_header")


@dataclass
class Remote:
    name: str
    url: str
    options: dict[str, str] = field(default_factory=dict)  # the remote's other .dvc/config options

    @property
    def scheme(self) -> str:
        match = re.match(r"^([a-z0-9+.-]+)://", self.url)
        return match.group(1) if match else "local"

    @property
    def read_only(self) -> bool:
        """A plain http(s) remote without credentials (e.g. DVC's public example remotes):
        anyone can read it, nobody can push to it."""
        return self.scheme in ("http", "https") and not any(o in self.options for o in HTTP_AUTH_OPTIONS)


@dataclass
class DvcFacts:
    initialised: bool = False
    dvcyaml_paths: list[str] = field(default_factory=list)
    stages: dict[str, list[str]] = field(default_factory=dict)  # dvc.yaml path -> stage names
    outs: list[str] = field(default_factory=list)  # repo-relative outputs of every stage
    metrics: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    tracked: list[str] = field(default_factory=list)  # data tracked by .dvc files
    remotes: list[Remote] = field(default_factory=list)
    default_remote: str | None = None
    stage_details: list[dict[str, Any]] = field(default_factory=list)  # cmd, deps, wdir, folder per stage
    dvc2: list[str] = field(default_factory=list)  # DVC 2 features DVC 3 no longer runs, "dvc.yaml: ..."

    @property
    def remote(self) -> Remote | None:
        """The remote CI would use: the configured default, else the only one."""
        by_name = {r.name: r for r in self.remotes}
        if self.default_remote in by_name:
            return by_name[self.default_remote]
        return self.remotes[0] if len(self.remotes) == 1 else None

    def is_output(self, path: str) -> bool:
        """Whether DVC can pull ``path`` (a stage output or a ``.dvc``-tracked path, or inside one)."""
        path = path.strip("/")
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in (*self.outs, *self.tracked))


@dataclass
class RepoFacts:
    root: Path
    default_branch: str
    python: str | None
    install: str | None
    dvc: DvcFacts
    tests: bool
    train_script: str | None
    workflows: list[str]  # existing .github/workflows/* (repo-relative)
    config: Config | None  # the existing .ci-mlops.yml, validated
    name: str
    python_source: str = ""  # the file the python version was read from
    env: ProjectEnv = field(default_factory=ProjectEnv)
    test_files: list[str] = field(default_factory=list)  # files pytest would collect tests from
    existing: list[Workflow] = field(default_factory=list)  # the repository's own workflows, read
    gpu: list[str] = field(default_factory=list)  # why it looks like GPU training

    @property
    def train_command(self) -> str | None:
        return f"python {self.train_script}" if self.train_script else None


def detect(path: str | Path = ".") -> RepoFacts:
    git_dir = next((p for p in (Path(path).resolve(), *Path(path).resolve().parents) if p.name == ".git"), None)
    if git_dir is not None:
        raise UserError(f"{path}: is in git's own .git directory; point init at the work tree ({git_dir.parent})")
    repo = Repo.discover(path)
    root = repo.root
    config_path = root / CONFIG_NAME
    if config_path.is_symlink() and not config_path.exists():
        raise UserError(f"{CONFIG_NAME}: a symbolic link to {os.readlink(config_path)}, which does not exist; "
                        "fix or remove the link")
    config = load_config(config_path) if config_path.exists() else None
    dvc = detect_dvc(root)
    test_files = detect_tests(root)
    env = detect_env(root, stage_requirements(root, dvc.stage_details), tests=bool(test_files))
    workflows = sorted(p.relative_to(root).as_posix() for p in (root / ".github" / "workflows").glob("*")
                       if p.suffix in (".yml", ".yaml"))
    existing = read_workflows(root, workflows)
    python, python_source = detect_python(root, existing, env)
    return RepoFacts(
        root=root,
        default_branch=repo.default_branch(),
        python=python,
        install=env.install,
        dvc=dvc,
        tests=bool(test_files) and env.pytest,
        train_script=next((s for s in TRAIN_SCRIPTS if (root / s).is_file()), None),
        workflows=workflows,
        config=config,
        name=root.name,
        python_source=python_source,
        env=env,
        test_files=test_files,
        existing=existing,
        gpu=gpu_reasons(env, [hint for wf in existing for hint in wf.gpu]),
    )


# -- python and install --------------------------------------------------------------


def detect_python(root: Path, existing: Sequence[Workflow] = (), env: ProjectEnv | None = None) -> tuple[str | None, str]:
    """MAJOR.MINOR and where it was read: .python-version, runtime.txt, environment.yml, the
    repository's workflows (actions/setup-python), pyproject's requires-python (its lower bound),
    a Dockerfile's or devcontainer's python image, else the newest Python a pinned TensorFlow supports."""
    pv = _read(root / ".python-version")
    if pv:
        match = re.search(r"(\d+\.\d+)", pv.splitlines()[0] if pv.splitlines() else "")
        if match:
            return match.group(1), ".python-version"
    runtime = _read(root / "runtime.txt")
    if runtime:
        match = re.search(r"(\d+\.\d+)", runtime)
        if match:
            return match.group(1), "runtime.txt"
    for name in ("environment.yml", "environment.yaml"):
        version = conda_python(root / name)
        if version:
            return version, name
    for wf in existing:
        if wf.pythons:
            return max(set(wf.pythons), key=wf.pythons.count), wf.path
    requires = (_pyproject(root).get("project") or {}).get("requires-python")
    if isinstance(requires, str):
        match = re.search(r"(?:>=|~=|==)\s*(\d+\.\d+)", requires)
        if match:
            return match.group(1), "pyproject.toml (requires-python)"
    for name in ("Dockerfile", ".devcontainer/devcontainer.json", ".devcontainer.json"):
        match = re.search(r"\bpython:(\d+\.\d+)", _read(root / name) or "")
        if match:
            return match.group(1), f"{name} (its python image)"
    ceiling = python_ceiling(env) if env is not None else None
    return ceiling if ceiling else (None, "")


# -- DVC -----------------------------------------------------------------------------


def detect_dvc(root: Path) -> DvcFacts:
    facts = DvcFacts(initialised=(root / ".dvc").is_dir())
    for path in find_dvcyaml(root):
        rel = path.relative_to(root).as_posix()
        folder = path.parent.relative_to(root).as_posix()
        stages = parse_dvcyaml(path, rel)
        facts.dvcyaml_paths.append(rel)
        facts.stages[rel] = list(stages["stages"])
        facts.outs += [_join(folder, wdir, o) for wdir, o in stages["outs"]]
        facts.metrics += [_join(folder, "", m) for m in stages["metrics"]]
        facts.plots += [_join(folder, "", p) for p in stages["plots"]]
        facts.stage_details += [{**d, "folder": folder} for d in stages["details"]]
        facts.dvc2 += [f"{rel}: {what}" for what in stages["dvc2"]]
    for dvcfile in _walk(root, "*.dvc"):
        facts.tracked += _dvcfile_outs(root, dvcfile)
    if facts.initialised:
        facts.remotes, facts.default_remote = read_remotes(root)
    return facts


def find_dvcyaml(root: Path) -> list[Path]:
    return sorted(_walk(root, "dvc.yaml"), key=lambda p: (len(p.relative_to(root).parts), str(p)))


def parse_dvcyaml(path: Path, rel: str) -> dict[str, Any]:
    """Stage names, outputs (with their wdir), metrics and plots of one dvc.yaml."""
    import yaml  # lazy: PyYAML is slow to import

    try:
        data = load_yaml(read_limited(path, MAX_YAML_BYTES))
    except (OSError, DocumentError) as exc:
        raise UserError(f"{rel}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{rel}:{mark.line + 1}" if mark else rel
        raise UserError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{rel}: expected a mapping with a 'stages' key, got {type(data).__name__}")
    stages = data.get("stages") or {}
    if not isinstance(stages, dict):
        raise UserError(f"{rel}: 'stages' must be a mapping of stage names")
    outs: list[tuple[str, str]] = []
    details: list[dict[str, Any]] = []
    dvc2: list[str] = []
    metrics: list[str] = _declared(data.get("metrics"))
    plots: list[str] = _declared(data.get("plots"))
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            raise UserError(f"{rel}: stage '{name}' must be a mapping with a 'cmd'")
        wdir = str(stage.get("wdir") or "")
        details.append({"cmd": " ".join(map(str, stage["cmd"])) if isinstance(stage.get("cmd"), list)
                        else str(stage.get("cmd") or ""), "deps": _declared(stage.get("deps")), "wdir": wdir or "."})
        if "live" in stage:
            dvc2.append(f"stage '{name}' has a 'live' section")
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key) or []:
                if isinstance(entry, dict) and any(isinstance(v, dict) and v.get("checkpoint") for v in entry.values()):
                    dvc2.append(f"stage '{name}' has a checkpoint output")
            for out in _declared(stage.get(key)):
                outs.append((wdir, out))
                if key == "metrics":
                    metrics.append(_join("", wdir, out))
                elif key == "plots":
                    plots.append(_join("", wdir, out))
    return {"stages": list(stages), "outs": outs, "metrics": metrics, "plots": plots, "details": details, "dvc2": dvc2}


def read_remotes(root: Path) -> tuple[list[Remote], str | None]:
    """Remotes and the default remote from .dvc/config (+ config.local), read as INI."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    for name in ("config", "config.local"):
        file = root / ".dvc" / name
        if file.is_file():
            try:
                parser.read_string(file.read_text(encoding="utf-8"), source=str(file))
            except (configparser.Error, UnicodeDecodeError) as exc:
                raise UserError(f".dvc/{name}: cannot parse: {str(exc).splitlines()[0]}") from exc
    remotes = []
    for section in parser.sections():
        match = re.fullmatch(r"""\s*'?\s*remote\s+"([^"]+)"\s*'?\s*""", section)
        if match and parser.has_option(section, "url"):
            options = {k: v for k, v in parser.items(section) if k != "url"}
            remotes.append(Remote(match.group(1), parser.get(section, "url"), options))
    default = None
    for section in parser.sections():
        if section.strip("' ") == "core" and parser.has_option(section, "remote"):
            default = parser.get(section, "remote").strip()
    return remotes, default


# -- helpers -------------------------------------------------------------------------


def _walk(root: Path, pattern: str) -> list[Path]:
    found = []
    for path in root.rglob(pattern):
        rel = path.relative_to(root).parts
        if not any(part in SKIP_DIRS for part in rel[:-1]) and path.is_file():
            found.append(path)
    return found


def _declared(entries: Any) -> list[str]:
    """Paths from a dvc.yaml outs/metrics/plots list (strings or one-key mappings)."""
    paths = []
    if isinstance(entries, dict):
        entries = list(entries)
    for entry in entries or []:
        if isinstance(entry, str):
            paths.append(entry)
        elif isinstance(entry, dict) and entry:
            paths.append(str(next(iter(entry))))
    return paths


def _dvcfile_outs(root: Path, dvcfile: Path) -> list[str]:
    import yaml  # lazy: PyYAML is slow to import

    rel_dir = dvcfile.parent.relative_to(root).as_posix()
    try:
        data = load_yaml(read_limited(dvcfile, MAX_YAML_BYTES)) or {}
    except (OSError, ValueError, yaml.YAMLError):
        return []  # DVC reports broken .dvc files itself; they do not change the plan
    outs = data.get("outs") if isinstance(data, dict) else None
    return [_join(rel_dir, "", o["path"]) for o in outs or [] if isinstance(o, dict) and "path" in o]


def _join(folder: str, wdir: str, path: str) -> str:
    parts = [p for p in (folder, wdir, path) if p and p != "."]
    return tidy_path(Path(*parts).as_posix() if parts else path)  # ../ from wdir, lexically


def _read(path: Path) -> str | None:
    text = read_text(path)
    return text.strip() if text is not None else None


def _pyproject(root: Path) -> dict[str, Any]:
    text = _read(root / "pyproject.toml")
    if not text:
        return {}
    try:
        data: dict[str, Any] = load_toml(text)
        return data
    except ValueError:
        return {}
