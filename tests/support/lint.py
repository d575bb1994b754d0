"""Run the real workflow linters over many files at once (one process per linter).

``lint(paths)`` returns a list of findings (one string each); an empty list means
zizmor (``--offline --persona pedantic``), actionlint (with shellcheck when it is on
PATH) and check-jsonschema (``vendor.github-workflows``; ``vendor.github-actions`` for
``action.yml``) are all satisfied. Files are batched per linter invocation to keep the
suite fast. Other tests reuse this helper for their own workflows and actions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The linter from this virtualenv, else from PATH; a missing linter fails loudly."""
    local = BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed (pip install -e '.[test]')")
    return found


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env)


def zizmor(paths: list[Path]) -> list[str]:
    if not paths:
        return []
    proc = _run([tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress", "--format", "plain",
                 *map(str, paths)])
    if proc.returncode == 0:
        return []
    return [f"zizmor (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"]


def actionlint(paths: list[Path], config: Path | None = None) -> list[str]:
    workflows = [p for p in paths if p.name not in ("action.yml", "action.yaml")]
    if not workflows:
        return []
    args = [tool("actionlint"), "-no-color", "-oneline"]
    if config is not None:
        args += ["-config-file", str(config)]
    proc = _run([*args, *map(str, workflows)])
    if proc.returncode == 0:
        return []
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()] or [f"actionlint exit {proc.returncode}"]


def check_jsonschema(paths: list[Path]) -> list[str]:
    findings = []
    actions = [p for p in paths if p.name in ("action.yml", "action.yaml")]
    workflows = [p for p in paths if p not in actions]
    for schema, files in (("vendor.github-workflows", workflows), ("vendor.github-actions", actions)):
        if files:
            proc = _run([tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)])
            if proc.returncode != 0:
                findings.append(f"check-jsonschema {schema}:\n{proc.stdout}{proc.stderr}")
    return findings


def lint(paths: list[Path], *, actionlint_config: Path | None = None) -> list[str]:
    """Every finding of the three linters on ``paths`` (empty when all are clean)."""
    paths = [Path(p) for p in paths]
    return zizmor(paths) + actionlint(paths, actionlint_config) + check_jsonschema(paths)


def shellcheck_available() -> bool:
    return shutil.which("shellcheck") is not None
