"""`ci-mlops init --ci gitlab`: the included pipeline file for every variant, valid and secure.

Every rendering is validated by check-jsonschema against GitLab's CI schema (SchemaStore,
``--builtin-schema vendor.gitlab-ci``), in one process for the whole matrix.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import git, run_cli

from ci_mlops.config import parse_config
from ci_mlops.scaffold.detect import RepoFacts
from ci_mlops.scaffold.gitlab import PIPELINE, plan_gitlab
from ci_mlops.scaffold.plan import workflow_context
from tests.support.lint import gitlab_ci
from tests.support.repo_facts import sample_facts

DIGEST = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")
IMAGE = "registry.example.com:5000/ml/train:cuda12@sha256:" + "c" * 64


def facts(*, dvc: bool = True, remote: str | None = "s3://bucket/cache") -> RepoFacts:
    return sample_facts(dvc=dvc, remote=remote, tracked=["data/train.csv", "data/it's live.csv"])


CONFIGS = {
    "minimal": "version: 1\n",
    "secrets": "dvc: {remote: storage, secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY], push_environment: dvc}\n",
    "multiline": "install: |\n  pip install -r requirements.txt\n  pip install -e .\ntest: false\ntrain: dvc repro --all-pipelines\n",
    "drift-fetch": "drift: {reference: data/train.csv, current: data/live.csv, fetch: python fetch.py, schedule: '0 3 * * *'}\n",
    "drift-dvc": "drift: {reference: data/train.csv, current: \"data/it's live.csv\"}\n",
    "gpu": f"gitlab: {{image: '{IMAGE}', tags: [gpu, 'linux amd64']}}\ntimeout_minutes: 240\npython: '3.9'\n",
    "quoting": yaml.safe_dump({"train": """printf '%s|' "churn model" 'a&&b' && echo "done: ok" # not a comment""",
                               "test": "pytest -q -k 'not slow'", "comment": {"marker": "team/churn.v2"},
                               "deploy": {"environment": "prod eu-1"}}),
}
DEPLOYS = ("gitlab-release", "docker", "custom", "none")
REPOS = {"remote": facts(), "no-remote": facts(remote=None), "no-dvc": facts(dvc=False),
         "read-only": facts(remote="https://remote.dvc.org/get-started")}


def variants():
    for (cname, text), deploy, (rname, repo) in itertools.product(CONFIGS.items(), DEPLOYS, REPOS.items()):
        if deploy != "gitlab-release" and (rname != "remote" or cname != "minimal"):
            continue  # the deploy target is independent of the rest
        merged = yaml.safe_load(text) or {}
        merged.setdefault("deploy", {})["target"] = deploy
        yield f"{cname}-{deploy}-{rname}", parse_config(yaml.safe_dump(merged)), repo


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("gitlab")
    files = {}
    for name, config, repo in variants():
        [planned, user] = plan_gitlab(workflow_context(config, repo), config, out)
        assert planned.path == PIPELINE and user.path == ".gitlab-ci.yml" and not user.managed
        path = out / f"{name}.yml"
        path.write_text(planned.content)
        files[name] = path
    (out / "user.yml").write_text(user.content)
    files["user"] = out / "user.yml"
    return files


def jobs(path: Path) -> dict:
    return {k: v for k, v in yaml.safe_load(path.read_text()).items() if not k.startswith(".")}


def test_every_variant_validates_against_gitlabs_ci_schema(rendered):
    findings = gitlab_ci(list(rendered.values()))
    assert findings == [], "\n".join(findings)
    assert len(rendered) >= 30


def test_every_image_is_pinned_by_digest(rendered):
    for name, path in rendered.items():
        doc = yaml.safe_load(path.read_text())
        images = [v["image"] for v in doc.values() if isinstance(v, dict) and "image" in v]
        assert all(DIGEST.fullmatch(i) for i in images), (name, images)
    gpu = yaml.safe_load(rendered["gpu-gitlab-release-remote"].read_text())
    assert gpu[".ci-mlops-project"]["image"] == IMAGE and gpu[".ci-mlops-project"]["tags"] == ["gpu", "linux amd64"]


