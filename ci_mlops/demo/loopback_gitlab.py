"""A loopback GitLab for ``ci-mlops demo --ci gitlab``: the REST API the loop uses, in memory, on 127.0.0.1.

Real HTTP (the demo's ci-mlops commands talk to it exactly as to gitlab.com, through
``CI_API_V4_URL``), GitLab's pagination headers (``X-Next-Page``, ``Link``) and answers for:
the token's user, merge request notes, commit statuses, issues and their notes, releases
and their links, the generic package registry and jobs. Nothing leaves the machine, and
everything is gone when the demo ends.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

TOKEN = "glpat-demo"
BOT = {"id": 7001, "username": "project_1_bot", "name": "ci-mlops demo bot", "bot": True}
PROJECT_ID = 1


class _Answer(Exception):
    def __init__(self, status: int, message: Any):
        super().__init__(str(message))
        self.status, self.message = status, message


class LoopbackGitLab:
    """``with LoopbackGitLab("demo/churn") as gl: env = gl.env(...)``."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self.ids = count(100)
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.issues: dict[int, dict[str, Any]] = {}
        self.issue_notes: dict[int, list[dict[str, Any]]] = {}
        self.releases: dict[str, dict[str, Any]] = {}
        self.packages: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[int, dict[str, Any]] = {}
        self.requests = 0
        handler = type("Handler", (_Handler,), {"gitlab": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def __enter__(self) -> LoopbackGitLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def web(self) -> str:
        return f"{self.url}/{self.path}"

    def env(self, **extra: str) -> dict[str, str]:
        """The predefined variables of a GitLab CI job in this project (plus ``extra``)."""
        return {"GITLAB_CI": "true", "CI_SERVER_URL": self.url, "CI_API_V4_URL": f"{self.url}/api/v4",
                "CI_PROJECT_ID": str(PROJECT_ID), "CI_PROJECT_PATH": self.path, "CI_PROJECT_URL": self.web,
                "CI_PIPELINE_ID": "1", "CI_DEFAULT_BRANCH": "main", "GITLAB_USER_LOGIN": "demo",
                "CI_MLOPS_TOKEN": TOKEN, **extra}

    def add_job(self, job_id: int, sha: str) -> str:
        """Record a job (what GitLab keeps of a pipeline's job); its web URL."""
        self.jobs[job_id] = {"id": job_id, "commit": {"id": sha}, "user": {"username": "demo"}}
        return f"{self.web}/-/jobs/{job_id}"

    def add_merge_request(self, iid: int) -> None:
        self.notes.setdefault(iid, [])

    # -- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        self.requests += 1
        if (headers.get("private-token") or "") != TOKEN:
            raise _Answer(401, "401 Unauthorized")
        if path == "/api/v4/user":
            return 200, BOT, {}
        m = re.fullmatch(r"/api/v4/projects/([^/]+)(/.*)?", path)
        if not m or unquote(m[1]) not in (str(PROJECT_ID), self.path):
            raise _Answer(404, "404 Project Not Found")
        rest = m[2] or ""
        generic = re.fullmatch(r"/packages/generic/([^/]+)/([^/]+)/([^/]+)", rest)
        data: dict[str, Any] = {}
        if body and not generic:
            data = json.loads(body)
        with self.lock:
            return self._route(method, rest, query, data, body, generic)

    def _route(self, method: str, rest: str, query: dict[str, str], data: dict[str, Any], body: bytes,
               generic: re.Match[str] | None) -> tuple[int, Any, dict[str, str]]:
        if generic:
            return self._package_file(method, unquote(generic[1]), unquote(generic[2]), unquote(generic[3]), body)
        if m := re.fullmatch(r"/(merge_requests|issues)/(\d+)/notes(?:/(\d+))?", rest):
            store = self.notes if m[1] == "merge_requests" else self.issue_notes
            notes = store.get(int(m[2]))
            if notes is None:
                raise _Answer(404, "404 Not found")
            if m[3] is None and method == "GET":
                return self._page(sorted(notes, key=lambda n: n["id"], reverse=query.get("sort") != "asc"), query, rest)
            if m[3] is None and method == "POST":
                nid = next(self.ids)
                note = {"id": nid, "body": data["body"], "author": BOT, "system": False,
                        "web_url": f"{self.web}/-/{m[1]}/{m[2]}#note_{nid}"}
                notes.append(note)
                return 201, note, {}
            found = [n for n in notes if str(n["id"]) == m[3]]
            if not found:
                raise _Answer(404, "404 Note Not Found")
            note = found[0]
            if method == "PUT":
                note["body"] = data["body"]
            return 200, note, {}
        if m := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest):
            status = {"id": next(self.ids), "sha": m[1], "status": data["state"], "name": data.get("name"),
                      "description": data.get("description"), "target_url": data.get("target_url")}
            self.statuses.append(status)
            return 201, status, {}
        if m := re.fullmatch(r"/repository/commits/([0-9a-f]{40})/statuses", rest):
            return self._page([s for s in reversed(self.statuses) if s["sha"] == m[1]], query, rest)
        if rest == "/issues":
            if method == "POST":
                iid = len(self.issues) + 1
                issue = {"id": next(self.ids), "iid": iid, "title": data["title"], "description": data["description"],
                         "labels": [x for x in str(data.get("labels", "")).split(",") if x], "state": "opened",
                         "author": BOT, "web_url": f"{self.web}/-/issues/{iid}"}
                self.issues[iid], self.issue_notes[iid] = issue, []
                return 201, issue, {}
            items = [i for i in self.issues.values() if query.get("state", "all") in ("all", i["state"])
                     and all(lab in i["labels"] for lab in filter(None, query.get("labels", "").split(",")))]
            return self._page(items, query, rest)
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            issue = self.issues[int(m[1])]
            for key in ("title", "description"):
                issue[key] = data.get(key, issue[key])
            if data.get("state_event") == "close":
                issue["state"] = "closed"
            return 200, issue, {}
        if rest == "/releases" and method == "POST":
            tag = data["tag_name"]
            links = [{"id": next(self.ids), **link} for link in (data.get("assets") or {}).get("links", [])]
            self.releases[tag] = {"tag_name": tag, "name": data.get("name"), "description": data.get("description"),
                                  "author": BOT, "assets": {"links": links},
                                  "_links": {"self": f"{self.web}/-/releases/{tag}"}}
            return 201, self.releases[tag], {}
        if m := re.fullmatch(r"/releases/([^/]+)(/assets/links)?", rest):
            release = self.releases.get(unquote(m[1]))
            if release is None:
                raise _Answer(404, "404 Not found")
            if m[2] and method == "POST":
                link = {"id": next(self.ids), **data}
                release["assets"]["links"].append(link)
                return 201, link, {}
            if m[2]:
                return self._page(release["assets"]["links"], query, rest)
            if method == "PUT":
                release.update({k: v for k, v in data.items() if k in ("name", "description")})
            return 200, release, {}
        if rest == "/packages":
            return self._page([{k: v for k, v in p.items() if k != "files"} for p in self.packages.values()
                               if p["name"] == query.get("package_name", p["name"])], query, rest)
        if m := re.fullmatch(r"/packages/(\d+)/package_files", rest):
            package = next(p for p in self.packages.values() if p["id"] == int(m[1]))
            return self._page([{k: v for k, v in f.items() if k != "data"} for f in package["files"]], query, rest)
        if (m := re.fullmatch(r"/jobs/(\d+)", rest)) and int(m[1]) in self.jobs:
            return 200, self.jobs[int(m[1])], {}
        raise _Answer(404, "404 Not Found")

    def _package_file(self, method: str, name: str, version: str, file_name: str,
                      body: bytes) -> tuple[int, Any, dict[str, str]]:
        package = self.packages.get((name, version))
        if method == "PUT":
            if package is None:
                package = self.packages[(name, version)] = {"id": next(self.ids), "name": name, "version": version,
                                                            "package_type": "generic", "files": []}
            package["files"].append({"id": next(self.ids), "file_name": file_name, "size": len(body),
                                     "file_sha256": hashlib.sha256(body).hexdigest(), "data": body})
            return 201, {"message": "201 Created"}, {}
        files = [f for f in (package or {}).get("files", []) if f["file_name"] == file_name]
        if not files:
            raise _Answer(404, "404 Package Not Found")
        return 200, files[-1]["data"], {"Content-Type": "application/octet-stream"}

    def _page(self, items: list[dict[str, Any]], query: dict[str, str], rest: str) -> tuple[int, Any, dict[str, str]]:
        per_page, page = max(1, min(100, int(query.get("per_page", 20)))), max(1, int(query.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items)),
                   "X-Total-Pages": str(last), "X-Next-Page": str(page + 1) if page < last else ""}
        if page < last:
            nxt = {**query, "page": str(page + 1), "per_page": str(per_page)}
            headers["Link"] = f'<{self.url}/api/v4/projects/{PROJECT_ID}{rest}?{urlencode(nxt)}>; rel="next"'
        return 200, items[(page - 1) * per_page: page * per_page], headers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    gitlab: LoopbackGitLab

    def log_message(self, format: str, *args: Any) -> None:  # the demo prints its own progress
        pass

    def _serve(self) -> None:
        split = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            status, payload, extra = self.gitlab.handle(self.command, split.path, query, headers, body)
        except _Answer as answer:
            status, payload, extra = answer.status, {"message": answer.message}, {}
        except (KeyError, ValueError, StopIteration) as exc:
            status, payload, extra = 400, {"message": f"400 Bad request ({type(exc).__name__})"}, {}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", "RateLimit-Remaining": "1999",
                           "RateLimit-Reset": str(int(time.time()) + 60), **extra}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _serve
