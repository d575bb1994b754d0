"""The release of one tag, start to end: the one flow behind ``ci-mlops deploy``.

1. parse the tag (:mod:`~ci_mlops.deploy.tags`) and find its commit, model and version;
2. read the settings that decide where and whether (:mod:`~ci_mlops.deploy.settings`,
   from the default branch);
3. stop early for a tag that releases nothing, or with ``--plan`` print the tag's facts;
4. prepare the bundle: verified artifacts, gates, notes, card, lineage
   (:mod:`~ci_mlops.deploy.bundle`); a failed gate stops here;
5. hand it to its target (:mod:`~ci_mlops.deploy.deliver`), the forge's releases among them.

The forge comes in from outside as a :class:`~ci_mlops.deploy.host.CiRun` and a function
opening its :class:`~ci_mlops.deploy.host.ReleaseHost`, so this package never imports one.
Progress goes to ``echo`` (stdout) and ``log`` (stderr) as it happens; the step outputs
and the job summary come back in the :class:`Result`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ci_mlops.config.records import Deploy
from ci_mlops.deploy import facts
from ci_mlops.deploy.artifacts import NoArtifacts, expected_at
from ci_mlops.deploy.bundle import prepare
from ci_mlops.deploy.deliver import default_out_dir, deliver
from ci_mlops.deploy.host import CiRun, ReleaseHost
from ci_mlops.deploy.settings import load_settings
from ci_mlops.deploy.tags import meant_as_release, model_name, parse_tag, tag_commit
from ci_mlops.dvc.project import load_project
from ci_mlops.errors import CheckFailed, UserError
from ci_mlops.git import BlobReader, Repo

Echo = Callable[[str], None]
DEFAULT_TARGET = Deploy.target
FORGE_RELEASES = ("github-release", "gitlab-release")  # targets that publish through the forge's ReleaseHost


@dataclass(frozen=True)
class Request:
    """What was asked for (the command line, with the tag already taken from the run when not given)."""

    tag: str
    target: str | None = None  # None: deploy.target, else github-release
    dry_run: bool = False
    plan_only: bool = False
    output_dir: Path | None = None
    config_path: Path | None = None
    default_branch: str | None = None
    write_dockerfile: bool = False
    build: bool | None = None
    adopt_release: bool = False


@dataclass
class Result:
    """The step outputs to set and the job summary to append (None when nothing was prepared)."""

    outputs: dict[str, str] = field(default_factory=dict)
    summary: str | None = None


def release(repo: Repo, request: Request, run: CiRun, *, open_host: Callable[[], ReleaseHost],
            echo: Echo, log: Echo) -> Result:
    """Release ``request.tag``; raises CheckFailed for a failed gate, UserError for bad input.

    ``open_host`` is called before anything is prepared, and only when the release goes to
    the forge for real, so a missing token fails fast."""
    root = repo.root
    try:
        tag = parse_tag(request.tag)
    except UserError:
        if not (request.plan_only and not meant_as_release(request.tag)):
            raise
        return _nothing(facts.nothing_to_release(request.tag.removeprefix("refs/tags/"),
                                                 "not a release tag (vX.Y.Z or a GTO registry tag)"), echo)
    commit = tag_commit(repo, tag)
    with BlobReader(root) as reader:
        settings = load_settings(repo, reader, commit, tag.raw, config_path=request.config_path,
                                 default_branch=request.default_branch, event_branch=run.default_branch)
        if settings.differs:
            log(f"{', '.join(settings.differs)} at {tag.raw} differ from {settings.source}; "
                f"the release follows {settings.source}")
        config = settings.config
        deploy = config.settings.deploy or Deploy()
        target = request.target or deploy.target
        model = model_name(tag, config, run.repository, root)
        if not tag.releases:
            line, outputs = facts.no_release(tag, model, deploy.environment or Deploy.environment)
            echo(line)
            return Result(outputs)
        environment = settings.environment(tag)  # refuses a stage outside the allow-list
        if request.plan_only:
            project = load_project(root, rev=commit, reader=reader)
            try:
                expected, origin = expected_at(project, config, tag, set(repo.ls_files(commit)), reader, commit,
                                               tag.raw)
            except NoArtifacts:
                return _nothing(facts.nothing_to_release(
                    tag.raw, "no model at the tag (no deploy.artifacts, no artifacts in dvc.yaml or artifacts.yaml, "
                             "no DVC outputs under models/)"), echo)
            outputs = facts.tag_facts(repo, tag, commit, model=model, environment=environment, target=target,
                                      artifacts=list(expected), origin=origin)
            for key, value in outputs.items():
                echo(f"{key}={value}")
            return Result(outputs)

    host = open_host() if target in FORGE_RELEASES and not request.dry_run else None
    out_dir = request.output_dir or default_out_dir(tag.raw)
    bundle = prepare(root, settings, tag, out_dir=out_dir.resolve(), repository=run.repository, actor=run.actor,
                     run_url=run.run_url, server_url=run.server_url, log=log)
    for line in facts.bundle_lines(bundle):
        echo(line)
    failure = facts.gate_failure(bundle)
    if failure:
        raise CheckFailed(failure)
    outputs = facts.bundle_outputs(bundle)
    outputs.update(deliver(bundle, config, run, root, target, host=host, dry_run=request.dry_run,
                           write_dockerfile=request.write_dockerfile, build=request.build, echo=echo,
                           adopt_release=request.adopt_release))
    echo(f"model card: {bundle.paths['card']}")
    echo(f"lineage:    {bundle.paths['lineage']}")
    return Result(outputs, facts.summary_markdown(bundle, target, outputs, request.dry_run))


def _nothing(answer: tuple[str, dict[str, str]], echo: Echo) -> Result:
    line, outputs = answer
    echo(line)
    return Result(outputs)
