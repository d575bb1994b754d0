"""From repo facts and settings to the exact files ``init`` should write.

Pure functions: :func:`workflow_context` turns a validated :class:`Config` plus
:class:`RepoFacts` into the values the templates need; :func:`plan_files` renders
every file for a mode. The same templates render this project's own reusable
workflows (:func:`reusable_workflows`), so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from ci_mlops import __version__
from ci_mlops.config import SCHEMA_URL, Config, parse_config, records
from ci_mlops.config.records import (
    CiMlopsInstall,
    Comment,
    Deploy,
    Docker,
    DriftRetrain,
    Dvc,
    Oidc,
    ReportImages,
    Train,
)
from ci_mlops.errors import UserError
from ci_mlops.retrain.settings import commit_results
from ci_mlops.scaffold.detect import REMOTE_EXTRAS, RepoFacts
from ci_mlops.scaffold.needs import ProjectEnv, dvc_install, env_dir
from ci_mlops.scaffold.render import comment_text, flow_list, install_spec, render, yaml_scalar

MODES = ("full", "reusable")
PR_WORKFLOW_NAME = "ci-mlops PR"
WORKFLOWS_DIR = ".github/workflows"
REUSABLE_PATH = Path(__file__).with_name("reusable.json")

# DVC remote credentials the reusable workflows accept as (optional) secrets. A
# reusable workflow must name its secrets up front; `secrets: inherit` is avoided.
REUSABLE_SECRETS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING", "GDRIVE_CREDENTIALS_DATA",
)
# runs-on labels of GitHub-hosted runners; anything else is a self-hosted runner.
_HOSTED = re.compile(r"^(ubuntu|windows|macos)-[\w.-]+$")


@dataclass
class PlannedFile:
    path: str  # repo-relative, POSIX
    content: str
    template: str
    managed: bool = True  # False: written once when absent, never updated (the config, dvc.yaml)


@dataclass
class WorkflowRef:
    """Where callers find the reusable workflows: ``owner/repo`` at a full commit SHA."""

    repository: str
    sha: str
    version: str

    @classmethod
    def packaged(cls) -> WorkflowRef:
        data = json.loads(REUSABLE_PATH.read_text(encoding="utf-8"))
        return cls(data["repository"], data["sha"], data["version"])

    @classmethod
    def parse(cls, text: str) -> WorkflowRef:
        match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([0-9a-f]{40})", text.strip())
        if not match:
            raise UserError(f"--workflows-ref: expected OWNER/REPO@<40-hex commit SHA>, got {text!r}")
        return cls(match.group(1), match.group(2), __version__)

    def uses(self, workflow: str) -> str:
        return f"{self.repository}/.github/workflows/{workflow}@{self.sha} # v{self.version}"


@dataclass
class Settings:
    """Answers for a new .ci-mlops.yml (ignored when the repo already has one)."""

    base: str = "main"
    python: str = records.Settings.python
    install: str | None = "pip install -r requirements.txt"
    train: str | None = "dvc repro"
    test: str | None = "pytest -q"
    runner: list[str] = field(default_factory=lambda: [str(records.Settings.runner)])
    deploy: str = records.Deploy.target
    dvc_remote: str | None = None
    dvc_secrets: list[str] = field(default_factory=list)
    model_name: str = ""
    replace_cml: bool = records.Comment.replace_cml
    gpu: list[str] = field(default_factory=list)  # why it looks like GPU training (a comment in the config)
    tool_source: str | None = None  # ci_mlops.source; None: this version from PyPI


# -- the configuration file ----------------------------------------------------------


def config_text(settings: Settings) -> str:
    """A commented .ci-mlops.yml for these settings (validated before it is returned)."""
    runner: Any = settings.runner[0] if len(settings.runner) == 1 else settings.runner
    text = render("ci-mlops.yml.j2", {"s": settings, "runner": runner, "schema_url": SCHEMA_URL, "version": __version__})
    parse_config(text)  # a template bug must never produce an invalid config
    return text


def dvcyaml_text(train_command: str, script: str | None) -> str:
    return render("dvc.yaml.j2", {"cmd": train_command, "deps": [script] if script else []})


# -- workflows -----------------------------------------------------------------------


def is_self_hosted(labels: list[str]) -> bool:
    return any(label == "self-hosted" or not _HOSTED.fullmatch(label) for label in labels)


def workflow_context(config: Config, facts: RepoFacts) -> dict[str, Any]:
    """Everything the workflow templates read, from the config (which wins) and the repo facts."""
    settings = config.settings
    labels = config.runner_labels
    dvc = settings.dvc or Dvc()
    uses_dvc = facts.dvc.initialised
    remote_name = dvc.remote
    remote = next((r for r in facts.dvc.remotes if r.name == remote_name), None) if remote_name else facts.dvc.remote
    has_remote = uses_dvc and (remote is not None or bool(remote_name))
    extras = REMOTE_EXTRAS.get(remote.scheme) if remote else None
    deploy = settings.deploy or Deploy()
    docker = deploy.docker or Docker()
    drift = settings.drift
    tool = settings.ci_mlops or CiMlopsInstall()
    source = tool.source or install_spec()
    train = command_for(config, "train", lambda: detected_train(facts))
    pull_targets: list[str] = []
    if drift is not None and has_remote:
        pull_targets = [p for p in (drift.reference, drift.current) if p and facts.dvc.is_output(p)]
    return {
        "reusable": False,
        "version": __version__,
        "pr_name": PR_WORKFLOW_NAME,
        "base": settings.base or facts.default_branch,
        # zizmor (cache-poisoning) treats pushes to release-like branches as publishing
        # runs, where a cache a PR wrote must not be restored: no pip cache there.
        "release_branch": "release" in (settings.base or facts.default_branch).lower(),
        "python": settings.python,
        "install": command_for(config, "install", lambda: facts.install),
        "train": train,
        "test": command_for(config, "test", lambda: "pytest -q" if facts.tests else None),
        "runner": labels,
        "self_hosted": is_self_hosted(labels),
        "custom_labels": sorted({label for label in labels + _sweep_labels(config)
                                 if label != "self-hosted" and not _HOSTED.fullmatch(label)}),
        "timeout": settings.timeout_minutes,
        "dvc": {
            "used": uses_dvc,
            "remote": remote_name,
            "pull": has_remote and dvc.pull,
            # keyless credentials never reach the job that runs PR code: without read secrets,
            # a separate job logs in, fetches, and hands the data over as an artifact
            "fetch_job": bool(has_remote and dvc.pull and dvc.oidc and not dvc.secrets),
            # a read-only remote (plain http/https) gets no push unless dvc.push says so
            "push": has_remote and (dvc.push if dvc.push is not None else not (remote is not None and remote.read_only)),
            "read_only": remote is not None and remote.read_only and dvc.push is None,
            "secrets": list(dvc.secrets or ()),
            # the templates read the provider's mapping as written (dvc.oidc.aws.role, ...)
            "oidc": oidc_mapping(dvc.oidc),
            "push_environment": dvc.push_environment,
        },
        "project": project_env(config, facts, extras, uses_dvc and (has_remote or "dvc " in f"{train} ")),
        "tool": {
            "source": source,
            "python": tool.python,
            # ci-mlops' own DVC reads base metrics and tracked data from the remote: it needs the plugin too
            "requirements": [source] + ([f"dvc[{extras}]"] if extras else []),
        },
        "replace_cml": (settings.comment or Comment()).replace_cml,
        "pip_extras": [f"dvc[{extras}]"] if extras else [],
        "marker": (settings.comment or Comment()).marker or "ci-mlops",
        "deploy": {
            "target": deploy.target,
            "environment": deploy.environment,
            "docker": {
                "registry": docker.registry,
                "image": docker.image or "${{ github.repository }}",
                "dockerfile": docker.dockerfile,
                "context": docker.context,
            },
        },
        "drift": None if drift is None else {
            "schedule": drift.schedule,
            "fetch": drift.fetch,
            "pull_targets": pull_targets,
            "retrain": retrain_context(drift.retrain),
        },
        "commit_results": commit_results(config),
        "reusable_secrets": list(REUSABLE_SECRETS),
        "sweep": sweep_context(config, labels),
        "plots": plots_context(config, facts),
    }


# What `ci-mlops report --plots-dir` needs besides ci-mlops (its `plots` extra), for the training job.
PLOTS_REQUIREMENT = "vl-convert-python>=1.9"


def plots_context(config: Config, facts: RepoFacts) -> dict[str, Any] | None:
    """Plot images for a DVC project that declares plots (report.plots not false): the training job
    draws them, the comment jobs publish them (report.images.publish) or link the artifact."""
    report = config.settings.report
    if not (facts.dvc.initialised and getattr(facts.dvc, "plots", None)) or (report is not None and not report.plots):
        return None
    images = (report.images if report else None) or ReportImages()
    flags = []
    if not images.publish:
        flags.append("--no-plots-publish")
    # only what the file sets: the comment job reads the rest from the configuration it runs with
    for key, flag, value in (("branch", "--plots-branch", images.branch), ("keep_runs", "--plots-keep", images.keep_runs),
                             ("on_close", "--plots-on-close", images.on_close)):
        if config.wrote("report", "images", key):
            flags += [flag, str(value)]
    return {"publish": images.publish, "flags": flags, "requirement": PLOTS_REQUIREMENT}


def oidc_mapping(oidc: Oidc | None) -> dict[str, dict[str, str]] | None:
    """``dvc.oidc`` as the templates read it: the provider written, with the keys it sets."""
    if oidc is None:
        return None
    providers = {"aws": oidc.aws, "gcp": oidc.gcp, "azure": oidc.azure}
    return {name: {k: v for k, v in asdict(record).items() if v is not None}
            for name, record in providers.items() if record is not None} or None


def retrain_context(section: DriftRetrain | None) -> dict[str, Any] | None:
    """The retrain jobs' values (``drift.retrain``), or None when retraining is off."""
    if section is None:
        return None
    return {"schedule": section.schedule, "auto_merge": section.auto_merge, "merge_method": section.merge_method,
            "branch_prefix": section.branch_prefix, "workflow": section.workflow}


