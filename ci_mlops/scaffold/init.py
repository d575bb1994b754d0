"""The `ci-mlops init` flow: detect -> settle the settings -> plan -> show -> write.

Everything that can fail on bad input (not a repo, a broken config or dvc.yaml,
an impossible option) fails before anything is written or ``dvc init`` runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ci_mlops.config import CONFIG_NAME, Config, parse_config, records, schema
from ci_mlops.config.records import Deploy, Docker
from ci_mlops.deploy.artifacts import resolve_paths
from ci_mlops.deploy.registry import declared_artifacts
from ci_mlops.deploy.targets import TARGETS, dockerfile_text
from ci_mlops.dvc.project import load_project
from ci_mlops.dvc.run import run_dvc
from ci_mlops.errors import CheckFailed, UserError
from ci_mlops.scaffold import gitlab
from ci_mlops.scaffold.detect import REMOTE_SECRETS, RepoFacts, detect
from ci_mlops.scaffold.existing import overlaps
from ci_mlops.scaffold.plan import (
    PlannedFile,
    Settings,
    WorkflowRef,
    check_parses,
    config_text,
    dvcyaml_text,
    missing_files,
    plan_files,
    workflow_context,
)
from ci_mlops.scaffold.write import (
    CONFLICT,
    KEEP_CURRENT,
    KEEP_DELETED,
    KEEP_EDITED,
    KEEP_STALE,
    MANIFEST,
    MERGE,
    REMOVE,
    RESOLVED,
    WRITES,
    YOURS,
    Change,
    apply,
    compare,
    manifest_text,
    new_manifest,
    read_manifest,
    unified_diff,
)


@dataclass
class InitOptions:
    path: str = "."
    yes: bool = False
    deploy: str | None = None
    runners: list[str] = field(default_factory=list)
    base: str | None = None
    python: str | None = None
    mode: str | None = None
    dvc: bool | None = None
    workflows_ref: str | None = None
    dry_run: bool = False
    force: bool = False
    dockerfile: bool = False
    source: str | None = None  # ci_mlops.source for a new .ci-mlops.yml
    ci: str | None = None  # github | gitlab; None: detected (scaffold/gitlab.py resolve_ci)


def run_init(opts: InitOptions) -> list[Change]:
    if opts.source is not None:
        check_source(opts.source)

    facts = detect(opts.path)
    root = facts.root
    ci = gitlab.resolve_ci(opts.ci, root)
    manifest_path = gitlab.MANIFEST if ci == "gitlab" else MANIFEST
    if ci == "gitlab" and opts.mode == "reusable":
        raise UserError("--mode reusable calls GitHub's reusable workflows; with --ci gitlab the pipeline is one "
                        f"file your .gitlab-ci.yml includes ({gitlab.PIPELINE})")
    manifest = read_manifest(root, manifest_path)
    mode = opts.mode or manifest.get("mode") or "full"
    ref = WorkflowRef.parse(opts.workflows_ref) if opts.workflows_ref else None
    facts.workflows = [w for w in facts.workflows if w not in manifest.get("files", {})]
    click.echo(f"ci-mlops init: {root} ({describe(facts)}{'; GitLab CI/CD' if ci == 'gitlab' else ''})")

    for line in plan_notes(facts):
        click.echo(f"  note: {line}")
    for line in facts.dvc.dvc2:
        click.echo(f"warning: {line}: a DVC 2 feature that DVC 3 no longer runs; `dvc repro` will fail "
                   "until the pipeline is migrated (docs/init.md#dvc-2-pipelines)", err=True)
    dvc_init, scaffold_stage = decide_dvc(facts, opts)
    if dvc_init:
        facts.dvc.initialised = True
    planned: list[PlannedFile] = []
    if facts.config is None:
        settings = ask_settings(facts, opts, will_have_pipeline=bool(facts.dvc.dvcyaml_paths) or scaffold_stage,
                                ci=ci)
        text = config_text(settings)
        config = parse_config(text)
        planned.append(PlannedFile(CONFIG_NAME, text, "ci-mlops.yml.j2", managed=False))
    else:
        config = facts.config
        warn_overridden(config, opts)
    if scaffold_stage:
        planned.append(PlannedFile("dvc.yaml", dvcyaml_text(facts.train_command or "python train.py", facts.train_script),
                                   "dvc.yaml.j2", managed=False))
    wf = workflow_context(config, facts)
    warn_missing(config, wf, root)
    remote_notes(wf, facts)
    unsupported = [key for key, on in (("drift.retrain", wf["drift"] and wf["drift"]["retrain"]),
                                       ("train.commit_results", wf["commit_results"])) if on]
    if unsupported and (ci == "gitlab" or mode == "reusable"):
        where = "GitLab pipelines" if ci == "gitlab" else "--mode reusable"
        click.echo(f"warning: {CONFIG_NAME}: {' and '.join(unsupported)}: {where} has no jobs for "
                   f"{'them' if len(unsupported) > 1 else 'it'} yet; use GitHub's full mode (docs/retrain.md)", err=True)
    planned += gitlab.plan_gitlab(wf, config, root) if ci == "gitlab" else plan_files(wf, mode, ref)
    if opts.dockerfile:
        planned.append(plan_dockerfile(root, config, wf))

    check_parses(planned)
    changes = compare(root, planned, manifest, force=opts.force)
    previous_text = (root / manifest_path).read_text(encoding="utf-8") if (root / manifest_path).exists() else None
    updated = new_manifest(changes, mode, manifest)
    manifest_changes = manifest_text(updated) != previous_text and bool(updated["files"] or previous_text)

    for change in changes:
        click.echo(f"  {label(change.action):<10} {change.path}")
        if change.action in (KEEP_EDITED, KEEP_DELETED, KEEP_STALE, YOURS, MERGE, CONFLICT, KEEP_CURRENT, RESOLVED):
            click.echo(f"  {'':<10}   {change.action}")
    if dvc_init:
        click.echo(f"  {'run':<10} dvc init" + (" (and a one-stage dvc.yaml)" if scaffold_stage else ""))
    pending = [c for c in changes if c.action in WRITES or c.action == REMOVE]

    conflicts = [c for c in changes if c.action == CONFLICT]
    if opts.dry_run:
        for change in pending:
            click.echo(unified_diff(change), nl=False)
        click.echo("Dry run: nothing written." if pending or dvc_init or manifest_changes else "Nothing to change.")
        report_conflicts(conflicts)
        return changes
    if not pending and not dvc_init and not manifest_changes:
        click.echo("Nothing to change: everything is up to date.")
        report_conflicts(conflicts)
        return changes
    if not opts.yes and not click.confirm("Write these changes?", default=True):
        raise UserError("aborted: nothing written")
    if dvc_init:
        run_dvc_init(root)
    touched = apply(root, changes, updated, previous_text, manifest_path)
    click.echo(f"Done: {done_summary(changes, touched, dvc_init)}.")
    if ci == "gitlab":
        written = any(c.path == gitlab.USER_PIPELINE and c.action in WRITES for c in changes)
        click.echo("Next: " + "; ".join(gitlab.next_steps(wf, root, written)) + ".")
    else:
        next_steps(config, wf, changes)
    report_conflicts(conflicts)
    return changes


def report_conflicts(conflicts: list[Change]) -> None:
    """Each conflict as a diff from the file to the merge with conflict markers; then exit 1."""
    if not conflicts:
        return
    for change in conflicts:
        click.echo(unified_diff(change), nl=False)
    names = ", ".join(c.path for c in conflicts)
    raise CheckFailed(f"{names}: your edits conflict with the new rendering, so {'they were' if len(conflicts) > 1 else 'it was'} "
                      "left as is (diff above); merge by hand (edit the file), then run `ci-mlops init` again, "
                      "or --force to take the new rendering")


def describe(facts: RepoFacts) -> str:
    parts = [f"default branch {facts.default_branch}"]
    if facts.dvc.initialised:
        n = len(facts.dvc.dvcyaml_paths)
        remote = facts.dvc.remote
        parts.append(f"DVC with {n} dvc.yaml file{'s' if n != 1 else ''}"
                     + (f", remote '{remote.name}'" if remote else ", no remote"))
    else:
        parts.append("no DVC")
    if facts.workflows:
        parts.append(f"{len(facts.workflows)} workflow{'s' if len(facts.workflows) != 1 else ''} of yours (left alone)")
    return "; ".join(parts)


def done_summary(changes: list[Change], touched: list[str], dvc_init: bool) -> str:
    """What was done, counted honestly: files written, files removed, the lock, dvc init."""
    written = sum(c.action in WRITES for c in changes)
    removed = sum(c.action == REMOVE for c in changes)
    parts = []
    if written:
        parts.append(f"{written} file{'s' if written != 1 else ''} written")
    if removed:
        parts.append(f"{removed} file{'s' if removed != 1 else ''} removed")
    for path in touched:
        if path.endswith("ci-mlops.lock"):
            parts.append(f"{path} updated")
    if dvc_init:
        parts.append("DVC initialised")
    return ", ".join(parts) or "nothing written"


def label(action: str) -> str:
    return action.split(" ")[0].rstrip(":")


def decide_dvc(facts: RepoFacts, opts: InitOptions) -> tuple[bool, bool]:
    """Whether to run `dvc init`, and whether to scaffold a one-stage dvc.yaml.

    Offered only on the first run (no .ci-mlops.yml yet): a later run respects that choice.
    """
    if facts.dvc.initialised or opts.dvc is False or (facts.config is not None and opts.dvc is None):
        return False, False
    if opts.dvc is None:
        # Never on its own: a repository without a pipeline gets DVC only when asked (--dvc, or yes here).
        command = facts.train_command
        if opts.yes or opts.dry_run or not command:
            return False, False
        question = f"This repository does not use DVC yet. Run `dvc init` and scaffold a one-stage dvc.yaml around `{command}`?"
        if not click.confirm(question, default=False):
            return False, False
    scaffold = not facts.dvc.dvcyaml_paths and facts.train_script is not None
    return True, scaffold


def ask_settings(facts: RepoFacts, opts: InitOptions, *, will_have_pipeline: bool, ci: str = "github") -> Settings:
    """Settings for a new .ci-mlops.yml: options, else detected values, confirmed by prompts."""
    train: str | None
    if facts.dvc.initialised and will_have_pipeline:
        train = "dvc repro --all-pipelines" if len(facts.dvc.dvcyaml_paths) > 1 else "dvc repro"
    else:
        train = facts.train_command  # None: no training step until one is configured
    remote = facts.dvc.remote
    s = Settings(
        base=opts.base or facts.default_branch,
        python=opts.python or facts.python or records.Settings.python,
        install=facts.install,
        train=train,
        test="pytest -q" if facts.tests else None,
        runner=opts.runners or ["ubuntu-latest"],
        deploy=opts.deploy or ("gitlab-release" if ci == "gitlab" else "github-release"),
        replace_cml=any(wf.cml_comment for wf in facts.existing),
        gpu=facts.gpu,
        tool_source=opts.source,
        dvc_secrets=list(REMOTE_SECRETS.get(remote.scheme, [])) if remote else [],
        model_name=facts.name,
    )
    if opts.yes or opts.dry_run:  # a dry run never asks: it shows the plan for what was detected
        return s
    s.base = opts.base or click.prompt("Base branch for reports and gates", default=s.base)
    s.python = opts.python or click.prompt("Python version", default=s.python)
    s.install = _none(click.prompt("Install command ('none' for no install step)", default=s.install or "none"))
    s.train = _none(click.prompt("Training command ('none' for no training step)", default=s.train or "none"))
    s.test = _none(click.prompt("Test command ('none' for no tests)", default=s.test or "none"))
    if not opts.runners:
        labels = click.prompt("Runner labels (comma-separated, e.g. self-hosted,gpu)", default=",".join(s.runner))
        s.runner = [label.strip() for label in labels.split(",") if label.strip()] or ["ubuntu-latest"]
    if not opts.deploy:
        s.deploy = click.prompt("Deploy target for version tags", default=s.deploy,
                                type=click.Choice(TARGETS))
    if s.replace_cml:
        s.replace_cml = click.confirm("Your workflows post CML comments. Let ci-mlops take over the existing CML "
                                      "comment (comment.replace_cml) instead of adding a second one?", default=True)
    if remote:
        names = click.prompt(f"Secrets the DVC remote '{remote.name}' needs (comma-separated, 'none' for none)",
                             default=",".join(s.dvc_secrets) or "none")
        s.dvc_secrets = [n.strip() for n in names.split(",") if n.strip() and n.strip().lower() != "none"]
    return s


def check_source(source: str) -> None:
    """--source is validated like ci_mlops.source in .ci-mlops.yml, before anything is read or written."""
    pattern = schema()["properties"]["ci_mlops"]["properties"]["source"]["pattern"]
    if not re.search(pattern, source):
        raise UserError(f"--source: {source!r} is not an install source: use ci-mlops==X.Y.Z, "
                        "git+https://HOST/OWNER/REPO@<40-hex commit SHA> or https://.../ci_mlops-X.Y.Z-py3-none-any.whl")


def plan_notes(facts: RepoFacts) -> list[str]:
    """What init found that shapes the workflows, and what overlaps with the repository's own."""
    notes = []
    configured = facts.config.settings if facts.config else None
    if configured is None:  # an existing .ci-mlops.yml's value (its own or the default) is what counts
        notes.append(f"the project's Python: {facts.python} (from {facts.python_source})" if facts.python else
                     f"the project's Python: nothing declares one; {records.Settings.python} (set python: in .ci-mlops.yml)")
    if facts.env.install and (configured is None or configured.install is None):
        notes.append(f"install: `{facts.env.install}` (from {facts.env.source})")
    if facts.test_files and not facts.env.pytest:
        notes.append(f"{len(facts.test_files)} test file(s) (e.g. {facts.test_files[0]}), but the install does not "
                     "bring pytest: no test step (add pytest to the project's dependencies, then set test:)")
    if facts.gpu:
        notes.append(f"trains on GPUs? {'; '.join(facts.gpu)}. Hosted ubuntu-latest has no GPU: set runner: to your "
                     "GPU runners' labels (e.g. [self-hosted, gpu]) and timeout_minutes: (docs/workflows.md#gpu-runners)")

    deploys = _deploy_target(facts.config)
    notes += overlaps(facts.existing, releases=deploys != "none")
    return notes


