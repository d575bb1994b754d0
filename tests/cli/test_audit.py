"""`ci-mlops audit verify` (tamper detection) and `ci-mlops audit log` on real releases."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ci_mlops.github.client import GitHubClient
from tests.conftest import run_cli
from tests.support.dvc_factory import commit_all, copy_repo, git, metrics_commit, run_dvc
from tests.support.fake_github import FakeGitHub

CONFIG = "metrics:\n  test.accuracy: {min: 0.5}\n"


@pytest.fixture(scope="module")
def released(tmp_path_factory, shared_dvc_repo) -> Path:
    """A repo with v1.0.0 released locally (target none) and a second version tagged model@v1.1.0 + model#prod#1."""
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("audit") / "repo")
    (repo / ".ci-mlops.yml").write_text(CONFIG)
    commit_all(repo, "config")
    git(repo, "tag", "v1.0.0")
    out = repo.parent / "release"
    proc = run_cli("deploy", "--tag", "v1.0.0", "--target", "none", "--output-dir", str(out), cwd=repo)
    assert proc.returncode == 0, proc.stderr
    metrics_commit(repo, "more epochs", **{"train.epochs": 9})
    git(repo, "tag", "model@v1.1.0")
    git(repo, "tag", "model#prod#1")
    git(repo, "checkout", "-q", "v1.0.0")
    run_dvc(repo, "checkout", "-q")  # git checkout leaves DVC-tracked files as they were
    return repo


@pytest.fixture
def repo(released, tmp_path) -> Path:
    dest = copy_repo(released, tmp_path / "repo")
    import shutil

    shutil.copytree(released.parent / "release", tmp_path / "release")
    return dest


def audit(repo: Path, *args: str, env: dict | None = None):
    return run_cli("audit", *args, cwd=repo, env={"GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": "", **(env or {})})


def release_v1(repo: Path, env: dict, gh: FakeGitHub) -> None:
    """Release v1.0.0 to the fake GitHub of ``env``, as the release workflow run 4242 would."""
    proc = run_cli("deploy", "--tag", "v1.0.0", cwd=repo, env={**env, "RUNNER_TEMP": str(repo.parent / "rt")})
    assert proc.returncode == 0, proc.stderr
    gh.add_run("o/r", 4242, head_sha=git(repo, "rev-parse", "v1.0.0^{commit}").strip(), event="push",
               name="ci-mlops release", actor="octocat")


def test_verify_local_files_pass(repo):
    out = repo.parent / "release"
    proc = audit(repo, "verify", "v1.0.0", "--lineage", str(out / "lineage.json"), "--path", "models/model.pkl")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checks passed" in proc.stdout and "FAIL" not in proc.stdout


def test_verify_catches_a_tampered_local_artifact(repo, tmp_path):
    out = repo.parent / "release"
    copy = tmp_path / "model.pkl"
    data = bytearray((repo / "models" / "model.pkl").read_bytes())
    data[-2] ^= 1  # same size, different bytes
    copy.write_bytes(bytes(data))
    proc = audit(repo, "verify", "v1.0.0", "--lineage", str(out / "lineage.json"), "--path", str(copy))
    assert proc.returncode == 1
    assert "tampering detected in v1.0.0: models/model.pkl" in proc.stderr and "sha256" in proc.stderr


