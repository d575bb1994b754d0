"""The pull-request, Git Data and dispatch endpoints of the loopback GitHub (tests/support/fake_github.py).

A repository can be backed by a real git directory (``gh.attach_git("o/r", path)``):
blobs, trees, commits and refs are then made with git plumbing in that directory, and a
merge writes a real merge commit to its base branch, as GitHub does. What is served:

* ``GET/POST /pulls`` (``state``, ``head=OWNER:BRANCH``, ``base`` filters), ``PATCH /pulls/N``,
  ``PUT /pulls/N/merge`` (``sha`` guard; branch protection's required checks enforced: 405),
  ``POST /issues/N/labels``;
* for a repository backed by a git directory: ``GET /git/ref/heads/B``, ``POST /git/refs`` (422 when it exists), ``PATCH /git/refs/heads/B``
  (422 unless a fast-forward or ``force``), ``DELETE /git/refs/heads/B``, ``POST /git/blobs``,
  ``POST /git/trees`` (``base_tree``), ``POST /git/commits``, ``GET /git/commits/SHA``,
  ``GET /branches/B`` (``protected``);
* for a repository backed by a git directory, ``POST /actions/workflows/W/dispatches`` (recorded in ``gh.dispatches``; 422 for a
  workflow listed in ``gh.no_dispatch``);
* GraphQL ``enablePullRequestAutoMerge``: refused unless the repository allows auto-merge
  (``gh.allow_auto_merge``); "clean status" when the base branch has no protection rule
  (``gh.protect_branch(repo, branch, checks)``), else the PR gets ``auto_merge`` and
  ``gh.run_auto_merge(repo)`` later merges it once its required checks succeeded.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote


def _git(fake: Any, repo: str, *args: str, input: bytes | None = None, env: dict | None = None) -> str:
    from tests.support.fake_github import _Reply

    folder = fake.git_dirs.get(repo)
    if folder is None:
        raise _Reply(409, "Git Repository is empty.")
    proc = subprocess.run(["git", *args], cwd=folder, input=input, capture_output=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise _Reply(422, f"git {args[0]} failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
    return proc.stdout.decode()


def _sha_of(fake: Any, repo: str, ref: str) -> str | None:
    folder = fake.git_dirs.get(repo)
    if folder is None:
        return None
    proc = subprocess.run(["git", "rev-parse", "--verify", "-q", ref + "^{commit}"], cwd=folder, capture_output=True)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def _bot_env(who: dict) -> dict[str, str]:
    email = f"{who['id']}+{who['login']}@users.noreply.github.com"
    return {"GIT_AUTHOR_NAME": who["login"], "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}


def route(fake: Any, r: Any, repo: str, method: str, rest: str, query: dict[str, str], headers: dict[str, str],
          data: dict) -> tuple[int, Any, dict[str, str]] | None:
    """Serve the endpoints above; None for anything else (the fake's own routes take it)."""
    from tests.support.fake_github import _Reply, _token

    token = _token(headers.get("authorization", ""))
    if repo not in fake.git_dirs and (rest.startswith(("/git/", "/branches/", "/actions/workflows/"))):
        return None  # tests/support/fake_git_data.py and tests/support/fake_chatops.py serve those in memory
    if rest == "/pulls" and method == "GET":
        items = [p for p in r.pulls.values() if query.get("state", "open") in ("all", p["state"])]
        if query.get("head"):
            owner, _, branch = query["head"].partition(":")
            items = [p for p in items if p["head"]["ref"] == branch and p["head"]["repo"]["full_name"].split("/")[0] == owner]
        if query.get("base"):
            items = [p for p in items if p["base"]["ref"] == query["base"]]
        return fake._page(repo, items, query, rest)
    if rest == "/pulls" and method == "POST":
        return 201, _create_pull(fake, r, repo, data, fake.identity(token)), {}
    if m := re.fullmatch(r"/pulls/(\d+)", rest):
        pull = r.pulls.get(int(m[1]))
        if pull is not None and method == "PATCH":
            for key in ("title", "body", "state"):
                if key in data:
                    pull[key] = data[key]
                    if key in r.issues[pull["number"]]:
                        r.issues[pull["number"]][key] = data[key]
            return 200, pull, {}
        return None
    if m := re.fullmatch(r"/pulls/(\d+)/merge", rest):
        pull = r.pulls.get(int(m[1]))
        if pull is None:
            raise _Reply(404, "Not Found")
        if method == "PUT":
            return 200, _merge(fake, r, repo, pull, data), {}
        if method == "GET":
            return (204, None, {}) if pull.get("merged") else (404, {"message": "Not Found"}, {})
    if m := re.fullmatch(r"/issues/(\d+)/labels", rest):
        issue = r.issues.get(int(m[1]))
        if issue is None:
            raise _Reply(404, "Not Found")
        if method == "POST":
            names = [lab["name"] for lab in issue["labels"]]
            names += [n for n in data.get("labels") or [] if n not in names]
            issue["labels"] = [{"name": n} for n in names]
            return 200, issue["labels"], {}
    if (m := re.fullmatch(r"/git/ref/heads/(.+)", rest)) and method == "GET":
        sha = _sha_of(fake, repo, f"refs/heads/{unquote(m[1])}")
        if sha is None:
            raise _Reply(404, "Not Found")
        return 200, _ref_json(fake, repo, unquote(m[1]), sha), {}
    if rest == "/git/refs" and method == "POST":
        ref, sha = str(data.get("ref") or ""), str(data.get("sha") or "")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise _Reply(422, "Reference name must start with 'refs/' and have at least two slashes.")
        if _sha_of(fake, repo, ref) is not None:
            raise _Reply(422, "Reference already exists")
        _check_protected(fake, repo, ref)
        _git(fake, repo, "update-ref", ref, sha, "0" * 40)
        fake.ref_log.append(("create", repo, ref, sha))
        return 201, _ref_json(fake, repo, ref.removeprefix("refs/heads/"), sha), {}
    if m := re.fullmatch(r"/git/refs/heads/(.+)", rest):
        branch = unquote(m[1])
        old = _sha_of(fake, repo, f"refs/heads/{branch}")
        if old is None:
            raise _Reply(422, "Reference does not exist")
        if method == "PATCH":
            sha = str(data.get("sha") or "")
            _check_protected(fake, repo, f"refs/heads/{branch}")
            folder = fake.git_dirs[repo]
            ff = subprocess.run(["git", "merge-base", "--is-ancestor", old, sha], cwd=folder).returncode == 0
            if not ff and not data.get("force"):
                raise _Reply(422, "Update is not a fast forward")
            _git(fake, repo, "update-ref", f"refs/heads/{branch}", sha, old)
            fake.ref_log.append(("update", repo, f"refs/heads/{branch}", sha))
            for pull in r.pulls.values():
                if pull["head"]["ref"] == branch and pull["head"]["repo"]["full_name"] == repo:
                    pull["head"]["sha"] = sha
            return 200, _ref_json(fake, repo, branch, sha), {}
        if method == "DELETE":
            _check_protected(fake, repo, f"refs/heads/{branch}")
            _git(fake, repo, "update-ref", "-d", f"refs/heads/{branch}", old)
            fake.ref_log.append(("delete", repo, f"refs/heads/{branch}", old))
            return 204, None, {}
    if rest == "/git/blobs" and method == "POST":
        content = data.get("content")
        if not isinstance(content, str):
            raise _Reply(422, "Invalid request.\n\n\"content\" wasn't supplied.")
        raw = base64.b64decode(content) if data.get("encoding") == "base64" else content.encode()
        sha = _git(fake, repo, "hash-object", "-w", "--stdin", input=raw).strip()
        return 201, {"sha": sha, "url": f"{fake.api_url}/repos/{repo}/git/blobs/{sha}"}, {}
    if rest == "/git/trees" and method == "POST":
        return 201, _tree(fake, repo, data), {}
    if rest == "/git/commits" and method == "POST":
        parents = [str(p) for p in data.get("parents") or []]
        args = ["commit-tree", str(data.get("tree"))]
        for parent in parents:
            args += ["-p", parent]
        sha = _git(fake, repo, *args, "-F", "-", input=str(data.get("message") or "").encode(),
                   env=_bot_env(fake.identity(token))).strip()
        return 201, _commit_json(fake, repo, sha), {}
    if (m := re.fullmatch(r"/git/commits/([0-9a-f]{40})", rest)) and method == "GET":
        return 200, _commit_json(fake, repo, m[1]), {}
    if m := re.fullmatch(r"/branches/(.+)", rest):
        branch = unquote(m[1])
        sha = _sha_of(fake, repo, f"refs/heads/{branch}")
        if sha is None or method != "GET":
            raise _Reply(404, "Branch not found")
        return 200, {"name": branch, "commit": {"sha": sha}, "protected": (repo, branch) in fake.protections}, {}
    if (m := re.fullmatch(r"/actions/workflows/([^/]+)/dispatches", rest)) and method == "POST":
        workflow = unquote(m[1])
        if workflow in fake.no_dispatch:
            raise _Reply(422, "Workflow does not have 'workflow_dispatch' trigger")
        ref = str(data.get("ref") or "")
        if _sha_of(fake, repo, f"refs/heads/{ref}") is None and repo in fake.git_dirs:
            raise _Reply(422, f"No ref found for: {ref}")
        fake.dispatches.append({"repo": repo, "workflow": workflow, "ref": ref, "inputs": data.get("inputs") or {},
                                "sha": _sha_of(fake, repo, f"refs/heads/{ref}")})
        return 204, None, {}
    return None


def graphql(fake: Any, token: str | None, payload: dict) -> tuple[int, Any, dict[str, str]] | None:
    """``enablePullRequestAutoMerge``; None for other queries."""
    query = str(payload.get("query") or "")
    if "enablePullRequestAutoMerge" not in query:
        return None
    variables = payload.get("variables") or {}
    found = [(repo, pull) for repo, r in fake._repos.items() for pull in r.pulls.values()
             if pull.get("node_id") == variables.get("id")]
    if not found:
        return 200, {"errors": [{"type": "NOT_FOUND", "message": f"Could not resolve to a node with the global id of '{variables.get('id')}'"}]}, {}
    repo, pull = found[0]
    error = None
    if fake.tokens.get(token) != "write":
        error = "Resource not accessible by integration"
    elif repo not in fake.allow_auto_merge:
        error = "Pull request Auto merge is not allowed for this repository"
    elif variables.get("head") and variables["head"] != pull["head"]["sha"]:
        error = "Pull request Head sha didn't match expected head sha"
    elif (repo, pull["base"]["ref"]) not in fake.protections:
        error = "Pull request Pull request is in clean status"
    if error:
        return 200, {"data": {"enablePullRequestAutoMerge": None},
                     "errors": [{"type": "UNPROCESSABLE", "message": error}]}, {}
    pull["auto_merge"] = {"merge_method": str(variables.get("method", "MERGE")).lower(),
                          "enabled_by": fake.identity(token), "commit_title": None, "commit_message": None}
    return 200, {"data": {"enablePullRequestAutoMerge": {"pullRequest": {
        "number": pull["number"], "autoMergeRequest": {"enabledAt": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                       "mergeMethod": variables.get("method", "MERGE")}}}}}, {}


def run_auto_merge(fake: Any, repo: str) -> list[int]:
    """What GitHub does when checks complete: merge every PR with auto-merge on whose required checks passed."""
    merged = []
    with fake._lock:
        r = fake._repos[repo]
        for pull in list(r.pulls.values()):
            if pull["state"] == "open" and pull.get("auto_merge") and not _missing_checks(fake, r, repo, pull):
                _merge(fake, r, repo, pull, {"merge_method": pull["auto_merge"]["merge_method"]})
                merged.append(pull["number"])
    return merged


def _create_pull(fake: Any, r: Any, repo: str, data: dict, who: dict) -> dict:
    from tests.support.fake_github import _check_len, _Reply

    head, base, title = str(data.get("head") or ""), str(data.get("base") or ""), str(data.get("title") or "")
    if not head or not base or not title:
        raise _Reply(422, "Validation Failed", [{"resource": "PullRequest", "code": "missing_field"}])
    branch = head.split(":", 1)[-1]
    head_sha = _sha_of(fake, repo, f"refs/heads/{branch}")
    if repo in fake.git_dirs and head_sha is None:
        raise _Reply(422, "Validation Failed", [{"resource": "PullRequest", "field": "head", "code": "invalid"}])
    if any(p["state"] == "open" and p["head"]["ref"] == branch and p["base"]["ref"] == base for p in r.pulls.values()):
        raise _Reply(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom",
                                                  "message": f"A pull request already exists for {repo.split('/')[0]}:{branch}."}])
    _check_len(data.get("body") or "", 65536)
    number = fake.add_pr(repo, head_sha=head_sha or "0" * 40, head_ref=branch, base_ref=base, title=title)
    pull = r.pulls[number]
    pull.update({"body": data.get("body") or "", "user": who, "node_id": f"PR_kw{number:08d}", "merged": False,
                 "merged_at": None, "merge_commit_sha": None, "auto_merge": None,
                 "base": {**pull["base"], "sha": _sha_of(fake, repo, f"refs/heads/{base}") or "b" * 40}})
    r.issues[number].update({"body": pull["body"], "user": who})
    return pull


