"""The demo's steps: write the project, train a baseline on main, retrain on a branch, report."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ci_mlops.demo import forked
from ci_mlops.demo.data import customers_csv
from ci_mlops.dvc.run import DvcResult, run_dvc_batch
from ci_mlops.errors import UserError

PROJECT = Path(__file__).with_name("project")
RENAMES = {"ci-mlops.yml": ".ci-mlops.yml", "gitignore": ".gitignore"}
BRANCH = "experiment/class-weight"
REMOTE_DIR = ".dvc-remote"
IDENTITY = {
    "GIT_AUTHOR_NAME": "ci-mlops demo", "GIT_AUTHOR_EMAIL": "demo@ci-mlops.invalid",
    "GIT_COMMITTER_NAME": "ci-mlops demo", "GIT_COMMITTER_EMAIL": "demo@ci-mlops.invalid",
}
# A demo run inside a real workflow must not write that job's outputs or summary.
DROPPED_ENV = ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH")

Echo = Callable[[str], None]

@dataclass
class DemoResult:
    root: Path
    report_markdown: str | None = None
    check_output: str | None = None
    check_exit: int | None = None
    workflows: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    sweep_markdown: str | None = None  # the leaderboard of `ci-mlops sweep run --local`


def prepare_target(directory: str | Path | None) -> Path:
    """The demo's folder: a new temporary one, or ``directory`` if it is missing or empty."""
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="ci-mlops-demo-"))
    path = Path(directory).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise UserError(f"{directory}: exists and is not a directory")
    if path.is_dir() and any(path.iterdir()):
        raise UserError(f"{directory}: directory is not empty; the demo never overwrites files (pick a new or empty one)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{directory}: cannot create the directory: {exc.strerror or exc}") from exc
    return path


def command_available(name: str) -> bool:
    """True when ``ci-mlops NAME`` exists in this build."""
    return importlib.util.find_spec(f"ci_mlops.commands.{name}") is not None