def test_verify_catches_a_lineage_that_disagrees_with_dvc_lock(repo, tmp_path):
    lineage = json.loads((repo.parent / "release" / "lineage.json").read_text())
    lineage["data"][0]["md5"] = "0" * 32
    forged = tmp_path / "lineage.json"
    forged.write_text(json.dumps(lineage))
    proc = audit(repo, "verify", "v1.0.0", "--lineage", str(forged), "--path", "models/model.pkl", "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["passed"] is False
    assert [c["subject"] for c in doc["checks"] if not c["ok"]] == [lineage["data"][0]["path"]]


def test_verify_catches_a_moved_tag(repo):
    git(repo, "tag", "-f", "v1.0.0", "model@v1.1.0")
    out = repo.parent / "release"
    proc = audit(repo, "verify", "v1.0.0", "--lineage", str(out / "lineage.json"), "--path", "models/model.pkl")
    assert proc.returncode == 1
    assert "tag v1.0.0: points at" in proc.stderr and "tag moved?" in proc.stderr


def test_verify_refuses_an_invalid_lineage(repo, tmp_path):
    bad = tmp_path / "lineage.json"
    bad.write_text(json.dumps({"tag": "v1.0.0"}))
    proc = audit(repo, "verify", "v1.0.0", "--lineage", str(bad), "--path", "models/model.pkl")
    assert proc.returncode == 1 and "lineage.json" in proc.stderr and "required" in proc.stderr


@pytest.mark.parametrize("args, fragment", [
    (("verify", "v1.0.0"), "give --lineage and --path, or set GITHUB_REPOSITORY"),
    (("verify", "v7.0.0", "--lineage", "dvc.yaml", "--path", "dvc.yaml"), "tag 'v7.0.0' does not exist"),
    (("verify", "nope"), "neither a version nor a model-registry tag"),
    (("log", "--model", "ghost"), "no releases of model 'ghost'"),
])
def test_bad_input_is_one_line_exit_2(repo, args, fragment):
    proc = audit(repo, *args, env={"GITHUB_REPOSITORY": ""})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and fragment in proc.stderr


def test_verify_downloads_from_the_release_and_catches_a_replaced_asset(repo):
    with FakeGitHub() as gh:
        env = gh.env(repo="o/r", token="t")
        release_v1(repo, env, gh)
        proc = audit(repo, "verify", "v1.0.0", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "release asset model.pkl: size, sha256 and md5 match" in proc.stdout

        (release,) = gh.releases("o/r")
        client = GitHubClient(gh.api_url, "t", sleep=lambda s: None)
        (asset,) = [a for a in gh.assets("o/r", release["id"]) if a["name"] == "model.pkl"]
        client.request("DELETE", asset["url"])
        client.upload_asset(release["upload_url"], "model.pkl", b"a backdoored model", "application/octet-stream")
        proc = audit(repo, "verify", "v1.0.0", env=env)
        assert proc.returncode == 1
        assert "tampering detected in v1.0.0: models/model.pkl: release asset model.pkl is 18 bytes" in proc.stderr


def forge(repo: Path, tmp_path: Path, path: str, source: str) -> tuple[Path, Path]:
    """A lineage whose only artifact is ``path`` (under the model's asset name), and that file posing as the model."""
    lineage = json.loads((repo.parent / "release" / "lineage.json").read_text())
    data = git_bytes(repo, f"v1.0.0:{path}") if source == "git" else (repo / path).read_bytes()
    md5 = hashlib.md5(data).hexdigest()
    if source == "dvc":
        assert md5 in git(repo, "show", "v1.0.0:dvc.lock")  # a real, locked DVC output
    lineage["artifacts"] = [{"path": path, "name": "model.pkl", "source": source, "md5": md5,
                             "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}]
    forged, model = tmp_path / "forged.json", tmp_path / "model.pkl"
    forged.write_text(json.dumps(lineage))
    model.write_bytes(data)
    return forged, model


def git_bytes(repo: Path, spec: str) -> bytes:
    import subprocess

    return subprocess.run(["git", "show", spec], cwd=repo, capture_output=True, check=True).stdout


@pytest.mark.parametrize("path, source", [("params.yaml", "git"), ("eval/prc.csv", "dvc")])
def test_verify_catches_a_lineage_that_passes_another_file_off_as_the_model(repo, tmp_path, path, source):
    forged, model = forge(repo, tmp_path, path, source)
    proc = audit(repo, "verify", "v1.0.0", "--lineage", str(forged), "--path", str(model))
    assert proc.returncode == 1, proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert f"tampering detected in v1.0.0: artifacts: the lineage lists what v1.0.0 does not release: {path}" in last
    assert "the lineage lacks: models/model.pkl" in last
    assert f"ok    {path}" not in proc.stdout  # matching bytes of the wrong file prove nothing


def test_verify_resolves_the_artifacts_from_the_config_at_the_tag(repo):
    out = repo.parent / "release"
    (repo / ".ci-mlops.yml").write_text(CONFIG + "deploy:\n  artifacts: [params.yaml]\n")  # not at the tag
    proc = audit(repo, "verify", "v1.0.0", "--lineage", str(out / "lineage.json"), "--path", "models/model.pkl")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "artifacts: models/model.pkl: exactly what type: model artifacts in dvc.yaml at v1.0.0 releases" in proc.stdout
    # deploy, too, releases what the tag says, whatever the checkout's uncommitted config says
    proc = run_cli("deploy", "--tag", "v1.0.0", "--target", "none", "--output-dir", str(repo.parent / "again"),
                   cwd=repo, env={"GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": ""})
    assert proc.returncode == 0, proc.stderr
    assert "artifacts (type: model artifacts in dvc.yaml): models/model.pkl" in proc.stderr


def test_verify_flags_an_unexpected_release_asset(repo):
    with FakeGitHub() as gh:
        env = gh.env(repo="o/r", token="t")
        release_v1(repo, env, gh)
        proc = audit(repo, "verify", "v1.0.0", env=env)
        assert proc.returncode == 0 and "ok    release assets: only the artifacts" in proc.stdout, proc.stdout
        (release,) = gh.releases("o/r")
        GitHubClient(gh.api_url, "t", sleep=lambda s: None).upload_asset(
            release["upload_url"], "model-fast.pkl", b"a backdoored model", "application/octet-stream")
        proc = audit(repo, "verify", "v1.0.0", env=env)
        assert proc.returncode == 1
        assert ("tampering detected in v1.0.0: release assets: unexpected asset(s) model-fast.pkl: "
                "neither an artifact of v1.0.0 nor model-card.md / lineage.json") in proc.stderr


def test_log_lists_each_model_with_versions_stages_and_key_metrics(repo):
    proc = audit(repo, "log", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    models = json.loads(proc.stdout)["models"]
    assert sorted(models) == ["model", "repo"]
    assert [e["tag"] for e in models["repo"]] == ["v1.0.0"]
    entries = {e["tag"]: e for e in models["model"]}
    assert entries["model#prod#1"]["version"] == "1.1.0" and entries["model#prod#1"]["stage"] == "prod"
    assert entries["model@v1.1.0"]["commit"] == git(repo, "rev-parse", "model@v1.1.0").strip()
    assert set(entries["model@v1.1.0"]["metrics"]) == {"test.accuracy"}
    text = audit(repo, "log", "--model", "model").stdout
    assert text.startswith("model:") and "stage prod" in text and "test.accuracy=" in text
