"""How a job hands values and text on, per CI: step outputs on GitHub, a dotenv report on GitLab.

* GitHub Actions: :mod:`ci_mlops.github.actions` (``$GITHUB_OUTPUT``, the job summary,
  ``::error`` annotations, ``::add-mask::``).
* GitLab CI/CD: outputs are appended as ``CI_MLOPS_NAME=value`` lines to the file named by
  ``$CI_MLOPS_DOTENV``, which the generated pipeline declares as an
  ``artifacts:reports:dotenv`` report, so later jobs get them as variables. GitLab has no job
  summary: Markdown goes to the job log in a collapsible section (and the commands save it
  as an artifact file). Masking is GitLab's: the token is a masked CI/CD variable.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping

import click

from ci_mlops.forge.ci import detect

DOTENV_VAR = "CI_MLOPS_DOTENV"


def output_name(name: str) -> str:
    """``comment-url`` -> ``CI_MLOPS_COMMENT_URL`` (dotenv keys: letters, digits, underscores)."""
    return "CI_MLOPS_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def set_output(name: str, value: str, env: Mapping[str, str] | None = None) -> None:
    env = os.environ if env is None else env
    if detect(env) != "gitlab":
        from ci_mlops.github import actions

        actions.set_output(name, value)
        return
    path = env.get(DOTENV_VAR)
    if not path:
        return
    value = str(value)
    if "\n" in value or "\r" in value:  # GitLab's dotenv reports hold single-line values only
        value = " ".join(value.split())
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{output_name(name)}={value}\n")


def append_summary(markdown: str, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if detect(env) != "gitlab":
        from ci_mlops.github import actions

        return actions.append_summary(markdown)
    if env.get("GITLAB_CI") != "true":
        return False
    section = f"ci_mlops_report_{int(time.time())}"
    # GitLab's collapsible log sections: https://docs.gitlab.com/ci/jobs/job_logs/#custom-collapsible-sections
    click.echo(f"\x1b[0Ksection_start:{int(time.time())}:{section}[collapsed=true]\r\x1b[0Kci-mlops report")
    click.echo(markdown.rstrip("\n"))
    click.echo(f"\x1b[0Ksection_end:{int(time.time())}:{section}\r\x1b[0K")
    return True


def annotate(level: str, message: str, env: Mapping[str, str] | None = None, **where: object) -> None:
    env = os.environ if env is None else env
    if detect(env) != "gitlab":
        from ci_mlops.github import actions

        actions.annotate(level, message, **where)  # type: ignore[arg-type]
        return
    if env.get("GITLAB_CI") == "true":
        click.echo(f"ci-mlops {level}: {message}", err=True)
