"""The forge seam: what the forge-neutral core asks of GitHub or GitLab.

The core (report, check, drift, deploy) never talks HTTP. What it needs from the
forge that hosts the repository is :class:`~ci_mlops.forge.base.Forge`: the sticky
comment or note on a change (pull or merge request), a commit status per check, the
monitor's issue, releases; plus where it runs (:mod:`ci_mlops.forge.ci`) and how a job
hands values to the next (:mod:`ci_mlops.forge.outputs`).

Implementations: :class:`ci_mlops.forge.github.GitHubForge` wraps the code in
:mod:`ci_mlops.github`; :class:`ci_mlops.gitlab.forge.GitLabForge` is GitLab's. A
third forge implements the same protocol and is added to :func:`open_forge`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ci_mlops.forge.ci import detect

if TYPE_CHECKING:
    from ci_mlops.forge.base import Forge
    from ci_mlops.forge.ci import Context

__all__ = ["detect", "open_forge"]


def open_forge(name: str, ctx: Context, **client_kwargs: Any) -> Forge:
    """The forge ``name`` ("github" or "gitlab") for its context from :func:`ci_mlops.forge.ci.context`."""
    if ctx.forge != name:
        raise ValueError(f"the {name} forge needs a {name} context, not a {ctx.forge} one")
    if ctx.forge == "gitlab":
        from ci_mlops.gitlab.forge import GitLabForge

        return GitLabForge(ctx, **client_kwargs)
    from ci_mlops.forge.github import GitHubForge

    return GitHubForge(ctx, **client_kwargs)


def forge_from_env(env: Mapping[str, str], *, token: str | None = None, repo: str | None = None,
                   **client_kwargs: Any) -> Forge:
    """The forge this CI job runs on (GitHub outside any CI, as before)."""
    from ci_mlops.forge.ci import context

    name = detect(env) or "github"
    return open_forge(name, context(name, env, token=token, repo=repo), **client_kwargs)