def test_who_runs_project_code_and_who_holds_what(rendered):
    doc = yaml.safe_load(rendered["drift-dvc-gitlab-release-remote"].read_text())
    project_jobs = {k for k, v in doc.items() if isinstance(v, dict) and v.get("extends") == ".ci-mlops-project"}
    assert project_jobs == {"ci-mlops:train", "ci-mlops:monitor"}
    train = doc["ci-mlops:train"]
    assert train["script"][0] == "unset CI_MLOPS_TOKEN GITLAB_TOKEN"  # before any project command
    assert {r["if"] for r in train["rules"]} == {'$CI_PIPELINE_SOURCE == "merge_request_event"',
                                                 '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'}
    push = doc["ci-mlops:dvc-push"]
    assert push["rules"][0]["if"].endswith("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH") and push["extends"] == ".ci-mlops-tool"
    release = doc["ci-mlops:release"]
    assert release["rules"] == [{"if": "$CI_COMMIT_TAG"}] and release["environment"]["name"] == "production"
    assert "--target gitlab-release" in release["script"][-1]
    monitor = doc["ci-mlops:monitor"]
    assert monitor["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule" && $CI_MLOPS_MONITOR == "true"'
    assert "dvc pull -- data/train.csv 'data/it'\"'\"'s live.csv'" in monitor["script"]
    report = doc["ci-mlops:report"]
    assert report["artifacts"]["reports"]["junit"] == ".ci-mlops/gates.xml"
    assert report["rules"][0]["when"] == "always"


def test_variants_have_the_jobs_their_settings_ask_for(rendered):
    assert "ci-mlops:dvc-push" not in jobs(rendered["minimal-gitlab-release-read-only"])
    assert "ci-mlops:dvc-push" not in jobs(rendered["minimal-gitlab-release-no-dvc"])
    assert "ci-mlops:release" not in jobs(rendered["minimal-none-remote"])
    assert "--target" not in jobs(rendered["minimal-docker-remote"])["ci-mlops:release"]["script"][-1]
    assert "ci-mlops:monitor" not in jobs(rendered["minimal-gitlab-release-remote"])
    fetch = jobs(rendered["drift-fetch-gitlab-release-remote"])["ci-mlops:monitor"]["script"]
    assert "python fetch.py" in fetch and fetch[-1] == "ci-mlops drift --issue -o .ci-mlops/drift.md"
    assert jobs(rendered["secrets-gitlab-release-remote"])["ci-mlops:dvc-push"]["environment"] == {"name": "dvc"}


def test_commands_reach_the_shell_exactly_as_configured(rendered, tmp_path):
    train = jobs(rendered["quoting-gitlab-release-remote"])["ci-mlops:train"]["script"]
    command = """printf '%s|' "churn model" 'a&&b' && echo "done: ok" # not a comment"""
    assert command in train
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True).stdout
    assert out == "churn model|a&&b|done: ok\n"
    report = jobs(rendered["quoting-gitlab-release-remote"])["ci-mlops:report"]["script"]
    assert "--marker team/churn.v2" in report[-1]
    assert jobs(rendered["quoting-gitlab-release-remote"])["ci-mlops:release"]["environment"]["name"] == "prod eu-1"


