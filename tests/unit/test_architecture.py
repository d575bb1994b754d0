"""The import contracts of docs/architecture.md (.importlinter) hold, and they catch what they forbid."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def lint(where: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ci_mlops package and .importlinter found in ``where``."""
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run([sys.executable, "-c", LINT], cwd=where, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The package's Python files and the contracts, in a scratch folder to break on purpose."""
    shutil.copytree(ROOT / "ci_mlops", tmp_path / "ci_mlops", ignore=shutil.ignore_patterns("__pycache__", "*.json"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_contracts_are_kept() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_an_import_up_a_layer_breaks_the_layers(copy: Path) -> None:
    append(copy / "ci_mlops" / "report" / "diff.py", "from ci_mlops.deploy import tags  # report must not know deploy")
    result = lint(copy)
    assert result.returncode == 1
    assert "Packages import only downwards (docs/architecture.md) BROKEN" in result.stdout
    assert "ci_mlops.report.diff -> ci_mlops.deploy.tags" in result.stdout


def test_an_import_inside_a_function_counts_too(copy: Path) -> None:
    append(copy / "ci_mlops" / "errors.py", "def late():\n    from ci_mlops.git import Repo\n    return Repo")
    result = lint(copy)
    assert result.returncode == 1
    assert "ci_mlops.errors -> ci_mlops.git" in result.stdout


def test_a_cycle_between_the_modules_of_one_package_is_caught(copy: Path) -> None:
    append(copy / "ci_mlops" / "deploy" / "tags.py", "from ci_mlops.deploy import flow  # flow imports tags")
    result = lint(copy)
    assert result.returncode == 1
    assert "No import cycles between packages or between the modules of one package BROKEN" in result.stdout


def test_a_new_package_must_be_given_its_layer(copy: Path) -> None:
    (copy / "ci_mlops" / "newthing").mkdir()
    (copy / "ci_mlops" / "newthing" / "__init__.py").write_text('"""Not placed in any layer yet."""\n')
    result = lint(copy)
    assert result.returncode == 1
    assert "newthing" in result.stdout


# Packages whose function-level imports are still being moved to module top.
NOT_YET = {"config", "forge", "gitlab", "retrain"}


def lazy_imports_without_a_reason(package: Path) -> list[str]:
    """``file:line: import`` for each import inside a function with no comment saying why start-up
    needs it there: on its line, on another line of the group of imports it is in, or above the group."""
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] in NOT_YET or rel.parts[:2] == ("demo", "project"):
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for function in ast.walk(ast.parse(source)):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and not has_reason(lines, node.lineno - 1):
                    found.append(f"{rel}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def has_reason(lines: list[str], index: int) -> bool:
    def is_import(i: int) -> bool:
        return 0 <= i < len(lines) and lines[i].strip().startswith(("from ", "import "))

    first = last = index
    while is_import(first - 1):
        first -= 1
    while is_import(last + 1):
        last += 1
    if any("#" in lines[i] for i in range(first, last + 1)):
        return True
    return first > 0 and "#" in lines[first - 1]  # a comment line, or one on the `try:` of an optional import


def test_imports_are_at_module_top_unless_start_up_needs_them_lazy() -> None:
    assert lazy_imports_without_a_reason(ROOT / "ci_mlops") == []


def test_an_unexplained_import_inside_a_function_is_found(copy: Path) -> None:
    append(copy / "ci_mlops" / "report" / "diff.py", "def late():\n    from ci_mlops.git import Repo\n    return Repo")
    append(copy / "ci_mlops" / "escape.py", "def later():\n    import numpy  # NumPy is slow to import\n    import pandas\n")
    assert lazy_imports_without_a_reason(copy / "ci_mlops") == [
        (f"report/diff.py:{len((copy / 'ci_mlops/report/diff.py').read_text().splitlines()) - 1}: "
        "from ci_mlops.git import Repo")]


# Modules of type declarations only (TypedDicts of JSON documents): imported under `if TYPE_CHECKING:`,
# so the documents stay plain dicts at run time and the report's start-up never loads them.
TYPE_ONLY = ("ci_mlops.report.document", "ci_mlops.report.rows", "ci_mlops.drift.records")


def runtime_imports_of_type_only(package: Path) -> list[str]:
    """``file:line`` for each import of a :data:`TYPE_ONLY` module outside an ``if TYPE_CHECKING:`` block
    (except in another of them: it is never loaded either)."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if ".".join((package.name, *path.relative_to(package).with_suffix("").parts)) in TYPE_ONLY:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                   for stmt in block.body for node in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            else:
                continue
            if names & set(TYPE_ONLY):
                found.append(f"{path.relative_to(package)}:{node.lineno}")
    return found


def test_type_only_modules_are_imported_only_for_the_type_checker() -> None:
    assert runtime_imports_of_type_only(ROOT / "ci_mlops") == []


def test_a_runtime_import_of_a_type_only_module_is_found(copy: Path) -> None:
    append(copy / "ci_mlops" / "report" / "diff.py", "from ci_mlops.report.document import ReportDocument")
    append(copy / "ci_mlops" / "checks" / "gates.py", "def late():\n    from ci_mlops.report import document")
    append(copy / "ci_mlops" / "escape.py", "if TYPE_CHECKING:\n    import ci_mlops.report.document")
    last = {name: len((copy / "ci_mlops" / name).read_text().splitlines()) for name in ("checks/gates.py", "report/diff.py")}
    assert runtime_imports_of_type_only(copy / "ci_mlops") == [f"{name}:{line}" for name, line in last.items()]
