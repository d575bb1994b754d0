"""Which settings a release follows, and from where.

A tag can point at any commit, and whoever pushes it chose that commit's files. So
the settings that decide *where* and *whether* a model is released come from the
repository's default branch (normally protected by reviews), never from the tagged
commit:

* the stage allow-list: ``deploy.stages`` in ``.ci-mlops.yml``, else GTO's ``stages``
  in ``.gto`` (a stage tag outside it is refused before any job with secrets runs);
* ``deploy.environment``, ``deploy.target``, ``deploy.draft``, ``deploy.docker``,
  ``deploy.command`` and the quality gates (``metrics:``).

What the release *is* comes from the tag: ``deploy.artifacts``, ``deploy.name``,
``model_card``, ``report``, so the model card and lineage are a function of the tag
and its commit. ``--config FILE`` replaces the default branch's file (for local runs).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

from ci_mlops.config import CONFIG_NAME, Config, load_config
from ci_mlops.config.records import Deploy
from ci_mlops.deploy.artifacts import config_at
from ci_mlops.deploy.registry import GTO_CONFIG, gto_stages
from ci_mlops.deploy.tags import Tag
from ci_mlops.errors import UserError
from ci_mlops.git import BlobReader, Repo
from ci_mlops.safeload import JsonValue

DECISION_KEYS = ("environment", "target", "draft", "docker", "command", "stages")  # under deploy:
CONTENT_DEPLOY_KEYS = ("artifacts", "name")


@dataclass
class Settings:
    """The merged config a release uses, and where its decisions came from."""

    config: Config
    source: str  # e.g. ".ci-mlops.yml on main (origin/main)"
    stages: dict[str, str] | None  # stage -> GitHub environment; None when nothing declares stages
    stages_source: str
    differs: list[str]  # decision keys whose value at the tag differs from the one followed

    def environment(self, tag: Tag) -> str:
        """The GitHub environment of the release job; UserError for a stage outside the allow-list."""
        if not tag.stage:
            return (self.config.settings.deploy or Deploy()).environment or Deploy.environment
        if self.stages is None:
            raise UserError(
                f"tag '{tag.raw}' assigns stage '{tag.stage}', but no stages are allowed: list them under "
                f"deploy.stages in .ci-mlops.yml (or stages: in .gto) on the default branch ({self.source}); "
                "nothing was released")
        if tag.stage not in self.stages:
            allowed = ", ".join(sorted(self.stages)) or "none"
            raise UserError(
                f"tag '{tag.raw}' assigns stage '{tag.stage}', which is not an allowed stage (allowed: {allowed}; "
                f"from {self.stages_source}); nothing was released")
        return self.stages[tag.stage]


def default_branch_ref(repo: Repo, branch: str | None, event_branch: str | None) -> tuple[str, str]:
    """(ref, branch name) of the default branch: ``--default-branch``, else the push event's
    ``repository.default_branch`` (``event_branch``), else origin's HEAD / main / master; origin's copy preferred."""
    name = branch or event_branch or repo.default_branch()
    guesses = [name] if branch or name == event_branch else [name, "main", "master"]
    for candidate in dict.fromkeys(guesses):
        for ref in (f"refs/remotes/origin/{candidate}", f"refs/heads/{candidate}"):
            if repo.try_rev_parse(f"{ref}^{{commit}}"):
                return ref, candidate
    raise UserError(f"cannot read the default branch '{name}' (neither origin/{name} nor a local {name}); "
                    "check out with `fetch-depth: 0` in actions/checkout, or pass --default-branch")


def load_settings(repo: Repo, reader: BlobReader, commit: str, label: str, *, config_path: Path | None = None,
                  default_branch: str | None = None, event_branch: str | None = None) -> Settings:
    """The settings for releasing ``commit`` (the tag's): decisions from the default branch (or
    ``config_path``), content from the tag. ``event_branch``: the default branch the CI run's event names."""
    tag_config = config_at(reader, commit, label)
    if config_path is not None:
        base = load_config(config_path, required=True)
        source = str(config_path)
        gto = None
        gto_label = ""
    else:
        ref, name = default_branch_ref(repo, default_branch, event_branch)
        short = ref.removeprefix("refs/remotes/").removeprefix("refs/heads/")
        base_commit = repo.rev_parse(f"{ref}^{{commit}}")
        base = config_at(reader, base_commit, f"{name} ({short})")
        source = f"{CONFIG_NAME} on {name} ({short})"
        gto_label = f"{name} ({short})"
        gto = gto_stages(lambda path: reader.read(base_commit, path), gto_label)

    # Which file each key comes from is a question about the files, so they merge as written.
    data = copy.deepcopy(dict(tag_config.written))
    deploy = {k: v for k, v in _section(base, "deploy").items() if k not in CONTENT_DEPLOY_KEYS}
    deploy.update({k: v for k, v in _section(tag_config, "deploy").items() if k in CONTENT_DEPLOY_KEYS})
    data["deploy"] = copy.deepcopy(deploy)
    data["metrics"] = copy.deepcopy(base.written.get("metrics"))
    config = Config(data, base.file)

    stages_decl = base.settings.deploy.stages if base.settings.deploy else None
    if stages_decl is not None:
        stages = dict(stages_decl)
        stages_source = f"deploy.stages in {source}"
    elif gto is not None:
        stages = {s: s for s in gto}
        stages_source = f"stages in {GTO_CONFIG} on {gto_label}"
    else:
        stages, stages_source = None, "nothing"
    tag_deploy, base_deploy = _section(tag_config, "deploy"), _section(base, "deploy")
    differs = [f"deploy.{k}" for k in DECISION_KEYS if _canon(tag_deploy.get(k)) != _canon(base_deploy.get(k))]
    if _canon(tag_config.written.get("metrics")) != _canon(base.written.get("metrics")):
        differs.append("metrics")
    return Settings(config=config, source=source, stages=stages, stages_source=stages_source, differs=differs)


def _section(config: Config, key: str) -> dict[str, JsonValue]:
    """A top-level section as the file writes it (empty when absent)."""
    section = config.written.get(key)
    return section if isinstance(section, dict) else {}


def _canon(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True, default=str)
