"""Images of a pull request's plots as commits on its own branch, written through the Git Data API.

No checkout and no git push: blobs, one tree, one commit and a ref update
(``POST /git/blobs``, ``/git/trees``, ``/git/commits``, ``POST``/``PATCH /git/refs``).
Each pull request gets the branch ``<prefix>/pr-<N>`` (default ``ci-mlops/plots/pr-7``), never
the default branch. A commit holds the images of one run under ``<head sha>/``; the comment
links them by that commit's SHA (``<server>/<repo>/blob/<sha>/<path>?raw=true``), which no
later push can change.

Pruning (docs/report.md, "Publishing the images"):

* each run's commit has the previous run's as parent, so the links of the last
  ``keep_runs`` runs of a pull request stay valid; the run after that starts the branch
  again from a commit without parent (forced update), and the older commits become
  unreachable and are garbage-collected by GitHub in time;
* when the pull request is no longer open, its branch is deleted by the next publishing
  run of any pull request (``on_close: delete``; ``keep`` leaves it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from ci_mlops.config.records import ReportImages
from ci_mlops.errors import UserError
from ci_mlops.github.client import ApiError
from ci_mlops.github.gitdata import branch_sha, create_blob, get_commit, move_branch

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

RUN_TRAILER = "ci-mlops-run"
_RUN_RE = re.compile(rf"^{RUN_TRAILER}: (\d+)$", re.M)
_PR_BRANCH_RE = re.compile(r"pr-(\d+)")


@dataclass(frozen=True)
class BranchPolicy:
    prefix: str = ReportImages.branch
    keep_runs: int = ReportImages.keep_runs
    on_close: str = ReportImages.on_close  # or "keep"

    def branch(self, pr: int) -> str:
        return f"{self.prefix}/pr-{pr}"


@dataclass
class Published:
    branch: str
    commit: str
    urls: dict[str, str]  # path in the commit -> the URL the comment shows
    run: int  # runs in the branch's history, this one included
    squashed: bool  # the branch started again (older runs' links expire)
    deleted: list[str] = field(default_factory=list)  # branches of closed pull requests removed
    uploaded: int = 0  # blobs sent; the others were in the previous run's commit already


def publish(client: GitHubClient, repo: str, server_url: str, pr: int, head_sha: str,
            files: dict[str, bytes], policy: BranchPolicy = BranchPolicy(),
            log: Callable[[str], None] | None = None) -> Published:
    """Commit ``files`` (name -> bytes) under ``<head sha>/`` on the pull request's branch.

    UserError when the branch would be the default branch; ApiError/ServiceError from the API
    otherwise (the caller turns any of them into one line of the comment).
    """
    branch = policy.branch(pr)
    info = client.get_json(f"repos/{repo}")
    default = str(info.get("default_branch") or "")
    if branch == default or not branch.startswith(policy.prefix + "/"):
        raise UserError(f"refusing to publish plot images to {branch!r}: it is the default branch")
    folder = head_sha[:12]
    tip, _runs, tip_tree = _tip(client, repo, branch)
    # A plot that did not change since the last run is the same blob: reference it, send nothing.
    known = _blob_shas(client, repo, tip_tree) if tip_tree else set()
    blobs, uploaded = {}, 0
    for name, data in sorted(files.items()):
        sha = blob_sha(data)
        if sha not in known:
            sha = create_blob(client, repo, data)
            uploaded += 1
        blobs[f"{folder}/{name}"] = sha
    tree = client.request_json("POST", f"repos/{repo}/git/trees", idempotent=True, json={
        "tree": [{"path": path, "mode": "100644", "type": "blob", "sha": sha} for path, sha in blobs.items()]})["sha"]
    for attempt in (1, 2):
        tip, runs, _tree = _tip(client, repo, branch)
        squash = tip is not None and runs >= policy.keep_runs
        parents = [tip] if tip and not squash else []
        run = 1 if not parents else runs + 1
        message = (f"ci-mlops: plot images of PR #{pr} at {head_sha[:12]}\n\n"
                   f"Written by ci-mlops for the pull request comment; not for merging.\n\n{RUN_TRAILER}: {run}\n")
        commit = client.request_json("POST", f"repos/{repo}/git/commits", idempotent=True,
                                     json={"message": message, "tree": tree, "parents": parents})["sha"]
        try:
            if tip is None:
                client.request_json("POST", f"repos/{repo}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": commit})
            else:
                move_branch(client, repo, branch, commit, force=squash)
            break
        except ApiError as exc:
            # another run of this pull request moved the branch between our read and write
            if attempt == 2 or exc.status != 422:
                raise
            if log:
                log(f"{branch} moved while publishing; reading it again")
    urls = {path: f"{server_url.rstrip('/')}/{repo}/blob/{commit}/{quote(path)}?raw=true" for path in blobs}
    deleted = sweep(client, repo, policy, keep=pr) if policy.on_close == "delete" else []
    return Published(branch, commit, urls, run, squash, deleted, uploaded)


def blob_sha(data: bytes) -> str:
    """The git object name of a file with these bytes (what ``POST /git/blobs`` answers)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _blob_shas(client: GitHubClient, repo: str, tree: str) -> set[str]:
    answer = client.get_json(f"repos/{repo}/git/trees/{tree}", {"recursive": "1"})
    return {str(e.get("sha")) for e in answer.get("tree") or [] if isinstance(e, dict) and e.get("type") == "blob"}


def _tip(client: GitHubClient, repo: str, branch: str) -> tuple[str | None, int, str | None]:
    """The branch's commit, how many runs its history holds (0 when the branch does not exist), its tree."""
    sha = branch_sha(client, repo, branch)
    if sha is None:
        return None, 0, None
    commit = get_commit(client, repo, sha)
    found = _RUN_RE.search(str(commit.get("message") or ""))
    return sha, int(found[1]) if found else 1, str((commit.get("tree") or {}).get("sha") or "") or None


def sweep(client: GitHubClient, repo: str, policy: BranchPolicy, keep: int | None = None) -> list[str]:
    """Delete the plot branches of pull requests that are no longer open; returns their names."""
    branches = {}
    for ref in client.paginate(f"repos/{repo}/git/matching-refs/heads/{policy.prefix}/pr-"):
        name = str(ref.get("ref", "")).removeprefix("refs/heads/")
        m = _PR_BRANCH_RE.fullmatch(name.removeprefix(policy.prefix + "/"))
        if m and int(m[1]) != keep:
            branches[int(m[1])] = name
    if not branches:
        return []
    open_prs = {int(p["number"]) for p in client.paginate(f"repos/{repo}/pulls", {"state": "open"})}
    deleted = []
    for number, name in sorted(branches.items()):
        if number not in open_prs:
            client.request("DELETE", f"repos/{repo}/git/refs/heads/{name}")
            deleted.append(name)
    return deleted
