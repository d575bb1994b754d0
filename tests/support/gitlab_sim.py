"""Run the generated GitLab pipeline's jobs locally, the way a GitLab Runner (shell executor) would.

Only as much of GitLab CI/CD as the generated file uses, and loud about the rest:

* the user's ``.gitlab-ci.yml`` is read with its ``include: - local:`` files; hidden jobs
  (``.name``) are merged into jobs through ``extends`` (hashes merged, lists replaced, as
  GitLab does); ``image``, ``tags``, ``timeout``, ``interruptible``, ``resource_group``
  and ``environment`` are accepted and not modelled;
* ``rules: - if:`` go through a small evaluator for the forms the template uses
  (``$VAR``, ``$VAR == "text"``, ``$A == $B``, ``!=``, ``&&``, ``||``, parentheses); the
  first matching rule decides, ``when: always`` runs a job whose ``needs`` failed;
* jobs run in stage order (``.pre``, ``build``, ``test``, ``deploy``, ``.post``), each in
  a fresh clone of the origin at the pipeline's commit, detached, as the runner checks it
  out (``GIT_DEPTH: "0"``: the whole history), with ``before_script`` and ``script`` in one
  ``bash -eo pipefail``;
* ``artifacts:paths`` (and ``when: always``) of the jobs a job ``needs`` are copied into its
  workspace; ``artifacts:reports:dotenv`` files become variables of the jobs that need it;
* variables: the predefined ``CI_*`` ones the test passes, the project's CI/CD variables
  (which win over the YAML's, as in GitLab), then the job's ``variables:``.

The lines that install ci-mlops into the image (``pip install ... ci-mlops==X``, the tool
venv) and the project's own ``pip install`` lines are skipped: ci-mlops and the project's
dependencies are in this test environment, which is first on PATH.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STAGES = (".pre", "build", "test", "deploy", ".post")
RESERVED = {"stages", "include", "variables", "workflow", "default", "image", "services", "before_script",
            "after_script", "cache"}
JOB_KEYS = {"extends", "stage", "image", "tags", "rules", "timeout", "interruptible", "variables", "before_script",
            "script", "artifacts", "needs", "resource_group", "environment"}
SKIPPED = (
    re.compile(r"^python3? -m pip install .*ci-mlops(==|\[| @ )"),
    re.compile(r"^python3 -m venv /tmp/ci-mlops-venv$"),
    re.compile(r"^/tmp/ci-mlops-venv/bin/python -m pip install "),
    re.compile(r"^mkdir -p /tmp/ci-mlops-bin && ln -sf "),
    re.compile(r"^(python3? -m )?pip install "),
)
BIN = Path(sys.executable).parent


class SimulationError(Exception):
    """The pipeline uses something this simulator does not model."""


# -- rules ------------------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(?P<op>&&|\|\||==|!=|\(|\))|"(?P<dq>[^"]*)"|\'(?P<sq>[^\']*)\'|\$(?P<var>[A-Za-z_]\w*))')


def evaluate(expression: str, variables: dict[str, str]) -> bool:
    tokens, pos = [], 0
    while pos < len(expression.rstrip()):
        m = _TOKEN.match(expression, pos)
        if not m:
            raise SimulationError(f"rules:if: cannot parse {expression[pos:]!r} in {expression!r}")
        tokens.append(("op", m["op"]) if m["op"] else ("var", m["var"]) if m["var"] else
                      ("str", m["dq"] if m["dq"] is not None else m["sq"]))
        pos = m.end()
    items = list(tokens)

    def take(value: str) -> bool:
        if items and items[0] == ("op", value):
            items.pop(0)
            return True
        return False

    def value() -> Any:
        if take("("):
            result = disjunction()
            if not take(")"):
                raise SimulationError(f"rules:if: unbalanced parentheses in {expression!r}")
            return result
        if not items:
            raise SimulationError(f"rules:if: unexpected end of {expression!r}")
        kind, text = items.pop(0)
        if kind == "var":
            return variables.get(text)  # None: not set
        if kind == "str":
            return text
        raise SimulationError(f"rules:if: unexpected {text!r} in {expression!r}")

    def comparison() -> bool:
        left = value()
        if take("=="):
            return (left or None) == (value() or None)
        if take("!="):
            return (left or None) != (value() or None)
        return bool(left)

    def conjunction() -> bool:
        result = comparison()
        while take("&&"):
            result = comparison() and result
        return result

    def disjunction() -> bool:
        result = conjunction()
        while take("||"):
            result = conjunction() or result
        return result

    result = disjunction()
    if items:
        raise SimulationError(f"rules:if: trailing {items} in {expression!r}")
    return result


# -- configuration ----------------------------------------------------------------------------


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base.get(key), value) if key in base else value
        return out
    return copy.deepcopy(over)


def load_pipeline(workspace: Path) -> dict[str, dict]:
    """The jobs of ``.gitlab-ci.yml`` and its local includes, ``extends`` resolved."""
    doc = yaml.safe_load((workspace / ".gitlab-ci.yml").read_text()) or {}
    for include in doc.pop("include", []) or []:
        if not isinstance(include, dict) or set(include) != {"local"}:
            raise SimulationError(f"include {include!r}: only `- local: PATH` is modelled")
        doc = _merge(yaml.safe_load((workspace / include["local"].lstrip("/")).read_text()), doc)
    hidden = {k: v for k, v in doc.items() if k.startswith(".")}
    jobs = {}
    for name, job in doc.items():
        if name.startswith(".") or name in RESERVED:
            if name in RESERVED - {"stages"}:
                raise SimulationError(f"top-level {name!r} is not modelled")
            continue
        if "extends" in job:
            job = _merge(hidden[job["extends"]], {k: v for k, v in job.items() if k != "extends"})
        unknown = set(job) - JOB_KEYS
        if unknown:
            raise SimulationError(f"job {name}: {sorted(unknown)} not modelled")
        jobs[name] = job
    return jobs


# -- running ----------------------------------------------------------------------------------


@dataclass
class JobResult:
    name: str
    status: str  # success | failed | skipped
    log: str = ""
    artifacts: Path | None = None
    dotenv: dict[str, str] = field(default_factory=dict)
    workspace: Path | None = None


@dataclass
class Pipeline:
    origin: Path  # the repository ("origin"), as a git directory
    root: Path  # where workspaces and artifacts go
    predefined: dict[str, str]  # CI_* of this pipeline (and GITLAB_CI)
    project_variables: dict[str, str] = field(default_factory=dict)  # Settings > CI/CD > Variables
    results: dict[str, JobResult] = field(default_factory=dict)

    def run(self) -> dict[str, JobResult]:
        sha = self.predefined["CI_COMMIT_SHA"]
        jobs = load_pipeline(self._checkout("config", sha))
        variables = {**self.predefined, **self.project_variables}
        selected: dict[str, str] = {}
        for name, job in jobs.items():
            for rule in job.get("rules") or [{}]:
                if "if" not in rule or evaluate(rule["if"], variables):
                    if rule.get("when", "on_success") != "never":
                        selected[name] = rule.get("when", "on_success")
                    break
        order = sorted(selected, key=lambda n: STAGES.index(jobs[n].get("stage", "test")))
        for name in order:
            job = jobs[name]
            needs = [n["job"] if isinstance(n, dict) else n for n in job.get("needs", [])] if "needs" in job else [
                d for d in order if STAGES.index(jobs[d].get("stage", "test")) < STAGES.index(job.get("stage", "test"))]
            missing = [n for n in needs if n not in selected]
            if missing:
                raise SimulationError(f"job {name} needs {missing}, which are not in this pipeline")
            failed = [n for n in needs if self.results[n].status != "success"]
            if failed and selected[name] != "always":
                self.results[name] = JobResult(name, "skipped")
                continue
            self.results[name] = self._run_job(name, job, needs, sha)
        return self.results

    def _checkout(self, name: str, sha: str) -> Path:
        workspace = self.root / name / "work"
        if workspace.exists():
            shutil.rmtree(workspace)
        workspace.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(self.origin), str(workspace)], check=True)
        subprocess.run(["git", "-C", str(workspace), "checkout", "-q", "--detach", sha], check=True)
        local = self.origin / ".dvc" / "config.local"
        if local.is_file():
            shutil.copy(local, workspace / ".dvc" / "config.local")
        return workspace

    def _run_job(self, name: str, job: dict, needs: list[str], sha: str) -> JobResult:
        workspace = self._checkout(name.replace(":", "-"), sha)
        dotenv: dict[str, str] = {}
        for need in needs:
            done = self.results[need]
            if done.artifacts is not None and done.artifacts.exists():
                shutil.copytree(done.artifacts, workspace, dirs_exist_ok=True)
            dotenv.update(done.dotenv)
        # This test environment's ci-mlops (and PYTHONPATH, when the tests run a source tree).
        host = {k: os.environ[k] for k in ("PYTHONPATH",) if os.environ.get(k)}
        env = {"PATH": f"{BIN}{os.pathsep}/usr/bin:/bin", "HOME": str(self.root / "home"), "LANG": "C.UTF-8", **host,
               **{k: str(v) for k, v in (job.get("variables") or {}).items()}, **self.predefined,
               **self.project_variables, **dotenv, "CI_JOB_NAME": name, "CI_PROJECT_DIR": str(workspace)}
        lines, skipped = [], []
        for line in [*(job.get("before_script") or []), *(job.get("script") or [])]:
            (skipped if any(p.search(line) for p in SKIPPED) else lines).append(line)
        script = workspace.parent / "script.sh"
        script.write_text("set -eo pipefail\n" + "\n".join(lines) + "\n")
        proc = subprocess.run(["bash", "--noprofile", "--norc", str(script)], cwd=workspace, env=env,
                              capture_output=True, text=True)
        status = "success" if proc.returncode == 0 else "failed"
        log = f"$ skipped: {skipped}\n{proc.stdout}{proc.stderr}"
        result = JobResult(name, status, log, workspace=workspace)
        artifacts = job.get("artifacts") or {}
        if status == "success" or artifacts.get("when") == "always":
            store = self.root / name.replace(":", "-") / "artifacts"
            for rel in artifacts.get("paths") or []:
                src = workspace / rel
                if src.is_dir():
                    shutil.copytree(src, store / rel, dirs_exist_ok=True)
                elif src.is_file():
                    (store / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, store / rel)
            result.artifacts = store
            env_file = (artifacts.get("reports") or {}).get("dotenv")
            if env_file and (workspace / env_file).is_file():
                for raw in (workspace / env_file).read_text().splitlines():
                    key, sep, value = raw.partition("=")
                    if sep:
                        result.dotenv[key] = value
        return result
