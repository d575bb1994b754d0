"""Run a generated workflow's jobs locally, the way a GitHub-hosted runner would.

Only as much of Actions as the ci-mlops templates use, and loud about the rest:

* ``run:`` steps go through ``bash --noprofile --norc -eo pipefail`` in the workspace,
  with the runner's ``GITHUB_*`` / ``RUNNER_*`` variables, fresh ``GITHUB_OUTPUT`` /
  ``GITHUB_STEP_SUMMARY`` files per step, and the step's ``env:`` after ``${{ }}``
  substitution. ``pip install`` steps are skipped (ci-mlops is in this venv, which is
  first on PATH).
* ``uses:`` steps: ``actions/checkout`` calls the ``checkout`` hook the test passes,
  setup-python / cache do nothing, upload-artifact / download-artifact copy to and
  from an artifact store folder, ``aws-actions/configure-aws-credentials`` exchanges a
  stand-in OIDC token for credentials at the loopback STS endpoint (``Runner.aws_endpoint``;
  only in a job granted ``id-token: write``) and exports them to the job's later steps, as
  the real action does. Any other action raises :class:`SimulationError`.
* ``if:`` and ``${{ }}`` go through a small evaluator for exactly the forms the
  templates use: ``success() failure() always() cancelled()``, ``!``, ``&&``, ``||``,
  ``==``, ``!=``, parentheses, 'strings', true/false, and the contexts ``github``,
  ``steps``, ``needs``, ``runner`` and ``secrets`` (repository secrets, overlaid by the
  job's ``environment:`` secrets, as GitHub does; a missing secret is ''). Anything else raises :class:`SimulationError`,
  so a template change cannot be silently mis-simulated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support import zygote

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
CONTEXTS = ("github", "steps", "needs", "runner", "secrets", "matrix", "inputs")
# Functions with arguments (the status functions take none).
FUNCTIONS = ("fromJSON", "startsWith", "contains")
STEP_KEYS = {"name", "id", "if", "uses", "with", "env", "run", "timeout-minutes", "continue-on-error"}
JOB_KEYS = {"name", "needs", "if", "runs-on", "timeout-minutes", "environment", "permissions", "outputs", "steps",
            "concurrency", "strategy"}
# Variables of the machine running the tests that a real runner would not have.
HOST_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_", "CI_MLOPS_", "INPUT_", "AWS_")


class SimulationError(Exception):
    """The workflow uses something this simulator does not model."""


# -- expressions -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<op>&&|\|\||==|!=|!|\(|\)|,)|'(?P<str>(?:[^']|'')*)'|(?P<word>[A-Za-z_][\w.\-]*))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SimulationError(f"unsupported expression syntax at {text[pos:]!r} in {text!r}")
        if m["op"]:
            out.append(("op", m["op"]))
        elif m["str"] is not None:
            out.append(("str", m["str"].replace("''", "'")))
        else:
            out.append(("word", m["word"]))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    """Recursive descent to a tiny AST: ("or"|"and", a, b), ("not", a), ("==" | "!=", a, b),
    ("call", name), ("lit", value), ("path", [parts])."""

    def __init__(self, text: str):
        self.text, self.toks, self.i = text, _tokens(text), 0

    def parse(self) -> tuple:
        node = self._or()
        if self.i != len(self.toks):
            raise SimulationError(f"unexpected {self.toks[self.i][1]!r} in {self.text!r}")
        return node

    def _peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _take(self, value: str) -> bool:
        if self._peek() == ("op", value):
            self.i += 1
            return True
        return False

    def _or(self) -> tuple:
        node = self._and()
        while self._take("||"):
            node = ("or", node, self._and())
        return node

    def _and(self) -> tuple:
        node = self._not()
        while self._take("&&"):
            node = ("and", node, self._not())
        return node

    def _not(self) -> tuple:
        if self._take("!"):
            return ("not", self._not())
        node = self._primary()
        for op in ("==", "!="):
            if self._take(op):
                return (op, node, self._primary())
        return node

    def _primary(self) -> tuple:
        tok = self._peek()
        if tok is None:
            raise SimulationError(f"expression ends early: {self.text!r}")
        self.i += 1
        kind, value = tok
        if tok == ("op", "("):
            node = self._or()
            if not self._take(")"):
                raise SimulationError(f"missing ')' in {self.text!r}")
            return node
        if kind == "str":
            return ("lit", value)
        if kind == "word":
            if value in ("true", "false"):
                return ("lit", value == "true")
            if value in ("null",):
                return ("lit", None)
            if self._take("("):
                if value in FUNCTIONS:
                    args = [self._or()]
                    while self._take(","):
                        args.append(self._or())
                    if not self._take(")"):
                        raise SimulationError(f"missing ')' after {value}( in {self.text!r}")
                    return ("fn", value, args)
                if value not in STATUS_FUNCTIONS or not self._take(")"):
                    raise SimulationError(f"unsupported function {value}() in {self.text!r}")
                return ("call", value)
            parts = value.split(".")
            if parts[0] not in CONTEXTS:
                raise SimulationError(f"unsupported context {parts[0]!r} in {self.text!r}")
            return ("path", parts)
        raise SimulationError(f"unexpected {value!r} in {self.text!r}")


def _uses_status(node: tuple) -> bool:
    if node[0] == "call":
        return True
    if node[0] == "fn":
        return any(_uses_status(arg) for arg in node[2])
    return any(_uses_status(child) for child in node[1:] if isinstance(child, tuple))


def _function(name: str, args: list[Any]) -> Any:
    """fromJSON, startsWith and contains as Actions defines them (string comparisons ignore case)."""
    if name == "fromJSON":
        if len(args) != 1 or not isinstance(args[0], str):
            raise SimulationError(f"fromJSON needs one string, got {args!r}")
        return json.loads(args[0])
    if len(args) != 2:
        raise SimulationError(f"{name} needs two arguments, got {args!r}")
    haystack, needle = args
    if name == "startsWith":
        return str(haystack or "").lower().startswith(str(needle or "").lower())
    if isinstance(haystack, list):
        return any(_loose_equal(item, needle) for item in haystack)
    return str(needle or "").lower() in str(haystack or "").lower()


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value  # NaN is falsy too


def _loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # Actions compares strings case-insensitively
    if type(a) is type(b):
        return a == b

    def number(v: Any) -> float:
        if v is None:
            return 0.0
        if isinstance(v, bool):
            return float(v)
        if isinstance(v, (int, float)):
            return float(v)
        try:
            return float(v.strip() or 0) if isinstance(v, str) else float("nan")
        except ValueError:
            return float("nan")

    return number(a) == number(b)


@dataclass
class Scope:
    """What an expression can see."""

    github: dict[str, Any]
    runner: dict[str, Any]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    needs: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    failed: bool = False  # a previous step (or needed job) failed
    matrix: dict[str, Any] = field(default_factory=dict)  # this matrix job's combination
    inputs: dict[str, Any] = field(default_factory=dict)  # workflow_dispatch inputs

    def lookup(self, parts: list[str]) -> Any:
        root = parts[0]
        if root == "steps" and (len(parts) < 2 or parts[1] not in self.steps):
            raise SimulationError(f"no step with id {'.'.join(parts[1:2])!r} ran before: {'.'.join(parts)}")
        if root == "needs" and (len(parts) < 2 or parts[1] not in self.needs):
            raise SimulationError(f"job does not need {'.'.join(parts[1:2])!r}: {'.'.join(parts)}")
        if root == "secrets":
            if len(parts) != 2:
                raise SimulationError(f"unsupported secrets expression: {'.'.join(parts)}")
            return self.secrets.get(parts[1], "")
        node: Any = getattr(self, root)
        for part in parts[1:]:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def evaluate(self, node: tuple) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "path":
            return self.lookup(node[1])
        if kind == "fn":
            return _function(node[1], [self.evaluate(arg) for arg in node[2]])
        if kind == "call":
            return {"success": not self.failed, "failure": self.failed, "always": True, "cancelled": False}[node[1]]
        if kind == "not":
            return not _truthy(self.evaluate(node[1]))
        if kind == "and":
            left = self.evaluate(node[1])
            return self.evaluate(node[2]) if _truthy(left) else left
        if kind == "or":
            left = self.evaluate(node[1])
            return left if _truthy(left) else self.evaluate(node[2])
        equal = _loose_equal(self.evaluate(node[1]), self.evaluate(node[2]))
        return equal if kind == "==" else not equal

    def condition(self, text: Any) -> bool:
        """An ``if:`` value, with the implicit ``success() &&`` when it names no status function."""
        if text is None:
            return not self.failed
        if isinstance(text, bool):
            return text and not self.failed
        text = str(text).strip()
        if text.startswith("${{") and text.endswith("}}"):
            text = text[3:-2]
        node = _Parser(text).parse()
        if not _uses_status(node):
            node = ("and", ("call", "success"), node)
        return _truthy(self.evaluate(node))

    def substitute(self, value: Any) -> str:
        def one(m: re.Match) -> str:
            result = self.evaluate(_Parser(m[1]).parse())
            if isinstance(result, bool):
                return "true" if result else "false"
            if isinstance(result, (dict, list)):
                return json.dumps(result)
            return "" if result is None else str(result)

        if isinstance(value, bool):  # YAML true/false in with:/env: reach the action as "true"/"false"
            return "true" if value else "false"
        return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


# -- results ---------------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    id: str | None
    outcome: str  # success | failure | skipped
    kind: str  # run | uses | pip (skipped install) | if (condition false)
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # the step's own env:, substituted


@dataclass
class JobResult:
    job_id: str
    conclusion: str  # success | failure | skipped
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    environment: str | None = None
    concurrency: tuple[str, str] | None = None  # (group, cancel-in-progress) after substitution
    summary: str = ""

    def step(self, name: str) -> StepResult:
        for step in self.steps:
            if name in (step.id, step.name):
                return step
        raise KeyError(f"no step {name!r} in job {self.job_id}: {[s.name for s in self.steps]}")

    def log(self) -> str:
        """Every step's outcome and output, for assertion messages."""
        parts = []
        for s in self.steps:
            parts.append(f"--- {s.name} [{s.kind}] {s.outcome} rc={s.returncode}\n{s.stdout}{s.stderr}")
        return "\n".join(parts)


