"""Take one experiment into the branch: its params and its ``dvc.lock``, nothing else.

From a CI result (``--results``): the params it set are written into the params files
with DVC's own round-trip editors (comments and layout kept), and ``dvc.lock`` is the
one the experiment's run wrote; its outputs are in the DVC remote (the matrix job pushed
them), so ``dvc pull`` brings the model. Locally, DVC's own ``dvc exp apply`` does it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ci_mlops.config import Config
from ci_mlops.dvc.run import run_dvc
from ci_mlops.errors import UserError
from ci_mlops.fsutil import atomic_write
from ci_mlops.sweep.plan import Experiment, find
from ci_mlops.sweep.results import load_results


def apply_experiment(root: Path, config: Config, name: str, experiments: list[Experiment],
                     results_dir: Path | None) -> list[str]:
    """Write the experiment's params and dvc.lock; returns the files changed."""
    experiment = find(experiments, name)
    if results_dir is None:
        applied = run_dvc(root, "exp", "apply", name)
        if not applied.ok:
            raise UserError(f"sweep apply: `dvc exp apply {name}` failed: {applied.problem()}")
        return ["params", "dvc.lock", "outputs (dvc exp apply)"]
    matches = [r for r in load_results(results_dir) if r.name == name]
    if not matches:
        raise UserError(f"sweep apply: {results_dir} has no result for {name}")
    result = matches[0]
    if result.status != "success" or not result.lock:
        raise UserError(f"sweep apply: {name} did not succeed ({result.error or 'no dvc.lock recorded'}); "
                        "nothing to apply")
    if result.set_params != experiment.set_params():
        raise UserError(f"sweep apply: the result for {name} set {' '.join(result.set_params)}, but the sweep "
                        f"declares {' '.join(experiment.set_params())} (was the config changed since?)")
    changed = _write_params(root, experiment)
    lock = root / "dvc.lock"
    if not lock.is_file() or lock.read_text(encoding="utf-8") != result.lock:
        atomic_write(lock, result.lock)
        changed.append("dvc.lock")
    return changed


def _write_params(root: Path, experiment: Experiment) -> list[str]:
    # lazy: DVC is slow to import. Its round-trip editors, as `dvc exp run -S` uses them.
    from dvc.utils.serialize import MODIFIERS

    by_file: dict[str, list[tuple[str, Any]]] = {}
    for key, value in experiment.params:
        file, sep, dotted = key.rpartition(":")
        by_file.setdefault(file if sep else "params.yaml", []).append((dotted, value))
    changed = []
    for file, items in by_file.items():
        path = (root / file).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            raise UserError(f"sweep apply: params file {file} is not a file in the repository")
        before = path.read_bytes()
        # MODIFIERS is DVC's defaultdict: TOML, JSON and Python by suffix, YAML for anything else
        with MODIFIERS[path.suffix](path) as data:
            for dotted, value in items:
                _set(data, dotted.split("."), value, file)
        if path.read_bytes() != before:
            changed.append(file)
    return changed


def _set(node: Any, parts: list[str], value: Any, file: str) -> None:
    for part in parts[:-1]:
        if not isinstance(node.get(part) if hasattr(node, "get") else None, dict) and part not in node:
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value
