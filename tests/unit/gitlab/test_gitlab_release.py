"""GitLab Releases with files in the generic package registry: idempotent, never clobbering, never doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_mlops.deploy.host import MARKER, Asset, AssetConflict, ForeignRelease
from ci_mlops.gitlab.client import GitLabClient
from ci_mlops.gitlab.releases import GitLabReleases, package_coordinates
from tests.support.fake_gitlab import FakeGitLab
from tests.support.release_files import asset


@pytest.fixture
def gl():
    with FakeGitLab(root="/gitlab") as fake:
        fake.add_project("ml/churn")
        yield fake


def store(gl: FakeGitLab) -> GitLabReleases:
    return GitLabReleases(GitLabClient(gl.api_url, "glpat-write", sleep=lambda s: None), "ml/churn")


def files(tmp_path: Path, model: bytes = b"\x00onnx") -> list[Asset]:
    return [asset(tmp_path, "model.onnx", model), asset(tmp_path, "model-card.md", b"# card\n"),
            asset(tmp_path, "lineage.json", b'{"tag": "churn@v1.0.0"}')]


def publish(gl: FakeGitLab, assets: list[Asset], **kw):
    return store(gl).publish("churn@v1.0.0", title="churn v1.0.0", body="notes", prerelease=False, draft=False,
                             assets=assets, **kw)


def test_files_go_to_the_package_registry_and_the_release_links_them(gl, tmp_path):
    outcome = publish(gl, files(tmp_path))
    assert outcome.created and outcome.uploaded == ["model.onnx", "model-card.md", "lineage.json"]
    release = gl.gl_releases("ml/churn")["churn@v1.0.0"]
    assert release["description"].startswith(MARKER + "\n")
    links = {link["name"]: link for link in release["assets"]["links"]}
    assert links["model.onnx"]["link_type"] == "package" and links["lineage.json"]["direct_asset_path"] == "/lineage.json"
    assert links["model.onnx"]["url"] == f"{gl.api_url}/projects/ml%2Fchurn/packages/generic/churn/churn-v1.0.0/model.onnx"
    assert gl.package_files("ml/churn")["churn/churn-v1.0.0/model.onnx"] == b"\x00onnx"
    # The release was created once, after every upload: never a release with missing files.
    writes = [f"{r.method} {r.path.split('/')[-1]}" for r in gl.requests if r.method in ("PUT", "POST")]
    assert writes == ["PUT model.onnx", "PUT model-card.md", "PUT lineage.json", "POST releases"]
    assert store(gl).read_asset(store(gl).find("churn@v1.0.0"), "lineage.json") == b'{"tag": "churn@v1.0.0"}'


def test_a_rerun_changes_nothing_and_a_lost_upload_is_not_doubled(gl, tmp_path):
    gl.lose_answer(method="PUT", path=r"/model\.onnx$")
    publish(gl, files(tmp_path))
    assert [f for f in gl.package_files("ml/churn") if f.endswith("model.onnx")] == ["churn/churn-v1.0.0/model.onnx"]
    pkg = next(iter(gl.project("ml/churn").packages.values()))
    assert [f["file_name"] for f in pkg["_files"]].count("model.onnx") == 1
    gl.clear_log()
    again = publish(gl, files(tmp_path))
    assert not again.created and again.kept == ["model.onnx", "model-card.md", "lineage.json"]
    assert [r for r in gl.requests if r.method != "GET"] == []


def test_a_lost_release_answer_is_adopted(gl, tmp_path):
    gl.lose_answer(method="POST", path=r"/releases$")
    outcome = publish(gl, files(tmp_path))
    assert outcome.release["tag_name"] == "churn@v1.0.0" and len(gl.gl_releases("ml/churn")) == 1


def test_other_content_is_refused_before_anything_is_written(gl, tmp_path):
    publish(gl, files(tmp_path))
    gl.clear_log()
    retrained = tmp_path / "retrained"
    retrained.mkdir()
    with pytest.raises(AssetConflict, match=r"'model\.onnx' with different content"):
        publish(gl, files(retrained, model=b"retrained"))
    assert [r for r in gl.requests if r.method != "GET"] == []


def test_a_persons_release_is_refused_unless_adopted(gl, tmp_path):
    gl.add_gl_release("ml/churn", "churn@v1.0.0", description="hand-written notes", author="alice")
    gl.clear_log()
    with pytest.raises(ForeignRelease, match=r"not made by ci-mlops"):
        publish(gl, files(tmp_path))
    assert [r for r in gl.requests if r.method != "GET"] == []
    outcome = publish(gl, files(tmp_path), adopt=True)
    assert not outcome.created and outcome.uploaded == ["model.onnx", "model-card.md", "lineage.json"]
    links = gl.gl_releases("ml/churn")["churn@v1.0.0"]["assets"]["links"]
    assert sorted(link["name"] for link in links) == ["lineage.json", "model-card.md", "model.onnx"]
    assert gl.gl_releases("ml/churn")["churn@v1.0.0"]["description"].startswith(MARKER)


def test_package_coordinates_are_what_gitlab_accepts():
    assert package_coordinates("churn model", "churn@v1.2.0") == ("churn-model", "churn-v1.2.0")
    assert package_coordinates("m", "m#prod#3") == ("m", "m-prod-3")


# -- end to end: `ci-mlops deploy` in a tag pipeline, then `ci-mlops audit verify` ----------------


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, shared_dvc_repo) -> Path:
    from tests.support.dvc_factory import commit_all, copy_repo, git

    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("gl-release") / "repo")
    (repo / ".ci-mlops.yml").write_text("metrics:\n  test.accuracy: {min: 0.5}\ndeploy: {target: gitlab-release}\n")
    commit_all(repo, "config")
    git(repo, "tag", "v1.0.0")
    return repo


def test_deploy_on_a_tag_pipeline_then_audit_verify_against_gitlab(tagged, tmp_path):
    from tests.conftest import run_cli
    from tests.support.dvc_factory import git

    sha = git(tagged, "rev-parse", "v1.0.0^{commit}").strip()
    with FakeGitLab() as gl:
        env = gl.env(project="ml/churn", CI_COMMIT_TAG="v1.0.0", CI_COMMIT_SHA=sha, CI_PIPELINE_SOURCE="push",
                     CI_JOB_URL=f"{gl.web_url}/ml/churn/-/jobs/4242", GITLAB_USER_LOGIN="alice",
                     CI_MLOPS_DOTENV=str(tmp_path / "deploy.env"))
        gl.add_job("ml/churn", 4242, sha=sha, user="alice")
        for attempt in range(2):  # a retried job finishes the same release, uploading nothing twice
            proc = run_cli("deploy", "--tag", "v1.0.0", "--output-dir", str(tmp_path / f"out{attempt}"), cwd=tagged,
                           env=env)
            assert proc.returncode == 0, proc.stderr
        assert "release v1.0.0 published" in proc.stdout and "kept 3 already uploaded" in proc.stdout
        [release] = gl.gl_releases("ml/churn").values()
        assert sorted(link["name"] for link in release["assets"]["links"]) == ["lineage.json", "model-card.md",
                                                                                "model.pkl"]
        assert "CI_MLOPS_RELEASE_URL=http" in (tmp_path / "deploy.env").read_text()

        verify = run_cli("audit", "verify", "v1.0.0", cwd=tagged, env=env)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "run 4242 built v1.0.0, started by alice" in verify.stdout  # the job, looked up in GitLab
        gl.add_job("ml/churn", 4242, sha=sha, user="mallory")  # the recorded actor is not who ran the job
        verify = run_cli("audit", "verify", "v1.0.0", cwd=tagged, env=env)
        assert verify.returncode == 1 and "was started by 'mallory'" in verify.stderr
        gl.add_job("ml/churn", 4242, sha=sha, user="alice")

        data = bytearray(gl.package_files("ml/churn")["churn/v1.0.0/model.pkl"])  # the model is named after the project
        data[-1] ^= 1
        gl.tamper_package_file("ml/churn", "model.pkl", bytes(data))
        verify = run_cli("audit", "verify", "v1.0.0", cwd=tagged, env=env)
        assert verify.returncode == 1 and "tampering detected in v1.0.0" in verify.stderr
