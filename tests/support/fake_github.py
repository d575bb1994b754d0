"""A loopback stand-in for the GitHub REST API, for tests.

Real HTTP on 127.0.0.1 (random ports, one thread per connection, HTTP/1.1
keep-alive), in-memory state, a request log, ``Link`` pagination, rate-limit
headers and faults injected on purpose. Release assets go to a second server,
like github.com's uploads host.

    with FakeGitHub() as gh:
        gh.add_pr("o/r", 7, head_sha="a" * 40)
        env = gh.env(repo="o/r", token="t", GITHUB_EVENT_NAME="pull_request")
        ... run the CLI with env ...
        assert len(gh.comments("o/r", 7)) == 1
        assert [r.method for r in gh.requests] == ["GET", "POST"]

Tokens: ``gh.tokens`` maps a token to ``"write"`` or ``"read"`` (a fork's
read-only token: every write answers 403 "Resource not accessible by
integration"); any other token answers 401 "Bad credentials". Defaults:
``"t"`` writes, ``"ro"`` reads.

Identities: a token in ``users`` is a person's personal access token (``GET /user``
answers); a token in ``apps`` is another GitHub App's installation token (its bot,
e.g. ``"other-app[bot]"``); any other token is a ``GITHUB_TOKEN``
(``github-actions[bot]``). App tokens get 403 from ``GET /user`` as on GitHub; the
GraphQL ``viewer`` query (``POST /graphql``, ``/api/graphql`` under the Enterprise
prefix) answers for every token. Items a token writes carry its account as ``user``.

Faults (each consumed by the first matching request, in order; ``method`` and
``path`` - a regex searched in the path after the prefix - narrow the match):

* ``fail(status=502, times=1)`` - answer an error status without touching state;
* ``drop(times=1)``             - close the connection without an answer, state untouched;
* ``lose_answer(times=1)``      - do the request (state changes!) then close the connection;
* ``rate_limit(status=403, retry_after=None, reset_in=None)`` - a secondary rate limit:
  ``retry-after`` when given, else ``x-ratelimit-remaining: 0`` and a reset ``reset_in`` s ahead
  (when given), else no hint at all.

``FakeGitHub(prefix="/api/v3")`` serves the API under a path prefix, like
GitHub Enterprise Server.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from tests.support.fake_chatops import ChatopsError, RepoChatops
from tests.support.fake_chatops import route as chatops_route
from tests.support.fake_git_data import RAW_PATH_RE, GitDataError, RepoGit, serve_file
from tests.support.fake_git_data import route as git_route

BODY_LIMIT = 65536
SUMMARY_LIMIT = 65535
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}


@dataclass
class LoggedRequest:
    method: str
    path: str  # without the prefix and the query
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    host: str  # "api" or "uploads"
    fault: str | None = None
    status: int | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def is_write(self) -> bool:
        """Changes state: every POST, PATCH, PUT or DELETE but a GraphQL query (a POST that reads)."""
        return self.method in ("POST", "PATCH", "PUT", "DELETE") and self.path != "/graphql"


@dataclass
class _Fault:
    kind: str
    method: str | None
    path: str | None
    times: int
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or re.search(self.path, path) is not None)


class _Reply(Exception):
    """Raised inside a handler to answer with an error."""

    def __init__(self, status: int, message: str, errors: list | None = None, headers: dict | None = None):
        self.status, self.message, self.errors, self.headers = status, message, errors, headers or {}


@dataclass
class _Repo:
    full_name: str
    default_branch: str = "main"
    issues: dict[int, dict] = field(default_factory=dict)  # PRs are issues too
    pulls: dict[int, dict] = field(default_factory=dict)
    comments: dict[int, list[dict]] = field(default_factory=dict)  # issue number -> comments, oldest first
    releases: list[dict] = field(default_factory=list)
    assets: dict[int, list[dict]] = field(default_factory=dict)  # release id -> assets
    asset_data: dict[int, bytes] = field(default_factory=dict)
    statuses: list[dict] = field(default_factory=list)
    check_runs: list[dict] = field(default_factory=list)
    next_number: int = 1
    git: RepoGit = field(default_factory=RepoGit)  # Git Data API objects and refs (tests/support/fake_git_data.py)
    chatops: RepoChatops = field(default_factory=RepoChatops)  # permissions, dispatches (tests/support/fake_chatops.py)


class FakeGitHub:
    """The fake service; use as a context manager."""

    def __init__(self, *, prefix: str = "", tokens: dict[str, str] | None = None, rate_limit: int = 5000,
                 users: dict[str, str] | None = None, apps: dict[str, str] | None = None, graphql: bool = True):
        self.prefix = prefix.rstrip("/")
        self.tokens: dict[str, str] = dict(tokens) if tokens is not None else {"t": "write", "ro": "read"}
        # Personal access tokens: token -> login. Other tokens act as github-actions[bot],
        # for which GET /user answers 403 like a GITHUB_TOKEN does.
        self.users: dict[str, str] = dict(users or {})
        self.apps: dict[str, str] = dict(apps or {})  # token -> "slug[bot]"
        self.graphql = graphql  # False: no GraphQL endpoint (404), as behind some proxies
        # Workflow runs the comment workflow reads: repo -> run id -> run.
        self.runs: dict[str, dict[int, dict]] = {}
        self.requests: list[LoggedRequest] = []
        self._repos: dict[str, _Repo] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._ids = count(1001)
        self._rate_limit = rate_limit
        self._remaining = rate_limit
        self._reset = int(time.time()) + 3600
        # Pull requests, Git Data, dispatches and auto-merge: tests/support/fake_github_git.py.
        self.git_dirs: dict[str, Any] = {}  # repo -> a real git directory backing it
        self.dispatches: list[dict] = []  # workflow_dispatch requests, in order
        self.ref_log: list[tuple[str, str, str, str]] = []  # (create|update|delete, repo, ref, sha)
        self.no_dispatch: set[str] = set()  # workflow files without the workflow_dispatch trigger
        self.allow_auto_merge: set[str] = set()  # repos with "Allow auto-merge" on
        self.protections: dict[tuple[str, str], list[str]] = {}  # (repo, branch) -> required checks
        self._api = self._serve("api")
        self._uploads = self._serve("uploads")

    # -- lifecycle ---------------------------------------------------------------------

    def _serve(self, host: str) -> ThreadingHTTPServer:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake, Handler.host_kind = fake, host
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server

    def __enter__(self) -> FakeGitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for server in (self._api, self._uploads):
            server.shutdown()
            server.server_close()

    # -- addresses -----------------------------------------------------------------------

    @property
    def server_url(self) -> str:
        """The web host (html_url of comments, releases...)."""
        return f"http://127.0.0.1:{self._api.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.server_url + self.prefix

    @property
    def uploads_url(self) -> str:
        up = f"http://127.0.0.1:{self._uploads.server_address[1]}"
        return up + ("/api/uploads" if self.prefix else "")

    def env(self, repo: str = "o/r", token: str = "t", **extra: str) -> dict[str, str]:
        """Environment variables for a CLI run against this fake (``extra`` added verbatim)."""
        self.add_repo(repo)
        env = {
            "GITHUB_API_URL": self.api_url,
            "GITHUB_SERVER_URL": self.server_url,
            "GITHUB_REPOSITORY": repo,
            "GITHUB_TOKEN": token,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_WORKFLOW": "ci-mlops",
            "GITHUB_ACTOR": "octocat",
            "CI_MLOPS_TOKEN": "",
        }
        env.update({k: str(v) for k, v in extra.items()})
        return env

    # -- state setup and accessors ---------------------------------------------------------------

    def add_repo(self, repo: str, default_branch: str = "main") -> None:
        with self._lock:
            self._repos.setdefault(repo, _Repo(repo, default_branch))

    def chatops(self, repo: str) -> RepoChatops:
        """Collaborator roles, workflow files, and the dispatches and reactions made (tests/support/fake_chatops.py)."""
        return self._repo(repo).chatops

    def _repo(self, repo: str) -> _Repo:
        self.add_repo(repo)
        return self._repos[repo]

    def add_pr(self, repo: str, number: int | None = None, *, head_sha: str = "a" * 40, head_ref: str = "feature",
               base_ref: str = "main", fork: bool = False, state: str = "open", title: str = "A change") -> int:
        with self._lock:
            r = self._repo(repo)
            number = number or r.next_number
            r.next_number = max(r.next_number, number + 1)
            head_repo = f"fork-owner/{repo.split('/')[1]}" if fork else repo
            r.issues[number] = self._issue_json(repo, number, title, "", [], state, pull=True)
            r.pulls[number] = {
                "number": number, "state": state, "title": title,
                "url": f"{self.api_url}/repos/{repo}/pulls/{number}",
                "html_url": f"{self.server_url}/{repo}/pull/{number}",
                "head": {"sha": head_sha, "ref": head_ref, "repo": {"full_name": head_repo, "fork": fork}},
                "base": {"sha": "b" * 40, "ref": base_ref, "repo": {"full_name": repo}},
            }
            r.comments.setdefault(number, [])
            return number

    def set_pr_head(self, repo: str, number: int, head_sha: str) -> None:
        with self._lock:
            self._repo(repo).pulls[number]["head"]["sha"] = head_sha

    def add_comment(self, repo: str, number: int, body: str, user: str = "someone") -> dict:
        """A comment by ``user`` (a login; ``name[bot]`` is an app's bot, github-actions[bot] the GITHUB_TOKEN)."""
        with self._lock:
            return self._new_comment(repo, number, body, _user(user))

    def add_comments(self, repo: str, number: int, n: int, body: str = "LGTM {i}") -> None:
        for i in range(n):
            self.add_comment(repo, number, body.format(i=i))

    def comments(self, repo: str, number: int) -> list[dict]:
        with self._lock:
            return [dict(c) for c in self._repo(repo).comments.get(number, [])]

    def set_issue_author(self, repo: str, number: int, login: str) -> None:
        """Make an issue look written by ``login`` (a person, or ``name[bot]`` for an app), as if they had opened it."""
        with self._lock:
            self._repo(repo).issues[number]["user"] = _user(login)

    def issues(self, repo: str) -> list[dict]:
        with self._lock:
            return [dict(i) for i in self._repo(repo).issues.values() if "pull_request" not in i]

    def releases(self, repo: str) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._repo(repo).releases]

    def assets(self, repo: str, release_id: int) -> list[dict]:
        with self._lock:
            return [dict(a) for a in self._repo(repo).assets.get(release_id, [])]

    def asset_bytes(self, repo: str, asset_id: int) -> bytes:
        with self._lock:
            return self._repo(repo).asset_data[asset_id]

    def statuses(self, repo: str, sha: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(s) for s in self._repo(repo).statuses if sha is None or s["sha"] == sha]

    def check_runs(self, repo: str) -> list[dict]:
        with self._lock:
            return [dict(c) for c in self._repo(repo).check_runs]

    def add_run(self, repo: str, run_id: int, *, conclusion: str | None = "success", head_sha: str = "a" * 40,
                head_repo: str | None = None, event: str = "pull_request", status: str = "completed",
                name: str = "ci-mlops PR", actor: str = "octocat") -> dict:
        """A workflow run (``GET /repos/{repo}/actions/runs/{id}``), e.g. the fork's PR run."""
        with self._lock:
            self.add_repo(repo)
            run = {"id": run_id, "name": name, "event": event, "status": status, "conclusion": conclusion,
                   "head_sha": head_sha, "head_repository": {"full_name": head_repo or repo},
                   "repository": {"full_name": repo}, "actor": {"login": actor},
                   "triggering_actor": {"login": actor},
                   "html_url": f"{self.server_url}/{repo}/actions/runs/{run_id}"}
            self.runs.setdefault(repo, {})[run_id] = run
            return run

    def identity(self, token: str | None) -> dict:
        """The account a token writes as."""
        if token in self.users:
            return _user(self.users[token])
        if token in self.apps:
            return _user(self.apps[token])
        return BOT

    def add_release(self, repo: str, tag: str, **fields: Any) -> dict:
        with self._lock:
            return self._create_release(repo, {"tag_name": tag, **fields})

    def git(self, repo: str) -> RepoGit:
        """The repository's Git Data objects and refs (``.refs``, ``.files(commit)``, ``.protected``, ``.private``)."""
        return self._repo(repo).git

    def web_file(self, path: str, headers: dict[str, str]) -> tuple[int, bytes, str] | None:
        """The web host's ``/{repo}/blob/{sha}/{path}?raw=true`` (or ``/raw/``); None for other paths."""
        m = RAW_PATH_RE.fullmatch(path)
        if not m:
            return None
        with self._lock:
            if m[1] not in self._repos:
                return 404, b"Not Found", "text/plain"
            return serve_file(self._repos[m[1]].git, m[2], unquote(m[3]), _token(headers.get("authorization", "")) in self.tokens)

    def attach_git(self, repo: str, path: Any) -> None:
        """Back ``repo`` with the git directory at ``path`` (refs, commits and merges become real)."""
        with self._lock:
            self.add_repo(repo)
            self.git_dirs[repo] = path

    def protect_branch(self, repo: str, branch: str, checks: list[str] | None = None) -> None:
        """A branch protection rule: direct ref writes refused, ``checks`` required before a merge."""
        with self._lock:
            self.protections[(repo, branch)] = list(checks or [])

    def pulls(self, repo: str) -> list[dict]:
        with self._lock:
            return [json.loads(json.dumps(p)) for p in self._repo(repo).pulls.values()]

    def run_auto_merge(self, repo: str) -> list[int]:
        from tests.support.fake_github_git import run_auto_merge

        return run_auto_merge(self, repo)

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def calls(self) -> list[str]:
        """The request log as ``"METHOD /path"`` strings (faulted ones included)."""
        return [f"{r.method} {r.path}" for r in self.requests]

    # -- faults ------------------------------------------------------------------------------------

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def fail(self, status: int = 502, *, times: int = 1, method: str | None = None, path: str | None = None,
             message: str = "Server Error") -> None:
        self._add_fault(_Fault("status", method, path, times, status, message=message))

    def drop(self, *, times: int = 1, method: str | None = None, path: str | None = None) -> None:
        self._add_fault(_Fault("drop", method, path, times))

    def lose_answer(self, *, times: int = 1, method: str | None = "POST", path: str | None = None) -> None:
        self._add_fault(_Fault("lose", method, path, times))

    def rate_limit(self, status: int = 403, *, retry_after: int | None = None, reset_in: int | None = None,
                   times: int = 1, method: str | None = None, path: str | None = None) -> None:
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        if reset_in is not None:
            headers["x-ratelimit-remaining"] = "0"
            headers["x-ratelimit-reset"] = str(int(time.time()) + reset_in)
        message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        self._add_fault(_Fault("status", method, path, times, status, headers, message))

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- JSON builders -----------------------------------------------------------------------------

    def _issue_json(self, repo: str, number: int, title: str, body: str, labels: list, state: str,
                    pull: bool = False) -> dict:
        issue = {
            "id": next(self._ids), "number": number, "title": title, "body": body, "state": state,
            "labels": [{"name": name} for name in labels], "user": BOT,
            "url": f"{self.api_url}/repos/{repo}/issues/{number}",
            "html_url": f"{self.server_url}/{repo}/{'pull' if pull else 'issues'}/{number}",
            "comments": 0,
        }
        if pull:
            issue["pull_request"] = {"url": f"{self.api_url}/repos/{repo}/pulls/{number}"}
        return issue

    def _new_comment(self, repo: str, number: int, body: str, user: dict) -> dict:
        r = self._repo(repo)
        if number not in r.issues:
            raise _Reply(404, "Not Found")
        cid = next(self._ids)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        kind = "pull" if number in r.pulls else "issues"
        comment = {
            "id": cid, "body": body, "user": user, "created_at": now, "updated_at": now,
            "url": f"{self.api_url}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"{self.server_url}/{repo}/{kind}/{number}#issuecomment-{cid}",
            "issue_url": f"{self.api_url}/repos/{repo}/issues/{number}",
        }
        r.comments.setdefault(number, []).append(comment)
        r.issues[number]["comments"] += 1
        return comment

    def _find_comment(self, repo: str, cid: int) -> tuple[list[dict], dict]:
        for comments in self._repo(repo).comments.values():
            for c in comments:
                if c["id"] == cid:
                    return comments, c
        raise _Reply(404, "Not Found")

    def _create_release(self, repo: str, data: dict) -> dict:
        r = self._repo(repo)
        tag = data.get("tag_name")
        if not tag:
            raise _Reply(422, "Validation Failed", [{"resource": "Release", "code": "missing_field", "field": "tag_name"}])
        if any(rel["tag_name"] == tag for rel in r.releases):
            raise _Reply(422, "Validation Failed", [{"resource": "Release", "code": "already_exists", "field": "tag_name"}])
        rid = next(self._ids)
        release = {
            "id": rid, "tag_name": tag, "name": data.get("name") or tag, "body": data.get("body") or "",
            "draft": bool(data.get("draft", False)), "prerelease": bool(data.get("prerelease", False)),
            "target_commitish": data.get("target_commitish", "main"),
            "url": f"{self.api_url}/repos/{repo}/releases/{rid}",
            "html_url": f"{self.server_url}/{repo}/releases/tag/{quote(tag)}",
            "assets_url": f"{self.api_url}/repos/{repo}/releases/{rid}/assets",
            "upload_url": f"{self.uploads_url}/repos/{repo}/releases/{rid}/assets{{?name,label}}",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "author": BOT, "assets": [],
        }
        r.releases.append(release)
        r.assets[rid] = []
        return release

    def _release(self, repo: str, rid: int) -> dict:
        for rel in self._repo(repo).releases:
            if rel["id"] == rid:
                return rel
        raise _Reply(404, "Not Found")

    def _with_assets(self, repo: str, release: dict) -> dict:
        return {**release, "assets": [dict(a) for a in self._repo(repo).assets.get(release["id"], [])]}

    # -- routing -----------------------------------------------------------------------------------

    def handle(self, host: str, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        """Serve one request; returns (status, JSON-able body or raw bytes, extra headers)."""
        token = _token(headers.get("authorization", ""))
        if host == "uploads" and method == "GET" and path.startswith("/download/"):
            return self._download(path)
        if token not in self.tokens:
            raise _Reply(401, "Bad credentials")
        if host == "api" and path == "/graphql" and method == "POST":
            return self._graphql(token, body)
        if method != "GET" and self.tokens[token] != "write":
            raise _Reply(403, "Resource not accessible by integration")
        if host == "api" and path == "/user" and method == "GET":
            if token not in self.users:
                raise _Reply(403, "Resource not accessible by integration")
            return 200, _user(self.users[token]), {}
        if host == "api" and path == "/app" and method == "GET":
            raise _Reply(401, "A JSON web token could not be decoded")  # needs the app's JWT, as on GitHub
        if host == "uploads":
            m = re.fullmatch(r"/repos/([^/]+/[^/]+)/releases/(\d+)/assets", path)
            if not m or method != "POST":
                raise _Reply(404, "Not Found")
            return self._upload(m[1], int(m[2]), query, headers, body)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not m:
            raise _Reply(404, "Not Found")
        repo, rest = m[1], m[2] or ""
        with self._lock:
            if repo not in self._repos:
                raise _Reply(404, "Not Found")
            data = json.loads(body) if body and headers.get("content-type", "").startswith("application/json") else None
            if body and data is None and method in ("POST", "PATCH"):
                try:
                    data = json.loads(body)
                except ValueError:
                    raise _Reply(400, "Problems parsing JSON") from None
            return self._route(repo, method, rest, query, headers, data or {})

    def _route(self, repo: str, method: str, rest: str, query: dict[str, str], headers: dict[str, str],
               data: dict) -> tuple[int, Any, dict[str, str]]:
        r = self._repos[repo]
        ok = lambda value, status=200: (status, value, {})  # noqa: E731
        from tests.support.fake_github_git import route

        if (served := route(self, r, repo, method, rest, query, headers, data)) is not None:
            return served
        if rest == "" and method == "GET":
            return ok({"full_name": repo, "default_branch": r.default_branch, "private": r.git.private,
                       "html_url": f"{self.server_url}/{repo}"})
        if rest.startswith("/git/"):
            try:
                return ok(*reversed(git_route(r.git, self.api_url, repo, method, rest, data)))
            except GitDataError as exc:
                raise _Reply(exc.status, exc.message) from None
        try:
            actor = self.identity(_token(headers.get("authorization", "")))["login"]
            answer = chatops_route(r.chatops, method, rest, data, actor,
                                   lambda cid: any(c["id"] == cid for cs in r.comments.values() for c in cs))
        except ChatopsError as exc:
            raise _Reply(exc.status, exc.message) from None
        if answer is not None:
            return ok(answer[1], answer[0])
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            n = int(m[1])
            if n not in r.issues:
                raise _Reply(404, "Not Found")
            if method == "GET":
                return self._page(repo, r.comments.get(n, []), query, rest)
            if method == "POST":
                author = self.identity(_token(headers.get("authorization", "")))
                return ok(self._new_comment(repo, n, _body_field(data), author), 201)
        if m := re.fullmatch(r"/issues/comments/(\d+)", rest):
            comments, c = self._find_comment(repo, int(m[1]))
            if method == "GET":
                return ok(c)
            if method == "PATCH":
                c["body"] = _body_field(data)
                c["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                return ok(c)
            if method == "DELETE":
                comments.remove(c)
                return 204, None, {}
        if rest == "/issues":
            if method == "GET":
                items = list(r.issues.values())
                state = query.get("state", "open")
                if state != "all":
                    items = [i for i in items if i["state"] == state]
                for label in filter(None, query.get("labels", "").split(",")):
                    items = [i for i in items if label in {lab["name"] for lab in i["labels"]}]
                return self._page(repo, items, query, rest)
            if method == "POST":
                if not data.get("title"):
                    raise _Reply(422, "Validation Failed", [{"resource": "Issue", "code": "missing_field", "field": "title"}])
                n = r.next_number
                r.next_number += 1
                _check_len(data.get("body") or "", BODY_LIMIT)
                r.issues[n] = self._issue_json(repo, n, data["title"], data.get("body") or "", list(data.get("labels") or []), "open")
                r.issues[n]["user"] = self.identity(_token(headers.get("authorization", "")))
                r.comments[n] = []
                return ok(r.issues[n], 201)
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            issue = r.issues.get(int(m[1]))
            if issue is None:
                raise _Reply(404, "Not Found")
            if method == "GET":
                return ok(issue)
            if method == "PATCH":
                for key in ("title", "body", "state"):
                    if key in data:
                        issue[key] = data[key]
                if "labels" in data:
                    issue["labels"] = [{"name": name} for name in data["labels"]]
                return ok(issue)
        if m := re.fullmatch(r"/actions/runs/(\d+)", rest):
            run = self.runs.get(repo, {}).get(int(m[1]))
            if method == "GET" and run is not None:
                return ok(run)
            raise _Reply(404, "Not Found")
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            if method == "GET" and int(m[1]) in r.pulls:
                return ok(r.pulls[int(m[1])])
            raise _Reply(404, "Not Found")
        if rest == "/pulls" and method == "GET":
            state = query.get("state", "open")
            return self._page(repo, [p for p in r.pulls.values() if state == "all" or p["state"] == state], query, rest)
        if (m := re.fullmatch(r"/commits/([^/]+)/pulls", rest)) and method == "GET":
            return self._page(repo, [p for p in r.pulls.values() if p["head"]["sha"] == m[1]], query, rest)
        if (m := re.fullmatch(r"/commits/([^/]+)/statuses", rest)) and method == "GET":
            return self._page(repo, [s for s in reversed(r.statuses) if s["sha"] == m[1]], query, rest)
        if (m := re.fullmatch(r"/statuses/([0-9a-fA-F]{40})", rest)) and method == "POST":
            return ok(self._status(r, m[1], data), 201)
        if (m := re.fullmatch(r"/commits/([^/]+)/check-runs", rest)) and method == "GET":
            runs = [c for c in r.check_runs if c["head_sha"] == m[1]
                    and query.get("check_name", c["name"]) == c["name"]]
            status, page, extra = self._page(repo, runs, query, rest)
            return status, {"total_count": len(runs), "check_runs": page}, extra
        if rest == "/check-runs" and method == "POST":
            return ok(self._check_run(r, data, None), 201)
        if m := re.fullmatch(r"/check-runs/(\d+)", rest):
            run = next((c for c in r.check_runs if c["id"] == int(m[1])), None)
            if run is None:
                raise _Reply(404, "Not Found")
            if method == "GET":
                return ok(run)
            if method == "PATCH":
                return ok(self._check_run(r, data, run))
        if rest == "/releases":
            if method == "GET":
                return self._page(repo, [self._with_assets(repo, rel) for rel in reversed(r.releases)], query, rest)
            if method == "POST":
                _check_len(data.get("body") or "", 125000)
                return ok(self._with_assets(repo, self._create_release(repo, data)), 201)
        if m := re.fullmatch(r"/releases/tags/(.+)", rest):
            tag = unquote(m[1])
            for rel in r.releases:
                if rel["tag_name"] == tag and method == "GET":
                    return ok(self._with_assets(repo, rel))
            raise _Reply(404, "Not Found")
        if m := re.fullmatch(r"/releases/(\d+)", rest):
            rel = self._release(repo, int(m[1]))
            if method == "GET":
                return ok(self._with_assets(repo, rel))
            if method == "PATCH":
                for key in ("tag_name", "name", "body", "draft", "prerelease"):
                    if key in data:
                        rel[key] = data[key]
                return ok(self._with_assets(repo, rel))
            if method == "DELETE":
                r.releases.remove(rel)
                return 204, None, {}
        if m := re.fullmatch(r"/releases/(\d+)/assets", rest):
            self._release(repo, int(m[1]))
            if method == "GET":
                return self._page(repo, r.assets.get(int(m[1]), []), query, rest)
        if m := re.fullmatch(r"/releases/assets/(\d+)", rest):
            aid = int(m[1])
            for assets in r.assets.values():
                for a in assets:
                    if a["id"] == aid:
                        if method == "GET":
                            if headers.get("accept", "") == "application/octet-stream":
                                return 200, r.asset_data[aid], {"content-type": "application/octet-stream"}
                            return ok(a)
                        if method == "DELETE":
                            assets.remove(a)
                            del r.asset_data[aid]
                            return 204, None, {}
                        if method == "PATCH":
                            a.update({k: data[k] for k in ("name", "label") if k in data})
                            return ok(a)
            raise _Reply(404, "Not Found")
        raise _Reply(404, "Not Found")

    def _graphql(self, token: str | None, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if not self.graphql:
            raise _Reply(404, "Not Found")
        try:
            payload = json.loads(body or b"{}")
            query = payload.get("query", "")
        except (ValueError, AttributeError):
            raise _Reply(400, "Problems parsing JSON") from None
        from tests.support.fake_github_git import graphql

        with self._lock:
            if (served := graphql(self, token, payload)) is not None:
                return served
        if not re.fullmatch(r"\s*(query\s*)?\{\s*viewer\s*\{[\sA-Za-z]*\}\s*\}\s*", str(query)):
            return 200, {"errors": [{"message": "this fake answers only the viewer query"}]}, {}
        who = self.identity(token)
        viewer = {"login": who["login"], "databaseId": who["id"], "id": f"U_{who['id']}"}
        return 200, {"data": {"viewer": viewer}}, {}

    def _page(self, repo: str, items: list, query: dict[str, str], rest: str) -> tuple[int, Any, dict[str, str]]:
        try:
            per_page = max(1, min(100, int(query.get("per_page", 30))))
            page = max(1, int(query.get("page", 1)))
        except ValueError:
            raise _Reply(422, "Invalid pagination") from None
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []
        base = {k: v for k, v in query.items() if k not in ("page", "per_page")}

        def url(p: int) -> str:
            return f"{self.api_url}/repos/{repo}{rest}?" + urlencode({**base, "per_page": per_page, "page": p})

        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
        return 200, [dict(i) for i in chunk], ({"link": ", ".join(links)} if links else {})

    def _status(self, r: _Repo, sha: str, data: dict) -> dict:
        state = data.get("state")
        if state not in ("error", "failure", "pending", "success"):
            raise _Reply(422, "Validation Failed", [{"resource": "Status", "code": "custom", "field": "state"}])
        if len(data.get("description") or "") > 140:
            raise _Reply(422, "Validation Failed", [{"resource": "Status", "code": "custom", "field": "description",
                                                      "message": "description is too long (maximum is 140 characters)"}])
        status = {"id": next(self._ids), "sha": sha, "state": state, "context": data.get("context") or "default",
                  "description": data.get("description"), "target_url": data.get("target_url"), "creator": BOT}
        r.statuses.append(status)
        return status

    def _check_run(self, r: _Repo, data: dict, run: dict | None) -> dict:
        if run is None and (not data.get("name") or not data.get("head_sha")):
            raise _Reply(422, "Validation Failed", [{"resource": "CheckRun", "code": "missing_field"}])
        output = data.get("output") or {}
        if len(output.get("summary") or "") > SUMMARY_LIMIT or len(output.get("text") or "") > SUMMARY_LIMIT:
            raise _Reply(422, "Invalid request.\n\nOnly 65535 characters are allowed; 'summary' or 'text' is too long.")
        annotations = output.get("annotations") or []
        if len(annotations) > 50:
            raise _Reply(422, "Invalid request.\n\nOnly 50 annotations are allowed per request.")
        if data.get("conclusion") and data["conclusion"] not in (
                "action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"):
            raise _Reply(422, "Invalid conclusion")
        if run is None:
            rid = next(self._ids)
            run = {"id": rid, "name": data["name"], "head_sha": data["head_sha"], "status": "queued",
                   "conclusion": None, "details_url": None, "output": {"title": None, "summary": None, "text": None,
                                                                      "annotations": []},
                   "html_url": f"{self.server_url}/{r.full_name}/runs/{rid}"}
            r.check_runs.append(run)
        for key in ("name", "status", "conclusion", "details_url", "external_id"):
            if key in data:
                run[key] = data[key]
        if data.get("conclusion"):
            run["status"] = "completed"
        for key in ("title", "summary", "text"):
            if key in output:
                run["output"][key] = output[key]
        run["output"]["annotations"] = run["output"]["annotations"] + list(annotations)
        run["output"]["annotations_count"] = len(run["output"]["annotations"])
        return run

    def _upload(self, repo: str, rid: int, query: dict[str, str], headers: dict[str, str],
                body: bytes) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            if repo not in self._repos:
                raise _Reply(404, "Not Found")
            r = self._repos[repo]
            rel = self._release(repo, rid)
            name = query.get("name")
            if not name:
                raise _Reply(422, "Validation Failed", [{"resource": "ReleaseAsset", "code": "missing_field", "field": "name"}])
            if not headers.get("content-type"):
                raise _Reply(422, "Validation Failed: Content-Type header is required")
            if any(a["name"] == name for a in r.assets[rid]):
                raise _Reply(422, "Validation Failed", [{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}])
            aid = next(self._ids)
            asset = {
                "id": aid, "name": name, "label": query.get("label") or "", "size": len(body),
                "content_type": headers["content-type"], "state": "uploaded",
                "url": f"{self.api_url}/repos/{repo}/releases/assets/{aid}",
                "browser_download_url": f"{self.uploads_url}/download/{repo}/{quote(rel['tag_name'], safe='')}/{quote(name)}",
            }
            r.assets[rid].append(asset)
            r.asset_data[aid] = bytes(body)
            return 201, asset, {}

    def _download(self, path: str) -> tuple[int, Any, dict[str, str]]:
        m = re.fullmatch(r"/download/([^/]+/[^/]+)/([^/]+)/([^/]+)", path)
        with self._lock:
            if m and m[1] in self._repos:
                r = self._repos[m[1]]
                tag, name = unquote(m[2]), unquote(m[3])
                for rel in r.releases:
                    if rel["tag_name"] == tag:
                        for a in r.assets.get(rel["id"], []):
                            if a["name"] == name:
                                return 200, r.asset_data[a["id"]], {"content-type": "application/octet-stream"}
        raise _Reply(404, "Not Found")

    # -- rate-limit bookkeeping ------------------------------------------------------------------

    def rate_headers(self) -> dict[str, str]:
        with self._lock:
            self._remaining = max(0, self._remaining - 1)
            return {"x-ratelimit-limit": str(self._rate_limit), "x-ratelimit-remaining": str(self._remaining),
                    "x-ratelimit-reset": str(self._reset), "x-ratelimit-used": str(self._rate_limit - self._remaining),
                    "x-ratelimit-resource": "core"}


def _token(authorization: str) -> str | None:
    parts = authorization.split(None, 1)
    if len(parts) == 2 and parts[0].lower() in ("bearer", "token"):
        return parts[1].strip()
    return None


def _body_field(data: dict) -> str:
    body = data.get("body")
    if not isinstance(body, str) or not body:
        raise _Reply(422, "Validation Failed", [{"resource": "IssueComment", "code": "missing_field", "field": "body"}])
    _check_len(body, BODY_LIMIT)
    return body


def _check_len(text: str, limit: int) -> None:
    if len(text) > limit:
        raise _Reply(422, "Validation Failed", [{"resource": "IssueComment", "code": "custom", "field": "body",
                                                  "message": f"Body is too long (maximum is {limit} characters)"}])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write (flushed after each request), and no Nagle
    # delay: otherwise every exchange waits ~40 ms for a delayed ACK.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    fake: FakeGitHub
    host_kind: str

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _serve_any(self) -> None:
        fake = self.fake
        split = urlsplit(self.path)
        path = split.path
        prefix = fake.prefix if self.host_kind == "api" else ("/api/uploads" if fake.prefix else "")
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        web = fake.web_file(path, headers) if self.host_kind == "api" and self.command == "GET" else None
        if web is not None:
            with fake._lock:
                fake.requests.append(LoggedRequest(self.command, path, query, headers, body, "web", status=web[0]))
            self._send(web[0], web[1], {"content-type": web[2]})
            return
        if self.host_kind == "api" and prefix.endswith("/v3") and path == prefix[: -len("/v3")] + "/graphql":
            path = prefix + "/graphql"  # GitHub Enterprise Server: GraphQL at /api/graphql, REST at /api/v3
        if prefix and not path.startswith(prefix + "/"):
            entry = LoggedRequest(self.command, path, query, headers, body, self.host_kind, status=404)
            with fake._lock:
                fake.requests.append(entry)
            self._send(404, {"message": "Not Found"}, {})
            return
        path = path[len(prefix):]
        entry = LoggedRequest(self.command, path, query, headers, body, self.host_kind)
        with fake._lock:
            fake.requests.append(entry)
        fault = fake._take_fault(self.command, path)
        if fault is not None:
            entry.fault = fault.kind
            if fault.kind == "drop":
                self._drop()
                return
            if fault.kind == "status":
                entry.status = fault.status
                self._send(fault.status, {"message": fault.message or "Server Error"}, fault.headers)
                return
        try:
            status, payload, extra = fake.handle(self.host_kind, self.command, path, query, headers, body)
        except _Reply as reply:
            status, extra = reply.status, reply.headers
            payload = {"message": reply.message, "documentation_url": "https://docs.github.com/rest"}
            if reply.errors:
                payload["errors"] = reply.errors
        except Exception as exc:  # a bug in the fake: answer 500 so the test shows it
            status, extra, payload = 500, {}, {"message": f"fake_github bug: {type(exc).__name__}: {exc}"}
        entry.status = status
        if fault is not None and fault.kind == "lose":
            self._drop()
            return
        self._send(status, payload, extra)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, status: int, payload: Any, extra: dict[str, str]) -> None:
        if isinstance(payload, bytes):
            data = payload
        elif payload is None:
            data = b""
        else:
            data = json.dumps(payload).encode()
        headers = {"content-type": "application/json; charset=utf-8", **self.fake.rate_headers(), **extra}
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve_any


def _user(login: str) -> dict:
    """A person's account, or an app's bot for ``name[bot]``; each login has its own id."""
    if login == BOT["login"]:
        return dict(BOT)
    return {"login": login, "id": 100000 + zlib.crc32(login.encode()) % 10**8,
            "type": "Bot" if login.endswith("[bot]") else "User"}