def _missing_checks(fake: Any, r: Any, repo: str, pull: dict) -> list[str]:
    required = fake.protections.get((repo, pull["base"]["ref"]), [])
    sha = pull["head"]["sha"]
    green = {s["context"] for s in r.statuses if s["sha"] == sha and s["state"] == "success"}
    green |= {c["name"] for c in r.check_runs if c["head_sha"] == sha and c.get("conclusion") == "success"}
    return [c for c in required if c not in green]


def _merge(fake: Any, r: Any, repo: str, pull: dict, data: dict) -> dict:
    from tests.support.fake_github import _Reply

    if pull["state"] != "open":
        raise _Reply(405, "Pull Request is not mergeable")
    if data.get("sha") and data["sha"] != pull["head"]["sha"]:
        raise _Reply(409, "Head branch was modified. Review and try the merge again.")
    missing = _missing_checks(fake, r, repo, pull)
    if missing:
        raise _Reply(405, f"Required status check \"{missing[0]}\" is expected.")
    method = data.get("merge_method") or "merge"
    base, head = pull["base"]["ref"], pull["head"]["sha"]
    base_sha = _sha_of(fake, repo, f"refs/heads/{base}")
    if base_sha is None:
        raise _Reply(405, "Base branch missing")
    result = subprocess.run(["git", "merge-tree", "--write-tree", base_sha, head], cwd=fake.git_dirs[repo],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise _Reply(405, "Pull Request is not mergeable")
    tree = result.stdout.split()[0]
    env = {"GIT_AUTHOR_NAME": "octocat", "GIT_AUTHOR_EMAIL": "octocat@users.noreply.github.com",
           "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
    if method == "squash":
        log = _git(fake, repo, "log", "--format=%B", f"{base_sha}..{head}")
        message = f"{data.get('commit_title') or pull['title']} (#{pull['number']})\n\n{log}"
        sha = _git(fake, repo, "commit-tree", tree, "-p", base_sha, "-F", "-", input=message.encode(), env=env).strip()
    elif method == "merge":
        default_title = f"Merge pull request #{pull['number']} from {repo.split('/')[0]}/{pull['head']['ref']}"
        message = f"{data.get('commit_title') or default_title}\n\n{data.get('commit_message') or pull['title']}\n"
        sha = _git(fake, repo, "commit-tree", tree, "-p", base_sha, "-p", head, "-F", "-", input=message.encode(),
                   env=env).strip()
    else:
        raise _Reply(422, f"Merge method {method} is not simulated")
    _git(fake, repo, "update-ref", f"refs/heads/{base}", sha, base_sha)
    pull.update({"state": "closed", "merged": True, "merged_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "merge_commit_sha": sha})
    r.issues[pull["number"]]["state"] = "closed"
    return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}


def _check_protected(fake: Any, repo: str, ref: str) -> None:
    from tests.support.fake_github import _Reply

    branch = ref.removeprefix("refs/heads/")
    if (repo, branch) in fake.protections:
        raise _Reply(422, f"Cannot update this protected ref ({branch}).")  # the API refuses direct writes


def _tree(fake: Any, repo: str, data: dict) -> dict:
    from tests.support.fake_github import _Reply

    entries = data.get("tree")
    if not isinstance(entries, list):
        raise _Reply(422, "Invalid tree info")
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if data.get("base_tree"):
            _git(fake, repo, "read-tree", str(data["base_tree"]), env=env)
        for entry in entries:
            path, sha = str(entry.get("path") or ""), entry.get("sha")
            if not path or path.startswith("/") or ".." in path.split("/"):
                raise _Reply(422, f"tree.path {path!r} is invalid")
            if sha is None:
                _git(fake, repo, "update-index", "--force-remove", "--", path, env=env)
            else:
                _git(fake, repo, "update-index", "--add", "--cacheinfo", f"{entry.get('mode', '100644')},{sha},{path}",
                     env=env)
        sha = _git(fake, repo, "write-tree", env=env).strip()
    return {"sha": sha, "url": f"{fake.api_url}/repos/{repo}/git/trees/{sha}"}


def _commit_json(fake: Any, repo: str, sha: str) -> dict:
    raw = _git(fake, repo, "cat-file", "commit", sha)
    header, _, message = raw.partition("\n\n")
    tree = re.search(r"^tree (\w+)", header, re.M)[1]
    parents = re.findall(r"^parent (\w+)", header, re.M)
    return {"sha": sha, "message": message, "tree": {"sha": tree},
            "parents": [{"sha": p} for p in parents], "url": f"{fake.api_url}/repos/{repo}/git/commits/{sha}"}


def _ref_json(fake: Any, repo: str, branch: str, sha: str) -> dict:
    return {"ref": f"refs/heads/{branch}", "object": {"sha": sha, "type": "commit"},
            "url": f"{fake.api_url}/repos/{repo}/git/refs/heads/{branch}"}


__all__ = ["graphql", "json", "route", "run_auto_merge"]