def sweep_context(config: Config, default_labels: list[str]) -> dict[str, Any] | None:
    """The sweep workflow's values (``experiments:``), or None when the project declares no sweep."""
    section = config.settings.experiments
    if section is None:
        return None
    runner = section.runner or default_labels
    labels = [runner] if isinstance(runner, str) else list(runner)
    return {
        "max_parallel": section.max_parallel,
        "timeout": section.timeout_minutes or config.settings.timeout_minutes,
        "labels": labels,
        # what the runs_on macro reads, for the experiment jobs' runners
        "wf": {"reusable": False, "runner": labels, "self_hosted": is_self_hosted(labels)},
        "chatops": section.chatops,
    }


def _sweep_labels(config: Config) -> list[str]:
    experiments = config.settings.experiments
    runner = experiments.runner if experiments is not None and experiments.runner else ()
    return [runner] if isinstance(runner, str) else list(runner)


def project_env(config: Config, facts: RepoFacts, extra: str | None, needs_dvc: bool) -> dict[str, Any]:
    """The project's environment in the workflow: where the install puts it (its ``bin`` goes first
    on PATH) and the command that adds DVC and the remote's plugin when the install lacks them."""
    install = command_for(config, "install", lambda: facts.install)
    env = getattr(facts, "env", None) or ProjectEnv()
    return {"env_dir": env_dir(install), "dvc_install": dvc_install(env, extra, install) if needs_dvc else None,
            "cache_paths": pip_cache_paths(install, facts.root)}


