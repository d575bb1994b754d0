"""Where we run in GitLab CI/CD: server, project, merge request, commit and token, from ``CI_*``.

Nothing here talks to the network. GitLab sets the predefined variables in every
job (https://docs.gitlab.com/ci/variables/predefined_variables/): ``CI_API_V4_URL``
(``CI_SERVER_URL`` + ``/api/v4``, so self-managed GitLab under any address or path
works unchanged), ``CI_PROJECT_ID``, ``CI_MERGE_REQUEST_IID`` in merge request
pipelines, ``CI_COMMIT_SHA``, ``CI_JOB_URL``, ``CI_PIPELINE_ID``.

The token: ``CI_JOB_TOKEN`` cannot write notes, statuses or issues (the job token
reaches only the API endpoints listed in GitLab's "CI/CD job token" page, which do not
include them), so ci-mlops reads a project or group access token from a masked CI/CD
variable, ``CI_MLOPS_TOKEN`` (or ``GITLAB_TOKEN``). The job token is never used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ci_mlops.deploy.host import CiRun
from ci_mlops.errors import UserError
from ci_mlops.github.context import clean_token

if TYPE_CHECKING:
    from ci_mlops.gitlab.client import GitLabClient

TOKEN_VARIABLES = ("CI_MLOPS_TOKEN", "GITLAB_TOKEN")
PROJECT_RE = re.compile(r"^(\d+|[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+)$")
SHA_RE = re.compile(r"^[0-9a-fA-F]{40}$")


class GitLabContext:
    """The GitLab facts of this run. Build it with :meth:`from_env`."""

    forge: Literal["gitlab"] = "gitlab"  # which forge: narrows GitHubContext | GitLabContext

    def __init__(self, env: Mapping[str, str], *, token: str | None = None, project: str | None = None,
                 api_url: str | None = None):
        self._env = env
        server = (env.get("CI_SERVER_URL") or "").rstrip("/")
        self.server_url = server or "https://gitlab.com"
        self.api_url = (api_url or env.get("CI_API_V4_URL") or f"{self.server_url}/api/v4").rstrip("/")
        self.project = project or env.get("CI_PROJECT_ID") or env.get("CI_PROJECT_PATH") or None
        self.project_path = env.get("CI_PROJECT_PATH") or None
        self.project_url = (env.get("CI_PROJECT_URL") or "").rstrip("/") or None
        self.token = clean_token(token or next((env[k] for k in TOKEN_VARIABLES if env.get(k)), None), "GitLab",
                                 "the CI/CD variable")
        self.sha = env.get("CI_COMMIT_SHA") or None
        self.ref_name = env.get("CI_COMMIT_REF_NAME") or None
        self.tag = env.get("CI_COMMIT_TAG") or None
        self.pipeline_id = env.get("CI_PIPELINE_ID") or None
        self.pipeline_source = env.get("CI_PIPELINE_SOURCE") or None
        self.job_name = env.get("CI_JOB_NAME") or None
        self.job_url = env.get("CI_JOB_URL") or None
        self.pipeline_url = env.get("CI_PIPELINE_URL") or None
        self.actor = env.get("GITLAB_USER_LOGIN") or None
        self.default_branch = env.get("CI_DEFAULT_BRANCH") or None
        # An MR pipeline runs in the source project (a fork's own for fork MRs); the MR is in the target's.
        self.merge_request_project = env.get("CI_MERGE_REQUEST_PROJECT_ID") or None
        if self.project is not None and not PROJECT_RE.fullmatch(self.project):
            raise UserError(f"GitLab project {self.project!r} is neither a numeric id nor a GROUP/NAME path")

    @classmethod
    def from_env(cls, token: str | None = None, project: str | None = None,
                 env: Mapping[str, str] | None = None) -> GitLabContext:
        return cls(os.environ if env is None else env, token=token, project=project)

    # The names the deploy code reads on either forge's context.
    @property
    def repo(self) -> str | None:
        """The project's ``group/name`` path (lineage ``repository``), else its id."""
        return self.project_path or self.project


    def require_repo(self) -> str:
        return self.require_project()

    def ci_run(self) -> CiRun:
        """Where this job is, for a release or an audit (``run_url``: the job, which ``audit verify`` looks up)."""
        return CiRun(repository=self.repo, actor=self.actor, run_url=self.job_url, server_url=self.server_url,
                     # no separate build step as in Actions: a docker target builds in this job
                     in_ci=False, default_branch=self.default_branch)

    def release_tag(self, explicit: str | None) -> str:
        """``--tag``, else ``CI_COMMIT_TAG`` of a tag pipeline."""
        if explicit:
            return explicit
        if self.tag:
            return self.tag
        raise UserError("no tag: pass --tag TAG, or run in a tag pipeline (rules: - if: $CI_COMMIT_TAG)")

    @property
    def in_ci(self) -> bool:
        return self._env.get("GITLAB_CI") == "true"

    @property
    def run_url(self) -> str | None:
        """The job's page (its log holds the full report), else the pipeline's."""
        return self.job_url or self.pipeline_url

    @property
    def merge_request(self) -> int | None:
        """``CI_MERGE_REQUEST_IID`` (merge request pipelines); UserError when it is not a positive integer."""
        raw = (self._env.get("CI_MERGE_REQUEST_IID") or "").strip()
        if not raw:
            return None
        if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 10**9:
            raise UserError(f"CI_MERGE_REQUEST_IID {raw[:20]!r} is not a merge request number")
        return int(raw)

    @property
    def head_sha(self) -> str | None:
        """The commit under test: the MR's source head in merge request pipelines, else ``CI_COMMIT_SHA``."""
        sha = self._env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or self.sha
        return sha if sha and SHA_RE.fullmatch(sha) else self.sha

    @property
    def from_fork(self) -> bool:
        """A merge request whose source project is not this project (a fork)."""
        source = self._env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")
        target = self._env.get("CI_MERGE_REQUEST_PROJECT_ID") or self._env.get("CI_PROJECT_ID")
        return bool(source and target and source != target)

    def require_project(self) -> str:
        if not self.project:
            raise UserError("no GitLab project: pass --repo ID|GROUP/NAME or set CI_PROJECT_ID")
        return self.project

    def require_token(self) -> str:
        if not self.token:
            raise UserError("no GitLab token: set CI_MLOPS_TOKEN to a project access token (scope api, role "
                            "Developer) in a masked CI/CD variable; CI_JOB_TOKEN cannot write notes")
        return self.token

    def client(self, **kwargs: Any) -> GitLabClient:
        from ci_mlops.gitlab.client import GitLabClient

        return GitLabClient(self.api_url, self.require_token(), **kwargs)
