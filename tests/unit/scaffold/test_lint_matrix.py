"""Every generated workflow variant passes zizmor (pedantic), actionlint and the workflow schema.

All variants are rendered into one temporary folder, each distinct file once, and each
linter runs once over all of them, the three side by side (tests/support/lint.py). A
finding names its file, whose folder is its variant; the failure message also names the
other variants whose file is the same.
"""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path

import pytest
import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

from ci_mlops.config import Config, parse_config
from ci_mlops.scaffold.detect import Remote, RepoFacts
from ci_mlops.scaffold.plan import WorkflowRef, plan_files, reusable_workflows, workflow_context
from ci_mlops.scaffold.render import action_pins
from tests.support.lint import lint
from tests.support.repo_facts import sample_facts

ROOT = Path(__file__).resolve().parents[3]
REF = WorkflowRef("ci-mlops/ci-mlops", "0" * 40, "0.1.0")


def facts(*, dvc: bool = True, remote: str | None = "s3://bucket/cache", monorepo: bool = False,
          plots: bool = False) -> RepoFacts:
    return sample_facts(dvc=dvc, remote=remote, dvcyaml=["dvc.yaml", "pipelines/churn/dvc.yaml"] if monorepo else ["dvc.yaml"],
                        plots=["eval/prc.json", "eval/confusion.png"] if plots else [])


CONFIGS = {
    "minimal": "version: 1\n",
    "secrets": "dvc: {remote: storage, secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]}\n",
    "multiline": "install: |\n  pip install -r requirements.txt\n  pip install -e .\ntest: false\ntrain: dvc repro --all-pipelines\n",
    "drift-fetch": "drift: {reference: data/train.csv, current: data/live.csv, fetch: python fetch.py, schedule: '0 3 * * *'}\n",
    "drift-dvc": "drift: {reference: data/train.csv, current: data/train.csv}\ndvc: {secrets: [AWS_ACCESS_KEY_ID]}\n",
    "self-hosted": "runner: [self-hosted, gpu, linux]\ntimeout_minutes: 240\n",
    "hosted-list": "runner: [ubuntu-24.04]\nbase: develop\npython: '3.12'\n",
    "release-branch": "base: release/2.x\n",  # a publishing branch: no pip cache (zizmor cache-poisoning)
    # the project's environment outside setup-python's interpreter; ci-mlops from git / a wheel
    "uv-git-source": "install: pip install uv && uv sync --locked\n"
                     "ci_mlops: {source: 'git+https://github.com/ci-mlops/ci-mlops@" + "a" * 40 + "', python: '3.13'}\n",
    "conda-wheel-source": "install: '\"$CONDA/bin/conda\" env create --quiet --file environment.yml --prefix \"$RUNNER_TEMP/conda-env\"'\n"
                          "ci_mlops: {source: 'https://example.com/w/ci_mlops-0.1.0-py3-none-any.whl#sha256=" + "b" * 64 + "'}\n",
    "oidc-aws": "dvc: {oidc: {aws: {role: 'arn:aws:iam::123456789012:role/dvc-push', region: eu-west-1}}, secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY], push_environment: dvc-push}\ndrift: {reference: data/train.csv, current: data/train.csv}\n",
    "oidc-gcp": "dvc: {oidc: {gcp: {workload_identity_provider: projects/123456/locations/global/workloadIdentityPools/github/providers/github, service_account: dvc-push@my-project.iam.gserviceaccount.com}}}\n",
    "oidc-azure": "dvc: {oidc: {azure: {client_id: 11111111-2222-3333-4444-555555555555, tenant_id: 11111111-2222-3333-4444-555555555556, subscription_id: 11111111-2222-3333-4444-555555555557}}}\n",
    "docker-custom": "deploy: {docker: {registry: registry.example.com, image: team/churn, dockerfile: docker/Dockerfile, context: docker}}\n",
    # the sweep workflow and its ChatOps trigger: a GPU pool with DVC secrets, keyless credentials, hosted runners
    "sweep-gpu": "experiments: {grid: {train.lr: [0.01, 0.03]}, rank_by: test.f1, runner: [self-hosted, gpu], "
                 "max_parallel: 4, timeout_minutes: 300}\ndvc: {secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]}\n",
    "sweep-oidc": "experiments: {sets: [{train.lr: 0.1}], rank_by: test.f1}\n"
                  "dvc: {oidc: {aws: {role: 'arn:aws:iam::123456789012:role/dvc-sweep', region: eu-west-1}}}\n",
    "images-off": "report: {images: {publish: false}}\n",
    "images-branch": "report: {images: {branch: team/plots, keep_runs: 3, on_close: keep}}\n",
    # retrain on drift as a PR (dispatch, auto-merge) and results committed back, with secrets and with OIDC
    "retrain": "drift: {reference: data/train.csv, current: data/train.csv, retrain: {refresh: python fetch.py, "
               "auto_merge: true, schedule: '0 5 * * 1'}}\ntrain: {command: dvc repro, commit_results: true}\n"
               "dvc: {secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]}\n",
    "retrain-oidc": "drift: {reference: data/train.csv, current: data/train.csv, retrain: {update: [data/raw.dvc]}}\n"
                    "train: {commit_results: true}\ndvc: {oidc: {aws: {role: 'arn:aws:iam::123456789012:role/dvc-push', "
                    "region: eu-west-1}}, push_environment: dvc-push}\n",
    "sweep-no-chatops": "experiments: {grid: {train.lr: [0.1, 0.2]}, rank_by: loss, runner: ubuntu-24.04, chatops: false}\n",
}
DEPLOYS = ("github-release", "docker", "custom", "none")
REPOS = {
    "remote": facts(),
    "no-remote": facts(remote=None),
    "local-remote": facts(remote="/mnt/dvc-cache"),
    "monorepo": facts(monorepo=True),
    "no-dvc": facts(dvc=False),
    "plots": facts(plots=True),  # plot images: drawn in the training job, published by the comment jobs
    "read-only": facts(remote="https://remote.dvc.org/get-started"),
}


