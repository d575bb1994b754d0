"""Which CI this is, from its own environment variables; nothing here talks to the network.

GitLab CI/CD sets ``GITLAB_CI=true`` in every job; GitHub Actions sets
``GITHUB_ACTIONS=true``. Outside both (a laptop, another CI) a GitLab API address in
``CI_SERVER_URL`` or ``CI_API_V4_URL`` with ``CI_PROJECT_ID`` still selects GitLab, so
``ci-mlops comment`` can be run by hand against self-managed GitLab.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_mlops.github.context import GitHubContext
    from ci_mlops.gitlab.context import GitLabContext

    Context = GitHubContext | GitLabContext  # the run's context; ``ctx.forge`` tells them apart

FORGES = ("github", "gitlab")


def detect(env: Mapping[str, str]) -> str | None:
    """"github", "gitlab" or None (no forge in the environment)."""
    forced = (env.get("CI_MLOPS_FORGE") or "").strip().lower()
    if forced:
        if forced not in FORGES:
            from ci_mlops.errors import UserError

            raise UserError(f"CI_MLOPS_FORGE={forced[:20]!r}: use github or gitlab")
        return forced
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if (env.get("CI_SERVER_URL") or env.get("CI_API_V4_URL")) and env.get("CI_PROJECT_ID"):
        return "gitlab"
    if env.get("GITHUB_REPOSITORY"):
        return "github"
    return None


def context(name: str, env: Mapping[str, str], *, token: str | None = None,
            repo: str | None = None) -> Context:
    """The forge's context of this run: :class:`GitHubContext` or :class:`GitLabContext`."""
    if name == "gitlab":
        from ci_mlops.gitlab.context import GitLabContext

        return GitLabContext(env, token=token, project=repo)
    from ci_mlops.github.context import GitHubContext

    return GitHubContext(env, token=token, repo=repo)
