"""The one retrain pull request: find it, open or update it, link it with the drift issue,
get its checks to run, and merge it when its gates passed (``auto_merge``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ci_mlops.errors import UserError

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

MARKER = "<!-- ci-mlops:retrain -->"


def find_open_pull(client: GitHubClient, repo: str, prefix: str, base: str) -> dict[str, Any] | None:
    """The open retrain PR: ours (marker, written by this token's account), from a ``prefix`` branch of this repo."""
    from ci_mlops.github.comments import Authors

    authors = Authors(client)
    found = [p for p in client.paginate(f"repos/{repo}/pulls", {"state": "open", "base": base})
             if MARKER in (p.get("body") or "") and str((p.get("head") or {}).get("ref", "")).startswith(prefix)
             and ((p.get("head") or {}).get("repo") or {}).get("full_name") == repo and authors.trusted(p)]
    return min(found, key=lambda p: p["number"]) if found else None


def find_pull_by_head(client: GitHubClient, repo: str, branch: str) -> dict[str, Any] | None:
    owner = repo.split("/")[0]
    for pull in client.paginate(f"repos/{repo}/pulls", {"state": "open", "head": f"{owner}:{branch}"}):
        if (pull.get("head") or {}).get("ref") == branch:
            return pull
    return None


def open_pull(client: GitHubClient, repo: str, *, branch: str, base: str, title: str, body: str,
              labels: tuple[str, ...]) -> dict[str, Any]:
    """Create the PR once (a lost answer is reconciled by its head branch), then label it."""
    pull = client.create_once(f"repos/{repo}/pulls", {"title": title, "head": branch, "base": base, "body": body},
                              find=lambda: find_pull_by_head(client, repo, branch))
    if labels:
        client.request_json("POST", client.repo_path(repo, "issues", pull["number"], "labels"),
                            json={"labels": list(labels)}, idempotent=True, expect=list)
    return pull


def update_pull(client: GitHubClient, repo: str, number: int, *, title: str, body: str) -> dict[str, Any]:
    pull: dict[str, Any] = client.request_json("PATCH", client.repo_path(repo, "pulls", number),
                                               json={"title": title, "body": body})
    return pull


def comment_once(client: GitHubClient, repo: str, number: int, stamp: str, body: str) -> dict[str, Any]:
    """Post ``body`` on issue/PR ``number`` unless a comment carrying ``stamp`` is already there."""
    path = client.repo_path(repo, "issues", number, "comments")

    def find() -> dict[str, Any] | None:
        return next((c for c in client.paginate(path) if stamp in (c.get("body") or "")), None)

    existing = find()
    if existing is not None:
        return existing
    return client.create_once(path, {"body": f"{stamp}\n{body}"}, find=find)


def dispatch(client: GitHubClient, repo: str, workflow: str, branch: str, pr: int) -> None:
    """Run the PR workflow on the branch (``workflow_dispatch``): the one event a GITHUB_TOKEN may trigger.

    A repeat after a lost answer only runs the same checks twice (the workflow's
    concurrency group cancels the older run)."""
    from ci_mlops.github.client import ApiError

    try:
        client.request("POST", client.repo_path(repo, "actions", "workflows", workflow, "dispatches"),
                       json={"ref": branch, "inputs": {"pr": str(pr)}}, idempotent=True)
    except ApiError as exc:
        if exc.status in (404, 422):
            raise UserError(f"cannot start .github/workflows/{workflow} on {branch}: {exc.message} (does it have "
                            "the workflow_dispatch trigger? run `ci-mlops init` again; the job needs "
                            "`actions: write`)") from None
        raise


AUTO_MERGE = """mutation($id: ID!, $method: PullRequestMergeMethod!, $head: GitObjectID!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method, expectedHeadOid: $head}) {
    pullRequest { number autoMergeRequest { enabledAt mergeMethod } }
  }
}"""


def merge_when_green(client: GitHubClient, repo: str, pull: dict[str, Any], *, sha: str,
                     method: str = "merge") -> str:
    """Enable GitHub's auto-merge for ``pull`` at ``sha``; when GitHub says there is nothing left to
    wait for (no required checks: "clean status"), merge it now. Returns "auto-merge" or "merged".

    GitHub has no REST endpoint for auto-merge: it is the GraphQL mutation
    ``enablePullRequestAutoMerge``, which needs "Allow auto-merge" in the repository's
    settings and a branch protection rule with a requirement on the base branch.
    """
    graphql = _graphql_url(client.api_url)
    answer = client.request_json("POST", graphql, idempotent=True, json={
        "query": AUTO_MERGE, "variables": {"id": pull["node_id"], "method": method.upper(), "head": sha}})
    errors = answer.get("errors") or []
    if not errors:
        return "auto-merge"
    message = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    if "clean status" not in message:
        raise UserError(f"GitHub refused auto-merge for PR #{pull['number']}: {message} (is \"Allow auto-merge\" "
                        "on in the repository's settings?)")
    from ci_mlops.github.client import ApiError

    try:
        client.request_json("PUT", client.repo_path(repo, "pulls", pull["number"], "merge"),
                            json={"sha": sha, "merge_method": method})
    except ApiError as exc:
        raise UserError(f"PR #{pull['number']} passed its gates but GitHub refused to merge it: {exc.message}") from None
    return "merged"


def _graphql_url(api_url: str) -> str:
    """``https://api.github.com/graphql``; GitHub Enterprise Server: ``https://HOST/api/graphql``."""
    return api_url[: -len("/v3")] + "/graphql" if api_url.endswith("/api/v3") else api_url + "/graphql"