# Legitimate values that need quoting on their way into a workflow: shell metacharacters,
# spaces and quotes in commands and paths, '/' in a branch and a marker, '.' in a remote.
QUOTING = {
    "base": "dev/2.x",
    "install": "pip install -r 'requirements ci.txt'",
    "train": """printf '%s|' "churn model" 'a&&b' && echo "done: ok" # not a YAML comment""",
    "test": "pytest -q -k 'not slow'",
    "runner": ["self-hosted", "gpu"],
    "dvc": {"remote": "my-remote.1", "secrets": ["AWS_ACCESS_KEY_ID"]},
    "comment": {"marker": "team/churn.v2"},
    "drift": {"reference": "data/train set.csv", "current": "data/it's live.csv",
              "fetch": """python fetch.py --out "data/it's live.csv" #1""", "schedule": "*/30 6-18 * * MON-FRI"},
    "deploy": {"environment": "prod eu-1", "target": "github-release"},
}
QUOTING_PULL = ["pull", "--remote", "my-remote.1", "--", "data/train set.csv", "data/it's live.csv"]


def quoting_facts() -> RepoFacts:
    repo = facts(remote="s3://bucket/cache")
    repo.dvc.remotes = [Remote("my-remote.1", "s3://bucket/cache")]
    repo.dvc.default_remote = "my-remote.1"
    repo.dvc.tracked = ["data/train set.csv", "data/it's live.csv"]
    return repo


