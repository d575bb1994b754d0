"""The GitHub client against the loopback fake: retries, rate limits, pagination, lost answers."""

from __future__ import annotations

import pytest

from ci_mlops.errors import ServiceError
from ci_mlops.github.client import AnswerLost, ApiError, GitHubClient
from ci_mlops.github.context import GitHubContext
from tests.support.fake_github import FakeGitHub

TOKEN = "ghs_SECRETtoken0123456789"


@pytest.fixture
def gh():
    with FakeGitHub(tokens={TOKEN: "write", "ro-token-123456": "read"}) as fake:
        fake.add_pr("o/r", 1)
        yield fake


def make_client(gh: FakeGitHub, token: str = TOKEN, **kw) -> tuple[GitHubClient, list[float]]:
    slept: list[float] = []
    kw.setdefault("max_elapsed", 300)
    client = GitHubClient(gh.api_url, token, sleep=slept.append, jitter=lambda: 1.0, **kw)
    return client, slept


def test_headers_and_json(gh):
    client, _ = make_client(gh)
    assert client.get_json("repos/o/r")["full_name"] == "o/r"
    req = gh.requests[-1]
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["accept"] == "application/vnd.github+json"
    assert req.headers["x-github-api-version"] == "2022-11-28"
    assert TOKEN not in repr(client)


def test_paginate_follows_link_headers(gh):
    gh.add_comments("o/r", 1, 250)
    client, _ = make_client(gh)
    bodies = [c["body"] for c in client.paginate("repos/o/r/issues/1/comments")]
    assert bodies == [f"LGTM {i}" for i in range(250)]
    assert [r.query.get("page", "1") for r in gh.requests] == ["1", "2", "3"]
    assert all(r.query["per_page"] == "100" for r in gh.requests)


def test_paginate_under_ghes_prefix():
    with FakeGitHub(prefix="/api/v3") as gh:
        gh.add_pr("o/r", 1)
        gh.add_comments("o/r", 1, 101)
        client = GitHubClient(gh.api_url, "t")
        assert len(list(client.paginate("repos/o/r/issues/1/comments"))) == 101
        assert len(gh.requests) == 2


def test_5xx_and_dropped_connections_are_retried_with_growing_backoff(gh):
    gh.fail(502, times=2, method="GET")
    gh.drop(method="GET")
    client, slept = make_client(gh)
    assert client.get_json("repos/o/r")["full_name"] == "o/r"
    assert len(gh.requests) == 4
    assert slept == [1.0, 2.0, 4.0]  # jitter pinned to the ceiling


def test_backoff_jitter_stays_within_half_and_full(gh):
    gh.fail(500, times=3)
    slept: list[float] = []
    client = GitHubClient(gh.api_url, TOKEN, sleep=slept.append, jitter=lambda: 0.0)
    client.get_json("repos/o/r")
    assert slept == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured_on_429(gh):
    gh.rate_limit(429, retry_after=7)
    client, slept = make_client(gh)
    client.get_json("repos/o/r")
    assert slept == [7.0]


def test_secondary_limit_waits_until_reset_when_remaining_is_zero(gh):
    gh.rate_limit(403, reset_in=120)
    client, slept = make_client(gh)
    client.get_json("repos/o/r")
    assert len(slept) == 1 and 115 <= slept[0] <= 122


def test_secondary_limit_without_hint_waits_at_least_a_minute(gh):
    gh.rate_limit(403, times=2)
    client, slept = make_client(gh, max_elapsed=1000)
    client.get_json("repos/o/r")
    assert slept[0] >= 60 and slept[1] > slept[0]


def test_gives_up_after_budget_with_service_error(gh):
    gh.fail(503, times=1000)
    client, slept = make_client(gh, max_elapsed=20)
    with pytest.raises(ServiceError) as info:
        client.get_json("repos/o/r")
    assert "kept failing" in info.value.message and "503" in info.value.message
    assert sum(slept) <= 20
    assert 2 <= len(gh.requests) <= 6


def test_long_retry_after_beyond_budget_gives_up_at_once(gh):
    gh.rate_limit(429, retry_after=3600)
    client, slept = make_client(gh, max_elapsed=300)
    with pytest.raises(ServiceError):
        client.get_json("repos/o/r")
    assert slept == [] and len(gh.requests) == 1


def test_other_4xx_raise_api_error_without_retry(gh):
    client, slept = make_client(gh, token="ro-token-123456")
    with pytest.raises(ApiError) as info:
        client.request("POST", "repos/o/r/issues/1/comments", json={"body": "x"})
    assert info.value.status == 403 and "Resource not accessible by integration" in info.value.message
    assert slept == [] and len(gh.requests) == 1


def test_bad_token_is_401_and_never_echoed(gh):
    bad = "ghp_WRONGtoken987654321"
    client, _ = make_client(gh, token=bad)
    with pytest.raises(ApiError) as info:
        client.get_json("repos/o/r")
    assert info.value.status == 401 and "token" in info.value.message
    assert bad not in info.value.message
    assert client.redact(f"Authorization: Bearer {bad}") == "Authorization: Bearer ***"