def pip_cache_paths(install: str | None, root: Path) -> list[str]:
    """Files setup-python's pip cache is keyed on: the requirements a pip install reads, else
    pyproject.toml. None (no cache) for other installers: setup-python fails when none exists."""
    if not install or env_dir(install) or not re.match(r"\s*(python[\d.]*\s+-m\s+)?pip3?\s+install\b", install):
        return []
    try:
        words = shlex.split(install)
    except ValueError:
        return []
    files = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-r", "--requirement")]
    if not files and (root / "pyproject.toml").is_file():
        files = ["pyproject.toml"]
    return files


def command_for(config: Config, key: str, detected: Callable[[], str | None]) -> str | None:
    """The install/train/test command: as configured (false or empty: none), else what was detected.

    No command means no step: a default that assumes files the repository lacks
    (requirements.txt, train.py, tests) would fail the first run.
    """
    value: str | Literal[False] | Train | None = getattr(config.settings, key)
    if isinstance(value, Train):  # train: {command: ..., commit_results: ...}
        value = value.command
    if value is None:
        return detected()
    return value if isinstance(value, str) and value.strip() else None


def detected_train(facts: RepoFacts) -> str | None:
    """``dvc repro`` for DVC pipelines, else ``python <script>`` for a training script, else None."""
    if facts.dvc.initialised and facts.dvc.dvcyaml_paths:
        return "dvc repro --all-pipelines" if len(facts.dvc.dvcyaml_paths) > 1 else "dvc repro"
    return facts.train_command


