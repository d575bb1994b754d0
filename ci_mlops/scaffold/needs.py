"""What the project's own environment needs in CI, read from its files (nothing imported or run).

* :func:`detect_env`: how to install the project's dependencies (requirements files the
  pipeline's stages use, else ``uv.lock``, ``poetry.lock``, conda's ``environment.yml``,
  pyproject dependency groups or extras, else a root ``requirements.txt``) and which
  packages that install provides (DVC and its plugins, pytest, GPU frameworks).
* :func:`detect_tests`: whether pytest would collect a real test suite.
* :func:`gpu_reasons`: why the project looks like it trains on GPUs.
* :func:`env_dir`: the environment an install command creates (``.venv`` for uv and
  Poetry, a conda prefix), whose ``bin`` the later steps put first on PATH.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_mlops.safeload import MAX_YAML_BYTES, DocumentError, load_toml, load_yaml, read_limited

GPU_FRAMEWORKS = ("torch", "tensorflow", "tensorflow-gpu", "jax", "jaxlib", "keras", "paddlepaddle-gpu",
                  "mxnet-cu", "cupy")
# pip extras of dvc per remote scheme, and the plugin package each extra installs.
PLUGIN_PACKAGE = {"s3": "dvc-s3", "gs": "dvc-gs", "azure": "dvc-azure", "gdrive": "dvc-gdrive", "ssh": "dvc-ssh",
                  "hdfs": "dvc-hdfs", "webhdfs": "dvc-webhdfs", "oss": "dvc-oss", "webdav": "dvc-webdav"}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[([^\]]*)\])?")
_SKIP_DIRS = {".git", ".dvc", ".venv", "venv", "node_modules", "__pycache__", ".tox", "site-packages", "build", "dist"}
_MAX_FILES = 5000  # bound the walk on huge repositories


@dataclass
class ProjectEnv:
    install: str | None = None
    source: str = ""  # what the install was read from, for the plan
    kind: str = "pip"  # pip | uv | poetry | conda
    deps: dict[str, set[str]] = field(default_factory=dict)  # normalised name -> extras
    pins: dict[str, str] = field(default_factory=dict)  # normalised name -> version pinned with == or ~=

    def has(self, name: str) -> bool:
        return normalise(name) in self.deps

    def has_plugin(self, extra: str) -> bool:
        """Whether the install brings DVC's plugin for a remote (``dvc[s3]`` or ``dvc-s3``)."""
        return extra in self.deps.get("dvc", set()) or self.has(PLUGIN_PACKAGE.get(extra, f"dvc-{extra}"))

    @property
    def pytest(self) -> bool:
        return self.has("pytest")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- install ---------------------------------------------------------------------------


# Requirements files that usually hold the test tools, next to a requirements.txt.
TEST_REQUIREMENTS = ("requirements-dev.txt", "requirements-test.txt", "requirements_dev.txt", "requirements_test.txt",
                     "dev-requirements.txt", "test-requirements.txt", "requirements/dev.txt", "requirements/test.txt")


def detect_env(root: Path, stage_requirements: list[str], *, tests: bool = False) -> ProjectEnv:
    """The project's install command and what it installs.

    ``stage_requirements`` are requirements files the DVC pipeline's stages use (declared
    as deps, or beside a stage's script): those come first, as the pipeline needs them.
    With ``tests``, a requirements file of test tools that brings pytest is installed too.
    """
    pyproject = _toml(root / "pyproject.toml")
    project = pyproject.get("project") or {}
    groups = pyproject.get("dependency-groups") or {}
    files = [f for f in dict.fromkeys(stage_requirements) if (root / f).is_file()]
    if not files and (root / "requirements.txt").is_file() and not (root / "uv.lock").is_file() \
            and not (root / "poetry.lock").is_file():
        files = ["requirements.txt"]
    if files:
        env = ProjectEnv(kind="pip")
        for f in files:
            _requirements(root / f, env.deps, set(), env.pins)
        if tests and not env.pytest:
            for extra in TEST_REQUIREMENTS:
                deps: dict[str, set[str]] = {}
                if (root / extra).is_file():
                    _requirements(root / extra, deps, set(), {})
                if "pytest" in deps:
                    files.append(extra)
                    env.deps.update({k: v | env.deps.get(k, set()) for k, v in deps.items()})
                    break
        env.install = " ".join(["pip install", *(f"-r {shlex.quote(f)}" for f in files)])
        env.source = ", ".join(files)
        return env
    if (root / "uv.lock").is_file():
        group = _pytest_group(groups, default="dev")
        env = ProjectEnv("pip install uv && uv sync --locked" + (f" --group {group}" if group else ""), "uv.lock", "uv")
        env.deps = _lock_packages(root / "uv.lock")
        return env
    if (root / "poetry.lock").is_file():
        env = ProjectEnv("pip install poetry && poetry config virtualenvs.in-project true && "
                         "poetry install --no-interaction", "poetry.lock", "poetry")
        env.deps = _lock_packages(root / "poetry.lock")
        return env
    for name in ("environment.yml", "environment.yaml"):
        if (root / name).is_file():
            env = ProjectEnv(f'"$CONDA/bin/conda" env create --quiet --file {name} --prefix "$RUNNER_TEMP/conda-env"',
                             name, "conda")
            env.deps = _conda_deps(root / name)
            return env
    if project or "build-system" in pyproject:
        env = ProjectEnv(kind="pip", source="pyproject.toml")
        _add(env.deps, project.get("dependencies") or [])
        group = _pytest_group(groups)
        extras = project.get("optional-dependencies") or {}
        test_extra = next((e for e in ("test", "tests", "dev") if e in extras), None)
        if group:
            env.install = f"pip install --upgrade pip && pip install -e . --group {group}"
            _add(env.deps, [d for d in groups[group] if isinstance(d, str)])
        elif test_extra:
            env.install = f'pip install -e ".[{test_extra}]"'
            _add(env.deps, extras[test_extra])
        else:
            env.install = "pip install -e ."
        return env
    return ProjectEnv()