def child_env() -> dict[str, str]:
    """Environment for the demo's subprocesses: this Python first on PATH and a git identity."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(IDENTITY)
    # The demo's commits must not wait for a signing key the user's git config may ask for.
    env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "commit.gpgsign", "GIT_CONFIG_VALUE_0": "false"})
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # Python's bytecode cache stays as the caller set it: forcing PYTHONDONTWRITEBYTECODE had every
    # DVC, queue worker and ci-mlops process compile DVC, Celery and pandas from source again on an
    # install without .pyc files (uv's), 42 instead of 17 CPU-s for the demo.
    return env


class Runner:
    """Runs the demo's commands in the project folder; a failing command ends the demo with its error."""

    def __init__(self, root: Path, echo: Echo, *, fork: bool | None = None, commands: tuple[str, ...] = ()):
        self.root = root
        self.echo = echo
        self.env = child_env()
        # ci-mlops steps forked from this process (demo/forked.py), which imports what the steps of
        # ``commands`` import once
        self.fork = forked.available() if fork is None else fork
        if self.fork:
            forked.warm(commands)

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(list(args), cwd=self.root, env=self.env, capture_output=True, text=True)
        return self._checked(args, proc, ok)

    def _checked(self, args: tuple[str, ...], proc: subprocess.CompletedProcess[str],
                 ok: tuple[int, ...]) -> subprocess.CompletedProcess[str]:
        if proc.returncode not in ok:
            shown = " ".join(_display(args))
            lines = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
            raise UserError(f"demo step `{shown}` failed (exit {proc.returncode}): {lines[-1]}")
        return proc

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args)

    def dvc(self, *commands: list[str]) -> DvcResult:
        """Run DVC commands in turn in one Python process (one DVC import, not one per command)."""
        results = run_dvc_batch(self.root, commands, env=self.env, stop_on_error=True)
        if not results[-1].ok:
            failed = results[-1]
            raise UserError(f"demo step `{failed.command}` failed (exit {failed.returncode}): {failed.problem()}")
        return results[-1]

    def ci_mlops(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        if self.fork:
            return self._checked((sys.executable, "-m", "ci_mlops", *args),
                                 forked.run_module(args, cwd=self.root, env=self.env), ok)
        return self.run(sys.executable, "-m", "ci_mlops", *args, ok=ok)


def _display(args: tuple[str, ...]) -> list[str]:
    """``python -m ci_mlops check`` is shown as ``ci-mlops check``."""
    if len(args) > 2 and args[0] == sys.executable and args[1] == "-m":
        return [args[2].replace("ci_mlops", "ci-mlops"), *args[3:]]
    return list(args)


def write_project(root: Path, *, rows: int = 3000) -> list[str]:
    """Copy the embedded project into ``root`` and write its dataset; returns the files written."""
    written = []
    for src in sorted(PROJECT.rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(PROJECT)
        rel = rel.with_name(RENAMES.get(rel.name, rel.name)) if len(rel.parts) == 1 else rel
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        written.append(rel.as_posix())
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "customers.csv").write_text(customers_csv(rows), encoding="utf-8")
    written.append("data/customers.csv")
    return written


def retrain_on_branch(r: Runner, root: Path) -> None:
    """The demo's change, the same on both forges: on BRANCH, weight churned customers 1.5x, retrain, commit."""
    r.git("checkout", "-q", "-b", BRANCH)
    set_param(root, "train", "class_weight", "1.5")
    r.dvc(["repro", "-q"])
    r.git("add", "-A")
    r.git("commit", "-q", "-m", "Weight churned customers 1.5x to raise recall")


def set_param(root: Path, section: str, key: str, value: str) -> None:
    """Change one ``key: value`` line of ``section`` in params.yaml, keeping its comments."""
    path = root / "params.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    current = None
    for i, line in enumerate(lines):
        if line and not line[0].isspace():
            current = line.split(":", 1)[0].strip()
        elif current == section and line.strip().startswith(f"{key}:"):
            indent = line[: len(line) - len(line.lstrip())]
            comment = line[line.index("#"):].rstrip("\n") if "#" in line else ""
            lines[i] = f"{indent}{key}: {value}" + (f"   {comment}" if comment else "") + "\n"
            path.write_text("".join(lines), encoding="utf-8")
            return
    raise ValueError(f"params.yaml has no {section}.{key}")


def run_demo(directory: str | Path | None, echo: Echo, *, rows: int = 3000) -> DemoResult:
    """Build the project in ``directory`` and run the loop; progress goes to ``echo``."""
    root = prepare_target(directory)
    result = DemoResult(root=root)
    steps = Steps(echo, total=7)
    r = Runner(root, echo, commands=("init", "check", "report", "sweep"))

    with steps("Writing a small churn-prediction project (numpy + DVC) to", str(root)):
        write_project(root, rows=rows)
        r.git("init", "-q", "-b", "main")
        r.dvc(["init", "-q"], ["config", "core.analytics", "false"],
              ["remote", "add", "-d", "demo", REMOTE_DIR],  # DVC stores it relative to .dvc/config
              ["add", "-q", "data/customers.csv"])

    with steps("Running `ci-mlops init --yes` (config and GitHub workflows)"):
        if command_available("init"):
            r.ci_mlops("init", "--yes")  # reads the demo's .ci-mlops.yml, never rewrites it
            result.workflows = sorted((root / ".github" / "workflows").glob("*.yml"))
        else:
            result.skipped.append("init")
            steps.note("skipped: `ci-mlops init` is not available in this build")

    with steps("Training the baseline on main (dvc repro), committing, dvc push"):
        r.dvc(["repro", "-q"], ["push", "-q"])
        r.git("add", "-A")
        r.git("commit", "-q", "-m", "Baseline churn model")
        pushed = sum(1 for p in (root / REMOTE_DIR).rglob("*") if p.is_file())
        steps.note(_metrics_line(root))
        steps.note(f"dvc push: {pushed} files in the local DVC remote {REMOTE_DIR}/")

    with steps(f"Branch {BRANCH}: train.class_weight 1.0 -> 1.5, retrain, commit"):
        retrain_on_branch(r, root)
        steps.note(_metrics_line(root))

    with steps("Running `ci-mlops check --base main` (quality gates, data checks, slices)"):
        if command_available("check"):
            proc = r.ci_mlops("check", "--base", "main", ok=(0, 1))
            result.check_output = (proc.stdout + proc.stderr).strip()
            result.check_exit = proc.returncode
            steps.note("all gates passed" if proc.returncode == 0 else "a gate failed (exit 1): CI would mark the PR red")
        else:
            result.skipped.append("check")
            steps.note("skipped: `ci-mlops check` is not available in this build")

    with steps("Running `ci-mlops report --base main` (the sticky PR comment)"):
        if command_available("report"):
            out = root / ".dvc" / "tmp" / "ci-mlops-report.md"
            r.ci_mlops("report", "--base", "main", "-o", str(out))
            result.report_markdown = out.read_text(encoding="utf-8")
        else:
            result.skipped.append("report")
            steps.note("skipped: `ci-mlops report` is not available in this build; showing dvc metrics diff")
            result.report_markdown = r.dvc(["metrics", "diff", "main", "--md"]).stdout

    with steps("Running `ci-mlops sweep run --local -j 2` (the experiments: grid, through DVC's queue)"):
        if command_available("sweep"):
            # DVC runs each experiment in its own temporary copy: the branch's work tree stays as it is
            proc = r.ci_mlops("sweep", "run", "--local", "-j", "2", "--base", "main")
            result.sweep_markdown = proc.stdout
            steps.note("`ci-mlops sweep apply NAME` (or `/ci-mlops apply NAME` on the PR) takes the best one")
        else:
            result.skipped.append("sweep")
            steps.note("skipped: `ci-mlops sweep` is not available in this build")

    return result


def _metrics_line(root: Path) -> str:
    metrics = json.loads((root / "eval" / "metrics.json").read_text(encoding="utf-8"))["test"]
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())


class Steps:
    """Numbered progress lines: ``[2/7] what ... 1.3s``."""

    def __init__(self, echo: Echo, total: int):
        self.echo = echo
        self.total = total
        self.number = 0

    def __call__(self, title: str, detail: str = "") -> Steps:
        self.number += 1
        self.echo(f"[{self.number}/{self.total}] {title}" + (f" {detail}" if detail else ""))
        return self

    def note(self, text: str) -> None:
        self.echo(f"      {text}")

    def __enter__(self) -> Steps:
        self.started = time.perf_counter()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.echo(f"      done in {time.perf_counter() - self.started:.1f}s")
