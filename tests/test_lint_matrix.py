"""Every generated workflow variant passes zizmor (pedantic), actionlint and the workflow schema.

All variants are rendered into one temporary folder and each linter runs once over
all of them, so the whole matrix costs three linter processes.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from ci_mlops.config import parse_config
from ci_mlops.scaffold.detect import DvcFacts, Remote, RepoFacts
from ci_mlops.scaffold.plan import WorkflowRef, plan_files, reusable_workflows, workflow_context
from ci_mlops.scaffold.render import action_pins
from lint import lint

ROOT = Path(__file__).resolve().parents[1]
REF = WorkflowRef("ci-mlops/ci-mlops", "0" * 40, "0.1.0")


def facts(*, dvc: bool = True, remote: str | None = "s3://bucket/cache", monorepo: bool = False) -> RepoFacts:
    d = DvcFacts(initialised=dvc)
    if dvc:
        d.dvcyaml_paths = ["dvc.yaml", "pipelines/churn/dvc.yaml"] if monorepo else ["dvc.yaml"]
        d.tracked = ["data/train.csv"]
        if remote:
            d.remotes = [Remote("storage", remote)]
            d.default_remote = "storage"
    return RepoFacts(root=Path("/nonexistent"), default_branch="main", python="3.11", install=None, dvc=d,
                     tests=True, train_script=None, workflows=[], config=None, name="repo")


CONFIGS = {
    "minimal": "version: 1\n",
    "secrets": "dvc: {remote: storage, secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]}\n",
    "multiline": "install: |\n  pip install -r requirements.txt\n  pip install -e .\ntest: false\ntrain: dvc repro --all-pipelines\n",
    "drift-fetch": "drift: {reference: data/train.csv, current: data/live.csv, fetch: python fetch.py, schedule: '0 3 * * *'}\n",
    "drift-dvc": "drift: {reference: data/train.csv, current: data/train.csv}\ndvc: {secrets: [AWS_ACCESS_KEY_ID]}\n",
    "self-hosted": "runner: [self-hosted, gpu, linux]\ntimeout_minutes: 240\n",
    "hosted-list": "runner: [ubuntu-24.04]\nbase: develop\npython: '3.12'\n",
    "docker-custom": "deploy: {docker: {registry: registry.example.com, image: team/churn, dockerfile: docker/Dockerfile, context: docker}}\n",
}
DEPLOYS = ("github-release", "docker", "custom", "none")
REPOS = {
    "remote": facts(),
    "no-remote": facts(remote=None),
    "local-remote": facts(remote="/mnt/dvc-cache"),
    "monorepo": facts(monorepo=True),
    "no-dvc": facts(dvc=False),
}


def variants():
    """(name, mode, config text, facts) for the full matrix, pruned where dimensions are independent."""
    for (cname, text), deploy, (rname, repo_facts), mode in itertools.product(
        CONFIGS.items(), DEPLOYS, REPOS.items(), ("full", "reusable")
    ):
        if rname != "remote" and deploy not in ("github-release", "none"):
            continue  # the deploy target and the repo shape are independent
        if mode == "reusable" and "fetch" not in cname and cname not in ("minimal", "secrets", "drift-dvc", "self-hosted"):
            continue
        merged = yaml.safe_load(text) or {}
        merged.setdefault("deploy", {})["target"] = deploy
        yield f"{cname}-{deploy}-{rname}-{mode}", mode, yaml.safe_dump(merged), repo_facts


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("matrix")
    files: dict[str, Path] = {}
    seen: set[str] = set()  # many variants share files; lint each distinct content once
    for name, mode, text, repo_facts in variants():
        wf = workflow_context(parse_config(text), repo_facts)
        for planned in plan_files(wf, mode, REF):
            if not planned.path.startswith(".github/workflows/") or planned.content in seen:
                continue
            seen.add(planned.content)
            path = out / name / Path(planned.path).name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(planned.content)
            files[f"{name}/{path.name}"] = path
    for rel, text in reusable_workflows().items():
        path = out / "reusable" / Path(rel).name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files[f"reusable/{path.name}"] = path
    return files


@pytest.mark.lint
def test_every_variant_is_lint_clean(rendered, tmp_path):
    config = tmp_path / "actionlint.yaml"
    config.write_text("self-hosted-runner:\n  labels: [gpu]\n")
    own = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    findings = lint([*rendered.values(), *own], actionlint_config=config)
    assert findings == [], "\n".join(findings)


def test_matrix_covers_every_workflow_kind(rendered):
    names = {Path(k).name for k in rendered}
    assert {"ci-mlops-pr.yml", "ci-mlops-comment.yml", "ci-mlops-release.yml", "ci-mlops-monitor.yml"} <= names
    assert {"reusable-pr.yml", "reusable-release.yml", "reusable-release-docker.yml",
            "reusable-release-custom.yml", "reusable-monitor.yml"} <= names
    assert len(rendered) > 40


def test_actions_are_pinned_by_full_sha_with_version_comment(rendered):
    pins = action_pins()
    for name, path in rendered.items():
        for line in path.read_text().splitlines():
            match = re.search(r"uses: ([\w.-]+/[\w./-]+)@(\S+)(?: # (\S+))?", line)
            if not match:
                continue
            action, ref, comment = match.groups()
            if action.startswith("ci-mlops/ci-mlops/.github/workflows/"):
                assert re.fullmatch(r"[0-9a-f]{40}", ref), (name, line)
                continue
            assert ref == pins[action]["sha"] and comment == pins[action]["version"], (name, line)


def test_security_properties_hold_in_every_variant(rendered):
    for name, path in rendered.items():
        text = path.read_text()
        doc = yaml.load(text, Loader=LOADER)
        assert "pull_request_target" not in text, name
        assert doc["permissions"] == {}, name  # nothing at workflow level; jobs say what they need
        for job_id, job in doc["jobs"].items():
            assert job.get("name"), (name, job_id)
            assert job.get("permissions"), (name, job_id)
            if "uses" in job:
                continue  # a caller: timeouts live in the reusable workflow
            assert job.get("timeout-minutes"), (name, job_id)
            for step in job["steps"]:
                if "actions/checkout" in step.get("uses", ""):
                    assert step["with"]["persist-credentials"] is False, (name, job_id)
                run = step.get("run", "")
                assert "${{" not in run, (name, step.get("name"))  # expressions only through env:
        for line in text.splitlines():
            if re.search(r"^\s+[a-z-]+: (read|write)\b", line) and "permissions" not in line:
                assert "#" in line, (name, line)  # every permission says why


def test_release_workflows_use_no_cache_and_a_protected_environment(rendered):
    for name, path in rendered.items():
        if "release" not in Path(name).name:
            continue
        doc = yaml.load(path.read_text(), Loader=LOADER)
        jobs = doc["jobs"]
        if "uses" not in jobs.get("release", {"uses": 1}):
            assert jobs["release"]["environment"] == "${{ needs.plan.outputs.environment }}", name
            assert jobs["release"]["needs"] == "plan" and jobs["plan"]["permissions"] == {"contents": "read"}, name
        for job in jobs.values():
            if "uses" in job:
                continue
            for step in job["steps"]:
                assert "actions/cache" not in step.get("uses", ""), name
                assert "cache" not in (step.get("with") or {}), name


def test_dvc_secrets_reach_only_the_dvc_steps(rendered):
    path = rendered["secrets-github-release-remote-full/ci-mlops-pr.yml"]
    job = yaml.load(path.read_text(), Loader=LOADER)["jobs"]["train"]
    with_secrets = [s["name"] for s in job["steps"] if "secrets." in str(s.get("env", {}))]
    assert with_secrets == ["Pull data, models and run-cache from the DVC remote",
                            "Push data, models and run-cache to the DVC remote"]
    assert "env" not in job


def test_comment_workflow_never_checks_out_pr_code(rendered):
    for name, path in rendered.items():
        if Path(name).name != "ci-mlops-comment.yml":
            continue
        text = path.read_text()
        assert "actions/checkout" not in text
        assert "zizmor: ignore[dangerous-triggers] --" in text
        job = yaml.load(text, Loader=LOADER)["jobs"]["comment"]
        download = next(s for s in job["steps"] if "download-artifact" in s.get("uses", ""))
        assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
        post = job["steps"][-1]
        assert post["env"]["CI_MLOPS_EXPECTED_HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
        assert "--from-artifact" in post["run"]


def test_workflow_commands_exist_with_those_options(rendered):
    """Every `ci-mlops SUB --opt` the workflows run is accepted by the real command (per its --help)."""
    import shlex

    from conftest import run_cli

    used: dict[str, set[str]] = {}
    for path in rendered.values():
        doc = yaml.load(path.read_text(), Loader=LOADER)
        for job in doc["jobs"].values():
            for step in job.get("steps", []):
                for line in step.get("run", "").splitlines():
                    words = shlex.split(line, comments=True)
                    if words[:1] == ["ci-mlops"]:
                        used.setdefault(words[1], set()).update(w for w in words[2:] if w.startswith("-"))
    assert {"check", "report", "comment", "deploy", "drift"} <= set(used)
    for sub, options in sorted(used.items()):
        out = run_cli(sub, "--help")
        assert out.returncode == 0, (sub, out.stderr)
        for option in options:
            assert re.search(rf"(^|[\s,]){re.escape(option)}\b", out.stdout), (sub, option)