def missing_files(command: str, root: Path) -> list[str]:
    """Files a command names that do not exist: ``python SCRIPT`` and ``pip install -r FILE``."""
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    named = []
    for i, word in enumerate(words[:-1]):
        follower = words[i + 1]
        if (re.fullmatch(r"python[\d.]*", word) and follower.endswith(".py")) or (word in ("-r", "--requirement") and i > 0):
            named.append(follower)
    return [name for name in named if not (root / name).is_file()]


def plan_files(wf: dict[str, Any], mode: str = "full", ref: WorkflowRef | None = None) -> list[PlannedFile]:
    """The generated (manifest-managed) files for a workflow context and mode."""
    if mode not in MODES:
        raise UserError(f"--mode: {mode!r} is not one of {', '.join(MODES)}")
    files: list[PlannedFile] = []

    def add(name: str, template: str, context: dict[str, Any]) -> None:
        files.append(PlannedFile(f"{WORKFLOWS_DIR}/{name}", render(template, {"wf": context}), template))

    target = wf["deploy"]["target"]
    if mode == "full":
        add("ci-mlops-pr.yml", "workflows/pr.yml.j2", wf)
        if target != "none":
            add("ci-mlops-release.yml", "workflows/release.yml.j2", wf)
        if wf["drift"] is not None:
            add("ci-mlops-monitor.yml", "workflows/monitor.yml.j2", wf)
    else:
        ref = ref or WorkflowRef.packaged()
        unsupported = [s for s in wf["dvc"]["secrets"] if s not in REUSABLE_SECRETS]
        if unsupported:
            raise UserError(
                f"dvc.secrets: {', '.join(unsupported)} cannot be passed to the reusable workflows "
                f"(they accept {', '.join(REUSABLE_SECRETS)}); use --mode full"
            )
        for key in ("oidc", "push_environment"):
            if wf["dvc"][key]:
                raise UserError(f"dvc.{key}: the reusable workflows take DVC credentials as secrets only; use --mode full")
        for name, caller in callers(wf, ref).items():
            add(name, "workflows/caller.yml.j2", {**wf, "caller": caller})
    add("ci-mlops-comment.yml", "workflows/comment.yml.j2", wf)
    if wf.get("sweep"):
        # the same full workflow in both modes: its jobs (matrix, artifacts between jobs,
        # ChatOps dispatch) are not split into a reusable workflow
        add("ci-mlops-sweep.yml", "workflows/sweep.yml.j2", wf)
        if wf["sweep"]["chatops"]:
            add("ci-mlops-chatops.yml", "workflows/chatops.yml.j2", wf)
    if wf["custom_labels"]:
        files.append(PlannedFile(".github/actionlint.yaml",
                                 render("actionlint.yaml.j2", {"labels": wf["custom_labels"]}), "actionlint.yaml.j2"))
    return sorted(files, key=lambda f: f.path)


def check_parses(files: list[PlannedFile]) -> None:
    """Refuse, in one line, a planned YAML file that does not parse or lacks its expected top level.

    Values are validated by the schema and quoted by the templates; this is the backstop
    that keeps a missed case from ever writing a broken or reshaped workflow.
    """
    import yaml  # lazy: PyYAML is slow to import

    for file in files:
        if not file.path.endswith((".yml", ".yaml")):
            continue
        try:
            doc = yaml.safe_load(file.content)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise UserError(f"{file.path}{where}: the generated file would not be valid YAML "
                            f"({getattr(exc, 'problem', None) or exc.__class__.__name__}); "
                            "check the values in .ci-mlops.yml; nothing written") from exc
        expected = _shape(file.path)
        if not isinstance(doc, dict) or not expected <= set(doc) or not _shape_ok(file.path, doc):
            raise UserError(f"{file.path}: the generated file does not have the expected shape "
                            f"(top-level keys {', '.join(sorted('on' if k is True else str(k) for k in expected))}); "
                            "check the values in .ci-mlops.yml; nothing written")


