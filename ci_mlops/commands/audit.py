"""``ci-mlops audit``: check released models against their lineage, list model history."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ci_mlops.config import find_config, load_config
from ci_mlops.deploy.audit import release_history, render_findings, render_history, tampering, verify_release
from ci_mlops.deploy.host import ReleaseHost
from ci_mlops.errors import CheckFailed, CiMlopsError, UserError
from ci_mlops.forge.ci import context, detect
from ci_mlops.git import Repo
from ci_mlops.github.context import GitHubContext
from ci_mlops.github.releases import Releases, release_urls
from ci_mlops.gitlab.releases import GitLabReleases


@click.group("audit")
def command() -> None:
    """Verify releases against their lineage record and list each model's release history."""


@command.command("verify")
@click.argument("tag")
@click.option("--path", "paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A local copy of a released artifact (repeatable); matched to the artifacts the tag releases by "
                   "asset name or path. Default: download every artifact from the GitHub release.")
@click.option("--lineage", "lineage_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A local lineage.json. Default: the one attached to the GitHub release.")
@click.option("--card", "card_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A local model-card.md. Default: the one attached to the GitHub release (when reading it).")
@click.option("--notes", "notes_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A local release-notes.md. Default: the GitHub release's notes (when reading it).")
@click.option("--repo", "repo_opt", metavar="OWNER/NAME", help="GitHub repository. Default: GITHUB_REPOSITORY.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def verify(tag: str, paths: tuple[Path, ...], lineage_path: Path | None, card_path: Path | None,
           notes_path: Path | None, repo_opt: str | None, fmt: str) -> None:
    """Check that a release has not been tampered with.

    Which files are the release is resolved at the tag exactly as deploy
    resolves it (never taken from lineage.json), and lineage.json must list
    exactly those, with the hashes dvc.lock has at the tag; it must record the
    tag's commit and exactly the tag's dvc.lock inputs. Everything else it
    states is recomputed from the tag: version, stage, model, pre-release, the
    tag's date, repository, previous release, every metric and param, and the
    value each gate saw. The artifacts' size, SHA-256 and MD5 must match
    lineage.json, model-card.md and the release notes must have the SHA-256 it
    records, and a release may hold nothing but the artifacts, model-card.md
    and lineage.json. Every difference is listed. Exit 0 when everything
    matches, 1 naming the first difference (and how many more), 2 for bad input.
    """
    repo = Repo.discover(".")
    ctx = context(detect(os.environ) or "github", os.environ, repo=repo_opt)  # GitHub's or GitLab's

    def open_host() -> ReleaseHost:
        if ctx.forge == "gitlab":
            if not ctx.project or not ctx.token:
                raise UserError("give --lineage and --path, or set CI_PROJECT_ID and CI_MLOPS_TOKEN to read the "
                                "release")
            return GitLabReleases(ctx.client(), ctx.project, path=ctx.repo)
        if not ctx.repo or not ctx.token:
            raise UserError("give --lineage and --path, or set GITHUB_REPOSITORY and GITHUB_TOKEN to read the release")
        return Releases(ctx.client(), ctx.repo)

    findings = verify_release(repo, tag, paths=list(paths), lineage_path=lineage_path, run=ctx.ci_run(),
                              open_host=open_host, card_path=card_path, notes_path=notes_path)
    if findings or fmt == "json":
        click.echo(render_findings(tag, findings, fmt))
    problem = tampering(tag, findings)
    if problem:
        raise CheckFailed(problem)
    if fmt == "text":
        click.echo(f"{tag}: {len(findings)} checks passed; the release matches its lineage and dvc.lock")


@command.command("log")
@click.option("--model", "model_opt", metavar="NAME", help="Only this model.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file. Default: .ci-mlops.yml at the repository root.")
@click.option("--repo", "repo_opt", metavar="OWNER/NAME", help="GitHub repository. Default: GITHUB_REPOSITORY.")
def log(model_opt: str | None, fmt: str, config_path: Path | None, repo_opt: str | None) -> None:
    """The release history of each model: version, stage, date, commit and key metrics.

    Read from the git tags (vX.Y.Z, NAME@vX.Y.Z, NAME#STAGE#N); with a GitHub
    token the release URL of each tag is added. Key metrics are the gated ones
    (metrics: in .ci-mlops.yml), else the first few of each metrics file.
    """
    repo = Repo.discover(".")
    config = load_config(config_path or find_config(repo.root), required=config_path is not None)
    ctx = GitHubContext.from_env(repo=repo_opt)

    def urls() -> dict[str, str]:
        if not (ctx.repo and ctx.token):
            return {}
        try:
            return release_urls(ctx.client(max_elapsed=30), ctx.repo)
        except CiMlopsError as exc:
            click.echo(f"ci-mlops: warning: release URLs left out: {exc.message}", err=True)
            return {}

    history = release_history(repo, config, ctx.repo, model=model_opt, release_urls=urls)
    if fmt == "json":
        click.echo(json.dumps({"models": history}, indent=2, default=str))
    else:
        click.echo(render_history(history))
