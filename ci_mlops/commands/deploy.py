"""``ci-mlops deploy``: release the model a version tag points at."""

from __future__ import annotations

import os
import re
import tempfile
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
@click.option("--build/--no-build", "build", default=None,
              help="docker target: run docker build/push here. Default: yes outside GitHub Actions, no inside "
                   "(the workflow passes the step outputs to docker/build-push-action).")
def command(tag_opt: str | None, target: str | None, dry_run: bool, plan_only: bool, output_dir: Path | None,
            config_path: Path | None, repo_opt: str | None, write_dockerfile: bool, build: bool | None) -> None:
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
    refused and never overwritten.

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
    from ci_mlops.deploy.tags import parse_tag
    from ci_mlops.git import Repo
    from ci_mlops.github.actions import set_output
    from ci_mlops.github.context import GitHubContext

    repo = Repo.discover(".")
    root = repo.root
    config = load_config(config_path or find_config(root))
    ctx = GitHubContext.from_env(repo=repo_opt)
    tag = parse_tag(bundle_mod.tag_from_env(tag_opt, dict(os.environ)))
    target = target or config.get("deploy", "target") or "github-release"
    model = bundle_mod.model_name(tag, config, ctx.repo, root)
    environment = bundle_mod.environment_for(tag, config)

    if not tag.releases:
        verb = {"deregister": f"deregisters {model} v{tag.version}", "unassign": f"unassigns stage '{tag.stage}' of {model}",
                "deprecate": f"deprecates {model}"}[tag.kind]
        click.echo(f"tag '{tag.raw}' {verb}: nothing to release")
        for key, value in {"tag": tag.raw, "model": model, "release": "false", "environment": environment}.items():
            set_output(key, value)
        return

    if plan_only:
        version = tag.version
        if tag.stage:
            commit = repo.try_rev_parse(f"refs/tags/{tag.raw}")
            at_commit = bundle_mod.parse_all(repo.git("tag", "--points-at", commit).splitlines()) if commit else []
            version = bundle_mod.stage_version(tag, at_commit)
        facts = {"tag": tag.raw, "kind": tag.kind, "model": model, "version": version or "", "stage": tag.stage or "",
                 "environment": environment, "prerelease": str(tag.prerelease).lower(), "target": target,
                 "release": "true"}
        for key, value in facts.items():
            click.echo(f"{key}={value}")
            set_output(key, value)
        return

    if target == "github-release" and not dry_run:
        ctx.require_repo()
        ctx.require_token()

    out_dir = output_dir or _default_out_dir(tag.raw)
    log = lambda message: click.echo(f"ci-mlops: {message}", err=True)  # noqa: E731
    bundle = bundle_mod.prepare(root, config, tag, out_dir=out_dir.resolve(), repository=ctx.repo, actor=ctx.actor,
                                run_url=ctx.run_url, server_url=ctx.server_url, log=log)

    click.echo(f"{bundle.title}: tag {tag.raw} at {bundle.commit[:12]}, environment {bundle.environment}")
    for art in bundle.artifacts:
        click.echo(f"  artifact {art.path}  {art.size} bytes  sha256 {art.sha256}  md5 {art.md5} ({art.source})")
    _echo_gates(bundle.gates)
    if bundle.failed_gates:
        from ci_mlops.errors import CheckFailed

        names = ", ".join(sorted({str(g.get("metric")) for g in bundle.failed_gates}))
        raise CheckFailed(f"{len(bundle.failed_gates)} quality gate(s) failed at {tag.raw} ({names}); nothing was released")

    outputs = {"tag": tag.raw, "model": bundle.model, "version": bundle.version or "", "stage": bundle.stage or "",
               "environment": bundle.environment, "prerelease": str(bool(bundle.lineage.get("prerelease"))).lower(),
               "release": "true", "output-dir": str(bundle.out_dir), "lineage": str(bundle.paths["lineage"]),
               "model-card": str(bundle.paths["card"])}

    if target == "github-release":
        outputs.update(_github_release(bundle, config, ctx, dry_run=dry_run, log=log))
    elif target == "docker":
        outputs.update(_docker(bundle, config, ctx, root, dry_run=dry_run, write_dockerfile=write_dockerfile,
                               build=build))
    elif target == "custom":
        _custom(bundle, config, root, dry_run=dry_run)
    click.echo(f"model card: {bundle.paths['card']}")
    click.echo(f"lineage:    {bundle.paths['lineage']}")
    for key, value in outputs.items():
        set_output(key, value)
    _summary(bundle, target, outputs, dry_run)


def _default_out_dir(tag: str) -> Path:
    base = Path(os.environ["RUNNER_TEMP"]) / "ci-mlops" if os.environ.get("RUNNER_TEMP") else \
        Path(tempfile.gettempdir()) / "ci-mlops"
    return base / "release" / re.sub(r"[^A-Za-z0-9._-]+", "_", tag)


def _echo_gates(gates: list[dict]) -> None:
    for gate in gates:
        mark = "pass" if gate.get("passed") else ("skip" if gate.get("skipped") else "FAIL")
        click.echo(f"  gate {mark}: {gate.get('metric')} {gate.get('rule')}: {gate.get('message', '')}")


