"""The Git Data API (blobs, trees, commits, refs) and file serving by commit, for tests/support/fake_github.py.

As on GitHub: blobs are content-addressed (their real git SHA-1), a commit names a tree
and its parents, ``PATCH /git/refs`` refuses a move that is not a fast-forward unless
``force`` is true ("Update is not a fast forward"), ``POST /git/refs`` refuses an existing
ref, and refs matching a protected pattern (``protect``, like a repository ruleset) refuse
every write. ``GET /{repo}/blob/{sha}/{path}?raw=true`` and ``/{repo}/raw/{sha}/{path}`` on
the web host serve a file of a commit that some ref still reaches (what GitHub serves
until unreachable objects are garbage-collected, here at once); a private repository
serves it only to a request that carries a token (the reader's session).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

RAW_PATH_RE = re.compile(r"/([^/]+/[^/]+)/(?:blob|raw)/([0-9a-f]{40})/(.+)")
CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                 ".svg": "image/svg+xml"}


class GitDataError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class RepoGit:
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # tree sha -> {path: blob sha}
    commits: dict[str, dict] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/x" -> commit sha
    protected: list[str] = field(default_factory=list)  # fnmatch patterns of refs no one may write
    writes: list[tuple[str, str]] = field(default_factory=list)  # (method, ref) of every ref write tried
    private: bool = False

    def reachable(self) -> set[str]:
        seen: set[str] = set()
        todo = list(self.refs.values())
        while todo:
            sha = todo.pop()
            if sha in seen or sha not in self.commits:
                continue
            seen.add(sha)
            todo.extend(self.commits[sha]["parents"])
        return seen

    def files(self, commit: str) -> dict[str, bytes]:
        """path -> bytes of a commit."""
        tree = self.trees[self.commits[commit]["tree"]]
        return {path: self.blobs[sha] for path, sha in tree.items()}

    def is_ancestor(self, old: str, new: str) -> bool:
        todo, seen = [new], set()
        while todo:
            sha = todo.pop()
            if sha == old:
                return True
            if sha in seen or sha not in self.commits:
                continue
            seen.add(sha)
            todo.extend(self.commits[sha]["parents"])
        return False


def route(git: RepoGit, api_url: str, repo: str, method: str, rest: str, data: dict) -> tuple[int, Any]:
    """Serve ``/repos/{repo}/git/...``; raises GitDataError for an error answer."""
    base = f"{api_url}/repos/{repo}/git"
    if rest == "/git/blobs" and method == "POST":
        content, encoding = data.get("content"), data.get("encoding", "utf-8")
        if not isinstance(content, str) or encoding not in ("utf-8", "base64"):
            raise GitDataError(422, "Invalid request: content and encoding")
        raw = base64.b64decode(content, validate=True) if encoding == "base64" else content.encode()
        sha = hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()
        git.blobs[sha] = raw
        return 201, {"sha": sha, "url": f"{base}/blobs/{sha}"}
    if rest == "/git/trees" and method == "POST":
        entries = dict(git.trees.get(data.get("base_tree") or "", {}))
        for item in data.get("tree") or []:
            if item.get("type") != "blob" or item.get("mode") != "100644":
                raise GitDataError(422, "tree entries here are files (mode 100644, type blob)")
            path = item.get("path")
            if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
                raise GitDataError(422, f"Invalid tree path {path!r}")
            if item.get("sha") is None:
                entries.pop(path, None)
                continue
            if item["sha"] not in git.blobs:
                raise GitDataError(422, f"Invalid tree info: blob {item['sha']} does not exist")
            entries[path] = item["sha"]
        sha = hashlib.sha1(json.dumps(sorted(entries.items())).encode()).hexdigest()
        git.trees[sha] = entries
        return 201, {"sha": sha, "url": f"{base}/trees/{sha}",
                     "tree": [{"path": p, "mode": "100644", "type": "blob", "sha": s} for p, s in sorted(entries.items())]}
    if (m := re.fullmatch(r"/git/trees/([0-9a-f]{40})", rest)) and method == "GET":
        if m[1] not in git.trees:
            raise GitDataError(404, "Not Found")
        return 200, {"sha": m[1], "url": f"{base}/trees/{m[1]}", "truncated": False,
                     "tree": [{"path": p, "mode": "100644", "type": "blob", "sha": s} for p, s in sorted(git.trees[m[1]].items())]}
    if rest == "/git/commits" and method == "POST":
        tree, parents = data.get("tree"), data.get("parents") or []
        if tree not in git.trees:
            raise GitDataError(422, "Tree SHA does not exist")
        if any(p not in git.commits for p in parents):
            raise GitDataError(422, "Parent SHA does not exist or is not a commit object")
        commit = {"message": str(data.get("message", "")), "tree": tree, "parents": list(parents)}
        sha = hashlib.sha1(json.dumps(commit, sort_keys=True).encode()).hexdigest()
        git.commits[sha] = commit
        return 201, _commit_json(base, sha, commit)
    if (m := re.fullmatch(r"/git/commits/([0-9a-f]{40})", rest)) and method == "GET":
        if m[1] not in git.commits:
            raise GitDataError(404, "Not Found")
        return 200, _commit_json(base, m[1], git.commits[m[1]])
    if (m := re.fullmatch(r"/git/ref/(heads/.+)", rest)) and method == "GET":
        ref = "refs/" + m[1]
        if ref not in git.refs:
            raise GitDataError(404, "Not Found")
        return 200, _ref_json(base, ref, git.refs[ref])
    if (m := re.fullmatch(r"/git/matching-refs/(heads/.*)", rest)) and method == "GET":
        prefix = "refs/" + m[1]
        return 200, [_ref_json(base, ref, sha) for ref, sha in sorted(git.refs.items()) if ref.startswith(prefix)]
    if rest == "/git/refs" and method == "POST":
        ref, sha = data.get("ref"), data.get("sha")
        if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
            raise GitDataError(422, "Reference name is not valid")
        _write(git, "POST", ref)
        if ref in git.refs:
            raise GitDataError(422, "Reference already exists")
        if sha not in git.commits:
            raise GitDataError(422, "Object does not exist")
        git.refs[ref] = sha
        return 201, _ref_json(base, ref, sha)
    if m := re.fullmatch(r"/git/refs/(heads/.+)", rest):
        ref = "refs/" + m[1]
        if method not in ("PATCH", "DELETE"):
            raise GitDataError(404, "Not Found")
        _write(git, method, ref)
        if ref not in git.refs:
            raise GitDataError(422, "Reference does not exist")
        if method == "DELETE":
            del git.refs[ref]
            return 204, None
        sha = data.get("sha")
        if sha not in git.commits:
            raise GitDataError(422, "Object does not exist")
        if not data.get("force") and not git.is_ancestor(git.refs[ref], sha):
            raise GitDataError(422, "Update is not a fast forward")
        git.refs[ref] = sha
        return 200, _ref_json(base, ref, sha)
    raise GitDataError(404, "Not Found")


def _write(git: RepoGit, method: str, ref: str) -> None:
    git.writes.append((method, ref))
    if any(fnmatch.fnmatchcase(ref, pattern) for pattern in git.protected):
        raise GitDataError(422, "Repository rule violations found\n\nCannot create or update this ref.")


def _commit_json(base: str, sha: str, commit: dict) -> dict:
    return {"sha": sha, "url": f"{base}/commits/{sha}", "message": commit["message"],
            "tree": {"sha": commit["tree"]}, "parents": [{"sha": p} for p in commit["parents"]]}


def _ref_json(base: str, ref: str, sha: str) -> dict:
    return {"ref": ref, "url": f"{base}/{ref}", "object": {"type": "commit", "sha": sha}}


def serve_file(git: RepoGit, commit: str, path: str, authenticated: bool) -> tuple[int, bytes, str]:
    """The web host's answer for a file of a commit: (status, body, content type)."""
    if (git.private and not authenticated) or commit not in git.reachable():
        return 404, b"Not Found", "text/plain"
    data = git.files(commit).get(path)
    if data is None:
        return 404, b"Not Found", "text/plain"
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return 200, data, CONTENT_TYPES.get(suffix, "text/plain; charset=utf-8")