def _none(answer: str) -> str | None:
    return None if answer.strip().lower() in ("none", "false", "") else answer


def warn_missing(config: Config, wf: dict[str, Any], root: Path) -> None:
    """One line per file an install or train command names that the repository lacks."""
    for key in ("install", "train"):
        for name in missing_files(wf[key] or "", root):
            line = config.line(key)
            where = f"{CONFIG_NAME}:{line}" if line else CONFIG_NAME
            click.echo(f"warning: {where}: {key}: {name} does not exist; the workflow's "
                       f"{'Install dependencies' if key == 'install' else 'Train'} step will fail", err=True)


def remote_notes(wf: dict[str, Any], facts: RepoFacts) -> None:
    """Say what the workflows will not do with the DVC remote, and why."""
    remote = next((r for r in facts.dvc.remotes if r.name == wf["dvc"]["remote"]), None) or facts.dvc.remote
    if wf["dvc"]["read_only"] and remote is not None:
        click.echo(f"note: DVC remote '{remote.name}' ({remote.url}) is read-only (http/https without credentials): "
                   "the workflows pull from it and push nothing (set dvc.push: true if it accepts uploads)", err=True)
    if wf["dvc"]["fetch_job"] and wf["dvc"]["used"]:
        click.echo("note: dvc.oidc: a separate job logs in and fetches the data for training (pull requests from "
                   "forks get no OIDC token and train without it); give it a read-only identity (read_role, "
                   "read_service_account or read_client_id)", err=True)


