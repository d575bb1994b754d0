"""One suite, both release hosts: GitHub Releases and GitLab Releases keep the same promises.

Through :class:`ci_mlops.deploy.host.ReleaseHost` only: publish, find, read back; a re-run
changes nothing; other content is refused before anything is written; a lost answer to
the request that creates the release never makes a second one; a person's release is
refused unless adopted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_mlops.deploy.host import MARKER, Asset, AssetConflict, ForeignRelease
from ci_mlops.github.client import GitHubClient
from ci_mlops.github.releases import Releases
from ci_mlops.gitlab.client import GitLabClient
from ci_mlops.gitlab.releases import GitLabReleases
from tests.support.fake_github import FakeGitHub
from tests.support.fake_gitlab import FakeGitLab
from tests.support.release_files import asset

TAG = "churn@v1.0.0"


@pytest.fixture(params=["github", "gitlab"])
def site(request) -> Iterator[tuple[str, object, object]]:
    if request.param == "github":
        with FakeGitHub() as gh:
            gh.add_repo("o/r")
            yield "github", gh, Releases(GitHubClient(gh.api_url, "t", sleep=lambda s: None), "o/r")
    else:
        with FakeGitLab() as gl:
            gl.add_project("group/proj")
            yield "gitlab", gl, GitLabReleases(GitLabClient(gl.api_url, "glpat-write", sleep=lambda s: None),
                                               "group/proj")


def files(folder: Path, model: bytes = b"\x00model") -> list[Asset]:
    return [asset(folder, name, data)
            for name, data in (("model.pkl", model), ("model-card.md", b"# card\n"), ("lineage.json", b'{"tag": 1}'))]


def publish(host, assets, **kw):
    return host.publish(TAG, title="churn v1.0.0", body="notes", prerelease=False, draft=False, assets=assets, **kw)


def writes(fake) -> list:
    return [r for r in fake.requests if r.method in ("POST", "PUT", "PATCH", "DELETE") and r.path != "/graphql"]


def test_publish_then_read_back(site, tmp_path):
    _, _, host = site
    outcome = publish(host, files(tmp_path))
    assert outcome.created and outcome.published and outcome.uploaded == ["model.pkl", "model-card.md", "lineage.json"]
    release = host.find(TAG)
    assert release is not None and release["body"].startswith(MARKER)
    assert sorted(a["name"] for a in host.assets(release)) == ["lineage.json", "model-card.md", "model.pkl"]
    assert host.read_asset(release, "model.pkl") == b"\x00model"
    assert host.read_asset(release, "absent.bin") is None


def test_a_rerun_writes_nothing(site, tmp_path):
    _, fake, host = site
    publish(host, files(tmp_path))
    fake.clear_log()
    again = publish(host, files(tmp_path))
    assert not again.created and again.kept == ["model.pkl", "model-card.md", "lineage.json"] and not again.uploaded
    assert writes(fake) == []


def test_other_content_is_refused_before_any_write(site, tmp_path):
    _, fake, host = site
    publish(host, files(tmp_path / "a"))
    fake.clear_log()
    with pytest.raises(AssetConflict, match=r"model\.pkl"):
        publish(host, files(tmp_path / "b", model=b"retrained"))
    assert writes(fake) == []


def test_a_lost_answer_to_the_create_makes_no_second_release(site, tmp_path):
    name, fake, host = site
    fake.lose_answer(method="POST", path=r"/releases$")
    publish(host, files(tmp_path))
    count = len(fake.releases("o/r")) if name == "github" else len(fake.gl_releases("group/proj"))
    assert count == 1


def test_a_persons_release_is_refused_unless_adopted(site, tmp_path):
    name, fake, host = site
    if name == "github":
        fake.add_release("o/r", TAG, name="by hand", body="a person's notes")
    else:
        fake.add_gl_release("group/proj", TAG, description="a person's notes", author="alice")
    fake.clear_log()
    with pytest.raises(ForeignRelease):
        publish(host, files(tmp_path))
    assert writes(fake) == []
    publish(host, files(tmp_path), adopt=True)
    assert host.find(TAG)["body"].startswith(MARKER)
