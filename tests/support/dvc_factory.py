"""Real git + DVC repositories for tests, built fast.

``make_dvc_repo(path)`` builds a small but complete ML project: ``params.yaml``,
a DVC-tracked CSV, three stages (prepare / train / evaluate) written in plain
Python (stdlib + PyYAML), a metrics JSON, two plots (a linear curve and a
confusion matrix), ``models/model.pkl`` as a ``dvc.yaml`` artifact, and a local
directory remote at ``<path>/../remote`` with everything pushed and committed
on ``main``.

All DVC commands of one build run in ONE Python process (``dvc.cli.main`` called
in turn), so a build costs one DVC import instead of one per command. The default
repo and every other layout (a combination of the options below) are built once per test run
(the ``shared_dvc_repo`` and ``dvc_layouts`` fixtures in conftest.py, tests/support/dvc_layouts.py):
take a copy, once per module when its tests share one, with :func:`copy_repo` or
``dvc_layouts.copy(DEST, **options)``::

    @pytest.fixture(scope="module")
    def template(tmp_path_factory, shared_dvc_repo):
        return copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("tpl") / "repo")

    @pytest.fixture
    def repo(template, tmp_path):
        return copy_repo(template, tmp_path / "repo")

Options:
    remote         add ``<path>/../remote`` as the default remote and push to it.
    cached_metrics metrics.json is a cached DVC output (``cache: true``, git-ignored).
    cached_dir     DVC's "get started" layout: the evaluate stage outputs the whole
                   ``eval`` directory (cached), and ``eval/metrics.json`` and the plots
                   in it are declared by the top-level ``metrics:``/``plots:``; no artifacts.
    monorepo       add a second pipeline in ``pipelines/churn/`` with its own
                   ``dvc.yaml``, ``params.yaml``, a stage with ``wdir``, YAML
                   metrics, a top-level TOML metrics file and top-level JSON params.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from ci_mlops.dvc.run import DvcResult
from ci_mlops.dvc.run import run_dvc_batch as run_dvc_commands

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
}

PARAMS: dict[str, Any] = {
    "prepare": {"split": 0.25, "seed": 7},
    "train": {"lr": 0.1, "epochs": 5, "model": "logreg"},
}

PREPARE_PY = '''\
import csv, os, random, yaml

params = yaml.safe_load(open("params.yaml"))["prepare"]
with open("data/raw.csv", newline="") as fh:
    rows = list(csv.DictReader(fh))
random.Random(params["seed"]).shuffle(rows)
cut = int(len(rows) * (1 - params["split"]))
os.makedirs("data/prepared", exist_ok=True)
for name, part in (("train", rows[:cut]), ("test", rows[cut:])):
    with open(f"data/prepared/{name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["x1", "x2", "label"])
        writer.writeheader()
        writer.writerows(part)
'''

TRAIN_PY = '''\
import csv, math, os, pickle, yaml

params = yaml.safe_load(open("params.yaml"))["train"]
with open("data/prepared/train.csv", newline="") as fh:
    rows = [(float(r["x1"]), float(r["x2"]), int(r["label"])) for r in csv.DictReader(fh)]
w1 = w2 = b = 0.0
for _ in range(params["epochs"]):
    for x1, x2, y in rows:
        p = 1 / (1 + math.exp(-(w1 * x1 + w2 * x2 + b)))
        g = p - y
        w1 -= params["lr"] * g * x1
        w2 -= params["lr"] * g * x2
        b -= params["lr"] * g
os.makedirs("models", exist_ok=True)
with open("models/model.pkl", "wb") as fh:
    pickle.dump({"w1": round(w1, 6), "w2": round(w2, 6), "b": round(b, 6)}, fh, protocol=4)
'''

EVALUATE_PY = '''\
import csv, json, math, os, pickle, sys

model = pickle.load(open("models/model.pkl", "rb"))


def score(x1, x2):
    return 1 / (1 + math.exp(-(model["w1"] * x1 + model["w2"] * x2 + model["b"])))


def evaluate(path):
    with open(path, newline="") as fh:
        rows = [(float(r["x1"]), float(r["x2"]), int(r["label"])) for r in csv.DictReader(fh)]
    probs = [score(x1, x2) for x1, x2, _ in rows]
    labels = [y for _, _, y in rows]
    preds = [int(p >= 0.5) for p in probs]
    tp = sum(1 for p, y in zip(preds, labels) if p == y == 1)
    fp = sum(1 for p, y in zip(preds, labels) if p == 1 and y == 0)
    fn = sum(1 for p, y in zip(preds, labels) if p == 0 and y == 1)
    eps = 1e-9
    loss = -sum(y * math.log(p + eps) + (1 - y) * math.log(1 - p + eps) for p, y in zip(probs, labels)) / len(rows)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(p == y for p, y in zip(preds, labels)) / len(rows)
    return rows, probs, labels, preds, {
        "accuracy": round(accuracy, 4), "loss": round(loss, 4), "precision": round(precision, 4),
        "recall": round(recall, 4), "f1": round(f1, 4),
    }


_, _, _, _, train_metrics = evaluate("data/prepared/train.csv")
rows, probs, labels, preds, test_metrics = evaluate("data/prepared/test.csv")
os.makedirs("eval", exist_ok=True)
with open(sys.argv[1] if len(sys.argv) > 1 else "metrics.json", "w") as fh:
    json.dump({"train": {"accuracy": train_metrics["accuracy"], "loss": train_metrics["loss"]},
               "test": test_metrics, "n_test": len(rows)}, fh, indent=2)
os.makedirs("eval", exist_ok=True)
with open("eval/prc.csv", "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["threshold", "precision", "recall"])
    for step in range(1, 10):
        t = step / 10
        tp = sum(1 for p, y in zip(probs, labels) if p >= t and y == 1)
        fp = sum(1 for p, y in zip(probs, labels) if p >= t and y == 0)
        fn = sum(1 for p, y in zip(probs, labels) if p < t and y == 1)
        writer.writerow([t, round(tp / (tp + fp), 4) if tp + fp else 1.0, round(tp / (tp + fn), 4) if tp + fn else 0.0])
with open("eval/confusion.csv", "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["actual", "predicted"])
    writer.writerows(zip(labels, preds))
'''

ROOT_DVC_YAML = '''\
stages:
  prepare:
    cmd: python src/prepare.py
    deps:
      - src/prepare.py
      - data/raw.csv
    params:
      - prepare.split
      - prepare.seed
    outs:
      - data/prepared
  train:
    cmd: python src/train.py
    deps:
      - src/train.py
      - data/prepared
    params:
      - train.lr
      - train.epochs
      - train.model
    outs:
      - models/model.pkl
  evaluate:
    cmd: python src/evaluate.py
    deps:
      - src/evaluate.py
      - models/model.pkl
      - data/prepared
    metrics:
      - metrics.json:
          cache: {cache}
    plots:
      - eval/prc.csv:
          cache: false
          x: recall
          y: precision
      - eval/confusion.csv:
          cache: false
          template: confusion
          x: actual
          y: predicted
artifacts:
  model:
    path: models/model.pkl
    type: model
    desc: Logistic regression on two features
    labels:
      - classification
    meta:
      framework: pure-python
'''

# DVC's "get started" layout: the evaluate stage's whole `eval` directory is one cached
# output, and the metrics and plots inside it are declared at the top level.
GET_STARTED_EVALUATE = '''\
  evaluate:
    cmd: python src/evaluate.py eval/metrics.json
    deps:
      - src/evaluate.py
      - models/model.pkl
      - data/prepared
    outs:
      - eval
metrics:
  - eval/metrics.json
plots:
  - eval/prc.csv:
      x: recall
      y: precision
  - Confusion:
      template: confusion
      x: actual
      y:
        eval/confusion.csv: predicted
'''

CHURN_PARAMS: dict[str, Any] = {"model": {"alpha": 0.5, "depth": 3}, "score": {"threshold": 0.4}}

CHURN_TRAIN_PY = '''\
import json, os, yaml

params = yaml.safe_load(open("params.yaml"))["model"]
os.makedirs("eval", exist_ok=True)
quality = round(1 - 1 / (2 + params["alpha"] * params["depth"]), 4)
with open("eval/metrics.yaml", "w") as fh:
    yaml.safe_dump({"quality": quality, "rmse": round(1 - quality, 4), "name": "churn"}, fh, sort_keys=True)
with open("eval/summary.toml", "w") as fh:
    fh.write(f"[summary]\\nquality = {quality}\\nstable = true\\n")
'''

CHURN_SCORE_PY = '''\
import json, yaml

threshold = yaml.safe_load(open("../params.yaml"))["score"]["threshold"]
quality = yaml.safe_load(open("metrics.yaml"))["quality"]
with open("scores.json", "w") as fh:
    json.dump({"score": {"auc": round(quality * (1 - threshold / 4), 4), "threshold": threshold}}, fh)
'''

CHURN_DVC_YAML = '''\
params:
  - config.json
metrics:
  - eval/summary.toml
stages:
  train:
    cmd: python train.py
    deps:
      - train.py
    params:
      - model.alpha
      - model.depth
    outs:
      - eval/metrics.yaml:
          cache: false
          persist: true
  score:
    wdir: eval
    cmd: python ../score.py
    deps:
      - ../score.py
      - metrics.yaml
    params:
      - ../params.yaml:
          - score.threshold
    metrics:
      - scores.json:
          cache: false
'''


# -- helpers used by tests ---------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _env() -> dict[str, str]:
    """Environment for DVC and the stage commands: the venv's python first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ, **GIT_IDENTITY,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "DVC_NO_ANALYTICS": "1", "DVC_IGNORE_ISATTY": "true", "GIT_TERMINAL_PROMPT": "0",
    }


