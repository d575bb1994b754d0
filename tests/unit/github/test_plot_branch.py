"""Plot images as commits on a pull request's own branch, through the Git Data API of the loopback GitHub."""

from __future__ import annotations

import urllib.request

import pytest

from ci_mlops.errors import UserError
from ci_mlops.github.client import ApiError, GitHubClient
from ci_mlops.github.plot_branch import BranchPolicy, publish, sweep
from tests.support.fake_github import FakeGitHub

REPO = "o/r"


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        yield fake


@pytest.fixture
def client(gh):
    c = GitHubClient(gh.api_url, "t", max_elapsed=5)
    yield c
    c.close()


def fetch(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_publish_writes_one_commit_on_the_pr_branch_and_links_it_by_sha(gh, client):
    files = {"01-roc.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>", "02-cm.png": b"\x89PNG fake"}
    done = publish(client, REPO, gh.server_url, 7, "a" * 40, files)
    git = gh.git(REPO)
    assert done.branch == "ci-mlops/plots/pr-7" and git.refs == {"refs/heads/ci-mlops/plots/pr-7": done.commit}
    assert git.files(done.commit) == {"aaaaaaaaaaaa/01-roc.svg": files["01-roc.svg"],
                                      "aaaaaaaaaaaa/02-cm.png": files["02-cm.png"]}
    assert all(ref != "refs/heads/main" for _method, ref in git.writes)  # never the default branch
    url = done.urls["aaaaaaaaaaaa/02-cm.png"]
    assert url == f"{gh.server_url}/{REPO}/blob/{done.commit}/aaaaaaaaaaaa/02-cm.png?raw=true"
    assert fetch(url) == (200, files["02-cm.png"])
    assert (done.run, done.squashed, done.deleted) == (1, False, [])


def test_later_runs_stack_until_keep_runs_then_the_branch_starts_again(gh, client):
    policy = BranchPolicy(keep_runs=3)
    runs = [publish(client, REPO, gh.server_url, 7, f"{i:x}" * 40, {"p.png": bytes([i])}, policy) for i in range(1, 5)]
    assert [r.run for r in runs] == [1, 2, 3, 1] and [r.squashed for r in runs] == [False, False, False, True]
    git = gh.git(REPO)
    # each commit holds its own run only; the tip's history is the runs kept
    assert git.commits[runs[2].commit]["parents"] == [runs[1].commit]
    assert git.commits[runs[3].commit]["parents"] == []
    # links of the runs before the new start no longer resolve (unreachable, collected); the newest does
    assert fetch(runs[2].urls[f"{'3' * 12}/p.png"])[0] == 404
    assert fetch(runs[3].urls[f"{'4' * 12}/p.png"]) == (200, b"\x04")


def test_closed_pull_requests_lose_their_branch_at_the_next_publish(gh, client):
    gh.add_pr(REPO, 7)
    gh.add_pr(REPO, 8)
    gh.add_pr(REPO, 9, state="closed")
    for pr in (7, 8, 9):
        publish(client, REPO, gh.server_url, pr, "a" * 40, {"p.png": b"x"}, BranchPolicy(on_close="keep"))
    gh.git(REPO).refs["refs/heads/ci-mlops/plots/other"] = next(iter(gh.git(REPO).commits))  # not ours
    gh._repo(REPO).pulls[8]["state"] = "closed"
    done = publish(client, REPO, gh.server_url, 7, "b" * 40, {"p.png": b"y"})
    assert done.deleted == ["ci-mlops/plots/pr-8", "ci-mlops/plots/pr-9"]
    assert sorted(gh.git(REPO).refs) == ["refs/heads/ci-mlops/plots/other", "refs/heads/ci-mlops/plots/pr-7"]
    assert sweep(client, REPO, BranchPolicy()) == []


def test_the_default_branch_is_never_written(gh, client):
    gh._repo(REPO).default_branch = "ci-mlops/plots/pr-7"
    with pytest.raises(UserError, match="default branch"):
        publish(client, REPO, gh.server_url, 7, "a" * 40, {"p.png": b"x"})
    assert gh.git(REPO).writes == []


def test_a_ruleset_that_forbids_the_branch_is_an_api_error(gh, client):
    gh.git(REPO).protected.append("refs/heads/ci-mlops/*")
    with pytest.raises(ApiError, match="rule violations"):
        publish(client, REPO, gh.server_url, 7, "a" * 40, {"p.png": b"x"})
    assert gh.git(REPO).refs == {}


def test_a_private_repository_serves_images_only_to_a_signed_in_reader(gh, client):
    gh.git(REPO).private = True
    done = publish(client, REPO, gh.server_url, 7, "a" * 40, {"p.png": b"x"})
    url = done.urls["aaaaaaaaaaaa/p.png"]
    assert fetch(url)[0] == 404 and fetch(url, token="ro") == (200, b"x")


def test_a_concurrent_run_moving_the_branch_is_read_again(gh, client):
    publish(client, REPO, gh.server_url, 7, "a" * 40, {"p.png": b"1"})
    gh.fail(422, path=r"/git/refs/heads/", method="PATCH")  # as GitHub answers a lost fast-forward race
    done = publish(client, REPO, gh.server_url, 7, "b" * 40, {"p.png": b"2"})
    assert done.run == 2 and gh.git(REPO).refs["refs/heads/ci-mlops/plots/pr-7"] == done.commit


def test_unchanged_plots_are_not_uploaded_again(gh, client):
    first = publish(client, REPO, gh.server_url, 7, "a" * 40, {"a.svg": b"<svg/>", "b.png": b"png-1"})
    assert first.uploaded == 2
    gh.clear_log()
    second = publish(client, REPO, gh.server_url, 7, "b" * 40, {"a.svg": b"<svg/>", "b.png": b"png-2"})
    assert second.uploaded == 1 and gh.calls().count("POST /repos/o/r/git/blobs") == 1
    # the unchanged image is the same blob, referenced from the new run's folder
    assert gh.git(REPO).files(second.commit) == {"bbbbbbbbbbbb/a.svg": b"<svg/>", "bbbbbbbbbbbb/b.png": b"png-2"}
    assert fetch(second.urls["bbbbbbbbbbbb/a.svg"]) == (200, b"<svg/>")


def test_github_enterprise_server_links_use_its_own_host():
    with FakeGitHub(prefix="/api/v3") as ghes:
        ghes.add_repo(REPO)
        client = GitHubClient(ghes.api_url, "t", max_elapsed=5)
        try:
            done = publish(client, REPO, ghes.server_url, 7, "a" * 40, {"p.png": b"x"})
        finally:
            client.close()
        url = done.urls["aaaaaaaaaaaa/p.png"]
        assert url.startswith(f"{ghes.server_url}/{REPO}/blob/") and "/api/v3" not in url
        assert fetch(url) == (200, b"x")
