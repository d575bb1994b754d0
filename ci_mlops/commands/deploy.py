"""``ci-mlops deploy``: release the model a version tag points at."""

from __future__ import annotations

import os
from pathlib import Path

import click

TARGET_CHOICES = ("github-release", "docker", "custom", "none")


@click.command("deploy")
@click.option("--tag", "tag_opt", metavar="TAG",
              help="Tag to release. Default: GITHUB_REF / GITHUB_REF_NAME of a tag-push run.")
@click.option("--target", type=click.Choice(TARGET_CHOICES),
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
              help="Config file. Default: .ci-mlops.yml at the repository root.")
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
            config_path: Path | None, repo_opt: str | None, write_dockerfile: bool, build: bool | None,
            adopt_release: bool) -> None:
    """Release the model for a version tag, with a model card and a lineage record.

    TAG is vX.Y.Z (SemVer), NAME@vX.Y.Z (register a version of model NAME) or
    NAME#STAGE#N (assign STAGE; the release job runs in the GitHub environment
    named after the stage). Deregistration tags (NAME@vX.Y.Z!, NAME#STAGE!#N,
    NAME@deprecated) are recognised and release nothing.

    The artifacts (deploy.artifacts, else dvc.yaml `artifacts:`, else DVC outputs
    under models/) are checked against dvc.lock at the tag, pulled from the DVC
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
    command failed, 2 bad tag/config/artifacts or a conflicting release,
    3 GitHub kept failing.
    """
    from ci_mlops.config import find_config, load_config
    from ci_mlops.deploy import bundle as bundle_mod
    from ci_mlops.deploy import facts, publish
    from ci_mlops.deploy.tags import parse_tag
    from ci_mlops.errors import CheckFailed
    from ci_mlops.git import Repo
    from ci_mlops.github.actions import append_summary, set_output
    from ci_mlops.github.context import GitHubContext

    repo = Repo.discover(".")
    root = repo.root
    config = load_config(config_path or find_config(root), required=config_path is not None)
    ctx = GitHubContext.from_env(repo=repo_opt)
    tag = parse_tag(bundle_mod.tag_from_env(tag_opt, dict(os.environ)))
    target = target or config.get("deploy", "target") or "github-release"
    model = bundle_mod.model_name(tag, config, ctx.repo, root)
    environment = bundle_mod.environment_for(tag, config)

    if not tag.releases:
        line, outputs = facts.no_release(tag, model, environment)
        click.echo(line)
        for key, value in outputs.items():
            set_output(key, value)
        return
    if plan_only:
        for key, value in facts.tag_facts(repo, tag, model=model, environment=environment, target=target).items():
            click.echo(f"{key}={value}")
            set_output(key, value)
        return

    if target == "github-release" and not dry_run:
        ctx.require_repo()
        ctx.require_token()
    log = lambda message: click.echo(f"ci-mlops: {message}", err=True)  # noqa: E731
    out_dir = output_dir or publish.default_out_dir(tag.raw)
    bundle = bundle_mod.prepare(root, config, tag, out_dir=out_dir.resolve(), repository=ctx.repo, actor=ctx.actor,
                                run_url=ctx.run_url, server_url=ctx.server_url, log=log)
    for line in facts.bundle_lines(bundle):
        click.echo(line)
    failure = facts.gate_failure(bundle)
    if failure:
        raise CheckFailed(failure)

    outputs = facts.bundle_outputs(bundle)
    outputs.update(publish.publish(bundle, config, ctx, root, target, dry_run=dry_run,
                                   write_dockerfile=write_dockerfile, build=build, echo=click.echo, log=log,
                                   adopt_release=adopt_release))
    click.echo(f"model card: {bundle.paths['card']}")
    click.echo(f"lineage:    {bundle.paths['lineage']}")
    for key, value in outputs.items():
        set_output(key, value)
    append_summary(facts.summary_markdown(bundle, target, outputs, dry_run))
