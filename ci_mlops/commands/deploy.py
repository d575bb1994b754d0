"""``ci-mlops deploy``: release the model a version tag points at."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ci_mlops.config import load_config
from ci_mlops.deploy import flow
from ci_mlops.deploy.host import ReleaseHost
from ci_mlops.deploy.targets import TARGETS
from ci_mlops.forge.ci import context, detect
from ci_mlops.forge.outputs import append_summary, set_output
from ci_mlops.git import Repo
from ci_mlops.github.releases import Releases
from ci_mlops.gitlab.releases import GitLabReleases


@click.command("deploy")
@click.option("--tag", "tag_opt", metavar="TAG",
              help="Tag to release. Default: GITHUB_REF / GITHUB_REF_NAME of a tag-push run.")
@click.option("--target", type=click.Choice(TARGETS),
              help="Where to release. Default: deploy.target in .ci-mlops.yml, else github-release.")
@click.option("--dry-run", is_flag=True,
              help="Verify and stage everything (model card, lineage, artifacts) and print what would be "
                   "published, without publishing anything.")
@click.option("--plan", "plan_only", is_flag=True,
              help="Only print the tag's facts (model, version, stage, environment) and set them as step "
                   "outputs; the release workflow's first job uses this to pick the environment.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to stage the release files. Default: $RUNNER_TEMP/ci-mlops/release/TAG, else a temp folder.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file for the release settings (stages, environment, target, gates). Default: "
                   ".ci-mlops.yml on the default branch, never the tagged commit's.")
@click.option("--default-branch", metavar="BRANCH",
              help="Branch whose .ci-mlops.yml (and .gto) decide where and whether to release. Default: the push "
                   "event's repository.default_branch, else origin's HEAD, else main/master.")
@click.option("--repo", "repo_opt", metavar="OWNER/NAME", help="GitHub repository. Default: GITHUB_REPOSITORY.")
@click.option("--write-dockerfile", is_flag=True,
              help="docker target: write a minimal Dockerfile (deploy.docker.dockerfile) when there is none.")
@click.option("--adopt-release", is_flag=True,
              help="github-release target: take over a release for the tag that ci-mlops did not create (one "
                   "made by hand): its title and notes are replaced and the release files attached. Without "
                   "it such a release is refused and left untouched.")
@click.option("--build/--no-build", "build", default=None,
              help="docker target: run docker build/push here. Default: yes outside GitHub Actions, no inside "
                   "(the workflow passes the step outputs to docker/build-push-action).")
def command(tag_opt: str | None, target: str | None, dry_run: bool, plan_only: bool, output_dir: Path | None,
            config_path: Path | None, default_branch: str | None, repo_opt: str | None, write_dockerfile: bool,
            build: bool | None, adopt_release: bool) -> None:
    """Release the model for a version tag, with a model card and a lineage record.

    TAG is vX.Y.Z (SemVer) or any GTO registry tag: NAME@vX.Y.Z (register a
    version of NAME), NAME#STAGE (assign STAGE; the release job runs in the
    GitHub environment deploy.stages maps it to), each optionally with GTO's
    counter #N and a FOLDER= prefix. Deregistration tags (NAME@vX.Y.Z!,
    NAME#STAGE!, NAME@deprecated, NAME@created) are recognised and release nothing.

    Where and whether to release (deploy.stages, the allowed stages; environment,
    target, draft, docker, command; the gates) is read from the default branch,
    never from the tagged commit: a stage outside the allow-list is refused.
    What is released comes from the tag: the artifacts (the tag's artifact in
    dvc.yaml or GTO's artifacts.yaml, else deploy.artifacts, else the declared
    models, else DVC outputs under models/) are checked against dvc.lock at the tag, pulled from the DVC
    remote when missing, and the metric gates are re-run for the tagged commit; a
    failing gate stops the release (exit 1). Re-running a tag finishes its release:
    assets already uploaded with the same content are kept, different content is
    refused and never overwritten. A release for the tag that ci-mlops did not
    create is refused (exit 2) unless --adopt-release.

    \b
    Step outputs: tag, model, version, stage, environment, prerelease, release,
    release-url, output-dir, lineage, model-card (docker: docker-image,
    docker-tags, docker-labels, docker-context, docker-dockerfile).
    Exit codes: 0 released (or nothing to release), 1 a gate or the deploy
    command failed, 2 bad tag/config/artifacts, a stage not allowed or a
    conflicting release, 3 GitHub kept failing.
    """
    repo = Repo.discover(".")
    if config_path is not None:
        load_config(config_path, required=True)  # a config named on the command line must exist, first of all
    ctx = context(detect(os.environ) or "github", os.environ, repo=repo_opt)  # GitHub's or GitLab's
    log = lambda message: click.echo(f"ci-mlops: {message}", err=True)  # noqa: E731
    request = flow.Request(tag=ctx.release_tag(tag_opt), target=target, dry_run=dry_run, plan_only=plan_only,
                           output_dir=output_dir, config_path=config_path, default_branch=default_branch,
                           write_dockerfile=write_dockerfile, build=build, adopt_release=adopt_release)

    def open_host() -> ReleaseHost:
        ctx.require_repo()
        ctx.require_token()
        if ctx.forge == "gitlab":
            return GitLabReleases(ctx.client(), ctx.require_project(), path=ctx.repo, log=log)
        return Releases(ctx.client(), ctx.require_repo(), log=log)

    result = flow.release(repo, request, ctx.ci_run(), open_host=open_host, echo=click.echo, log=log)
    for key, value in result.outputs.items():
        set_output(key, value)
    if result.summary is not None:
        append_summary(result.summary)
