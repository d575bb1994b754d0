"""The job that runs the project's code: refresh the data, ``dvc repro``, stage what changed.

It holds no write token. Each step's output goes to the job log as it comes; when a
step fails, the folder's manifest records which one (and the end of its log) so the
committing job can say so on the drift issue, and nothing is staged.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ci_mlops.dvc.run import stream_dvc
from ci_mlops.errors import CheckFailed
from ci_mlops.retrain.results import OUTPUTS, changed_files, is_result, result_paths, write_folder
from ci_mlops.retrain.settings import RetrainSettings

LOG_TAIL = 30  # lines of a failed step's output kept for the issue comment


def steps_for(settings: RetrainSettings, root: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) of each step, in order: refresh, imports, updates, then ``dvc repro``."""
    steps: list[tuple[str, list[str]]] = []
    if settings.refresh:
        steps.append((f"refresh: {settings.refresh}", ["bash", "-eo", "pipefail", "-c", settings.refresh]))
    for item in settings.imports:
        argv = ["dvc", "import", "--force", item.url, item.path, "-o", item.out]
        if item.rev:
            argv += ["--rev", item.rev]
        steps.append((shlex.join(argv), argv))
    if settings.update:
        argv = ["dvc", "update", "--", *settings.update]
        steps.append((shlex.join(argv), argv))
    pipelines = list(root.glob("**/dvc.yaml"))
    repro = ["dvc", "repro"] + (["--all-pipelines"] if len(pipelines) > 1 else [])
    steps.append((shlex.join(repro), repro))
    return steps


def run_step(name: str, argv: list[str], root: Path, echo: Callable[[str], None]) -> tuple[int, list[str]]:
    """Run one step, streaming its output; (exit code, last lines). DVC's steps run the
    project's own ``dvc`` (its plugins, its DVC version) in the environment every DVC that
    ci-mlops starts gets (:func:`ci_mlops.dvc.run.stream_dvc`)."""
    echo(f"ci-mlops: retrain step: {name}")
    if argv[0] == "dvc":
        result = stream_dvc(root, *argv[1:], echo=echo, keep=LOG_TAIL, project=True)
        return result.returncode, result.stdout.splitlines()
    tail: deque[str] = deque(maxlen=LOG_TAIL)
    try:
        proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        return 127, [f"cannot start {argv[0]}: {exc.strerror or exc}"]
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        tail.append(line)
        echo(line)
    return proc.wait(), list(tail)


def retrain(root: Path, folder: Path, settings: RetrainSettings, *, reason: str, base: str,
            echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[str, Any]:
    """Run the steps and stage the results into ``folder``; returns the manifest.

    ``status`` is ``changed`` (files and DVC outputs staged), ``unchanged`` (nothing to
    propose) or ``failed`` (then CheckFailed is raised after the manifest is written).
    """
    from ci_mlops.dvc.outputs import stage

    record: dict[str, Any] = {"kind": "retrain", "reason": reason, "base": base}
    for name, argv in steps_for(settings, root):
        code, tail = run_step(name, argv, root, echo)
        if code != 0:
            write_folder(root, folder, [], {**record, "status": "failed", "step": name, "returncode": code,
                                            "log": tail})
            raise CheckFailed(f"retrain step `{name}` failed (exit {code}); nothing was staged")
    return stage_results(root, folder, record, stage=stage)


def stage_results(root: Path, folder: Path, record: dict[str, Any], *,
                  stage: Callable[[Path, Path], int] | None = None) -> dict[str, Any]:
    """Stage the changed git-tracked results and the DVC outputs; the manifest."""
    if stage is None:
        from ci_mlops.dvc.outputs import stage as stage_outputs

        stage = stage_outputs
    allowed = result_paths(root)
    changed = changed_files(root)
    results = [p for p in changed if is_result(p, allowed)]
    left_out = [p for p in changed if p not in results]
    if not results:
        return write_folder(root, folder, [], {**record, "status": "unchanged", "left_out": left_out})
    staged = stage(root, folder / OUTPUTS)
    return write_folder(root, folder, results, {**record, "status": "changed", "left_out": left_out,
                                                "dvc_files": staged})