def _assets(bundle) -> list:
    from ci_mlops.deploy.release import Asset
    from ci_mlops.fsutil import sha256_file

    assets = [Asset(a.name, a.file, a.sha256, a.size) for a in bundle.artifacts]
    for name, key in (("model-card.md", "card"), ("lineage.json", "lineage")):
        path = bundle.paths[key]
        assets.append(Asset(name, path, sha256_file(path), path.stat().st_size))
    names = [a.name for a in assets]
    duplicate = {n for n in names if names.count(n) > 1}
    if duplicate:
        from ci_mlops.errors import UserError

        raise UserError(f"artifact name {sorted(duplicate)[0]} clashes with a release file; rename the artifact")
    return assets


def _github_release(bundle, config, ctx, *, dry_run: bool, log) -> dict[str, str]:
    from ci_mlops.deploy import bundle as bundle_mod
    from ci_mlops.deploy.release import AssetConflict, Releases, lineage_from_release

    draft = bool(config.get("deploy", "draft"))
    prerelease = bool(bundle.lineage.get("prerelease"))
    if dry_run:
        where = ctx.repo or "(GITHUB_REPOSITORY not set)"
        click.echo(f"dry run: would create or finish the {'draft ' if draft else ''}"
                   f"{'pre-release' if prerelease else 'release'} '{bundle.title}' for {bundle.tag.raw} on {where} with:")
        for asset in _assets(bundle):
            click.echo(f"  {asset.name}  {asset.size} bytes  sha256 {asset.sha256}")
        click.echo(f"release notes: {bundle.paths['notes']}")
        return {}
    client = ctx.client()
    releases = Releases(client, ctx.require_repo(), log=log)
    existing = releases.find(bundle.tag.raw)
    if existing is not None:
        earlier = lineage_from_release(releases.read_asset(existing, "lineage.json"))
        if earlier is not None and not bundle_mod.adopt(bundle, earlier, config, server_url=ctx.server_url):
            raise AssetConflict(
                f"release {bundle.tag.raw} already exists with a lineage.json for other content "
                f"(commit {str(earlier.get('commit'))[:12]} or different artifact hashes); nothing was changed: "
                "delete the release on GitHub and re-run, or release a new tag")
    outcome = releases.publish(bundle.tag.raw, title=bundle.title, body=bundle.notes, prerelease=prerelease,
                               draft=draft, assets=_assets(bundle), release=existing)
    state = "published" if outcome.published else "saved as a draft"
    kept = f", kept {len(outcome.kept)} already uploaded" if outcome.kept else ""
    click.echo(f"release {bundle.tag.raw} {state}: {outcome.url} "
               f"(uploaded {len(outcome.uploaded)} asset(s){kept})")
    return {"release-url": outcome.url, "release-id": str(outcome.release.get("id", ""))}


def _docker(bundle, config, ctx, root: Path, *, dry_run: bool, write_dockerfile: bool, build: bool | None) -> dict[str, str]:
    import shutil

    from ci_mlops.deploy.bundle import lineage_digest
    from ci_mlops.deploy.targets import docker_commands, docker_plan, dockerfile_text, run_docker
    from ci_mlops.fsutil import atomic_write

    plan = docker_plan(config, bundle.lineage, repository=ctx.repo, server_url=ctx.server_url,
                       lineage_sha256=lineage_digest(bundle))
    dockerfile = root / plan.dockerfile
    if write_dockerfile and not dockerfile.exists():
        atomic_write(dockerfile, dockerfile_text([a.path for a in bundle.artifacts]))
        click.echo(f"wrote {plan.dockerfile}")
    # The image carries the lineage and card: put them in the build context.
    release_dir = root / plan.context / ".ci-mlops" / "release"
    release_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle.paths["lineage"], release_dir / "lineage.json")
    shutil.copyfile(bundle.paths["card"], release_dir / "model-card.md")
    commands = docker_commands(plan)
    run_here = (not ctx.in_actions) if build is None else build
    if dry_run or not run_here:
        prefix = "dry run: would run" if dry_run else "image (build it with docker/build-push-action):"
        click.echo(prefix)
        for cmd in commands:
            click.echo("  " + " ".join(_quote(c) for c in cmd))
    else:
        run_docker(plan, root)
        click.echo(f"pushed {', '.join(plan.tags)}")
    return plan.outputs()


def _custom(bundle, config, root: Path, *, dry_run: bool) -> None:
    from ci_mlops.deploy.targets import custom_env, run_custom

    env = custom_env(model_paths=[a.file for a in bundle.artifacts], version=bundle.version, stage=bundle.stage,
                     tag=bundle.tag.raw, model=bundle.model, lineage_path=bundle.paths["lineage"],
                     card_path=bundle.paths["card"], commit=bundle.commit)
    command_text = config.get("deploy", "command")
    if dry_run:
        click.echo(f"dry run: would run `{command_text}` with:")
        for key, value in env.items():
            click.echo(f"  {key}={value}")
        return
    click.echo(f"running deploy command: {command_text}")
    run_custom(command_text, env, root)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _summary(bundle, target: str, outputs: dict[str, str], dry_run: bool) -> None:
    from ci_mlops.github.actions import append_summary

    lines = [f"### {'Dry run: ' if dry_run else ''}{bundle.title} ({target})", ""]
    if outputs.get("release-url"):
        lines += [f"Release: {outputs['release-url']}", ""]
    lines += ["| Artifact | Size | SHA-256 |", "|---|---|---|"]
    lines += [f"| `{a.path}` | {a.size} | `{a.sha256}` |" for a in bundle.artifacts]
    append_summary("\n".join(lines) + "\n")
