"""What one experiment produced: its params, metrics, ``dvc.lock`` and whether it ran.

A :class:`Result` comes from an experiment ref DVC made (``refs/exps/...``, local sweeps)
or from the workspace after ``dvc exp run`` (one matrix job in CI), and travels between
CI jobs as a small JSON file. Files read back are treated as untrusted: bounded size,
known keys only, types checked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ci_mlops.config import Config
from ci_mlops.errors import UserError
from ci_mlops.git import BlobReader, Repo, run_git
from ci_mlops.report.collect import snapshot
from ci_mlops.safeload import DocumentError, JsonValue, load_json
from ci_mlops.sweep.plan import NAME, Experiment

RESULT_VERSION = 1
MAX_RESULT_BYTES = 2 * 1024 * 1024  # a result is metrics and params, plus dvc.lock


@dataclass
class Result:
    name: str
    set_params: list[str]
    status: str  # "success" | "failed"
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> {dotted key: value}
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    lock: str | None = None  # dvc.lock of the run, for `sweep apply`
    sha: str | None = None  # the experiment's commit, when DVC made one

    def to_json(self) -> str:
        return json.dumps({"version": RESULT_VERSION, **asdict(self)}, indent=2, allow_nan=True) + "\n"


def failed(experiment: Experiment, error: str) -> Result:
    return Result(experiment.name, experiment.set_params(), "failed", error=error)


def from_revision(root: Path, experiment: Experiment, rev: str | None, *, config: Config | None = None,
                  reader: BlobReader | None = None) -> Result:
    """The experiment's metrics and params at ``rev`` (None: the workspace)."""
    snap = snapshot(root, rev, reader=reader, config=config, want_plots=False, label=experiment.name)
    lock = None
    if rev is None:
        path = root / "dvc.lock"
        lock = path.read_text(encoding="utf-8") if path.is_file() else None
    elif reader is not None:
        blob = reader.read(rev, "dvc.lock")
        lock = blob.decode("utf-8", "replace") if blob is not None else None
    return Result(experiment.name, experiment.set_params(), "success", metrics=snap.metrics, params=snap.params,
                  lock=lock, sha=rev)


def experiment_refs(root: Path, baseline: str) -> dict[str, str]:
    """Experiment name -> commit, for the experiments DVC ran on top of ``baseline``."""
    prefix = f"refs/exps/{baseline[:2]}/{baseline[2:]}/"
    out = run_git(["for-each-ref", "--format=%(objectname) %(refname)", prefix], root)
    refs = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        refs[ref[len(prefix):]] = sha
    return refs


def from_experiment_refs(root: Path, experiments: list[Experiment], *, config: Config | None = None,
                         baseline: str | None = None, errors: dict[str, str] | None = None) -> list[Result]:
    """One result per planned experiment: from its ref when DVC made one, else failed."""
    repo = Repo.discover(root)
    baseline = baseline or repo.rev_parse("HEAD")
    refs = experiment_refs(repo.root, baseline)
    results = []
    with BlobReader(repo.root) as reader:
        for experiment in experiments:
            sha = refs.get(experiment.name)
            if sha is None:
                why = (errors or {}).get(experiment.name) or ("the experiment failed (no result; see `dvc queue logs "
                                                             f"{experiment.name}`)")
                results.append(failed(experiment, why))
                continue
            try:
                results.append(from_revision(repo.root, experiment, sha, config=config, reader=reader))
            except UserError as exc:
                results.append(failed(experiment, exc.message))
    return results


def load_results(folder: Path) -> list[Result]:
    """Every ``*.json`` result in ``folder`` (and its subfolders: one artifact per matrix job)."""
    files = sorted(p for p in folder.rglob("*.json") if p.is_file() and not p.is_symlink())
    if not files:
        raise UserError(f"{folder}: no sweep results (*.json) found")
    return [load_result(p) for p in files]


def load_result(path: Path) -> Result:
    if path.stat().st_size > MAX_RESULT_BYTES:
        raise UserError(f"{path}: a sweep result over {MAX_RESULT_BYTES // 1024 // 1024} MiB is not one ci-mlops wrote")
    try:
        data = load_json(path.read_bytes(), limit=MAX_RESULT_BYTES)
    except (DocumentError, ValueError) as exc:
        raise UserError(f"{path}: not a sweep result: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != RESULT_VERSION:
        raise UserError(f"{path}: not a ci-mlops sweep result (version {RESULT_VERSION})")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise UserError(f"{path}: the experiment name is missing or not a valid name")
    status = data.get("status")
    if status not in ("success", "failed"):
        raise UserError(f"{path}: status must be success or failed")
    metrics, params = (_files(path, data.get(key), key) for key in ("metrics", "params"))
    set_params = data.get("set_params")
    if not isinstance(set_params, list) or not all(isinstance(p, str) for p in set_params):
        raise UserError(f"{path}: set_params must be a list of KEY=VALUE strings")
    error, lock, sha = (_text(path, data.get(key), key) for key in ("error", "lock", "sha"))
    return Result(name, [str(p) for p in set_params], status, metrics, params, error, lock, sha)


def _files(path: Path, value: JsonValue, key: str) -> dict[str, dict[str, Any]]:
    """A result's ``metrics`` or ``params``: file -> {dotted key: value}."""
    if not isinstance(value, dict):
        raise UserError(f"{path}: {key} must map files to values")
    files: dict[str, dict[str, Any]] = {}
    for file, values in value.items():
        if not isinstance(values, dict):
            raise UserError(f"{path}: {key} must map files to values")
        files[file] = values
    return files


def _text(path: Path, value: JsonValue, key: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UserError(f"{path}: {key} must be text")
    return value


def complete(results: list[Result], experiments: list[Experiment]) -> list[Result]:
    """The results of a CI sweep against its plan: one per planned experiment, in plan order.

    An experiment whose job left no result (it failed before writing one, timed out or was
    cancelled) is a row that says so; a result the plan does not describe is refused.
    """
    by_name = {r.name: r for r in results}
    planned = {e.name: e for e in experiments}
    for result in results:
        experiment = planned.get(result.name)
        if experiment is None:
            raise UserError(f"sweep report: a result for {result.name}, which the sweep's plan does not have "
                            "(was the config or --set changed?)")
        if result.set_params != experiment.set_params():
            raise UserError(f"sweep report: the result for {result.name} set {' '.join(result.set_params)}, the plan "
                            f"says {' '.join(experiment.set_params())} (was the config or --set changed?)")
    return [by_name.get(e.name) or failed(e, "no result: its job failed before writing one, timed out or was "
                                              "cancelled (see the workflow run)") for e in experiments]