def _deploy_target(config: Config | None) -> str:
    deploy = config.settings.deploy if config is not None else None
    return (deploy or Deploy()).target


def warn_overridden(config: Config, opts: InitOptions) -> None:
    """An existing .ci-mlops.yml drives the workflows; say so when an option disagrees with it."""
    given = {
        "deploy.target": (opts.deploy, _deploy_target(config)),
        "base": (opts.base, config.settings.base),
        "python": (opts.python, config.settings.python),
        "runner": (opts.runners or None, config.runner_labels),
        "ci_mlops.source": (opts.source, config.settings.ci_mlops.source if config.settings.ci_mlops else None),
    }
    for key, (option, current) in given.items():
        if option is not None and option != current:
            click.echo(f"note: {CONFIG_NAME} exists and is kept: {key} stays {current!r} "
                       f"(edit {CONFIG_NAME} to change it, then run `ci-mlops init` again)", err=True)


def run_dvc_init(root: Path) -> None:
    proc = run_dvc(root, "init", "-q")
    if not proc.ok:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise UserError(f"dvc init failed: {lines[-1] if lines else f'exit {proc.returncode}'}")


def next_steps(config: Config, wf: dict[str, Any], changes: list[Change]) -> None:
    steps = []
    secrets = wf["dvc"]["secrets"]
    if secrets and (wf["dvc"]["pull"] or wf["dvc"]["push"]):
        steps.append(f"add the repository secrets {', '.join(secrets)} (Settings > Secrets and variables > Actions)")
    if wf["deploy"]["target"] == "docker" and wf["deploy"]["docker"]["registry"] != Docker.registry:
        steps.append("add the repository secrets REGISTRY_USERNAME, REGISTRY_PASSWORD for your container registry")
    if wf["deploy"]["target"] != "none":
        steps.append(f"create the '{wf['deploy']['environment']}' environment with required reviewers "
                     "(Settings > Environments)")
    steps.append("commit .ci-mlops.yml, .github/ and open a pull request to see the first report")
    click.echo("Next: " + "; ".join(steps) + ".")


def plan_dockerfile(root: Path, config: Config, wf: dict[str, Any]) -> PlannedFile:
    """A minimal model image for the docker target (``--dockerfile``): written once when absent."""
    if wf["deploy"]["target"] != "docker":
        raise UserError("--dockerfile goes with the docker deploy target (--deploy docker, or deploy.target: docker)")
    project = load_project(root)
    declared = declared_artifacts(project.dvcyaml_paths, lambda p: (root / p).read_bytes() if (root / p).is_file()
                                  else None, "the workspace")
    paths, _ = resolve_paths(project, config, None, declared)
    return PlannedFile(wf["deploy"]["docker"]["dockerfile"], dockerfile_text(paths), "Dockerfile", managed=False)
