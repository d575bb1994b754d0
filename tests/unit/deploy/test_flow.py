"""The release flow in-process on a real git repository: the tag's commit, model and version resolved in
one place (deploy/tags.py), the early answers of deploy/flow.py, and the forge opened only when a release
goes to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git

from ci_mlops.config import parse_config
from ci_mlops.deploy.flow import Request, release
from ci_mlops.deploy.host import CiRun, ReleaseHost
from ci_mlops.deploy.tags import model_name, parse_tag, release_version, tag_commit, tags_at
from ci_mlops.errors import UserError
from ci_mlops.git import Repo


def no_forge() -> ReleaseHost:
    raise AssertionError("the forge was opened for a run that publishes nothing")


def run_flow(repo: Path, tag: str, **request: object) -> tuple[dict[str, str], list[str]]:
    lines: list[str] = []
    result = release(Repo(repo), Request(tag=tag, **request), CiRun(repository="acme/churn"),  # type: ignore[arg-type]
                     open_host=no_forge, echo=lines.append, log=lines.append)
    assert result.summary is None  # nothing was prepared
    return result.outputs, lines


def test_a_stage_tag_s_version_is_the_one_registered_at_its_commit(git_repo: Path) -> None:
    repo = Repo(git_repo)
    for tag in ("churn@v1.0.0", "churn@v1.1.0", "other@v9.0.0", "v3.0.0", "churn#prod#1"):
        git(git_repo, "tag", tag)
    at = tags_at(repo, repo.rev_parse("HEAD"))
    assert {t.raw for t in at} == {"churn@v1.0.0", "churn@v1.1.0", "other@v9.0.0", "v3.0.0", "churn#prod#1"}
    assert release_version(parse_tag("churn#prod#1"), at) == "1.1.0"  # the highest of the same artifact
    assert release_version(parse_tag("solo#prod"), at) == "3.0.0"  # else the plain version tag there
    assert release_version(parse_tag("churn@v2.0.0"), []) == "2.0.0"  # a version tag stands for itself


def test_the_commit_of_a_missing_tag_is_one_clear_error(git_repo: Path) -> None:
    repo = Repo(git_repo)
    git(git_repo, "tag", "v1.0.0")
    assert tag_commit(repo, parse_tag("v1.0.0")) == repo.head()
    with pytest.raises(UserError, match=r"tag 'v2\.0\.0' does not exist in this repository \(fetch tags"):
        tag_commit(repo, parse_tag("v2.0.0"))


def test_the_model_is_named_by_the_tag_then_the_config_then_the_repository(tmp_path: Path) -> None:
    named = parse_config("deploy:\n  name: scorer\n")
    assert model_name(parse_tag("churn@v1.0.0"), named, "acme/repo", tmp_path) == "churn"
    assert model_name(parse_tag("v1.0.0"), named, "acme/repo", tmp_path) == "scorer"
    assert model_name(parse_tag("v1.0.0"), parse_config(""), "acme/repo", tmp_path) == "repo"
    assert model_name(parse_tag("v1.0.0"), parse_config(""), None, tmp_path / "folder") == "folder"


def test_a_tag_with_another_purpose_releases_nothing_under_plan(git_repo: Path) -> None:
    outputs, lines = run_flow(git_repo, "baseline-experiment", plan_only=True)
    assert outputs == {"tag": "baseline-experiment", "release": "false"}
    assert lines == ["tag 'baseline-experiment': not a release tag (vX.Y.Z or a GTO registry tag): nothing to release"]
    with pytest.raises(UserError, match="neither a version nor a model-registry tag"):
        run_flow(git_repo, "baseline-experiment")  # without --plan it is an error


def test_a_deregistration_tag_says_so_and_opens_no_forge(git_repo: Path) -> None:
    git(git_repo, "tag", "churn@v1.0.0!")
    outputs, lines = run_flow(git_repo, "churn@v1.0.0!")
    assert outputs == {"tag": "churn@v1.0.0!", "model": "churn", "release": "false", "environment": "production"}
    assert lines == ["tag 'churn@v1.0.0!' deregisters churn v1.0.0: nothing to release"]


def test_a_stage_outside_the_allow_list_is_refused_before_anything_is_prepared(git_repo: Path) -> None:
    git(git_repo, "tag", "churn#prod")
    with pytest.raises(UserError, match="assigns stage 'prod', but no stages are allowed"):
        run_flow(git_repo, "churn#prod")


def test_plan_without_a_model_at_the_tag_releases_nothing(git_repo: Path) -> None:
    git(git_repo, "tag", "v1.0.0")
    outputs, lines = run_flow(git_repo, "v1.0.0", plan_only=True)
    assert outputs == {"tag": "v1.0.0", "release": "false"}
    assert lines[-1].startswith("tag 'v1.0.0': no model at the tag (no deploy.artifacts")


def test_plan_prints_the_facts_the_release_job_needs(git_repo: Path) -> None:
    (git_repo / "model.pkl").write_bytes(b"weights")
    (git_repo / ".ci-mlops.yml").write_text("deploy:\n  artifacts: [model.pkl]\n  stages:\n    prod: production-eu\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "model")
    git(git_repo, "tag", "churn@v1.2.0-rc.1")
    git(git_repo, "tag", "churn#prod#3")
    outputs, lines = run_flow(git_repo, "churn#prod#3", plan_only=True, target="docker")
    commit = Repo(git_repo).head()
    assert outputs == {"tag": "churn#prod#3", "kind": "stage", "model": "churn", "version": "1.2.0-rc.1",
                       "stage": "prod", "environment": "production-eu", "prerelease": "true", "target": "docker",
                       "commit": commit, "artifacts": "model.pkl", "artifacts-from": "deploy.artifacts in .ci-mlops.yml",
                       "release": "true"}
    assert lines == [f"{key}={value}" for key, value in outputs.items()]


def test_the_forge_is_opened_before_preparing_and_only_for_a_real_forge_release(git_repo: Path) -> None:
    git(git_repo, "tag", "v1.0.0")
    opened: list[str] = []

    def refuse() -> ReleaseHost:
        opened.append("forge")
        raise UserError("no token")

    with pytest.raises(UserError, match="no token"):
        release(Repo(git_repo), Request(tag="v1.0.0"), CiRun(), open_host=refuse, echo=print, log=print)
    assert opened == ["forge"]
    assert not (git_repo / "out").exists()
    with pytest.raises(UserError) as dry:  # a dry run opens no forge, and fails later: there is no model
        release(Repo(git_repo), Request(tag="v1.0.0", dry_run=True, output_dir=git_repo / "out"), CiRun(),
                open_host=refuse, echo=print, log=print)
    assert "no token" not in str(dry.value) and opened == ["forge"]


def test_a_ci_run_carries_what_the_forge_s_environment_says() -> None:
    run = CiRun(repository="acme/churn", actor="ana", run_url="https://github.com/acme/churn/actions/runs/1",
                in_ci=True, default_branch="trunk")
    assert run.server_url == "https://github.com"  # GitHub unless the run says otherwise
    with pytest.raises(AttributeError):
        run.repository = "other/repo"  # type: ignore[misc]  # frozen: the flow cannot change where it runs