def variants():
    """(name, mode, config text, facts) for the full matrix, pruned where dimensions are independent."""
    for mode in ("full", "reusable"):
        yield f"quoting-{mode}", mode, yaml.safe_dump(QUOTING), quoting_facts()
    configs = {cname: yaml.load(text, Loader=LOADER) or {} for cname, text in CONFIGS.items()}
    for (cname, written), deploy, (rname, repo_facts), mode in itertools.product(
        configs.items(), DEPLOYS, REPOS.items(), ("full", "reusable")
    ):
        if rname != "remote" and deploy not in ("github-release", "none"):
            continue  # the deploy target and the repo shape are independent
        if mode == "reusable" and "fetch" not in cname and cname not in ("minimal", "secrets", "drift-dvc", "self-hosted",
                                                                          "sweep-gpu"):
            continue
        merged = copy.deepcopy(written)
        merged.setdefault("deploy", {})["target"] = deploy
        yield f"{cname}-{deploy}-{rname}-{mode}", mode, yaml.dump(merged, Dumper=DUMPER), repo_facts


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """Each distinct workflow file once ("variant/file.yml": path), and the other variants with the same file."""
    out = tmp_path_factory.mktemp("matrix")
    files: dict[str, Path] = {}
    first: dict[str, str] = {}  # content -> the variant file that has it first
    shared: dict[str, list[str]] = {}
    parsed: dict[str, Config] = {}  # config text -> Config: a config is read once, whatever the repo and mode
    for name, mode, text, repo_facts in variants():
        if text not in parsed:
            parsed[text] = parse_config(text)
        for planned in plan_files(workflow_context(parsed[text], repo_facts), mode, REF):
            if not planned.path.startswith(".github/workflows/"):
                continue
            key = f"{name}/{Path(planned.path).name}"
            if planned.content in first:  # many variants share files; lint each distinct content once
                shared[first[planned.content]].append(key)
                continue
            first[planned.content] = key
            shared[key] = []
            path = out / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(planned.content)
            files[key] = path
    for rel, text in reusable_workflows().items():
        path = out / "reusable" / Path(rel).name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files[f"reusable/{path.name}"] = path
    return files, shared


@pytest.fixture(scope="module")
def rendered(matrix) -> dict[str, Path]:
    return matrix[0]


def attributed(findings: list[str], shared: dict[str, list[str]]) -> str:
    """The findings, then for each file named in them the other variants whose file is the same."""
    named = [key for key in shared if any(f"/{key}" in f or f" {key}" in f for f in findings)]
    return "\n".join([*findings, *(f"{key} is also {', '.join(shared[key])}" for key in named if shared[key])])


@pytest.mark.lint
def test_every_variant_is_lint_clean(matrix, tmp_path):
    files, shared = matrix
    config = tmp_path / "actionlint.yaml"
    config.write_text("self-hosted-runner:\n  labels: [gpu]\n")
    own = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    findings = lint([*files.values(), *own], actionlint_config=config)
    assert findings == [], attributed(findings, shared)


def test_matrix_covers_every_workflow_kind(rendered):
    names = {Path(k).name for k in rendered}
    assert {"ci-mlops-pr.yml", "ci-mlops-comment.yml", "ci-mlops-release.yml", "ci-mlops-monitor.yml",
            "ci-mlops-sweep.yml", "ci-mlops-chatops.yml"} <= names
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
    jobs = yaml.load(path.read_text(), Loader=LOADER)["jobs"]
    with_secrets = [(job_id, s["name"]) for job_id, job in jobs.items() for s in job["steps"]
                    if "secrets." in str(s.get("env", {}))]
    # check and report may read base metrics and tracked data from the remote; never
    # training, tests (the PR's own code) or the comment job
    assert with_secrets == [("train", "Pull data, models and run-cache from the DVC remote"),
                            ("train", "Check the quality gates"), ("train", "Build the report"),
                            ("push", "Push data, models and run-cache to the DVC remote")]
    assert all("env" not in job for job in jobs.values())


USER_STEPS = ("Install dependencies", "Train", "Test", "Fetch the current data")
OIDC_ACTIONS = ("aws-actions/configure-aws-credentials", "google-github-actions/auth", "azure/login")


