"""Hand a prepared :class:`~ci_mlops.deploy.bundle.Bundle` to its target (:data:`~ci_mlops.deploy.targets.TARGETS`).

Each target returns its step outputs and reports progress through ``echo`` as it
goes (a custom command's own output follows its "running" line). ``dry_run``
stages and prints everything and publishes nothing.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ci_mlops.config import Config
from ci_mlops.config.records import Deploy
from ci_mlops.deploy.bundle import Bundle
from ci_mlops.deploy.host import Asset, AssetConflict, CiRun, ReleaseHost, lineage_from_release
from ci_mlops.deploy.targets import custom_env, docker_commands, docker_plan, dockerfile_text, run_custom, run_docker
from ci_mlops.errors import UserError
from ci_mlops.fsutil import atomic_write, sha256_file

Echo = Callable[[str], None]


def default_out_dir(tag: str, env: Mapping[str, str] | None = None) -> Path:
    """``$RUNNER_TEMP/ci-mlops/release/TAG``, else the same under the system temp folder."""
    env = os.environ if env is None else env
    base = Path(env["RUNNER_TEMP"]) / "ci-mlops" if env.get("RUNNER_TEMP") else \
        Path(tempfile.gettempdir()) / "ci-mlops"
    return base / "release" / re.sub(r"[^A-Za-z0-9._-]+", "_", tag)


def deliver(bundle: Bundle, config: Config, run: CiRun, root: Path, target: str, *, host: ReleaseHost | None,
            dry_run: bool, write_dockerfile: bool, build: bool | None, echo: Echo,
            adopt_release: bool = False) -> dict[str, str]:
    """Publish to ``target``; the target's step outputs (none for ``custom`` and ``none``).
    ``host`` is where a ``github-release`` goes (None in a dry run)."""
    if target in ("github-release", "gitlab-release"):  # the forge's release, through ``host``
        return github_release(bundle, config, run, host, dry_run=dry_run, echo=echo, adopt=adopt_release)
    if target == "docker":
        return docker(bundle, config, run, root, dry_run=dry_run, write_dockerfile=write_dockerfile, build=build,
                      echo=echo)
    if target == "custom":
        custom(bundle, config, root, dry_run=dry_run, echo=echo)
    return {}


def release_assets(bundle: Bundle) -> list[Asset]:
    """The artifacts plus model-card.md and lineage.json; UserError when two share a name."""
    assets = [Asset(a.name, a.file, a.sha256, a.size) for a in bundle.artifacts]
    for name, key in (("model-card.md", "card"), ("lineage.json", "lineage")):
        path = bundle.paths[key]
        assets.append(Asset(name, path, sha256_file(path), path.stat().st_size))
    names = [a.name for a in assets]
    duplicate = {n for n in names if names.count(n) > 1}
    if duplicate:
        raise UserError(f"artifact name {min(duplicate)} clashes with a release file; rename the artifact")
    return assets


def github_release(bundle: Bundle, config: Config, run: CiRun, host: ReleaseHost | None, *, dry_run: bool,
                   echo: Echo, adopt: bool = False) -> dict[str, str]:
    """Create or finish the release of the tag on ``host``; refuse when an existing one holds other content
    or was not made by ci-mlops (unless ``adopt``)."""
    draft = (config.settings.deploy or Deploy()).draft
    prerelease = bool(bundle.lineage.get("prerelease"))
    if dry_run:
        where = run.repository or "(GITHUB_REPOSITORY not set)"
        echo(f"dry run: would create or finish the {'draft ' if draft else ''}"
             f"{'pre-release' if prerelease else 'release'} '{bundle.title}' for {bundle.tag.raw} on {where} with:")
        for asset in release_assets(bundle):
            echo(f"  {asset.name}  {asset.size} bytes  sha256 {asset.sha256}")
        echo(f"release notes: {bundle.paths['notes']}")
        return {}
    assert host is not None, "a release that is not a dry run needs its host"
    existing = host.find(bundle.tag.raw)
    if existing is not None:
        earlier = lineage_from_release(host.read_asset(existing, "lineage.json"))
        if earlier is not None and not bundle.adopt(earlier, config, server_url=run.server_url):
            raise AssetConflict(
                f"release {bundle.tag.raw} already exists with a lineage.json for other content "
                f"(commit {str(earlier.get('commit'))[:12]} or different artifact hashes); nothing was changed: "
                "delete the release on GitHub and re-run, or release a new tag")
    outcome = host.publish(bundle.tag.raw, title=bundle.title, body=bundle.notes, prerelease=prerelease,
                               draft=draft, assets=release_assets(bundle), release=existing, adopt=adopt)
    state = "published" if outcome.published else "saved as a draft"
    kept = f", kept {len(outcome.kept)} already uploaded" if outcome.kept else ""
    echo(f"release {bundle.tag.raw} {state}: {outcome.url} (uploaded {len(outcome.uploaded)} asset(s){kept})")
    return {"release-url": outcome.url, "release-id": str(outcome.release.get("id", ""))}


def docker(bundle: Bundle, config: Config, run: CiRun, root: Path, *, dry_run: bool, write_dockerfile: bool,
           build: bool | None, echo: Echo) -> dict[str, str]:
    """Stage the build context; build and push here outside CI (or with ``build``), else only print."""
    plan = docker_plan(config, bundle.lineage, repository=run.repository, server_url=run.server_url,
                       lineage_sha256=bundle.lineage_sha256)
    dockerfile = root / plan.dockerfile
    if write_dockerfile and not dockerfile.exists():
        atomic_write(dockerfile, dockerfile_text([a.path for a in bundle.artifacts]))
        echo(f"wrote {plan.dockerfile}")
    # The image carries the lineage and card: put them in the build context.
    release_dir = root / plan.context / ".ci-mlops" / "release"
    release_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle.paths["lineage"], release_dir / "lineage.json")
    shutil.copyfile(bundle.paths["card"], release_dir / "model-card.md")
    commands = docker_commands(plan)
    run_here = (not run.in_ci) if build is None else build
    if dry_run or not run_here:
        echo("dry run: would run" if dry_run else "image (build it with docker/build-push-action):")
        for cmd in commands:
            echo("  " + " ".join(shlex.quote(c) for c in cmd))
    else:
        run_docker(plan, root)
        echo(f"pushed {', '.join(plan.tags)}")
    return plan.outputs()


def custom(bundle: Bundle, config: Config, root: Path, *, dry_run: bool, echo: Echo) -> None:
    """Run ``deploy.command`` with the release facts in its environment."""
    env = custom_env(model_paths=[a.file for a in bundle.artifacts], version=bundle.version, stage=bundle.stage,
                     tag=bundle.tag.raw, model=bundle.model, lineage_path=bundle.paths["lineage"],
                     card_path=bundle.paths["card"], commit=bundle.commit)
    command_text = (config.settings.deploy or Deploy()).command
    if dry_run:
        echo(f"dry run: would run `{command_text}` with:")
        for key, value in env.items():
            echo(f"  {key}={value}")
        return
    echo(f"running deploy command: {command_text}")
    run_custom(command_text, env, root)