def _shape(path: str) -> set[Any]:
    if path.startswith(f"{WORKFLOWS_DIR}/"):
        return {"name", True, "permissions", "jobs"}  # PyYAML reads the key `on` as True
    if path == ".github/actionlint.yaml":
        return {"self-hosted-runner"}
    if Path(path).name == "dvc.yaml":
        return {"stages"}
    return {"version"} if Path(path).name == ".ci-mlops.yml" else set()


def _shape_ok(path: str, doc: dict[Any, Any]) -> bool:
    if not path.startswith(f"{WORKFLOWS_DIR}/"):
        return True
    jobs = doc.get("jobs")
    return (set(doc) <= {"name", True, "permissions", "concurrency", "jobs"}
            and isinstance(jobs, dict) and bool(jobs)
            and all(isinstance(job, dict) and ("steps" in job or "uses" in job) for job in jobs.values()))


def callers(wf: dict[str, Any], ref: WorkflowRef) -> dict[str, dict[str, Any]]:
    """Caller workflows of ``--mode reusable``: triggers, permissions and inputs, per file."""
    q = _q
    runs_on = q(json.dumps(wf["runner"][0] if len(wf["runner"]) == 1 else wf["runner"]))
    secrets = wf["dvc"]["secrets"]
    branch = _flow([wf["base"]])
    tool = {"ci-mlops-source": q(wf["tool"]["source"]), "ci-mlops-python": q(wf["tool"]["python"])}
    out: dict[str, dict[str, Any]] = {}
    out["ci-mlops-pr.yml"] = {
        "name": PR_WORKFLOW_NAME,
        "description": ["The pull-request loop (retrain, test, gates, sticky PR comment; DVC push on the",
                        "default branch), run by ci-mlops' reusable workflow."],
        "on": ["pull_request:", f"  branches: {branch}", "push:", f"  branches: {branch}"],
        "concurrency": "ci-mlops-pr-caller-${{ github.event.pull_request.number || github.ref }}",
        "cancel": "${{ github.event_name == 'pull_request' }}",
        "job": "pr",
        "job_name": "ci-mlops",
        "permissions": ["contents: read  # check out the code and read the base branch for the diff",
                        "pull-requests: write  # create or update the sticky PR comment"],
        "uses": ref.uses("reusable-pr.yml"),
        "with": {
            "python-version": q(wf["python"]), "install": q(caller_install(wf)), "train": q(wf["train"] or ""),
            "test": q(wf["test"] or ""), "runs-on": runs_on, "timeout-minutes": str(wf["timeout"]),
            "dvc-pull": _bool(wf["dvc"]["pull"]), "dvc-push": _bool(wf["dvc"]["push"]),
            "dvc-remote": q(wf["dvc"]["remote"] or ""), "comment-marker": q(wf["marker"]), **tool,
            **({"dvc-plugins": q(" ".join(wf["pip_extras"]))} if wf["dvc"]["push"] and wf["pip_extras"] else {}),
        },
        "secrets": secrets if (wf["dvc"]["pull"] or wf["dvc"]["push"]) else [],
    }
    target = wf["deploy"]["target"]
    if target != "none":
        docker = target == "docker"
        with_: dict[str, str] = {"python-version": q(wf["python"]), "install": q(caller_install(wf)),
                                 "runs-on": runs_on, **tool}
        if docker:
            with_["registry"] = q(wf["deploy"]["docker"]["registry"])
        out["ci-mlops-release.yml"] = {
            "name": "ci-mlops release",
            "description": ["Releases the model on version tags (v1.2.0, model@v1.2.0, model#stage#N)",
                            (f"in the protected '{comment_text(wf['deploy']['environment'])}' environment, "
                             "via ci-mlops' reusable workflow.")],
            "on": ["push:", "  tags:", '    - "v*"', '    - "**@v*"', '    - "**#*"'],
            "concurrency": "ci-mlops-release-caller-${{ github.ref }}",
            "cancel": "false",
            "job": "release",
            "job_name": "ci-mlops release",
            "permissions": (["contents: read  # check out the tagged commit",
                             "packages: write  # push the image to GitHub Container Registry"] if docker else
                            ["contents: read  # check out the tagged commit; your deploy command brings its own credentials"]
                            if target == "custom" else
                            ["contents: write  # create the GitHub Release and upload its assets"]),
            "uses": ref.uses({"docker": "reusable-release-docker.yml", "custom": "reusable-release-custom.yml"}
                             .get(target, "reusable-release.yml")),
            "with": with_,
            "secrets": (secrets if wf["dvc"]["used"] else []) + (
                ["registry-username=REGISTRY_USERNAME", "registry-password=REGISTRY_PASSWORD"]
                if docker and wf["deploy"]["docker"]["registry"] != "ghcr.io" else []),
        }
    if wf["drift"] is not None:
        out["ci-mlops-monitor.yml"] = {
            "name": "ci-mlops monitor",
            "description": ["The drift monitor: on a schedule, compare current data with the reference and",
                            "keep one GitHub issue labelled ci-mlops:drift up to date, via ci-mlops' reusable workflow."],
            "on": ["schedule:", f"  - cron: {json.dumps(wf['drift']['schedule'])}  # UTC; drift.schedule in .ci-mlops.yml",
                   "workflow_dispatch:"],
            "concurrency": "ci-mlops-monitor-caller",
            "cancel": "false",
            "job": "monitor",
            "job_name": "ci-mlops monitor",
            "permissions": ["contents: read  # check out the code (the config and the reference data)",
                            "issues: write  # open, update or close the drift issue"],
            "uses": ref.uses("reusable-monitor.yml"),
            "with": {"python-version": q(wf["python"]), "install": q(caller_install(wf)),
                     "fetch": q(wf["drift"]["fetch"] or ""), "dvc-pull-targets": q("\n".join(wf["drift"]["pull_targets"])),
                     "dvc-remote": q(wf["dvc"]["remote"] or ""), "runs-on": runs_on, **tool},
            "secrets": secrets if wf["drift"]["pull_targets"] else [],
        }
    return out


