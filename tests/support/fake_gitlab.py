"""A loopback stand-in for the GitLab REST API (v4), for tests.

Real HTTP on 127.0.0.1 (the HTTP server, request log and fault injection of
:mod:`fake_github`), in-memory state, and GitLab's own conventions:

* the API lives under ``/api/v4``, behind an optional relative URL root
  (``FakeGitLab(root="/gitlab")``, as a self-managed instance at ``https://HOST/gitlab``);
* tokens come in ``PRIVATE-TOKEN`` or ``Authorization: Bearer``; ``JOB-TOKEN`` (the
  CI_JOB_TOKEN) is refused with 401 on every endpoint this fake serves except the
  generic package registry, as GitLab's job-token allow list does;
* offset pagination with ``X-Page``, ``X-Per-Page``, ``X-Next-Page``, ``X-Prev-Page``,
  ``X-Total``, ``X-Total-Pages`` and a ``Link`` header (``first``/``prev``/``next``/``last``);
  ``FakeGitLab(link=False)`` sends no ``Link`` header (as behind a proxy that drops it) and no
  totals (which GitLab leaves out, with the ``last`` link, above 10,000 records);
* ``RateLimit-Limit``/``-Observed``/``-Remaining``/``-Reset`` on every answer;
  :meth:`rate_limit` answers 429 with ``Retry-After`` or with ``RateLimit-Remaining: 0``;
* validation as GitLab does it: a note over 1,000,000 characters is 400
  ``{"message": {"note": ["is too long ..."]}}``; posting a commit status in the state it
  already has is 400 ``Cannot transition status via :X from :X``.

Faults (:meth:`fail`, :meth:`drop`, :meth:`lose_answer`, :meth:`rate_limit`) are
consumed by the first matching request; ``path`` is a regex searched in the path
after ``/api/v4``.

    with FakeGitLab() as gl:
        gl.add_mr("group/proj", 7)
        env = gl.env(project="group/proj", CI_MERGE_REQUEST_IID="7")
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode

from tests.support.fake_github import FakeGitHub, _Fault, _Reply

NOTE_LIMIT = 1_000_000
DESCRIPTION_LIMIT = 1_048_576
STATUS_STATES = ("pending", "running", "success", "failed", "canceled", "skipped")


@dataclass
class _Project:
    id: int
    path: str
    default_branch: str = "main"
    mrs: dict[int, dict] = field(default_factory=dict)
    mr_notes: dict[int, list[dict]] = field(default_factory=dict)
    issues: dict[int, dict] = field(default_factory=dict)
    issue_notes: dict[int, list[dict]] = field(default_factory=dict)
    statuses: list[dict] = field(default_factory=list)
    releases: dict[str, dict] = field(default_factory=dict)  # tag -> release
    packages: dict[tuple[str, str], dict] = field(default_factory=dict)  # (name, version) -> package
    jobs: dict[int, dict] = field(default_factory=dict)
    next_iid: int = 1


class FakeGitLab(FakeGitHub):
    """The fake GitLab; use as a context manager."""

    def __init__(self, *, root: str = "", tokens: dict[str, str] | None = None, link: bool = True,
                 users: dict[str, str] | None = None, rate_limit: int = 2000):
        self.root = root.rstrip("/")
        self.link = link
        self.gl_users: dict[str, str] = {"glpat-write": "project_1_bot", "glpat-read": "project_1_reader",
                                         **(users or {})}
        self._projects: dict[int, _Project] = {}
        self._gl_ids = iter(range(5001, 10**9))
        self._gl_lock = threading.RLock()
        super().__init__(prefix=self.root + "/api/v4",
                         tokens=tokens if tokens is not None else {"glpat-write": "write", "glpat-read": "read"},
                         rate_limit=rate_limit)
        self.job_tokens: set[str] = {"job-token"}

    # -- addresses -----------------------------------------------------------------------------

    @property
    def web_url(self) -> str:
        return self.server_url + self.root

    def env(self, project: str = "group/proj", token: str = "glpat-write", **extra: str) -> dict[str, str]:  # type: ignore[override]
        """The predefined variables of a GitLab CI job against this fake, plus ``extra``."""
        p = self.add_project(project)
        env = {
            "GITLAB_CI": "true", "CI": "true",
            "CI_SERVER_URL": self.web_url, "CI_API_V4_URL": self.api_url,
            "CI_PROJECT_ID": str(p.id), "CI_PROJECT_PATH": p.path, "CI_PROJECT_URL": f"{self.web_url}/{p.path}",
            "CI_COMMIT_SHA": "a" * 40, "CI_COMMIT_REF_NAME": "feature", "CI_DEFAULT_BRANCH": p.default_branch,
            "CI_PIPELINE_ID": "777", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_JOB_NAME": "ci-mlops:report",
            "CI_JOB_URL": f"{self.web_url}/{p.path}/-/jobs/9001",
            "CI_PIPELINE_URL": f"{self.web_url}/{p.path}/-/pipelines/777",
            "CI_JOB_TOKEN": "job-token", "GITLAB_USER_LOGIN": "alice",
            "CI_MLOPS_TOKEN": token,
        }
        env.update({k: str(v) for k, v in extra.items()})
        return env

    # -- state ---------------------------------------------------------------------------------

    def add_project(self, path: str, default_branch: str = "main") -> _Project:
        with self._gl_lock:
            for p in self._projects.values():
                if p.path == path:
                    return p
            pid = 100 + len(self._projects) + 1
            self._projects[pid] = _Project(pid, path, default_branch)
            return self._projects[pid]

    def project(self, path: str) -> _Project:
        return self.add_project(path)

    def add_mr(self, project: str, iid: int | None = None, *, sha: str = "a" * 40, source_project: str | None = None,
               state: str = "opened") -> int:
        with self._gl_lock:
            p = self.add_project(project)
            iid = iid or p.next_iid
            p.next_iid = max(p.next_iid, iid + 1)
            source = self.add_project(source_project) if source_project else p
            p.mrs[iid] = {"id": next(self._gl_ids), "iid": iid, "project_id": p.id, "state": state, "sha": sha,
                          "source_project_id": source.id, "target_project_id": p.id, "title": "A change",
                          "web_url": f"{self.web_url}/{p.path}/-/merge_requests/{iid}"}
            p.mr_notes.setdefault(iid, [])
            return iid

    def add_note(self, project: str, iid: int, body: str, user: str = "someone", *, system: bool = False) -> dict:
        with self._gl_lock:
            return self._new_note(self.project(project), "merge_requests", iid, body, _gl_user(user), system=system)

    def add_notes(self, project: str, iid: int, n: int, body: str = "LGTM {i}") -> None:
        for i in range(n):
            self.add_note(project, iid, body.format(i=i), system=i % 7 == 3)

    def notes(self, project: str, iid: int, *, system: bool = False) -> list[dict]:
        with self._gl_lock:
            return [dict(n) for n in self.project(project).mr_notes.get(iid, []) if system or not n["system"]]

    def add_issue(self, project: str, title: str, description: str = "", *, labels: list[str] | None = None,
                  author: str = "someone") -> dict:
        with self._gl_lock:
            return self._new_issue(self.project(project), {"title": title, "description": description,
                                                           "labels": ",".join(labels or [])}, _gl_user(author))

    def gl_issues(self, project: str) -> list[dict]:
        with self._gl_lock:
            return [dict(i) for i in self.project(project).issues.values()]

    def issue_notes(self, project: str, iid: int) -> list[dict]:
        with self._gl_lock:
            return [dict(n) for n in self.project(project).issue_notes.get(iid, [])]

    def gl_statuses(self, project: str, sha: str | None = None) -> list[dict]:
        with self._gl_lock:
            return [dict(s) for s in self.project(project).statuses if sha is None or s["sha"] == sha]

    def gl_releases(self, project: str) -> dict[str, dict]:
        with self._gl_lock:
            return {t: json.loads(json.dumps(r)) for t, r in self.project(project).releases.items()}

    def add_gl_release(self, project: str, tag: str, description: str = "", author: str = "someone") -> dict:
        with self._gl_lock:
            return self._new_release(self.project(project), {"tag_name": tag, "description": description},
                                     _gl_user(author))

    def add_job(self, project: str, job_id: int, *, sha: str, user: str = "alice", name: str = "ci-mlops:release") -> dict:
        with self._gl_lock:
            p = self.project(project)
            p.jobs[job_id] = {"id": job_id, "name": name, "status": "success", "commit": {"id": sha},
                              "user": _gl_user(user), "web_url": f"{self.web_url}/{p.path}/-/jobs/{job_id}"}
            return p.jobs[job_id]

    def tamper_package_file(self, project: str, file_name: str, data: bytes) -> None:
        """Replace a package file's bytes behind GitLab's back (its recorded sha256 stays)."""
        with self._gl_lock:
            for pkg in self.project(project).packages.values():
                for f in pkg["_files"]:
                    if f["file_name"] == file_name:
                        f["_data"] = data

    def package_files(self, project: str) -> dict[str, bytes]:
        """``name/version/file`` -> bytes of every generic package file."""
        with self._gl_lock:
            return {f"{n}/{v}/{f['file_name']}": f["_data"] for (n, v), pkg in self.project(project).packages.items()
                    for f in pkg["_files"]}

    def rate_limit(self, status: int = 429, *, retry_after: int | None = None, reset_in: int | None = None,  # type: ignore[override]
                   times: int = 1, method: str | None = None, path: str | None = None) -> None:
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if reset_in is not None:
            headers["RateLimit-Remaining"] = "0"
            headers["RateLimit-Reset"] = str(int(time.time()) + reset_in)
        self._add_fault(_Fault("status", method, path, times, status, headers, "Retry later"))

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, host: str, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        token = headers.get("private-token") or _bearer(headers.get("authorization", ""))
        job = headers.get("job-token")
        package = re.fullmatch(r"/projects/([^/]+)/packages/generic/.+", path)
        if job is not None and token is None:
            if job not in self.job_tokens or not package:
                raise _Reply(401, "401 Unauthorized")
            level, who = "write", _gl_user("alice")
        else:
            if token not in self.tokens:
                raise _Reply(401, "401 Unauthorized")
            level, who = self.tokens[token], _gl_user(self.gl_users.get(token, "someone"))
        if path == "/user" and method == "GET":
            return 200, who, {}
        m = re.fullmatch(r"/projects/([^/]+)(/.*)?", path)
        if not m:
            raise _Reply(404, "404 Not Found")
        with self._gl_lock:
            p = self._lookup(unquote(m[1]))
            if method != "GET" and level != "write":
                raise _Reply(403, "403 Forbidden")
            data: dict = {}
            if body and not package:
                try:
                    data = json.loads(body)
                except ValueError:
                    raise _Reply(400, "400 Bad request - invalid JSON") from None
                if not isinstance(data, dict):
                    raise _Reply(400, "400 Bad request")
            return self._route(p, method, m[2] or "", query, data, body, who)

    def _lookup(self, ident: str) -> _Project:
        if ident.isdigit() and int(ident) in self._projects:
            return self._projects[int(ident)]
        for p in self._projects.values():
            if p.path == ident:
                return p
        raise _Reply(404, "404 Project Not Found")

    def _route(self, p: _Project, method: str, rest: str, query: dict[str, str], data: dict, raw: bytes,
               who: dict) -> tuple[int, Any, dict[str, str]]:
        ok = lambda value, status=200: (status, value, {})  # noqa: E731
        if rest == "" and method == "GET":
            return ok({"id": p.id, "path_with_namespace": p.path, "default_branch": p.default_branch,
                       "web_url": f"{self.web_url}/{p.path}"})
        if m := re.fullmatch(r"/(merge_requests|issues)/(\d+)/notes", rest):
            kind, iid = m[1], int(m[2])
            self._noteable(p, kind, iid)
            notes = (p.mr_notes if kind == "merge_requests" else p.issue_notes).get(iid, [])
            if method == "GET":
                items = sorted(notes, key=lambda n: n["id"], reverse=query.get("sort", "desc") == "desc")
                return self._gl_page(p, items, query, rest)
            if method == "POST":
                return ok(self._new_note(p, kind, iid, _note_body(data.get("body")), who), 201)
        if m := re.fullmatch(r"/(merge_requests|issues)/(\d+)/notes/(\d+)", rest):
            kind, iid = m[1], int(m[2])
            self._noteable(p, kind, iid)
            notes = (p.mr_notes if kind == "merge_requests" else p.issue_notes).get(iid, [])
            note = next((n for n in notes if n["id"] == int(m[3])), None)
            if note is None:
                raise _Reply(404, "404 Note Not Found")
            if method == "GET":
                return ok(note)
            if method == "PUT":
                if note["author"]["id"] != who["id"]:
                    raise _Reply(403, "403 Forbidden")
                note["body"] = _note_body(data.get("body"))
                note["updated_at"] = _now()
                return ok(note)
        if m := re.fullmatch(r"/jobs/(\d+)", rest):
            if method == "GET" and int(m[1]) in p.jobs:
                return ok(p.jobs[int(m[1])])
            raise _Reply(404, "404 Not found")
        if m := re.fullmatch(r"/merge_requests/(\d+)", rest):
            if method == "GET" and int(m[1]) in p.mrs:
                return ok(p.mrs[int(m[1])])
            raise _Reply(404, "404 Not found")
        if (m := re.fullmatch(r"/statuses/([0-9a-fA-F]{40})", rest)) and method == "POST":
            return ok(self._status(p, m[1], data, who), 201)
        if (m := re.fullmatch(r"/repository/commits/([0-9a-fA-F]{40})/statuses", rest)) and method == "GET":
            items = [s for s in reversed(p.statuses) if s["sha"] == m[1]
                     and query.get("name", s["name"]) == s["name"]]
            return self._gl_page(p, items, query, rest)
        if rest == "/issues":
            if method == "GET":
                items = sorted(p.issues.values(), key=lambda i: i["iid"], reverse=True)
                state = query.get("state", "all")
                if state != "all":
                    items = [i for i in items if i["state"] == state]
                for label in filter(None, query.get("labels", "").split(",")):
                    items = [i for i in items if label in i["labels"]]
                return self._gl_page(p, items, query, rest)
            if method == "POST":
                return ok(self._new_issue(p, data, who), 201)
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            issue = p.issues.get(int(m[1]))
            if issue is None:
                raise _Reply(404, "404 Not found")
            if method == "GET":
                return ok(issue)
            if method == "PUT":
                if "title" in data:
                    issue["title"] = str(data["title"])
                if "description" in data:
                    _check(data["description"], DESCRIPTION_LIMIT, "description")
                    issue["description"] = data["description"]
                if data.get("state_event") == "close":
                    issue["state"] = "closed"
                elif data.get("state_event") == "reopen":
                    issue["state"] = "opened"
                issue["updated_at"] = _now()
                return ok(issue)
        if rest == "/releases" and method == "POST":
            if data.get("tag_name") in p.releases:
                raise _Reply(409, "Release already exists")
            return ok(self._new_release(p, data, who), 201)
        if rest == "/releases" and method == "GET":
            return self._gl_page(p, list(reversed(p.releases.values())), query, rest)
        if m := re.fullmatch(r"/releases/([^/]+)", rest):
            release = p.releases.get(unquote(m[1]))
            if release is None:
                raise _Reply(404, "404 Not found")
            if method == "GET":
                return ok(release)
            if method == "PUT":
                for key in ("name", "description"):
                    if key in data:
                        release[key] = data[key]
                return ok(release)
        if m := re.fullmatch(r"/releases/([^/]+)/assets/links", rest):
            release = p.releases.get(unquote(m[1]))
            if release is None:
                raise _Reply(404, "404 Not found")
            links = release["assets"]["links"]
            if method == "GET":
                return self._gl_page(p, links, query, rest)
            if method == "POST":
                name, url = data.get("name"), data.get("url")
                if not name or not url:
                    raise _Reply(400, "name is missing, url is missing")
                if any(link["name"] == name for link in links):
                    raise _Reply(400, {"name": ["has already been taken"]})
                if any(link["url"] == url for link in links):
                    raise _Reply(400, {"url": ["has already been taken"]})
                link = {"id": next(self._gl_ids), "name": name, "url": url, "link_type": data.get("link_type", "other"),
                        "direct_asset_url": url}
                links.append(link)
                return ok(link, 201)
        if m := re.fullmatch(r"/packages/generic/([^/]+)/([^/]+)/([^/]+)", rest):
            return self._generic(p, method, unquote(m[1]), unquote(m[2]), unquote(m[3]), raw, who)
        if rest == "/packages" and method == "GET":
            items = [{k: v for k, v in pkg.items() if not k.startswith("_")} for pkg in p.packages.values()
                     if query.get("package_name", pkg["name"]) == pkg["name"]]
            return self._gl_page(p, items, query, rest)
        if m := re.fullmatch(r"/packages/(\d+)/package_files", rest):
            pkg = next((k for k in p.packages.values() if k["id"] == int(m[1])), None)
            if pkg is None:
                raise _Reply(404, "404 Package Not Found")
            files = [{k: v for k, v in f.items() if not k.startswith("_")} for f in pkg["_files"]]
            return self._gl_page(p, files, query, rest)
        raise _Reply(404, "404 Not Found")

    # -- builders ------------------------------------------------------------------------------

    def _noteable(self, p: _Project, kind: str, iid: int) -> None:
        if iid not in (p.mrs if kind == "merge_requests" else p.issues):
            raise _Reply(404, "404 Not found")

    def _new_note(self, p: _Project, kind: str, iid: int, body: str, author: dict, *, system: bool = False) -> dict:
        self._noteable(p, kind, iid)
        nid = next(self._gl_ids)
        web = f"{self.web_url}/{p.path}/-/{kind}/{iid}#note_{nid}"
        note = {"id": nid, "body": body, "author": author, "system": system, "created_at": _now(),
                "updated_at": _now(), "noteable_iid": iid, "noteable_type": "MergeRequest" if kind == "merge_requests"
                else "Issue", "web_url": web}
        (p.mr_notes if kind == "merge_requests" else p.issue_notes).setdefault(iid, []).append(note)
        return note

    def _new_issue(self, p: _Project, data: dict, author: dict) -> dict:
        if not data.get("title"):
            raise _Reply(400, "title is missing")
        _check(data.get("description") or "", DESCRIPTION_LIMIT, "description")
        iid = p.next_iid
        p.next_iid += 1
        labels = data.get("labels") or ""
        issue = {"id": next(self._gl_ids), "iid": iid, "project_id": p.id, "title": data["title"],
                 "description": data.get("description") or "", "state": "opened",
                 "labels": [x for x in (labels.split(",") if isinstance(labels, str) else labels) if x],
                 "author": author, "web_url": f"{self.web_url}/{p.path}/-/issues/{iid}", "updated_at": _now()}
        p.issues[iid] = issue
        p.issue_notes[iid] = []
        return issue

    def _status(self, p: _Project, sha: str, data: dict, who: dict) -> dict:
        state, name = data.get("state"), data.get("name") or data.get("context") or "default"
        if state not in STATUS_STATES:
            raise _Reply(400, "state does not have a valid value")
        current = next((s for s in reversed(p.statuses) if s["sha"] == sha and s["name"] == name), None)
        if current is not None and current["status"] == state:
            verb = {"running": "run", "success": "success", "failed": "drop", "canceled": "cancel"}.get(state, state)
            raise _Reply(400, f"Cannot transition status via :{verb} from :{state} (Reason(s): Status cannot "
                              f"transition via \"{verb}\")")
        status = {"id": next(self._gl_ids), "sha": sha, "status": state, "name": name,
                  "description": data.get("description"), "target_url": data.get("target_url"),
                  "ref": data.get("ref"), "pipeline_id": data.get("pipeline_id"), "author": who,
                  "allow_failure": False, "created_at": _now()}
        p.statuses.append(status)
        return status

    def _new_release(self, p: _Project, data: dict, author: dict) -> dict:
        tag = data.get("tag_name")
        if not tag:
            raise _Reply(400, "tag_name is missing")
        _check(data.get("description") or "", DESCRIPTION_LIMIT, "description")
        release = {"tag_name": tag, "name": data.get("name") or tag, "description": data.get("description") or "",
                   "author": author, "created_at": _now(), "released_at": _now(),
                   "commit": {"id": data.get("ref") or "c" * 40},
                   "assets": {"links": [], "sources": []},
                   "_links": {"self": f"{self.web_url}/{p.path}/-/releases/{quote(tag, safe='')}"}}
        for link in ((data.get("assets") or {}).get("links") or []):
            release["assets"]["links"].append({"id": next(self._gl_ids), **link})
        p.releases[tag] = release
        return release

    def _generic(self, p: _Project, method: str, name: str, version: str, file_name: str, raw: bytes,
                 who: dict) -> tuple[int, Any, dict[str, str]]:
        pkg = p.packages.get((name, version))
        if method == "PUT":
            if pkg is None:
                pkg = {"id": next(self._gl_ids), "name": name, "version": version, "package_type": "generic",
                       "_files": []}
                p.packages[(name, version)] = pkg
            # GitLab keeps every upload of a file name (duplicates allowed by default); downloads get the newest.
            pkg["_files"].append({"id": next(self._gl_ids), "package_id": pkg["id"], "file_name": file_name,
                                  "size": len(raw), "file_sha256": hashlib.sha256(raw).hexdigest(),
                                  "created_at": _now(), "_data": bytes(raw)})
            return 201, {"message": "201 Created"}, {}
        if method == "GET":
            files = [f for f in (pkg or {}).get("_files", []) if f["file_name"] == file_name]
            if not files:
                raise _Reply(404, "404 Package Not Found")
            return 200, files[-1]["_data"], {"content-type": "application/octet-stream"}
        raise _Reply(405, "405 Method Not Allowed")

    def _gl_page(self, p: _Project, items: list, query: dict[str, str], rest: str) -> tuple[int, Any, dict[str, str]]:
        try:
            per_page = max(1, min(100, int(query.get("per_page", 20))))
            page = max(1, int(query.get("page", 1)))
        except ValueError:
            raise _Reply(400, "page is invalid") from None
        total = len(items)
        last = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        base = {k: v for k, v in query.items() if k not in ("page", "per_page")}

        def url(n: int) -> str:
            return f"{self.api_url}/projects/{p.id}{rest}?" + urlencode({**base, "page": n, "per_page": per_page})

        headers = {"X-Page": str(page), "X-Per-Page": str(per_page),
                   "X-Next-Page": str(page + 1) if page < last else "", "X-Prev-Page": str(page - 1) if page > 1 else ""}
        if self.link:
            headers.update({"X-Total": str(total), "X-Total-Pages": str(last)})
            links = []
            if page > 1:
                links.append(f'<{url(page - 1)}>; rel="prev"')
            if page < last:
                links.append(f'<{url(page + 1)}>; rel="next"')
            links += [f'<{url(1)}>; rel="first"', f'<{url(last)}>; rel="last"']
            headers["Link"] = ", ".join(links)
        return 200, [{k: v for k, v in i.items() if not k.startswith("_")} for i in chunk], headers

    def rate_headers(self) -> dict[str, str]:
        with self._lock:
            self._remaining = max(0, self._remaining - 1)
            return {"RateLimit-Limit": str(self._rate_limit), "RateLimit-Observed": str(self._rate_limit - self._remaining),
                    "RateLimit-Remaining": str(self._remaining), "RateLimit-Reset": str(self._reset)}


def _bearer(authorization: str) -> str | None:
    parts = authorization.split(None, 1)
    return parts[1].strip() if len(parts) == 2 and parts[0].lower() == "bearer" else None


def _note_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise _Reply(400, "400 Bad request - body is missing")
    _check(body, NOTE_LIMIT, "note")
    return body


def _check(text: Any, limit: int, name: str) -> None:
    if isinstance(text, str) and len(text) > limit:
        raise _Reply(400, {name: [f"is too long (maximum is {limit} characters)"]})


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _gl_user(username: str) -> dict:
    uid = 1000 + zlib.crc32(username.encode()) % 10**7
    return {"id": uid, "username": username, "name": username, "state": "active", "bot": username.endswith("_bot")}