def test_pr_code_runs_without_write_access_and_writers_run_no_pr_code(rendered):
    """Issue: PR code must not share a job with pull-requests: write, id-token: write or push credentials."""
    seen_push = seen_oidc = 0
    for name, path in rendered.items():
        doc = yaml.load(path.read_text(), Loader=LOADER)
        for job_id, job in doc["jobs"].items():
            if "uses" in job:
                continue
            perms = job["permissions"]
            steps = job["steps"]
            runs_user_code = any(s.get("name") in USER_STEPS for s in steps)
            logs_in = [s for s in steps if s.get("uses", "").split("@")[0] in OIDC_ACTIONS]
            # id-token only where a login action uses it, and a login only where id-token is granted
            assert bool(logs_in) == (perms.get("id-token") == "write"), (name, job_id)
            seen_oidc += bool(logs_in)
            if Path(name).name.endswith("-pr.yml"):
                if runs_user_code:
                    assert perms == {"contents": "read"} and "environment" not in job, (name, job_id)
                    assert not logs_in, (name, job_id)
                else:
                    assert not any("--run-cache" in s.get("run", "") and "dvc push" in s.get("run", "")
                                   for s in steps), (name, job_id)
                if job_id == "comment":
                    assert not any("actions/checkout" in s.get("uses", "") for s in steps), name
                    publishes = any("--plots-dir" in s.get("run", "") and "--no-plots-publish" not in s.get("run", "")
                                    for s in steps)  # plot images go to the PR's plot branch
                    assert perms == {"pull-requests": "write", **({"contents": "write"} if publishes else {})}, name
                    assert not any("secrets." in str(s.get("env", {})) for s in steps), name
                if job_id == "push":
                    seen_push += 1
                    assert "github.event_name == 'push'" in job["if"], name
                    assert not runs_user_code and set(perms) <= {"contents", "id-token"}, name
                    assert "ci-mlops outputs push" in steps[-1]["run"], name
    assert seen_push > 10 and seen_oidc >= 6  # push jobs, and OIDC logins in push, release and monitor jobs


def test_read_only_remote_gets_no_push(rendered):
    for name, path in rendered.items():
        if "-read-only-" in name and name.endswith("ci-mlops-pr.yml"):
            jobs = yaml.load(path.read_text(), Loader=LOADER)["jobs"]
            if "pr" in jobs:  # a caller of the reusable workflow
                assert jobs["pr"]["with"]["dvc-push"] is False and jobs["pr"]["with"]["dvc-pull"] is True, name
                continue
            text = path.read_text()
            assert "push" not in jobs and ("Pull data" in text or "Check out the fetched data" in text), name
            assert not any("outputs stage" in s.get("run", "") for s in jobs["train"]["steps"]), name


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
                        depth = 3 if words[1] in ("outputs", "sweep", "retrain", "results") else 2  # a command group: `outputs stage|push`
                        used.setdefault(" ".join(words[1:depth]), set()).update(
                            w for w in words[depth:] if w.startswith("-"))
    assert {"check", "report", "comment", "deploy", "drift", "outputs stage", "outputs push", "sweep plan", "sweep run",
            "sweep report", "sweep apply", "sweep chatops", "retrain run", "retrain publish", "retrain merge",
            "results stage", "results commit"} <= set(used)
    for sub, options in sorted(used.items()):
        out = run_cli(*sub.split(), "--help")
        assert out.returncode == 0, (sub, out.stderr)
        for option in options:
            assert re.search(rf"(^|[\s,]){re.escape(option)}\b", out.stdout), (sub, option)


# -- values that need quoting reach the shell as the words they are --------------------------


def step(path: Path, name_start: str) -> dict:
    doc = yaml.load(path.read_text(), Loader=LOADER)
    return next(s for job in doc["jobs"].values() for s in job.get("steps", []) if s["name"].startswith(name_start))


