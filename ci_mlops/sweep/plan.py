"""Expand the ``experiments:`` section into named experiments and a GitHub Actions matrix.

::

    experiments:
      grid: {train.lr: [0.01, 0.03], train.epochs: [5, 10, 20]}   # every combination
      sets: [{train.model: tree, train.depth: 3}]                 # and these, as written
      rank_by: test.f1

Each experiment is a name (``sweep-01`` ...) and the params it sets, in DVC's
``--set-param`` syntax (``[FILE:]dotted.key=value``; FILE defaults to params.yaml).
Grid experiments come first, in the grid's order (the last key varies fastest), then
the listed sets. The plan is a pure function of the configuration, so the plan job, each
matrix job and the collect job agree on what ``sweep-04`` means without passing params
around: a matrix job only receives a name.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ci_mlops.config import Config
from ci_mlops.errors import UserError

MATRIX_LIMIT = 256  # GitHub Actions: jobs one matrix may generate per workflow run
NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
PARAM = re.compile(r"(?:[A-Za-z0-9_.\-/]+\.(?:ya?ml|json|toml|py):)?[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*")
_SAFE_TEXT = re.compile(r"[A-Za-z0-9_.+\-/]*")


@dataclass(frozen=True)
class Experiment:
    name: str
    params: tuple[tuple[str, Any], ...]

    def set_params(self) -> list[str]:
        """``KEY=VALUE`` arguments for ``dvc exp run --set-param``."""
        return [f"{key}={format_value(value)}" for key, value in self.params]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params), "set_params": self.set_params()}


def format_value(value: Any) -> str:
    """A value as DVC parses ``--set-param`` values (YAML): 0.01, 5, true, adam."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return str(value)


def expand(config: Config, overrides: dict[str, list[Any]] | None = None) -> list[Experiment]:
    """The experiments the ``experiments:`` section declares (``overrides`` replace grid axes)."""
    section = config.settings.experiments
    if section is None:
        raise UserError(".ci-mlops.yml has no experiments: section (declare a grid or sets to sweep; "
                        "see docs/sweeps.md)")
    grid: dict[str, Sequence[Any]] = dict(section.grid or {})
    grid.update(overrides or {})
    sets = list(section.sets or ())
    for key in grid:
        _check_key(key, "experiments.grid")
    for i, entry in enumerate(sets):
        for key, value in entry.items():
            _check_key(key, f"experiments.sets[{i}]")
            _check_value(value, f"experiments.sets[{i}].{key}")
    combos: list[tuple[tuple[str, Any], ...]] = []
    if grid:
        keys = list(grid)
        for key in keys:
            values = grid[key]
            if not isinstance(values, (list, tuple)) or not values:
                raise UserError(f"experiments.grid.{key}: needs a non-empty list of values")
            for value in values:
                _check_value(value, f"experiments.grid.{key}")
        combos += [tuple(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    combos += [tuple(entry.items()) for entry in sets]
    if not combos:
        raise UserError("experiments: declares no experiment (grid and sets are both empty)")
    limit = section.max_experiments
    if len(combos) > limit:
        raise UserError(f"experiments: {len(combos)} experiments are more than {limit} "
                        f"({'GitHub Actions runs at most 256 jobs per matrix' if limit == MATRIX_LIMIT else 'experiments.max_experiments'}); "
                        "shrink the grid or split it into several sweeps")
    prefix = section.name
    width = max(2, len(str(len(combos))))
    seen: set[tuple[tuple[str, Any], ...]] = set()
    out = []
    for i, params in enumerate(combos, start=1):
        if params in seen:
            raise UserError(f"experiments: the param set {_show(params)} is declared twice")
        seen.add(params)
        out.append(Experiment(f"{prefix}-{i:0{width}d}", params))
    return out


def matrix(experiments: list[Experiment]) -> dict[str, Any]:
    """The ``strategy.matrix`` value: one ``include`` entry per experiment, by name only."""
    return {"include": [{"experiment": e.name} for e in experiments]}


def find(experiments: list[Experiment], name: str) -> Experiment:
    for experiment in experiments:
        if experiment.name == name:
            return experiment
    known = ", ".join(e.name for e in experiments[:10]) + (", ..." if len(experiments) > 10 else "")
    raise UserError(f"no experiment named '{name}' in the sweep (it has {known})")


def parse_overrides(text: str) -> dict[str, list[Any]]:
    """``train.lr=0.01,0.03 train.epochs=5`` -> grid axes. Strict: anything else is refused."""
    out: dict[str, list[Any]] = {}
    for token in text.split():
        key, sep, values = token.partition("=")
        if not sep or not values:
            raise UserError(f"sweep override '{_clip(token)}': write KEY=VALUE[,VALUE...], e.g. train.lr=0.01,0.03")
        _check_key(key, "sweep override")
        if key in out:
            raise UserError(f"sweep override: {key} is given twice")
        out[key] = [_parse_scalar(v, key) for v in values.split(",")]
        if len(out[key]) > 64:
            raise UserError(f"sweep override {key}: more than 64 values")
    if not out:
        raise UserError("sweep override: no KEY=VALUE given")
    return out


def _parse_scalar(text: str, key: str) -> Any:
    if not text or not _SAFE_TEXT.fullmatch(text) or len(text) > 64:
        raise UserError(f"sweep override {key}: value '{_clip(text)}' may only use letters, digits and . _ + - /")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _check_key(key: Any, where: str) -> None:
    if not isinstance(key, str) or not PARAM.fullmatch(key):
        raise UserError(f"{where}: '{_clip(key)}' is not a param key (write [FILE:]dotted.key, e.g. train.lr "
                        "or params.yaml:train.lr)")


def _check_value(value: Any, where: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise UserError(f"{where}: {value} is not a finite number")
        return
    if isinstance(value, str) and _SAFE_TEXT.fullmatch(value) and len(value) <= 64:
        return
    raise UserError(f"{where}: {_clip(value)!r} is not a usable value (numbers, true/false, or text of letters, "
                    "digits and . _ + - /)")


def _show(params: tuple[tuple[str, Any], ...]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in params)


def _clip(value: Any) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."