def test_validation_error_codes_are_exposed(gh):
    client, _ = make_client(gh)
    client.request("POST", "repos/o/r/releases", json={"tag_name": "v1"})
    with pytest.raises(ApiError) as info:
        client.request("POST", "repos/o/r/releases", json={"tag_name": "v1"})
    assert info.value.status == 422 and info.value.error_codes == ["already_exists"]


def test_lost_post_answer_is_reported_not_replayed(gh):
    gh.lose_answer(method="POST")
    client, _ = make_client(gh)
    with pytest.raises(AnswerLost):
        client.request("POST", "repos/o/r/issues/1/comments", json={"body": "hello"}, idempotent=False)
    assert len(gh.comments("o/r", 1)) == 1  # created once, not twice


def test_create_once_adopts_what_the_lost_post_created(gh):
    gh.lose_answer(method="POST")
    client, _ = make_client(gh)

    def find():
        return next((c for c in client.paginate("repos/o/r/issues/1/comments") if c["body"] == "hello"), None)

    made = client.create_once("repos/o/r/issues/1/comments", {"body": "hello"}, find)
    assert made["body"] == "hello"
    assert [c["body"] for c in gh.comments("o/r", 1)] == ["hello"]


def test_create_once_posts_again_when_nothing_was_created(gh):
    gh.drop(method="POST")
    client, _ = make_client(gh)
    made = client.create_once("repos/o/r/issues/1/comments", {"body": "x"}, lambda: None)
    assert made["id"] and len(gh.comments("o/r", 1)) == 1


def test_upload_asset_to_upload_host_reconciles_lost_answer(gh):
    client, _ = make_client(gh)
    release = client.request("POST", "repos/o/r/releases", json={"tag_name": "v1"}).json()
    assert not release["upload_url"].startswith(gh.api_url)
    gh.lose_answer(method="POST", path=r"/assets$")
    asset = client.upload_asset(release["upload_url"], "model.pkl", b"\x00model", "application/octet-stream")
    assert asset["name"] == "model.pkl"
    assert len(gh.assets("o/r", release["id"])) == 1
    assert client.download(asset["url"]) == b"\x00model"
    with pytest.raises(ApiError) as info:
        client.upload_asset(release["upload_url"], "model.pkl", b"other", "application/octet-stream")
    assert info.value.error_codes == ["already_exists"]


def test_context_from_env(tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"number": 12, "head": {"sha": "' + "c" * 40 + '"}}}')
    ctx = GitHubContext.from_env(env={"GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "x", "CI_MLOPS_TOKEN": "y",
                                      "GITHUB_EVENT_PATH": str(event), "GITHUB_RUN_ID": "9",
                                      "GITHUB_API_URL": "https://ghe.example/api/v3/"})
    assert ctx.pr_number == 12 and ctx.head_sha == "c" * 40 and ctx.token == "y"
    assert ctx.api_url == "https://ghe.example/api/v3"
    assert ctx.run_url == "https://github.com/o/r/actions/runs/9"


@pytest.mark.parametrize("payload", ['{"pull_request": {"number": "7"}}', "[1]", "{not json",
                                     '{"issue": {"number": -3}}'])
def test_context_malformed_event_is_user_error(tmp_path, payload):
    from ci_mlops.errors import UserError

    event = tmp_path / "event.json"
    event.write_text(payload)
    ctx = GitHubContext.from_env(env={"GITHUB_EVENT_PATH": str(event)})
    with pytest.raises(UserError, match="malformed event payload"):
        ctx.pr_number  # noqa: B018


def test_context_pr_from_ref_and_missing_pieces():
    ctx = GitHubContext.from_env(env={"GITHUB_REF": "refs/pull/33/merge"})
    assert ctx.pr_number == 33 and ctx.run_url is None
    from ci_mlops.errors import UserError

    with pytest.raises(UserError, match="token"):
        ctx.require_token()
    with pytest.raises(UserError, match="OWNER/NAME"):
        GitHubContext.from_env(env={}, repo="not a repo")


def test_token_with_a_trailing_newline_works_and_one_with_inner_space_is_refused():
    from ci_mlops.errors import UserError
    from ci_mlops.github.context import GitHubContext

    assert GitHubContext({"GITHUB_TOKEN": "t\n"}).token == "t"
    with pytest.raises(UserError, match="spaces or control characters"):
        GitHubContext({"GITHUB_TOKEN": "t\nsecond line"})


def test_a_request_that_cannot_be_sent_is_not_retried():
    from ci_mlops.errors import UserError
    from ci_mlops.github.client import GitHubClient

    waits = []
    client = GitHubClient("http://127.0.0.1:9", "bad\ntoken", sleep=waits.append)
    with pytest.raises(UserError, match="cannot send the request") as info:
        client.request("GET", "repos/o/r")
    assert waits == [] and "bad\ntoken" not in str(info.value)
