"""Where a release goes besides (or instead of) a GitHub Release.

* ``github-release`` (default): see :mod:`ci_mlops.github.releases`.
* ``docker``: an image with the model in it, tagged with the version (and the stage),
  labelled with its lineage (OCI ``org.opencontainers.image.*`` labels). Outside
  Actions ``docker build`` / ``docker push`` run here; in a workflow the same tags,
  labels, context and Dockerfile become step outputs for the pinned
  ``docker/build-push-action``.
* ``custom``: the user's ``deploy.command``, with the release facts in its environment.
* ``none``: only the model card and lineage record are written.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ci_mlops.config import Config
from ci_mlops.config.records import Deploy, Docker
from ci_mlops.deploy.lineage import Lineage
from ci_mlops.deploy.tags import docker_tag
from ci_mlops.errors import CheckFailed, UserError

TARGETS = ("github-release", "gitlab-release", "docker", "custom", "none")

DOCKERFILE = """\
# Minimal model image written by ci-mlops (init --dockerfile, deploy --write-dockerfile); edit freely.
FROM python:3.11-slim
WORKDIR /app
{copies}COPY .ci-mlops/release/lineage.json .ci-mlops/release/model-card.md /app/
ENV CI_MLOPS_MODEL_PATHS="{paths}"
CMD ["python", "-c", "import json; print(json.load(open('/app/lineage.json'))['tag'])"]
"""


@dataclass
class DockerPlan:
    """Everything an image build needs; the same facts go to ``docker build`` or to step outputs."""

    image: str  # registry/owner/name, lower case
    tags: list[str]  # full references
    labels: dict[str, str] = field(default_factory=dict)
    context: str = Docker.context
    dockerfile: str = Docker.dockerfile

    def outputs(self) -> dict[str, str]:
        return {
            "docker-image": self.image,
            "docker-tags": "\n".join(self.tags),
            "docker-labels": "\n".join(f"{k}={v}" for k, v in sorted(self.labels.items())),
            "docker-context": self.context,
            "docker-dockerfile": self.dockerfile,
        }


def docker_plan(config: Config, lineage: Lineage, *, repository: str | None, server_url: str,
                lineage_sha256: str) -> DockerPlan:
    """Image name, tags and OCI labels for a release (pure)."""
    docker = (config.settings.deploy or Deploy()).docker or Docker()
    registry = (docker.registry or Docker.registry).rstrip("/")
    image = docker.image or repository
    if not image:
        raise UserError("docker target: no image name; set deploy.docker.image in .ci-mlops.yml or GITHUB_REPOSITORY")
    image = f"{registry}/{image}".lower() if registry else image.lower()
    model, version, stage = lineage["model"], lineage.get("version"), lineage.get("stage")
    named = lineage["tag"][:1] != "v" or "@" in lineage["tag"] or "#" in lineage["tag"]
    prefix = f"{model}-" if named else ""
    tags = []
    if version:
        tags.append(docker_tag(prefix + version))
    if stage:
        tags.append(docker_tag(prefix + stage))
    if not tags:
        tags.append(docker_tag(lineage["tag"]))
    labels = {
        "org.opencontainers.image.revision": lineage["commit"],
        "org.opencontainers.image.version": version or lineage["tag"],
        "org.opencontainers.image.created": lineage["created_at"],
        "org.opencontainers.image.title": model,
        "io.ci-mlops.tag": lineage["tag"],
        "io.ci-mlops.lineage.sha256": lineage_sha256,
    }
    if repository:
        labels["org.opencontainers.image.source"] = f"{server_url}/{repository}"
    if stage:
        labels["io.ci-mlops.stage"] = stage
    return DockerPlan(image=image, tags=[f"{image}:{t}" for t in dict.fromkeys(tags)], labels=labels,
                      context=docker.context or Docker.context,
                      dockerfile=docker.dockerfile or Docker.dockerfile)


def docker_commands(plan: DockerPlan, *, push: bool = True) -> list[list[str]]:
    """The ``docker build`` (and ``docker push``) command lines for a plan."""
    build = ["docker", "build", "--file", plan.dockerfile]
    for tag in plan.tags:
        build += ["--tag", tag]
    for key, value in sorted(plan.labels.items()):
        build += ["--label", f"{key}={value}"]
    build.append(plan.context)
    commands = [build]
    if push:
        commands += [["docker", "push", tag] for tag in plan.tags]
    return commands


def run_docker(plan: DockerPlan, root: Path, *, push: bool = True) -> None:
    if not (root / plan.dockerfile).is_file():
        raise UserError(f"{plan.dockerfile}: no such file; write one, or run `ci-mlops deploy --write-dockerfile`")
    for command in docker_commands(plan, push=push):
        try:
            proc = subprocess.run(command, cwd=root)
        except FileNotFoundError:
            raise UserError("docker is not installed or not on PATH (in a workflow, use the step outputs "
                            "with docker/build-push-action)") from None
        if proc.returncode != 0:
            raise CheckFailed(f"`{' '.join(command[:2])}` exited with code {proc.returncode}")


def dockerfile_text(artifact_paths: list[str]) -> str:
    copies = "".join(f"COPY {p} /app/{p}\n" for p in artifact_paths)
    paths = os.pathsep.join(f"/app/{p}" for p in artifact_paths)
    return DOCKERFILE.format(copies=copies, paths=paths)


def custom_env(*, model_paths: list[Path], version: str | None, stage: str | None, tag: str, model: str,
               lineage_path: Path, card_path: Path, commit: str) -> dict[str, str]:
    """The release facts a custom deploy command receives."""
    return {
        "CI_MLOPS_MODEL_PATHS": os.pathsep.join(str(p) for p in model_paths),
        "CI_MLOPS_VERSION": version or "",
        "CI_MLOPS_STAGE": stage or "",
        "CI_MLOPS_TAG": tag,
        "CI_MLOPS_MODEL": model,
        "CI_MLOPS_COMMIT": commit,
        "CI_MLOPS_LINEAGE": str(lineage_path),
        "CI_MLOPS_MODEL_CARD": str(card_path),
    }


def run_custom(command: str | None, env: dict[str, str], root: Path) -> None:
    """Run ``deploy.command`` through the shell in the repo root; its failure is exit 1, naming its code."""
    if not command:
        raise UserError("custom target: set deploy.command in .ci-mlops.yml (the command that deploys the model)")
    proc = subprocess.run(command, shell=True, cwd=root, env={**os.environ, **env})
    if proc.returncode != 0:
        raise CheckFailed(f"deploy command exited with code {proc.returncode}: {command}")
