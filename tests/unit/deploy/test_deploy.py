"""`ci-mlops deploy` end to end: a real git+DVC repo with a local remote, real tags, the loopback GitHub."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from ci_mlops.deploy.host import MARKER
from ci_mlops.github.client import GitHubClient
from tests.conftest import ROOT, run_cli
from tests.support.dvc_factory import commit_all, copy_repo, git, metrics_commit
from tests.support.fake_github import FakeGitHub

CONFIG = """\
metrics:
  test.accuracy: {min: 0.5}
deploy:
  name: clf
  stages:
    prod: prod
model_card:
  intended_use: Scoring two-feature toy data in tests.
  limitations: Trained on 120 synthetic rows.
"""
SCHEMA = json.loads((ROOT / "docs" / "lineage.schema.json").read_text())


@pytest.fixture(scope="module")
def template(tmp_path_factory, shared_dvc_repo) -> Path:
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("deploy") / "repo")
    (repo / ".ci-mlops.yml").write_text(CONFIG)
    commit_all(repo, "ci-mlops config")
    git(repo, "tag", "v1.0.0")
    git(repo, "tag", "model@v1.0.0")
    return repo


@pytest.fixture
def repo(template, tmp_path) -> Path:
    return copy_repo(template, tmp_path / "repo")


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        yield fake


def deploy(repo: Path, gh: FakeGitHub | None, *args: str, **env: str):
    base = gh.env(repo="o/r", token="t", **env) if gh else {"GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": "", **env}
    base.setdefault("RUNNER_TEMP", str(repo.parent / "runner"))
    return run_cli("deploy", *args, cwd=repo, env=base)


def release_of(gh: FakeGitHub, tag: str) -> dict:
    (release,) = [r for r in gh.releases("o/r") if r["tag_name"] == tag]
    return release


def assets_of(gh: FakeGitHub, tag: str) -> dict[str, bytes]:
    release = release_of(gh, tag)
    return {a["name"]: gh.asset_bytes("o/r", a["id"]) for a in gh.assets("o/r", release["id"])}


def test_release_from_github_ref_with_card_lineage_and_assets_via_upload_url(repo, gh):
    proc = deploy(repo, gh, GITHUB_REF="refs/tags/v1.0.0", GITHUB_REF_TYPE="tag", GITHUB_REF_NAME="v1.0.0")
    assert proc.returncode == 0, proc.stderr
    release = release_of(gh, "v1.0.0")
    assert release["draft"] is False and release["prerelease"] is False
    assert release["name"] == "clf v1.0.0"
    assert "test.accuracy" in release["body"] and "First release" in release["body"]
    assert "**✅ All 1 quality gates passed.**" in release["body"]  # the notes carry the gates' verdict
    assert "| ✅ pass | test.accuracy | min | 0.5 |" in release["body"]  # and their table
    assets = assets_of(gh, "v1.0.0")
    assert sorted(assets) == ["lineage.json", "model-card.md", "model.pkl"]
    assert assets["model.pkl"] == (repo / "models" / "model.pkl").read_bytes()
    # uploads went to the uploads host the API's upload_url named, never to the API host
    uploads = [r for r in gh.requests if r.method == "POST" and r.path.endswith("/assets")]
    assert len(uploads) == 3 and {r.host for r in uploads} == {"uploads"}

    lineage = json.loads(assets["lineage.json"])
    jsonschema.validate(lineage, SCHEMA, format_checker=jsonschema.FormatChecker())
    lock = (repo / "dvc.lock").read_text()
    (art,) = lineage["artifacts"]
    assert art["md5"] in lock and art["sha256"] == hashlib.sha256(assets["model.pkl"]).hexdigest()
    assert {d["path"] for d in lineage["data"]} >= {"data/raw.csv"}
    assert lineage["commit"] == git(repo, "rev-parse", "v1.0.0").strip()
    assert lineage["actor"] == "octocat" and lineage["run_url"].endswith("/o/r/actions/runs/4242")
    assert lineage["params"]["params.yaml"]["train.lr"] == 0.1
    assert lineage["metrics"]["metrics.json"]["test.accuracy"] > 0.5
    card = assets["model-card.md"].decode()
    for section in ("## Model details", "## Intended use", "## Training data", "## Quantitative analysis",
                    "## Considerations", "## How to reproduce", "Scoring two-feature toy data"):
        assert section in card
    assert art["md5"] in card and "data/raw.csv" in card


def test_second_run_of_the_same_tag_keeps_everything(repo, gh):
    assert deploy(repo, gh, "--tag", "v1.0.0").returncode == 0
    first = assets_of(gh, "v1.0.0")
    gh.clear_log()
    proc = deploy(repo, gh, "--tag", "v1.0.0")
    assert proc.returncode == 0, proc.stderr
    assert "kept 3" in proc.stdout
    assert assets_of(gh, "v1.0.0") == first  # lineage.json byte-identical: the first attempt's record stands
    assert len(gh.releases("o/r")) == 1
    assert not [r for r in gh.requests if r.method in ("POST", "DELETE")]


def test_lost_answers_and_server_errors_never_duplicate(repo, gh):
    gh.lose_answer(method="POST", path=r"/releases$")
    gh.lose_answer(method="POST", path=r"/assets$")
    gh.fail(502, method="GET", path=r"/releases/tags/")
    proc = deploy(repo, gh, "--tag", "v1.0.0")
    assert proc.returncode == 0, proc.stderr
    assert len(gh.releases("o/r")) == 1
    assert sorted(assets_of(gh, "v1.0.0")) == ["lineage.json", "model-card.md", "model.pkl"]
    assert [r.fault for r in gh.requests if r.fault] == ["status", "lose", "lose"]


def test_failed_upload_leaves_a_draft_and_says_how_to_finish(repo, gh):
    gh.fail(400, method="POST", path=r"/assets$", message="Bad upload")
    proc = deploy(repo, gh, "--tag", "v1.0.0")
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()[-1]
    assert "created the draft release" in err and "nothing was published" in err
    assert "re-run `ci-mlops deploy --tag v1.0.0`" in err
    assert release_of(gh, "v1.0.0")["draft"] is True
    proc = deploy(repo, gh, "--tag", "v1.0.0")
    assert proc.returncode == 0, proc.stderr
    assert release_of(gh, "v1.0.0")["draft"] is False
    assert len(assets_of(gh, "v1.0.0")) == 3


def test_existing_asset_with_different_content_is_refused_not_overwritten(repo, gh):
    gh.add_repo("o/r")
    release = gh.add_release("o/r", "v1.0.0", draft=True, body=MARKER)  # an earlier run's draft, then tampered with
    GitHubClient(gh.api_url, "t", sleep=lambda s: None).upload_asset(
        release["upload_url"], "model.pkl", b"someone else's model", "application/octet-stream")
    proc = deploy(repo, gh, "--tag", "v1.0.0")
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert "already has an asset 'model.pkl' with different content" in last and "not overwritten" in last
    assert assets_of(gh, "v1.0.0") == {"model.pkl": b"someone else's model"}


def test_a_hand_made_release_is_refused_unless_adopted(repo, gh):
    gh.add_repo("o/r")
    gh.add_release("o/r", "v1.0.0", name="Hand-written 1.0", body="Carefully written by a human")
    gh.clear_log()
    proc = deploy(repo, gh, "--tag", "v1.0.0")
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert "release v1.0.0 already exists and was not made by ci-mlops" in last and "--adopt-release" in last
    assert "finishing it" not in proc.stderr
    release = release_of(gh, "v1.0.0")
    assert (release["name"], release["body"]) == ("Hand-written 1.0", "Carefully written by a human")
    assert assets_of(gh, "v1.0.0") == {} and not [r for r in gh.requests if r.is_write]

    proc = deploy(repo, gh, "--tag", "v1.0.0", "--adopt-release")
    assert proc.returncode == 0, proc.stderr
    assert "adopting release v1.0.0 (published)" in proc.stderr
    release = release_of(gh, "v1.0.0")
    assert release["name"] == "clf v1.0.0" and release["body"].startswith(MARKER)
    assert sorted(assets_of(gh, "v1.0.0")) == ["lineage.json", "model-card.md", "model.pkl"]
    proc = deploy(repo, gh, "--tag", "v1.0.0")  # now it is ci-mlops's own: a plain re-run finishes it
    assert proc.returncode == 0 and "kept 3" in proc.stdout


def test_registry_tag_diffs_against_the_previous_version_and_stage_tag_picks_environment(repo, gh, tmp_path):
    metrics_commit(repo, "more epochs", **{"train.epochs": 9})
    git(repo, "tag", "model@v1.1.0-rc.1")
    proc = deploy(repo, gh, "--tag", "model@v1.1.0-rc.1")
    assert proc.returncode == 0, proc.stderr
    release = release_of(gh, "model@v1.1.0-rc.1")
    assert release["prerelease"] is True and release["name"] == "model v1.1.0-rc.1"
    assert "model@v1.0.0" in release["body"]  # notes compare with the previous release of the model
    assert "train.epochs" in release["body"]
    lineage = json.loads(assets_of(gh, "model@v1.1.0-rc.1")["lineage.json"])
    assert lineage["previous"]["tag"] == "model@v1.0.0" and lineage["model"] == "model"

    git(repo, "tag", "model#prod#1")
    output = tmp_path / "out.txt"
    output.write_text("")
    plan = deploy(repo, gh, "--plan", GITHUB_REF="refs/tags/model#prod#1", GITHUB_OUTPUT=str(output))
    assert plan.returncode == 0, plan.stderr
    assert "environment=prod" in output.read_text() and "version=1.1.0-rc.1" in output.read_text()
    proc = deploy(repo, gh, "--tag", "model#prod#1")
    assert proc.returncode == 0, proc.stderr
    assert "environment prod" in proc.stdout
    lineage = json.loads(assets_of(gh, "model#prod#1")["lineage.json"])
    assert (lineage["stage"], lineage["version"]) == ("prod", "1.1.0-rc.1")


def test_failing_gate_stops_the_release(repo, gh):
    (repo / ".ci-mlops.yml").write_text(CONFIG.replace("min: 0.5", "min: 0.999"))
    commit_all(repo, "strict gate")
    git(repo, "tag", "v2.0.0")
    proc = deploy(repo, gh, "--tag", "v2.0.0")
    assert proc.returncode == 1
    assert "gate FAIL: test.accuracy" in proc.stdout
    assert "nothing was released" in proc.stderr
    assert gh.releases("o/r") == []


def test_artifact_missing_everywhere_is_one_line(repo, gh):
    (repo / "models" / "model.pkl").unlink()
    shutil.rmtree(repo / ".dvc" / "cache")
    shutil.rmtree(repo.parent / "remote")
    (repo.parent / "remote").mkdir()
    proc = deploy(repo, None, "--tag", "v1.0.0", "--target", "none")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 2  # the artifacts log line and the error
    assert "models/model.pkl: not in the workspace, the DVC cache or the DVC remote" in proc.stderr


def test_artifact_missing_locally_is_pulled_from_the_remote(repo):
    (repo / "models" / "model.pkl").unlink()
    shutil.rmtree(repo / ".dvc" / "cache")
    proc = deploy(repo, None, "--tag", "v1.0.0", "--target", "none")
    assert proc.returncode == 0, proc.stderr
    assert (repo / "models" / "model.pkl").is_file()


def test_older_tag_is_released_from_the_cache_not_the_changed_workspace(repo):
    metrics_commit(repo, "more epochs", **{"train.epochs": 9})
    proc = deploy(repo, None, "--tag", "v1.0.0", "--target", "none", "--output-dir", str(repo.parent / "out"))
    assert proc.returncode == 0, proc.stderr
    lineage = json.loads((repo.parent / "out" / "lineage.json").read_text())
    assert lineage["artifacts"][0]["md5"] in git(repo, "show", "v1.0.0:dvc.lock")


@pytest.mark.parametrize("change, fragment", [
    ("model", "models/model.pkl: the workspace file does not match dvc.lock at v1.0.0"),
    ("lock", "dvc.yaml/dvc.lock have uncommitted changes"),
])
def test_mismatched_workspace_or_dirty_lock_is_a_hard_error(repo, change, fragment):
    if change == "model":
        (repo / "models" / "model.pkl").write_bytes(b"retrained by hand")
    else:
        (repo / "dvc.lock").write_text((repo / "dvc.lock").read_text() + "\n# edited\n")
    proc = deploy(repo, None, "--tag", "v1.0.0", "--target", "none")
    assert proc.returncode == 2
    assert fragment in proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("args, env, fragment", [
    ((), {}, "no tag: pass --tag"),
    ((), {"GITHUB_REF": "refs/heads/main"}, "not a tag"),
    (("--tag", "release-1"), {}, "neither a version nor a model-registry tag"),
    (("--tag", "v9.9.9"), {}, "tag 'v9.9.9' does not exist"),
])
def test_bad_tags_are_one_line_exit_2(repo, args, env, fragment):
    proc = deploy(repo, None, *args, "--target", "none", **env)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and fragment in proc.stderr


def test_no_artifacts_configured_or_declared(repo):
    text = (repo / "dvc.yaml").read_text().split("artifacts:")[0].replace("models/model.pkl", "weights.pkl")
    (repo / "dvc.yaml").write_text(text)
    (repo / "dvc.lock").write_text((repo / "dvc.lock").read_text().replace("models/model.pkl", "weights.pkl"))
    commit_all(repo, "no models dir, no artifacts")
    git(repo, "tag", "v3.0.0")
    proc = deploy(repo, None, "--tag", "v3.0.0", "--target", "none")
    assert proc.returncode == 2
    assert "no artifacts to release" in proc.stderr


def test_release_needs_a_token_before_doing_any_work(repo):
    proc = deploy(repo, None, "--tag", "v1.0.0", GITHUB_REPOSITORY="o/r")
    assert proc.returncode == 2 and "no GitHub token" in proc.stderr


def test_dry_run_publishes_nothing(repo, gh):
    proc = deploy(repo, gh, "--tag", "v1.0.0", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "dry run: would create or finish the release 'clf v1.0.0'" in proc.stdout
    assert "model.pkl" in proc.stdout and "lineage.json" in proc.stdout
    assert gh.requests == []


def test_deregistration_tag_releases_nothing(repo):
    git(repo, "tag", "model@v1.0.0!")
    proc = deploy(repo, None, "--tag", "model@v1.0.0!")
    assert proc.returncode == 0
    assert "deregisters model v1.0.0: nothing to release" in proc.stdout


def test_custom_target_gets_the_release_facts(repo, tmp_path):
    seen = tmp_path / "seen.json"
    script = ("import json, os; json.dump({k: v for k, v in os.environ.items() if k.startswith('CI_MLOPS_')}, "
              f"open({str(seen)!r}, 'w'))")
    (repo / "deploy.py").write_text(script)
    (repo / ".ci-mlops.yml").write_text(CONFIG.replace("  name: clf\n", "  name: clf\n  target: custom\n  command: python deploy.py\n"))
    proc = deploy(repo, None, "--tag", "v1.0.0", "--config", str(repo / ".ci-mlops.yml"))
    assert proc.returncode == 0, proc.stderr
    env = json.loads(seen.read_text())
    assert (env["CI_MLOPS_VERSION"], env["CI_MLOPS_STAGE"], env["CI_MLOPS_TAG"]) == ("1.0.0", "", "v1.0.0")
    assert Path(env["CI_MLOPS_MODEL_PATHS"]).read_bytes() == (repo / "models" / "model.pkl").read_bytes()
    assert json.loads(Path(env["CI_MLOPS_LINEAGE"]).read_text())["tag"] == "v1.0.0"

    # Without --config the default branch decides; the tagged commit (v1.0.0 has no custom target) does not.
    (repo / ".ci-mlops.yml").write_text(CONFIG.replace("  name: clf\n", "  name: clf\n  target: custom\n  command: exit 7\n"))
    commit_all(repo, "custom deploy command")
    proc = deploy(repo, None, "--tag", "v1.0.0")
    assert proc.returncode == 1
    assert "deploy command exited with code 7: exit 7" in proc.stderr
    assert "deploy.target, deploy.command at v1.0.0 differ from .ci-mlops.yml on" in proc.stderr


def test_docker_target_in_actions_emits_build_push_action_inputs(repo, tmp_path):
    output = tmp_path / "out.txt"
    output.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output), "GITHUB_REPOSITORY": "Org/Churn",
           "GITHUB_SHA": "x", "GITHUB_SERVER_URL": "https://github.com"}
    proc = deploy(repo, None, "--tag", "model@v1.0.0", "--target", "docker", "--write-dockerfile", **env)
    assert proc.returncode == 0, proc.stderr
    out = output.read_text()
    assert "docker-image=ghcr.io/org/churn" in out
    assert "ghcr.io/org/churn:model-1.0.0" in out
    commit = git(repo, "rev-parse", "model@v1.0.0").strip()
    assert f"org.opencontainers.image.revision={commit}" in out
    assert "org.opencontainers.image.source=https://github.com/Org/Churn" in out
    dockerfile = (repo / "Dockerfile").read_text()
    assert "COPY models/model.pkl /app/models/model.pkl" in dockerfile
    assert (repo / ".ci-mlops" / "release" / "lineage.json").is_file()
    assert "docker build --file Dockerfile --tag ghcr.io/org/churn:model-1.0.0" in proc.stdout
