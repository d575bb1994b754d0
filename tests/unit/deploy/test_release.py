"""The release publisher in-process against the loopback GitHub (GHES prefix, rate limits, drafts)."""

from __future__ import annotations

import pytest

from ci_mlops.deploy.host import MARKER, AssetConflict, ForeignRelease
from ci_mlops.github.client import GitHubClient
from ci_mlops.github.releases import Releases
from tests.support.fake_github import FakeGitHub
from tests.support.release_files import asset


@pytest.fixture
def ghes():
    with FakeGitHub(prefix="/api/v3") as gh:
        gh.add_repo("o/r")
        yield gh


def releases_for(gh: FakeGitHub) -> Releases:
    return Releases(GitHubClient(gh.api_url, "t", sleep=lambda s: None), "o/r")


def test_enterprise_prefix_rate_limit_and_upload_host(ghes, tmp_path):
    ghes.rate_limit(429, retry_after=1, method="POST", path=r"/assets$")
    files = [asset(tmp_path, "model.onnx", b"\x00onnx"), asset(tmp_path, "lineage.json", b"{}")]
    outcome = releases_for(ghes).publish("churn@v1.0.0", title="churn v1.0.0", body="notes", prerelease=False,
                                         draft=False, assets=files)
    assert outcome.created and outcome.published and outcome.uploaded == ["model.onnx", "lineage.json"]
    (release,) = ghes.releases("o/r")
    assert release["draft"] is False and release["tag_name"] == "churn@v1.0.0"
    uploads = [r for r in ghes.requests if r.host == "uploads"]
    assert [r.status for r in uploads] == [429, 201, 201]
    assert all(not r.path.startswith("/api/v3/repos") for r in uploads)


def test_drafts_are_found_even_when_lookup_by_tag_misses(ghes, tmp_path):
    ghes.add_release("o/r", "v1.0.0", draft=True, body=MARKER + "\nnotes")  # a draft an earlier run left
    ghes.fail(404, method="GET", path=r"/releases/tags/")  # github.com does not return drafts by tag
    pub = releases_for(ghes)
    assert pub.find("v1.0.0")["draft"] is True
    outcome = pub.publish("v1.0.0", title="m v1.0.0", body="b", prerelease=False, draft=False,
                          assets=[asset(tmp_path, "m.bin", b"1")])
    assert not outcome.created and outcome.published
    assert len(ghes.releases("o/r")) == 1


def test_conflict_is_detected_before_any_upload(ghes, tmp_path):
    pub = releases_for(ghes)
    pub.publish("v1.0.0", title="t", body="b", prerelease=False, draft=True, assets=[asset(tmp_path, "a.bin", b"one")])
    ghes.clear_log()
    with pytest.raises(AssetConflict) as info:
        pub.publish("v1.0.0", title="t", body="b", prerelease=False, draft=True,
                    assets=[asset(tmp_path, "new.bin", b"fresh"), asset(tmp_path, "a.bin", b"two")])
    assert "'a.bin' with different content" in info.value.message
    assert "the release stays a draft" in info.value.message
    assert not [r for r in ghes.requests if r.is_write]


def test_the_marker_leads_every_body_and_survives_clipping(ghes, tmp_path):
    pub = releases_for(ghes)
    pub.publish("v1.0.0", title="t", body="x" * 200_000, prerelease=False, draft=True,
                assets=[asset(tmp_path, "a.bin", b"1")])
    (release,) = ghes.releases("o/r")
    assert release["body"].startswith(MARKER + "\n") and len(release["body"]) <= 125_000


@pytest.mark.parametrize("draft", [False, True])
def test_a_release_someone_else_made_is_refused_before_any_write(ghes, tmp_path, draft):
    ghes.add_release("o/r", "v1.0.0", name="Hand-written", body="by a person", draft=draft)
    ghes.clear_log()
    with pytest.raises(ForeignRelease) as info:
        releases_for(ghes).publish("v1.0.0", title="t", body="b", prerelease=False, draft=False,
                                   assets=[asset(tmp_path, "a.bin", b"1")])
    assert "not made by ci-mlops" in info.value.message and "--adopt-release" in info.value.message
    assert "re-run `ci-mlops deploy" not in info.value.message  # no "how to finish" note: there is nothing to finish
    assert not [r for r in ghes.requests if r.is_write]
    outcome = releases_for(ghes).publish("v1.0.0", title="t", body="b", prerelease=False, draft=False,
                                         assets=[asset(tmp_path, "a.bin", b"1")], adopt=True)
    (release,) = ghes.releases("o/r")
    assert outcome.uploaded == ["a.bin"] and release["name"] == "t" and release["body"] == MARKER + "\nb"