def stage_requirements(root: Path, stages: list[dict[str, Any]]) -> list[str]:
    """Requirements files a pipeline uses: in stage deps, beside a stage's script, in its wdir."""
    found: list[str] = []
    for stage in stages:
        folder = stage["folder"]
        for dep in stage["deps"]:
            if re.search(r"requirements[^/]*\.txt$", dep):
                found.append(_rel(folder, dep))
        try:
            words = shlex.split(stage["cmd"])
        except ValueError:
            words = []
        for word in words:
            if word.endswith(".py"):
                candidate = _rel(folder, str(Path(stage["wdir"]) / Path(word).parent / "requirements.txt"))
                if (root / candidate).is_file():
                    found.append(candidate)
    if (root / "requirements.txt").is_file() and found:
        found.insert(0, "requirements.txt")
    return list(dict.fromkeys(found))


def env_dir(install: str | None) -> str | None:
    """Where an install command puts the project's environment, when not in the job's Python."""
    if not install:
        return None
    if re.search(r"\buv\s+sync\b", install) or re.search(r"\bpoetry\s+install\b", install):
        return "$GITHUB_WORKSPACE/.venv"
    match = re.search(r"\bconda\"?\s+env\s+(?:create|update)\b.*?(?:--prefix|-p)[ =](\"[^\"]+\"|\S+)", install)
    return match.group(1).strip('"') if match else None


def dvc_install(env: ProjectEnv, extra: str | None, install: str | None) -> str | None:
    """The command that adds DVC (and the remote's plugin) to the project's environment, if it lacks them."""
    if env.has("dvc") and (extra is None or env.has_plugin(extra)):
        return None
    requirement = (f"dvc[{extra}]" if extra else "dvc") if not env.has("dvc") else PLUGIN_PACKAGE.get(extra or "", "dvc")
    pip = "uv pip install" if install and re.search(r"\buv\s+sync\b", install) else "python -m pip install"
    return f"{pip} {shlex.quote(requirement)}"


# Newest Python of TensorFlow releases below each version: 2.5-2.7 -> 3.9 (2.16 and later: no bound).
_TF_PYTHON = [((2, 2), "3.7"), ((2, 5), "3.8"), ((2, 8), "3.9"), ((2, 12), "3.10"), ((2, 16), "3.11")]


def python_ceiling(env: ProjectEnv) -> tuple[str, str] | None:
    """A Python the pinned frameworks still have wheels for (``tensorflow==2.5`` -> 3.9), with why."""
    for name in ("tensorflow", "tensorflow-gpu", "tensorflow-cpu"):
        version = env.pins.get(name)
        if not version:
            continue
        pinned = tuple(int(x) for x in version.split("."))
        newest = next((py for below, py in _TF_PYTHON if pinned < below), None)
        if newest:
            return newest, f"{name}=={version} in {env.source} has no wheels for newer Pythons"
    return None


# -- tests -----------------------------------------------------------------------------


def detect_tests(root: Path) -> list[str]:
    """Test files pytest would collect that hold tests (``def test_*`` or ``class Test*``).

    A ``*_test.py`` script without test functions (one that calls a web API at import,
    say) is not a test suite: pytest would import it and collect nothing.
    """
    found: list[str] = []
    budget = [_MAX_FILES]
    for base in _testpaths(root):
        start = root / base
        if start.is_file():
            _test_file(root, start, found)
        elif start.is_dir():
            _walk_tests(root, start, found, budget)
    return sorted(dict.fromkeys(found))


def _walk_tests(root: Path, start: Path, found: list[str], budget: list[int]) -> None:
    """Pruned walk: virtualenvs, caches and hidden folders are never entered; at most _MAX_FILES files."""
    for folder, dirs, files in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            budget[0] -= 1
            if budget[0] < 0:
                return
            if re.fullmatch(r"test_.*\.py|.*_test\.py", name):
                _test_file(root, Path(folder) / name, found)


