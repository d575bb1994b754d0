"""``ci-mlops init --ci gitlab``: the GitLab CI/CD configuration, as a file the user includes.

The pipeline lives in ``.gitlab/ci-mlops.yml`` and the user's ``.gitlab-ci.yml`` includes
it (``include: - local:``), so their own pipeline stays theirs: an existing
``.gitlab-ci.yml`` is never written; a missing one is created with just the include.
The same rules as the GitHub workflows: images pinned by digest, never clobber, the
three-way merge of a re-generation into the user's edits (manifest ``.gitlab/ci-mlops.lock``).
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from ci_mlops.config import Config
from ci_mlops.config.records import GitLab
from ci_mlops.errors import UserError
from ci_mlops.scaffold.plan import PlannedFile
from ci_mlops.scaffold.render import no_expression, render, shell_quote

PIPELINE = ".gitlab/ci-mlops.yml"
MANIFEST = ".gitlab/ci-mlops.lock"
USER_PIPELINE = ".gitlab-ci.yml"
TEMPLATE = "gitlab/ci-mlops.yml.j2"
TEMPLATE_VERSION = 1
IMAGES_PATH = Path(__file__).with_name("gitlab-images.json")
CIS = ("github", "gitlab")


@lru_cache(maxsize=1)
def image_pins() -> dict[str, str]:
    data = json.loads(IMAGES_PATH.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k != "comment"}


def pinned_python(version: str, what: str) -> str:
    """``python:X.Y-slim@sha256:...`` from the packaged pins; UserError naming the key to set when none."""
    name = f"python:{version}-slim"
    digest = image_pins().get(name)
    if digest is None:
        known = ", ".join(sorted(image_pins()))
        raise UserError(f"no pinned image for Python {version} ({known} are): set {what} in .ci-mlops.yml to an "
                        f"image pinned by digest, e.g. {name}@sha256:<digest from `docker buildx imagetools "
                        f"inspect {name}`>")
    return f"{name}@{digest}"


def resolve_ci(option: str | None, root: Path) -> str:
    """``--ci``, else GitLab when the repository looks like a GitLab project, else GitHub.

    GitLab: a ``.gitlab-ci.yml`` or an ``origin`` remote on a GitLab host, and no GitHub workflows.
    """
    if option:
        return option
    if (root / ".github" / "workflows").is_dir() or (root / ".github" / "ci-mlops.lock").exists():
        return "github"
    if (root / USER_PIPELINE).exists() or (root / MANIFEST).exists():
        return "gitlab"
    proc = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True)
    url = proc.stdout.strip().lower() if proc.returncode == 0 else ""
    host = re.sub(r"^[a-z+]+://", "", url).split("@")[-1].split("/")[0].split(":")[0]
    return "gitlab" if "gitlab" in host else "github"


def gitlab_context(wf: dict[str, Any], config: Config) -> dict[str, Any]:
    """What the GitLab template reads beyond the workflow context ``wf``."""
    section = config.settings.gitlab or GitLab()
    image = section.image or pinned_python(str(wf["python"]), "gitlab.image")
    tool_image = section.tool_image or pinned_python(str(wf["tool"]["python"]), "gitlab.tool_image")
    setup = []
    if wf["install"]:
        setup.append(wf["install"])
    if wf["project"]["env_dir"]:
        setup.append(f'export PATH="$CI_PROJECT_DIR/{wf["project"]["env_dir"]}/bin:$PATH"')
    if wf["project"]["dvc_install"]:
        setup.append(wf["project"]["dvc_install"])

    for line in setup:
        no_expression(line)
    remote = wf["dvc"]["remote"]
    target = wf["deploy"]["target"]
    return {
        "path": PIPELINE,
        "template_version": TEMPLATE_VERSION,
        "image": image,
        "tool_image": tool_image,
        "tags": list(section.tags or ()),
        "tool_requirements": wf["tool"]["requirements"],
        "project_setup": setup,
        "remote_flag": f" --remote {shell_quote(remote)}" if remote else "",
        "deploy_flag": " --target gitlab-release" if target in ("github-release", "gitlab-release") else "",
    }


def plan_gitlab(wf: dict[str, Any], config: Config, root: Path) -> list[PlannedFile]:
    files = [PlannedFile(PIPELINE, render(TEMPLATE, {"wf": wf, "gl": gitlab_context(wf, config)}), TEMPLATE)]
    if not (root / USER_PIPELINE).exists():
        files.append(PlannedFile(USER_PIPELINE, user_pipeline(), "gitlab-ci.yml", managed=False))
    return files


def user_pipeline() -> str:
    return ("# Your pipeline. ci-mlops' jobs come from the included file, which `ci-mlops init --ci gitlab`\n"
            "# keeps up to date; add your own jobs below.\n"
            f"include:\n  - local: {PIPELINE}\n")


def includes_ours(root: Path) -> bool:
    """Whether the user's .gitlab-ci.yml names the generated file (as a local include)."""
    try:
        text = (root / USER_PIPELINE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return PIPELINE in text or PIPELINE.lstrip(".") in text


def next_steps(wf: dict[str, Any], root: Path, written_user_pipeline: bool) -> list[str]:
    steps = []
    if not written_user_pipeline and not includes_ours(root):
        steps.append(f"add to your {USER_PIPELINE}: `include: [{{local: {PIPELINE}}}]`")
    steps.append("create a project access token (role Developer, scope api) and store it as the masked CI/CD "
                 "variable CI_MLOPS_TOKEN, not protected (Settings > CI/CD > Variables)")
    secrets = wf["dvc"]["secrets"]
    if secrets and (wf["dvc"]["pull"] or wf["dvc"]["push"]):
        steps.append(f"add the CI/CD variables {', '.join(secrets)} for the DVC remote (the write credentials "
                     "protected, so only default-branch and tag pipelines get them)")
    if wf["deploy"]["target"] != "none":
        steps.append(f"protect the '{wf['deploy']['environment']}' environment and your version tags "
                     "(Settings > CI/CD > Protected environments, Repository > Protected tags)")
    if wf["drift"] is not None:
        steps.append(f"create a pipeline schedule (cron '{wf['drift']['schedule']}', UTC) with the variable "
                     "CI_MLOPS_MONITOR=true (Build > Pipeline schedules)")
    steps.append(f"commit .ci-mlops.yml, {PIPELINE} and open a merge request to see the first report")
    return steps