def make_repo(tmp_path: Path, *, remote: str | None = "git@gitlab.example.com:team/proj.git") -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    if remote:
        git(repo, "remote", "add", "origin", remote)
    (repo / "requirements.txt").write_text("scikit-learn\n")
    (repo / "train.py").write_text("print('trained')\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def test_init_detects_gitlab_from_the_remote_then_reruns_and_merges_edits(tmp_path):
    repo = make_repo(tmp_path)
    out = run_cli("init", "--yes", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "GitLab CI/CD" in out.stdout and not (repo / ".github").exists()
    assert (repo / ".gitlab-ci.yml").read_text().endswith("include:\n  - local: .gitlab/ci-mlops.yml\n")
    assert "target: gitlab-release" in (repo / ".ci-mlops.yml").read_text()
    first = (repo / PIPELINE).read_text()
    again = run_cli("init", "--yes", cwd=repo)
    assert again.returncode == 0 and "Nothing to change" in again.stdout
    # The user edits the generated file, then a setting changes: both survive.
    (repo / PIPELINE).write_text(first.replace("  interruptible: true\n", "  interruptible: true\n  retry: 1\n"))
    config = (repo / ".ci-mlops.yml").read_text()
    (repo / ".ci-mlops.yml").write_text(config.replace("timeout_minutes: 60", "timeout_minutes: 90")
                                        if "timeout_minutes: 60" in config else config + "timeout_minutes: 90\n")
    dry = run_cli("init", "--yes", "--dry-run", cwd=repo)
    assert dry.returncode == 0 and "+  timeout: 90m" in dry.stdout and "Dry run: nothing written." in dry.stdout
    assert "timeout: 90m" not in (repo / PIPELINE).read_text()
    merged = run_cli("init", "--yes", cwd=repo)
    assert merged.returncode == 0, merged.stderr
    text = (repo / PIPELINE).read_text()
    assert "retry: 1" in text and "timeout: 90m" in text


def test_an_existing_gitlab_ci_file_is_never_written_and_the_include_is_explained(tmp_path):
    repo = make_repo(tmp_path, remote=None)
    mine = "stages: [lint, build, test, deploy]\nlint:\n  stage: lint\n  script: [make lint]\n"
    (repo / ".gitlab-ci.yml").write_text(mine)
    out = run_cli("init", "--yes", cwd=repo)  # detected: a .gitlab-ci.yml and no GitHub workflows
    assert out.returncode == 0, out.stderr
    assert (repo / ".gitlab-ci.yml").read_text() == mine
    assert "add to your .gitlab-ci.yml: `include: [{local: .gitlab/ci-mlops.yml}]`" in out.stdout
    assert (repo / PIPELINE).exists() and (repo / ".gitlab/ci-mlops.lock").exists()


def test_a_python_without_a_pinned_image_asks_for_gitlab_image(tmp_path):
    repo = make_repo(tmp_path)
    (repo / ".ci-mlops.yml").write_text("version: 1\npython: '3.9'\n")
    out = run_cli("init", "--yes", "--ci", "gitlab", cwd=repo)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "gitlab.image" in out.stderr and "python:3.9-slim" in out.stderr
    (repo / ".ci-mlops.yml").write_text("version: 1\ngitlab: {image: 'python:3.11-slim'}\n")
    out = run_cli("init", "--yes", "--ci", "gitlab", cwd=repo)
    assert out.returncode == 2 and "gitlab.image" in out.stderr and "is not an image pinned by digest" in out.stderr


def test_a_merge_request_pipeline_compares_with_and_is_judged_by_its_target_branch(tmp_path):
    """CI_MERGE_REQUEST_TARGET_BRANCH_NAME plays GITHUB_BASE_REF: the merge base for the report, the tip's gates."""
    from ci_mlops.checks.gatesource import deciding_config
    from ci_mlops.git import Repo
    from ci_mlops.report.revisions import change_base_branch, resolve_base

    repo = make_repo(tmp_path)
    (repo / ".ci-mlops.yml").write_text("version: 1\nmetrics:\n  acc: {min: 0.9}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "gate")
    fork_point = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "mr")
    (repo / ".ci-mlops.yml").write_text("version: 1\nmetrics:\n  acc: {min: 0.1}\n")  # the MR loosens its gate
    git(repo, "commit", "-q", "-am", "loosen")
    git(repo, "checkout", "-q", "main")
    (repo / ".ci-mlops.yml").write_text("version: 1\nmetrics:\n  acc: {min: 0.95}\n")  # main tightened it since
    git(repo, "commit", "-q", "-am", "tighten")
    git(repo, "checkout", "-q", "mr")
    env = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    assert change_base_branch(env) == "main" and change_base_branch({"GITLAB_CI": "true"}) is None
    assert resolve_base(Repo.discover(repo), None, env=env).sha == fork_point
    from ci_mlops.config import load_config

    deciding, source = deciding_config(load_config(str(repo / ".ci-mlops.yml")), repo, env=env)
    assert source.origin == "base" and deciding.written["metrics"] == {"acc": {"min": 0.95}}
    workspace, source = deciding_config(load_config(str(repo / ".ci-mlops.yml")), repo, env={"GITLAB_CI": "true"})
    assert source.origin == "workspace" and workspace.written["metrics"] == {"acc": {"min": 0.1}}
