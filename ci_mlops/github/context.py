"""Where we run: repository, token, event and PR, from the ``GITHUB_*`` environment.

Nothing here talks to the network. The event payload is read lazily (only the
commands that need it pay for it) and a malformed one is a one-line
:class:`~ci_mlops.errors.UserError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from ci_mlops.errors import UserError
from ci_mlops.safeload import load_json, read_limited

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a PR's report names its PR; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any, Literal

    from ci_mlops.deploy.host import CiRun
    from ci_mlops.github.client import GitHubClient

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubContext:
    """The GitHub facts of this run. Build it with :meth:`from_env`."""

    forge: Literal["github"] = "github"  # which forge: narrows GitHubContext | GitLabContext

    def __init__(self, env: Mapping[str, str], *, token: str | None = None, repo: str | None = None):
        self._env = env
        self.api_url = (env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
        self.server_url = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        self.repo = repo or env.get("GITHUB_REPOSITORY") or None
        self.token = clean_token(token or env.get("CI_MLOPS_TOKEN") or env.get("GITHUB_TOKEN") or None)
        self.event_name = env.get("GITHUB_EVENT_NAME") or None
        self.event_path = env.get("GITHUB_EVENT_PATH") or None
        self.sha = env.get("GITHUB_SHA") or None
        self.ref = env.get("GITHUB_REF") or None
        self.ref_name = env.get("GITHUB_REF_NAME") or None
        self.ref_type = env.get("GITHUB_REF_TYPE") or None
        self.actor = env.get("GITHUB_ACTOR") or None
        self.workflow = env.get("GITHUB_WORKFLOW") or None
        self.run_id = env.get("GITHUB_RUN_ID") or None
        if self.repo is not None and not REPO_RE.fullmatch(self.repo):
            raise UserError(f"repository {self.repo!r} is not OWNER/NAME")

    @classmethod
    def from_env(cls, token: str | None = None, repo: str | None = None,
                 env: Mapping[str, str] | None = None) -> GitHubContext:
        return cls(os.environ if env is None else env, token=token, repo=repo)

    @property
    def in_actions(self) -> bool:
        return self._env.get("GITHUB_ACTIONS") == "true"

    @property
    def run_url(self) -> str | None:
        if self.repo and self.run_id:
            return f"{self.server_url}/{self.repo}/actions/runs/{self.run_id}"
        return None

    @cached_property
    def event(self) -> dict[str, Any]:
        """The event payload (``{}`` when there is none); UserError when it is not a JSON object."""
        if not self.event_path:
            return {}
        path = Path(self.event_path)
        try:
            payload = load_json(read_limited(path).decode("utf-8"))
        except FileNotFoundError:
            raise UserError(f"GITHUB_EVENT_PATH {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"GITHUB_EVENT_PATH {path}: cannot read it ({exc.__class__.__name__})") from None
        except ValueError as exc:
            raise UserError(f"GITHUB_EVENT_PATH {path}: malformed event payload, not JSON ({exc})") from None
        if not isinstance(payload, dict):
            raise UserError(f"GITHUB_EVENT_PATH {path}: malformed event payload, expected a JSON object")
        return payload

    @cached_property
    def pr_number(self) -> int | None:
        """The pull request of this run: event ``pull_request.number``, else ``issue.number``
        (issue_comment events), else ``refs/pull/N/merge``; None when there is none."""
        event = self.event
        for key in ("pull_request", "issue"):
            if key in event:
                node = event[key]
                number = node.get("number") if isinstance(node, dict) else None
                if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
                    raise UserError(f"GITHUB_EVENT_PATH {self.event_path}: malformed event payload, "
                                    f"{key}.number is {number!r}, expected a positive integer")
                return number
        m = re.fullmatch(r"refs/pull/(\d+)/(merge|head)", self.ref or "")
        return int(m[1]) if m else None

    @property
    def head_sha(self) -> str | None:
        """The commit under test: a PR's head sha from the payload, else ``GITHUB_SHA``."""
        pr = self.event.get("pull_request")
        if isinstance(pr, dict) and isinstance(pr.get("head"), dict):
            sha = pr["head"].get("sha")
            if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40}", sha):
                return sha
        return self.sha

    def ci_run(self) -> CiRun:
        """Where this run is, for a release or an audit."""
        from ci_mlops.deploy.host import CiRun  # lazy: the release records only for a release (not every report)

        return CiRun(repository=self.repo, actor=self.actor, run_url=self.run_url, server_url=self.server_url,
                     in_ci=self.in_actions, default_branch=self.event_default_branch())

    def event_default_branch(self) -> str | None:
        """The event's ``repository.default_branch``, or None: a hint only, so an unreadable or
        malformed payload (which :attr:`event` reports) gives None here."""
        try:
            event = self.event
        except UserError:
            return None
        repo = event.get("repository")
        branch = repo.get("default_branch") if isinstance(repo, dict) else None
        return branch if isinstance(branch, str) and branch and "\n" not in branch else None

    def release_tag(self, explicit: str | None) -> str:
        """The tag a release run is for: ``explicit`` (``--tag``), else ``GITHUB_REF`` when it is a tag
        ref, else ``GITHUB_REF_NAME`` of a tag run."""
        if explicit:
            return explicit
        ref = self.ref or ""
        if ref.startswith("refs/tags/"):
            return ref[len("refs/tags/"):]
        if self.ref_type == "tag" and self.ref_name:
            return self.ref_name
        if ref:
            raise UserError(f"GITHUB_REF is '{ref}', not a tag; deploy runs on tag pushes (or pass --tag)")
        raise UserError("no tag: pass --tag TAG (deploy runs on tags like v1.2.3, NAME@v1.2.3 or NAME#STAGE#N)")

    def require_repo(self) -> str:
        if not self.repo:
            raise UserError("no repository: pass --repo OWNER/NAME or set GITHUB_REPOSITORY")
        return self.repo

    def require_token(self) -> str:
        if not self.token:
            raise UserError("no GitHub token: pass --token or set CI_MLOPS_TOKEN or GITHUB_TOKEN")
        return self.token

    def client(self, **kwargs: Any) -> GitHubClient:
        """A client for this context's API URL and token (the token is required)."""
        from ci_mlops.github.client import GitHubClient  # lazy: the API client (~3 ms) only for a command that calls it

        return GitHubClient(self.api_url, self.require_token(), **kwargs)


def clean_token(token: str | None, forge: str = "GitHub", where: str = "the secret") -> str | None:
    """Surrounding white space (a secret pasted with its newline) is dropped; a token with
    white space or control characters inside cannot go into a header: one clear line."""
    if token is None:
        return None
    token = token.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in token):
        raise UserError(f"the {forge} token contains spaces or control characters; check {where}'s value")
    return token or None