def run_dvc_batch(repo: Path, commands: list[list[str]]) -> DvcResult:
    """Run several DVC commands in one Python process, as ci-mlops runs DVC; raise on the first failure.

    Returns the last command's result (``stdout``, ``stderr``, ``returncode``)."""
    results = run_dvc_commands(repo, commands, env=_env(), stop_on_error=True)
    if not results[-1].ok:
        failed = results[-1]
        raise RuntimeError(f"{failed.command} failed in {repo}:\n{failed.stdout}\n{failed.stderr}")
    return results[-1]


def run_dvc(repo: Path, *args: str, check: bool = True) -> DvcResult:
    """Run ``dvc ARGS`` in ``repo`` in a process of its own; raise on failure if ``check``."""
    result = run_dvc_commands(repo, [list(args)], env=_env())[0]
    if check and not result.ok:
        raise RuntimeError(f"{result.command} failed in {repo}:\n{result.stdout}\n{result.stderr}")
    return result


def repro(repo: Path, *, push: bool = False) -> None:
    """``dvc repro`` every pipeline in the repo (and ``dvc push`` when asked)."""
    commands = [["repro", "--all-pipelines", "-q"]]
    if push:
        commands.append(["push", "-q"])
    run_dvc_batch(repo, commands)


def commit_all(repo: Path, msg: str) -> str:
    """``git add -A && git commit``; returns the new commit's SHA."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", msg)
    return git(repo, "rev-parse", "HEAD").strip()


def set_params(repo: Path, params_file: str = "params.yaml", **dotted: Any) -> None:
    """Set params by dotted key: ``set_params(repo, **{"train.lr": 0.2})`` (``train__lr=0.2`` works too)."""
    path = Path(repo) / params_file
    data = yaml.safe_load(path.read_text()) or {}
    for key, value in dotted.items():
        parts = key.replace("__", ".").split(".")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def copy_repo(template: Path, dest: Path) -> Path:
    """Copy a built repo (and its sibling ``remote`` directory, when there is one) to ``dest``.

    The copy's DVC remote is re-pointed at the copied remote, so tests that break
    the remote do not touch the template's.
    """
    template, dest = Path(template), Path(dest)
    shutil.copytree(template, dest, symlinks=True)
    remote = template.parent / "remote"
    if remote.is_dir():
        new_remote = dest.parent / "remote"
        if not new_remote.exists():
            shutil.copytree(remote, new_remote, symlinks=True)
        configs = [dest / ".dvc" / "config", dest / ".dvc" / "config.local"]  # a copy of a copy has both
        if any(c.is_file() and str(remote.resolve()) in c.read_text() for c in configs):
            # config.local overrides config and is git-ignored: the copy stays clean
            (dest / ".dvc" / "config.local").write_text(f'[\'remote "local"\']\n    url = {new_remote.resolve()}\n')
    return dest


def _raw_data(n: int = 120, seed: int = 42) -> str:
    rng = random.Random(seed)
    lines = ["x1,x2,label"]
    for _ in range(n):
        label = rng.random() < 0.5
        x1 = rng.gauss(1.0 if label else -1.0, 1.2)
        x2 = rng.gauss(0.5 if label else -0.5, 1.5)
        lines.append(f"{x1:.4f},{x2:.4f},{int(label)}")
    return "\n".join(lines) + "\n"


def make_dvc_repo(path: str | Path, *, remote: bool = True, cached_metrics: bool = False,
                  monorepo: bool = False, cached_dir: bool = False) -> Path:
    """Build a real git + DVC repository at ``path`` on branch ``main``; see the module docstring."""
    repo = Path(path)
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "commit.gpgsign", "false")

    (repo / "params.yaml").write_text(yaml.safe_dump(PARAMS, sort_keys=False))
    (repo / "src").mkdir()
    (repo / "src" / "prepare.py").write_text(PREPARE_PY)
    (repo / "src" / "train.py").write_text(TRAIN_PY)
    (repo / "src" / "evaluate.py").write_text(EVALUATE_PY)
    (repo / "data").mkdir()
    (repo / "data" / "raw.csv").write_text(_raw_data())
    dvc_yaml = ROOT_DVC_YAML.replace("{cache}", "true" if cached_metrics else "false")
    if cached_dir:
        dvc_yaml = dvc_yaml[:dvc_yaml.index("  evaluate:")] + GET_STARTED_EVALUATE
    (repo / "dvc.yaml").write_text(dvc_yaml)
    if monorepo:
        churn = repo / "pipelines" / "churn"
        churn.mkdir(parents=True)
        (churn / "params.yaml").write_text(yaml.safe_dump(CHURN_PARAMS, sort_keys=False))
        (churn / "config.json").write_text(json.dumps({"features": {"window": 30, "source": "events"}}, indent=2))
        (churn / "train.py").write_text(CHURN_TRAIN_PY)
        (churn / "score.py").write_text(CHURN_SCORE_PY)
        (churn / "dvc.yaml").write_text(CHURN_DVC_YAML)

    commands = [["init", "-q"], ["config", "core.autostage", "true"], ["config", "core.analytics", "false"],
                ["add", "-q", "data/raw.csv"]]
    if remote:
        remote_dir = (repo.parent / "remote").resolve()
        remote_dir.mkdir(exist_ok=True)
        commands.append(["remote", "add", "-d", "local", str(remote_dir)])
    commands.append(["repro", "--all-pipelines", "-q"])
    if remote:
        commands.append(["push", "-q"])
    run_dvc_batch(repo, commands)
    commit_all(repo, "Initial pipeline")
    return repo


def metrics_commit(repo: Path, msg: str, **params: Any) -> str:
    """Change params, reproduce and commit in one step; returns the commit SHA."""
    set_params(repo, **params)
    repro(repo)
    return commit_all(repo, msg)


__all__ = [
    "commit_all",
    "copy_repo",
    "git",
    "make_dvc_repo",
    "metrics_commit",
    "repro",
    "run_dvc",
    "run_dvc_batch",
    "set_params",
]

if __name__ == "__main__":  # build one for a look: python tests/support/dvc_factory.py DIR
    target = make_dvc_repo(sys.argv[1] if len(sys.argv) > 1 else "/tmp/dvc-factory-demo/repo",
                           monorepo="--monorepo" in sys.argv, cached_metrics="--cached" in sys.argv)
    print(textwrap.dedent(f"built {target}"))