def bash(script: str, tmp_path: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run ``script`` as a workflow step would, with ``dvc`` and ``ci-mlops`` stubs that print their argv."""
    import json
    import os
    import subprocess
    import sys

    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for tool in ("dvc", "ci-mlops"):
        stub = stubs / tool
        stub.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
        stub.chmod(0o755)
    out = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=tmp_path,
                         env={**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", **(env or {})},
                         capture_output=True, text=True, check=True)
    return [json.loads(line) if line.startswith("[") else line for line in out.stdout.splitlines()]


def test_quoted_values_run_as_written_in_full_mode(rendered, tmp_path):
    pr, monitor = rendered["quoting-full/ci-mlops-pr.yml"], rendered["quoting-full/ci-mlops-monitor.yml"]
    assert bash(step(pr, "Train")["run"], tmp_path) == ["churn model|a&&b|done: ok"]
    assert bash(step(pr, "Pull data")["run"], tmp_path) == [
        ["pull", "--run-cache", "--allow-missing", "--remote", "my-remote.1"]]
    assert bash(step(pr, "Save the PR number")["run"], tmp_path, {"RUNNER_TEMP": "/t"}) == [
        ["comment", "/t/ci-mlops/report/report.md", "--marker", "team/churn.v2", "--artifact-dir", "/t/ci-mlops/report",
         "--no-post"]]
    assert bash(step(pr, "Post the PR comment")["run"], tmp_path, {"RUNNER_TEMP": "/t"}) == [
        ["comment", "/t/ci-mlops/report/report.md", "--marker", "team/churn.v2", "--no-summary"]]
    assert bash(step(monitor, "Pull the data")["run"], tmp_path) == [QUOTING_PULL]
    cron = yaml.load(monitor.read_text(), Loader=LOADER)[True]["schedule"][0]["cron"]
    assert cron == QUOTING["drift"]["schedule"]
    branches = yaml.load(pr.read_text(), Loader=LOADER)[True]["pull_request"]["branches"]
    assert branches == ["dev/2.x"]


def test_quoted_values_reach_the_reusable_workflows_intact(rendered, tmp_path):
    caller = yaml.load(rendered["quoting-reusable/ci-mlops-monitor.yml"].read_text(), Loader=LOADER)
    inputs = caller["jobs"]["monitor"]["with"]
    assert inputs["fetch"] == QUOTING["drift"]["fetch"] and inputs["dvc-remote"] == "my-remote.1"
    pull = step(rendered["reusable/reusable-monitor.yml"], "Pull the data")
    env = {"DVC_PULL_TARGETS": inputs["dvc-pull-targets"], "DVC_REMOTE": inputs["dvc-remote"]}
    assert bash(pull["run"], tmp_path, env) == [QUOTING_PULL]
    pr = yaml.load(rendered["quoting-reusable/ci-mlops-pr.yml"].read_text(), Loader=LOADER)["jobs"]["pr"]["with"]
    assert (pr["train"], pr["comment-marker"]) == (QUOTING["train"], "team/churn.v2")


def test_plot_images_are_published_by_jobs_that_run_no_pr_code(rendered):
    """contents: write (the plot branch) only on the comment jobs: no checkout, no project command."""
    publishing = 0
    for name, path in rendered.items():
        if Path(name).name not in ("ci-mlops-pr.yml", "ci-mlops-comment.yml"):
            continue
        doc = yaml.load(path.read_text(), Loader=LOADER)
        for job_id, job in doc["jobs"].items():
            if (job.get("permissions") or {}).get("contents") != "write":
                continue
            runs = [s.get("run", "") for s in job["steps"]]
            checkouts = [s for s in job["steps"] if "actions/checkout" in s.get("uses", "")]
            if job_id in ("commit", "merge"):  # train.commit_results, drift.retrain.auto_merge: no PR code either
                assert all(s["with"].get("ref") == "${{ github.event.pull_request.base.sha }}" for s in checkouts), name
                assert not any(s.get("name") in USER_STEPS for s in job["steps"]), (name, job_id)
                continue
            publishing += 1
            assert job_id == "comment", (name, job_id)
            assert not checkouts, (name, job_id)
            assert any("--plots-dir" in r for r in runs) and not any("--no-plots-publish" in r for r in runs), name
    assert publishing >= 4  # PR and fork comment jobs of several variants