def parse_output_file(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT`` / ``GITHUB_ENV`` format: ``k=v`` lines and ``k<<DELIM`` blocks."""
    values, lines, i = {}, text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise SimulationError(f"unterminated {key}<<{delim} block in an output file")
            i += 1
            values[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        else:
            raise SimulationError(f"malformed output file line: {line!r}")
    return values


# -- the runner --------------------------------------------------------------------------------


def load_workflow(path: Path) -> dict:
    doc = yaml.safe_load(Path(path).read_text())
    if "env" in doc or "defaults" in doc:
        raise SimulationError("workflow-level env/defaults are not simulated")
    return doc


@dataclass
class Runner:
    """One simulated runner: a workspace, a temp dir and an artifact store.

    ``github`` holds the ``github`` context (``event_name``, ``event``, ``repository``,
    ``sha``, ``ref``, ``token``, ``api_url``, ``server_url`` ...); ``checkout`` is
    called with the checkout step's ``with:`` when the job checks out.
    """

    workspace: Path
    temp: Path
    artifacts: Path
    github: dict[str, Any]
    checkout: Callable[[dict[str, str]], None] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # repository secrets
    environment_secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # per environment name
    aws_endpoint: str | None = None  # the loopback STS for configure-aws-credentials
    run_artifacts: dict[str, Path] = field(default_factory=dict)  # other runs' artifact stores, by run id
    oidc_logins: list[dict[str, str]] = field(default_factory=list)  # what the login action exchanged

    def base_env(self, event_path: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(HOST_PREFIXES)}
        env["PATH"] = zygote.path_prefix() + str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        g = self.github
        env.update({
            "CI": "true", "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": g["event_name"], "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": g["repository"], "GITHUB_REPOSITORY_OWNER": g["repository"].split("/")[0],
            "GITHUB_SHA": g["sha"], "GITHUB_REF": g["ref"], "GITHUB_REF_NAME": g["ref_name"],
            "GITHUB_REF_TYPE": g["ref_type"], "GITHUB_BASE_REF": g.get("base_ref", ""),
            "GITHUB_HEAD_REF": g.get("head_ref", ""), "GITHUB_WORKFLOW": g["workflow"],
            "GITHUB_RUN_ID": g["run_id"], "GITHUB_RUN_ATTEMPT": "1", "GITHUB_ACTOR": g.get("actor", "octocat"),
            "GITHUB_SERVER_URL": g["server_url"], "GITHUB_API_URL": g["api_url"],
            "GITHUB_WORKSPACE": str(self.workspace), "RUNNER_TEMP": str(self.temp), "RUNNER_OS": "Linux",
            "DVC_NO_ANALYTICS": "1",
        })
        env.update(self.extra_env)
        return env

    def run_job(self, workflow: dict, job_id: str, needs: dict[str, JobResult] | None = None,
                matrix: dict[str, Any] | None = None) -> JobResult:
        """One job; ``matrix``: this job's combination, for a job with ``strategy.matrix`` (see :func:`run_matrix`)."""
        job = workflow["jobs"][job_id]
        unknown = set(job) - JOB_KEYS
        if unknown:
            raise SimulationError(f"job {job_id}: keys not simulated: {sorted(unknown)}")
        needed = job.get("needs") or []
        needed = [needed] if isinstance(needed, str) else list(needed)
        needs = needs or {}
        if set(needed) - set(needs):
            raise SimulationError(f"job {job_id} needs {needed}; run those first")
        scope = Scope(
            github=self.github, runner={"temp": str(self.temp), "os": "Linux"},
            needs={n: {"result": needs[n].conclusion, "outputs": needs[n].outputs} for n in needed},
            failed=any(needs[n].conclusion != "success" for n in needed),
            matrix=dict(matrix or {}),
            inputs=dict((self.github.get("event") or {}).get("inputs") or {})
            if self.github["event_name"] == "workflow_dispatch" else {},
        )
        if ("strategy" in job) != (matrix is not None):
            raise SimulationError(f"job {job_id}: a job with strategy.matrix runs through run_matrix, others without")
        if not scope.condition(job.get("if")):
            return JobResult(job_id, "skipped")
        scope.failed = False  # a step's success() is about this job's earlier steps, not the needed jobs
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.temp.mkdir(parents=True, exist_ok=True)
        event_path = self.temp.parent / f"event-{job_id}.json"
        event_path.write_text(json.dumps(self.github["event"]))
        result = JobResult(job_id, "success")
        if job.get("environment") is not None:
            result.environment = scope.substitute(job["environment"])
        scope.secrets = {**self.secrets, **self.environment_secrets.get(result.environment or "", {})}
        self._permissions = job.get("permissions") or {}
        concurrency = job.get("concurrency") or workflow.get("concurrency")
        if concurrency is not None:
            if isinstance(concurrency, str):
                concurrency = {"group": concurrency}
            result.concurrency = (scope.substitute(concurrency["group"]),
                                  scope.substitute(concurrency.get("cancel-in-progress", False)))
        env = self.base_env(event_path)
        for index, step in enumerate(job["steps"]):
            outcome = self._step(step, index, scope, env, result)
            # continue-on-error: the step's outcome stays "failure", its conclusion becomes "success"
            tolerated = _continue_on_error(step, scope) and outcome.outcome == "failure"
            conclusion = "success" if tolerated else outcome.outcome
            if step.get("id"):
                scope.steps[step["id"]] = {"outcome": outcome.outcome, "conclusion": conclusion,
                                           "outputs": outcome.outputs}
            if conclusion == "failure":
                scope.failed = True
        result.conclusion = "failure" if scope.failed else "success"
        result.outputs = {k: scope.substitute(v) for k, v in (job.get("outputs") or {}).items()}
        return result

    def _step(self, step: dict, index: int, scope: Scope, env: dict[str, str], job: JobResult) -> StepResult:
        unknown = set(step) - STEP_KEYS
        if unknown:
            raise SimulationError(f"step {step.get('name')}: keys not simulated: {sorted(unknown)}")
        name = step.get("name") or step.get("uses") or f"step {index}"
        res = StepResult(name, step.get("id"), "skipped", "if")
        job.steps.append(res)
        if not scope.condition(step.get("if")):
            return res
        res.env = {k: scope.substitute(v) for k, v in (step.get("env") or {}).items()}
        if "uses" in step:
            res.kind = "uses"
            res.outcome = self._action(step["uses"], {k: scope.substitute(v) for k, v in (step.get("with") or {}).items()},
                                       env)
            if step["uses"].startswith("actions/setup-python@"):
                res.outputs = {"python-path": sys.executable, "python-version": "{}.{}".format(*sys.version_info[:2])}
            return res
        script = scope.substitute(step["run"])
        if re.match(r"\s*((python[\d.]* -m |uv )?pip install)", script):
            res.kind, res.outcome = "pip", "success"
            return res
        if "ci-mlops-venv" in script:
            script = self._tool_venv(script, res.env)
        res.kind = "run"
        files = {name: self.temp.parent / f"{name.lower()}-{index}" for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH")}
        for path in files.values():
            path.write_text("")
        script_path = self.temp.parent / f"step-{index}.sh"
        script_path.write_text(script)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_path)],
            cwd=self.workspace, env={**env, **{k: str(v) for k, v in files.items()}, **res.env},
            capture_output=True, text=True, timeout=600,
        )
        res.returncode, res.stdout, res.stderr = proc.returncode, proc.stdout, proc.stderr
        res.outcome = "success" if proc.returncode == 0 else "failure"
        res.outputs = parse_output_file(files["GITHUB_OUTPUT"].read_text())
        env.update(parse_output_file(files["GITHUB_ENV"].read_text()))
        for extra in files["GITHUB_PATH"].read_text().splitlines():
            env["PATH"] = extra + os.pathsep + env["PATH"]
        job.summary += files["GITHUB_STEP_SUMMARY"].read_text()
        return res

    def _tool_venv(self, script: str, step_env: dict[str, str]) -> str:
        """ci-mlops' own environment: this venv's ``ci-mlops`` stands in for the one pip would
        install (no network); the script's other lines (the PATH entry) run as written."""
        venv_bin = self.temp / "ci-mlops-venv" / "bin"
        venv_bin.mkdir(parents=True, exist_ok=True)
        if not (venv_bin / "ci-mlops").exists():
            (venv_bin / "ci-mlops").symlink_to(zygote.ci_mlops_script())
        if not step_env.get("CI_MLOPS_PYTHON"):
            raise SimulationError("Install ci-mlops: CI_MLOPS_PYTHON is empty (setup-python's python-path output)")
        return "\n".join(line for line in script.splitlines() if " -m venv " not in line and " -m pip install " not in line)

    def _action(self, uses: str, with_: dict[str, str], env: dict[str, str]) -> str:
        action = uses.split("@", 1)[0]
        if action == "aws-actions/configure-aws-credentials":
            return self._aws_login(with_, env)
        if action == "actions/checkout":
            if with_.get("persist-credentials") != "false":
                raise SimulationError("checkout without persist-credentials: false")
            if self.checkout is not None:
                self.checkout(with_)
            return "success"
        if action in ("actions/setup-python", "actions/cache"):
            return "success"
        if action == "actions/upload-artifact":
            source, dest = Path(with_["path"]), self.artifacts / with_["name"]
            if not source.exists():
                if with_.get("if-no-files-found", "warn") == "error":
                    return "failure"
                return "success"
            if dest.exists():
                return "failure"  # artifact names are unique within a run
            shutil.copytree(source, dest)
            return "success"
        if action == "actions/download-artifact":
            store = self.artifacts
            if with_.get("run-id"):  # another run's artifacts: needs a token that can read them
                if not with_.get("github-token"):
                    return "failure"
                # a run registered in run_artifacts, else the store this runner was given stands for it
                store = self.run_artifacts.get(with_["run-id"], self.artifacts)
            if "pattern" in with_:  # each matching artifact into its own folder (merge-multiple: false)
                if "name" in with_ or with_.get("merge-multiple", "false") != "false":
                    raise SimulationError("download-artifact: pattern with name or merge-multiple is not simulated")
                for source in sorted(store.glob(with_["pattern"])) if store.is_dir() else []:
                    shutil.copytree(source, Path(with_["path"]) / source.name, dirs_exist_ok=True)
                return "success"
            source = store / with_["name"]
            if not source.is_dir():
                return "failure"
            shutil.copytree(source, Path(with_["path"]), dirs_exist_ok=True)
            return "success"
        raise SimulationError(f"action {uses} is not simulated")


    def _aws_login(self, with_: dict[str, str], env: dict[str, str]) -> str:
        """role-to-assume through the job's OIDC token, as configure-aws-credentials does."""
        if self._permissions.get("id-token") != "write":
            raise SimulationError("configure-aws-credentials with role-to-assume needs `id-token: write` on its job")
        if self.aws_endpoint is None or not with_.get("role-to-assume") or not with_.get("aws-region"):
            raise SimulationError("configure-aws-credentials: role-to-assume, aws-region and a loopback STS are needed")
        import boto3

        sts = boto3.client("sts", endpoint_url=self.aws_endpoint, region_name=with_["aws-region"],
                           aws_access_key_id="unused", aws_secret_access_key="unused")
        token = f"oidc.{self.github['repository']}.{self.github['ref']}"  # stands in for GitHub's signed JWT
        creds = sts.assume_role_with_web_identity(RoleArn=with_["role-to-assume"], RoleSessionName="GitHubActions",
                                                  WebIdentityToken=token)["Credentials"]
        exported = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": creds["SessionToken"], "AWS_REGION": with_["aws-region"],
                    "AWS_DEFAULT_REGION": with_["aws-region"]}
        env.update(exported)  # the real action exports them to every later step of the job
        self.oidc_logins.append({"role": with_["role-to-assume"], **exported})
        return "success"