def _test_file(root: Path, path: Path, found: list[str]) -> None:
    text = read_text(path)
    if text and re.search(r"^(\s*(async\s+)?def test\w*\s*\(|class Test\w*)", text, re.M):
        found.append(path.relative_to(root).as_posix())


def _testpaths(root: Path) -> list[str]:
    ini = (_toml(root / "pyproject.toml").get("tool") or {}).get("pytest", {}).get("ini_options") or {}
    paths = ini.get("testpaths")
    if isinstance(paths, str):
        paths = paths.split()
    for name, section in (("pytest.ini", "pytest"), ("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        text = read_text(root / name)
        if not paths and text and f"[{section}]" in text:
            block = text.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
            match = re.search(r"^testpaths\s*=\s*(.+(?:\n[ \t]+.+)*)", block, re.M)
            if match:
                paths = match.group(1).split()
    return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) and paths else ["."]


# -- GPUs ------------------------------------------------------------------------------


def gpu_reasons(env: ProjectEnv, workflow_hints: list[str]) -> list[str]:
    """Why the project looks like it trains on GPUs (empty when nothing says so)."""
    reasons = [f"{name} in {env.source}" for name in GPU_FRAMEWORKS if env.has(name)]
    return reasons + workflow_hints


# -- helpers ---------------------------------------------------------------------------


def _pytest_group(groups: dict[str, Any], default: str | None = None) -> str | None:
    """The dependency group that brings pytest (None when it is ``default``, which installs anyway)."""
    for name, items in groups.items():
        if any(isinstance(d, str) and (m := _NAME.match(d)) and normalise(m.group(1)) == "pytest" for d in items):
            return None if name == default else name
    return None


def _requirements(path: Path, deps: dict[str, set[str]], seen: set[Path], pins: dict[str, str]) -> None:
    if path in seen or len(seen) > 20:
        return
    seen.add(path)
    for line in (read_text(path) or "").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            _requirements(path.parent / line.split(None, 1)[1].strip(), deps, seen, pins)
        elif line and not line.startswith(("#", "-")):
            _add(deps, [line])
            pin = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==|~=)\s*(\d+\.\d+)", line)
            if pin:
                pins[normalise(pin.group(1))] = pin.group(2)


def _add(deps: dict[str, set[str]], requirements: list[Any]) -> None:
    for req in requirements:
        match = _NAME.match(str(req))
        if match:
            extras = {e.strip() for e in (match.group(3) or "").split(",") if e.strip()}
            deps.setdefault(normalise(match.group(1)), set()).update(extras)


def _lock_packages(path: Path) -> dict[str, set[str]]:
    """Package names in uv.lock / poetry.lock (both TOML with [[package]] name = ...)."""
    data = _toml(path)
    deps: dict[str, set[str]] = {}
    for package in data.get("package") or []:
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            deps.setdefault(normalise(package["name"]), set())
            extras = package.get("optional-dependencies") or package.get("extras") or {}
            if normalise(package["name"]) == "dvc" and isinstance(extras, dict):
                deps["dvc"].update(extras)
    return deps


def _conda_deps(path: Path) -> dict[str, set[str]]:
    import yaml  # lazy: PyYAML is slow to import

    try:
        data = load_yaml(read_text(path) or "") or {}
    except (yaml.YAMLError, DocumentError):
        return {}
    deps: dict[str, set[str]] = {}
    for item in (data.get("dependencies") if isinstance(data, dict) else None) or []:
        if isinstance(item, str):
            _add(deps, [re.split(r"[=<>!~ ]", item.split("::")[-1], maxsplit=1)[0]])
        elif isinstance(item, dict) and isinstance(item.get("pip"), list):
            _add(deps, item["pip"])
    return deps


def conda_python(path: Path) -> str | None:
    match = re.search(r"^\s*-\s*(?:conda-forge::)?python\s*[=<>~]*\s*(\d+\.\d+)", read_text(path) or "", re.M)
    return match.group(1) if match else None


def _rel(folder: str, path: str) -> str:
    return tidy_path(f"{folder}/{path}")


def tidy_path(path: str) -> str:
    """``a/./b/../c`` -> ``a/c`` without touching the file system; a ``..`` above the top is dropped."""
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/".join(parts)


def _toml(path: Path) -> dict[str, Any]:
    text = read_text(path)
    try:
        data = load_toml(text) if text else {}
    except DocumentError:
        return {}  # a broken file is the project's tool's to report; it does not change the plan
    return data if isinstance(data, dict) else {}


def read_text(path: Path) -> str | None:
    """A text file within the loader's size bound, else None (missing, special, too large, not UTF-8)."""
    try:
        return read_limited(path, MAX_YAML_BYTES).decode("utf-8")
    except (OSError, DocumentError, UnicodeDecodeError):
        return None
