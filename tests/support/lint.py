"""Run the real workflow linters over many files at once: one process per linter, all at the same time.

``lint(paths)`` returns the findings, one line each, every one naming its linter and its file
(relative to the working folder, or else to the other files' common folder, so that a
template variant's folder names the variant). An empty list means zizmor (``--offline
--persona pedantic``), actionlint (with shellcheck when it is on PATH) and check-jsonschema
(``vendor.github-workflows``; ``vendor.github-actions`` for ``action.yml``) are all
satisfied. ``gitlab_ci(paths)`` is check-jsonschema with GitLab's CI schema. Other tests
reuse these for their own files.

What it costs (the template matrix, 270 files, 2 cores): each linter takes every file in one
process and the three run side by side. actionlint starts shellcheck for each ``run:`` step,
about 2,000 times for 90 distinct scripts, so it is given ``shellcheck_once.sh``, which asks
the real shellcheck once per distinct script in this run and gives that answer to every step
that repeats it. A linter that fails without a finding it can name (a crash, a file it cannot
read) is a finding too: its exit status and output. zizmor refuses to audit anything when
one file is not a workflow it can read (``--strict-collection``), rather than skip that file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
SHELLCHECK_ONCE = Path(__file__).with_name("shellcheck_once.sh")
ACTION_FILES = ("action.yml", "action.yaml")
TIMEOUT = 600  # seconds for one linter over all its files
MESSAGE_CHARS = 300  # check-jsonschema quotes whole jobs in a message; its best match says what is wrong


def tool(name: str) -> str:
    """The linter from this virtualenv, else from PATH; a missing linter fails loudly."""
    local = BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed (pip install -e '.[test]')")
    return found


def shellcheck_available() -> bool:
    return shutil.which("shellcheck") is not None


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


Parse = Callable[[int, str, str], list[str]]


@dataclass
class _Running:
    """One linter process; its output goes to files, so no pipe fills while another linter is read."""

    name: str
    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    parse: Parse

    def findings(self) -> list[str]:
        try:
            status = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return [f"{self.name}: no answer within {TIMEOUT} s"]
        stdout, stderr = self.out.read_text(errors="replace"), self.err.read_text(errors="replace")
        try:
            found = self.parse(status, stdout, stderr)
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # a crash, or output of another shape
            return [f"{self.name}: exit {status}, output not as expected ({exc!r}):\n{stdout}{stderr}".rstrip()]
        if status != 0 and not found:
            found = [f"{self.name}: exit {status} without a finding:\n{stdout}{stderr}".rstrip()]
        return found


class _Batch:
    """The linters of one ``lint`` call, started together and read in order; their files in ``scratch``."""

    def __init__(self, paths: Sequence[Path], scratch: Path) -> None:
        self.paths = [Path(p) for p in paths]
        self.scratch = scratch
        self.running: list[_Running] = []
        self.names = _labels(self.paths)

    def name(self, reported: str) -> str:
        """A path as a linter reported it (as given, or relative to the working folder), as findings name it."""
        return self.names.get(os.path.realpath(reported), reported)

    def start(self, name: str, args: list[str], parse: Parse, **env: str) -> None:
        out, err = self.scratch / f"{len(self.running)}.out", self.scratch / f"{len(self.running)}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:  # the linter writes on after they close here
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=_env(**env))
        self.running.append(_Running(name, proc, out, err, parse))

    def findings(self) -> list[str]:
        try:
            return [finding for run in self.running for finding in run.findings()]
        finally:
            self.stop()

    def stop(self) -> None:
        """End what still runs (a linter started before another failed to start)."""
        for run in self.running:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()

    # -- the linters ---------------------------------------------------------------------------

    def zizmor(self, paths: list[Path]) -> None:
        if paths:
            # --strict-collection: a file zizmor cannot read as a workflow or action fails the run; without it
            # zizmor warns, skips the file and passes the others
            args = [tool("zizmor"), "--offline", "--persona", "pedantic", "--strict-collection", "--no-progress",
                    "--format", "json"]
            self.start("zizmor", [*args, *map(str, paths)], self._zizmor)

    def _zizmor(self, status: int, stdout: str, stderr: str) -> list[str]:
        found = [self._zizmor_line(finding) for finding in json.loads(stdout)] if stdout.strip() else []
        if status == 0 or found:
            return found
        # no audit: its reason (the file it could not load), without the log lines and the backtrace
        reason = stderr.split("Stack backtrace:")[0]
        return ["zizmor: " + "\n".join(line for line in reason.splitlines() if " INFO " not in line).strip()]

    def _zizmor_line(self, finding: dict[str, Any]) -> str:
        locations = finding["locations"]
        where = next((loc for loc in locations if loc["symbolic"]["kind"] == "Primary"), locations[0])
        path = self.name(where["symbolic"]["key"]["Local"]["verbatim_path"])
        line = where["concrete"]["location"]["start_point"]["row"] + 1
        severity = finding["determinations"]["severity"].lower()
        return f"zizmor: {path}:{line}: {finding['ident']} ({severity}): {finding['desc']}: {where['symbolic']['annotation']}"

    def actionlint(self, paths: list[Path], config: Path | None) -> None:
        workflows = [p for p in paths if p.name not in ACTION_FILES]
        if not workflows:
            return
        args = [tool("actionlint"), "-no-color", "-oneline"]
        if config is not None:
            args += ["-config-file", str(config)]
        env: dict[str, str] = {}
        real = shutil.which("shellcheck")
        if real:  # else actionlint leaves shell checks out, as it would on its own (.ci/setup says so)
            memo = self.scratch / "shellcheck"
            memo.mkdir()
            args.append(f"-shellcheck={SHELLCHECK_ONCE}")
            env = {"SHELLCHECK_ONCE_DIR": str(memo), "SHELLCHECK_ONCE_REAL": real}
        self.start("actionlint", [*args, *map(str, workflows)], self._actionlint, **env)

    def _actionlint(self, status: int, stdout: str, stderr: str) -> list[str]:
        found = []
        for line in (stdout + stderr).splitlines():
            if line.strip():
                path, sep, rest = line.partition(":")
                found.append(f"actionlint: {self.name(path)}{sep}{rest}")
        return found

    def check_jsonschema(self, paths: list[Path], schema: str) -> None:
        if paths:
            args = [tool("check-jsonschema"), "--builtin-schema", schema, "--output-format", "json"]
            self.start(f"check-jsonschema {schema}", [*args, *map(str, paths)], self._check_jsonschema(schema))

    def _check_jsonschema(self, schema: str) -> Parse:
        def parse(status: int, stdout: str, stderr: str) -> list[str]:
            if status == 0:
                return []
            report = json.loads(stdout)
            found = []
            for error in report["errors"]:
                best = error.get("best_deep_match") or error.get("best_match") or error
                message = best["message"]
                if len(message) > MESSAGE_CHARS:
                    message = message[:MESSAGE_CHARS] + "..."
                found.append(f"check-jsonschema {schema}: {self.name(error['filename'])}: {best['path']}: {message}")
            found += [f"check-jsonschema {schema}: {self.name(error['filename'])}: {error['message']}"
                      for error in report["parse_errors"]]
            return found

        return parse


def _labels(paths: list[Path]) -> dict[str, str]:
    """How findings name each file: relative to the working folder, or else to the other files' common folder."""
    here = Path(os.path.realpath(Path.cwd()))
    real = [Path(os.path.realpath(p)) for p in paths]
    rest = [p for p in real if not p.is_relative_to(here)]
    common = Path(os.path.commonpath([p.parent for p in rest])) if rest else here
    return {str(p): str(p.relative_to(common if p in rest else here)) for p in real}


def lint(paths: Sequence[Path | str], *, actionlint_config: Path | None = None) -> list[str]:
    """Every finding of the three linters on ``paths`` (empty when all are clean)."""
    files = [Path(p) for p in paths]
    actions = [p for p in files if p.name in ACTION_FILES]
    workflows = [p for p in files if p.name not in ACTION_FILES]
    with tempfile.TemporaryDirectory(prefix="lint-") as scratch:
        batch = _Batch(files, Path(scratch))
        try:
            batch.zizmor(files)
            batch.actionlint(files, actionlint_config)
            batch.check_jsonschema(workflows, "vendor.github-workflows")
            batch.check_jsonschema(actions, "vendor.github-actions")
        except BaseException:
            batch.stop()
            raise
        return batch.findings()


def gitlab_ci(paths: Sequence[Path | str]) -> list[str]:
    """check-jsonschema's findings on GitLab CI files (``vendor.gitlab-ci``: GitLab's own schema)."""
    files = [Path(p) for p in paths]
    with tempfile.TemporaryDirectory(prefix="lint-") as scratch:
        batch = _Batch(files, Path(scratch))
        batch.check_jsonschema(files, "vendor.gitlab-ci")
        return batch.findings()