def caller_install(wf: dict[str, Any]) -> str:
    """The reusable workflows' install input: the project's install, then DVC into it when it lacks DVC."""
    return " && ".join(c for c in (wf["install"], wf["project"]["dvc_install"]) if c)


def reusable_workflows() -> dict[str, str]:
    """This project's own ``on: workflow_call`` workflows, rendered from the same templates."""
    # python, runner and timeout_minutes: the config's defaults (the callers pass their own).
    wf = workflow_context(Config({"install": "", "train": "", "test": "", "drift": {}}), _NO_FACTS)
    wf.update(reusable=True, pip_extras=[], self_hosted=False, custom_labels=[], plots=None)
    out = {
        "reusable-pr.yml": render("workflows/pr.yml.j2", {"wf": wf}),
        "reusable-release.yml": render("workflows/release.yml.j2", {"wf": {**wf, "deploy": {**wf["deploy"], "target": "github-release"}}}),
        "reusable-release-custom.yml": render("workflows/release.yml.j2", {"wf": {**wf, "deploy": {**wf["deploy"], "target": "custom"}}}),
        "reusable-release-docker.yml": render("workflows/release.yml.j2", {"wf": {**wf, "deploy": {**wf["deploy"], "target": "docker"}}}),
        "reusable-monitor.yml": render("workflows/monitor.yml.j2", {"wf": wf}),
    }
    return {f"{WORKFLOWS_DIR}/{name}": text for name, text in out.items()}


def _q(value: str) -> str:
    return yaml_scalar(value)


def _flow(items: list[str]) -> str:
    return flow_list(items)


def _bool(value: bool) -> str:
    return "true" if value else "false"


class _NoFacts:
    """Repo facts for rendering the project's reusable workflows (no user repo involved)."""

    default_branch = "main"
    root = Path("/nonexistent")

    class dvc:
        initialised = True
        remotes: ClassVar[list[str]] = []
        remote = None

        @staticmethod
        def is_output(path: str) -> bool:
            return False


_NO_FACTS: Any = _NoFacts()