def _continue_on_error(step: dict, scope: Scope) -> bool:
    value = step.get("continue-on-error", False)
    if isinstance(value, bool):
        return value
    raise SimulationError(f"step {step.get('name')}: continue-on-error must be true or false here, got {value!r}")


def run_matrix(workflow: dict, job_id: str, needs: dict[str, JobResult], github: dict[str, Any],
               make_runner: Callable[[dict[str, Any]], Runner]) -> tuple[JobResult, list[JobResult]]:
    """A job with ``strategy.matrix``: one job per combination, each on its own runner.

    The matrix is an ``include`` list or axes (their product), literal or from one
    ``${{ }}`` expression (``fromJSON(needs.plan.outputs.matrix)``). With ``fail-fast``
    (GitHub's default) the jobs after a failure are cancelled. Returns the job as ``needs``
    sees it (failure when any failed, else success; skipped when the job's ``if`` is false
    or the matrix is empty) and the combinations' results.
    """
    import itertools

    job = workflow["jobs"][job_id]
    strategy = job.get("strategy") or {}
    unknown = set(strategy) - {"matrix", "fail-fast", "max-parallel"}
    if unknown:
        raise SimulationError(f"job {job_id}: strategy keys not simulated: {sorted(unknown)}")
    needed = job.get("needs") or []
    needed = [needed] if isinstance(needed, str) else list(needed)
    scope = Scope(github=github, runner={}, needs={n: {"result": needs[n].conclusion, "outputs": needs[n].outputs}
                                                   for n in needed},
                  failed=any(needs[n].conclusion != "success" for n in needed))
    if not scope.condition(job.get("if")):
        return JobResult(job_id, "skipped"), []
    matrix = strategy.get("matrix")
    if isinstance(matrix, str):
        text = matrix.strip()
        if not (text.startswith("${{") and text.endswith("}}")):
            raise SimulationError(f"job {job_id}: strategy.matrix must be one expression, got {matrix!r}")
        matrix = scope.evaluate(_Parser(text[3:-2]).parse())
    if not isinstance(matrix, dict):
        raise SimulationError(f"job {job_id}: strategy.matrix is not a mapping: {matrix!r}")
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    if "exclude" in matrix:
        raise SimulationError("strategy.matrix.exclude is not simulated")
    combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())] if axes else []
    combos += list(matrix.get("include") or [])
    if len(combos) > 256:
        raise SimulationError(f"job {job_id}: a matrix may generate at most 256 jobs per run ({len(combos)})")
    results: list[JobResult] = []
    for combo in combos:
        if strategy.get("fail-fast", True) and any(r.conclusion == "failure" for r in results):
            results.append(JobResult(job_id, "cancelled"))
            continue
        results.append(make_runner(combo).run_job(workflow, job_id, needs, matrix=combo))
    if not results:
        return JobResult(job_id, "skipped"), results
    failed = any(r.conclusion in ("failure", "cancelled") for r in results)
    return JobResult(job_id, "failure" if failed else "success"), results
