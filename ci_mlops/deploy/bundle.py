"""Prepare a release: from a tag to verified artifacts, gate verdicts, notes, card and lineage.

Nothing here publishes anything; :mod:`ci_mlops.deploy.deliver` hands the
:class:`Bundle` to a target. Reading is done at the tagged commit (``dvc.lock``,
metrics, params through git), so a tag can be released from any checkout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.checks import run_gates, run_slices, slices_markdown
from ci_mlops.checks.render import report_markdown
from ci_mlops.config import Config
from ci_mlops.config.records import ModelCard
from ci_mlops.deploy import lineage as lineage_mod
from ci_mlops.deploy.artifacts import ReleasedFile, expected_at, materialize
from ci_mlops.deploy.host import release_body
from ci_mlops.deploy.lineage import Dependency, GateRecord, Lineage
from ci_mlops.deploy.model_card import render_model_card
from ci_mlops.deploy.origin import retrained_from
from ci_mlops.deploy.settings import Settings as ReleaseSettings
from ci_mlops.deploy.tags import (
    Tag,
    is_prerelease,
    model_name,
    parse_all,
    previous_tag,
    release_version,
    tag_commit,
    tags_at,
)
from ci_mlops.dvc.project import DvcProject, load_project
from ci_mlops.errors import UserError
from ci_mlops.fsutil import atomic_write, sha256_file
from ci_mlops.git import BlobReader, Repo
from ci_mlops.report import build_report, render_markdown

if TYPE_CHECKING:
    from ci_mlops.checks.records import GateResult
    from ci_mlops.report.document import ReportDocument


@dataclass
class Bundle:
    """A release ready to publish: files staged in ``out_dir``."""

    tag: Tag
    commit: str
    model: str
    version: str | None
    stage: str | None
    environment: str
    artifacts: list[ReleasedFile]
    lineage: Lineage
    card: str
    notes: str
    gates: list[GateResult]
    previous: str | None
    out_dir: Path
    slices: str | None = None  # slice/fairness Markdown for the card
    changes: str | None = None  # diff against the previous release, for the card
    paths: dict[str, Path] = field(default_factory=dict)  # "lineage", "card", "notes"

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.get("passed") and not g.get("skipped")]

    @property
    def title(self) -> str:
        text = f"{self.model} v{self.version}" if self.version else self.model
        if self.stage:
            text += f" → {self.stage}" + (f" (#{self.tag.number})" if self.tag.number is not None else "")
        return text

    @property
    def lineage_sha256(self) -> str:
        return sha256_file(self.paths["lineage"])

    def adopt(self, earlier: Lineage, config: Config, *, server_url: str) -> bool:
        """Take the lineage of an earlier attempt at this release when it describes the same model.

        Returns False (and changes nothing) when the earlier record is for another commit
        or other artifact bytes; the caller then reports the conflict.
        """
        def identity(record: Lineage) -> tuple[object, ...]:
            return (record.get("commit"), record.get("tag"),
                    sorted((a.get("path"), a.get("sha256")) for a in record.get("artifacts") or []))

        if identity(earlier) != identity(self.lineage):
            return False
        self.write(card=render_card(self, config, server_url=server_url, lineage=earlier), lineage=earlier)
        return True

    def write(self, card: str | None = None, lineage: Lineage | None = None) -> None:
        """(Re)write model-card.md, lineage.json and release-notes.md into ``out_dir``."""
        if card is not None:
            self.card = card
        if lineage is not None:
            self.lineage = lineage
        self.paths = {"lineage": self.out_dir / "lineage.json", "card": self.out_dir / "model-card.md",
                      "notes": self.out_dir / "release-notes.md"}
        atomic_write(self.paths["lineage"], lineage_mod.dumps(self.lineage))
        atomic_write(self.paths["card"], self.card)
        atomic_write(self.paths["notes"], self.notes)


def tag_time(repo: Repo, tag: Tag) -> str:
    """When the tag was made, UTC: an annotated tag's date, else its commit's. A function of the tag,
    so every attempt at a release writes the same lineage and model card."""
    stamp = repo.git("for-each-ref", f"refs/tags/{tag.raw}", "--format=%(creatordate:unix)").strip()
    when = datetime.fromtimestamp(int(stamp.splitlines()[0]), tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def release_values(report: ReportDocument, project: DvcProject) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The metrics and params a release records, by file then key: the report's head values
    (params: dvc.lock's, when it records any). ``audit verify`` recomputes them the same way."""
    metrics: dict[str, dict[str, Any]] = {}
    for row in report.get("metrics", []):
        if row.get("head") is not None:
            metrics.setdefault(row["file"], {})[row["key"]] = row["head"]
    params: dict[str, dict[str, Any]] = {f: dict(v) for f, v in (project.lock_params or {}).items()}
    if not params:
        for param in report.get("params", []):
            if param.get("head") is not None:
                params.setdefault(param["file"], {})[param["key"]] = param["head"]
    return metrics, params


def prepare(root: Path, settings: ReleaseSettings, tag: Tag, *, out_dir: Path, repository: str | None = None,
            actor: str | None = None, run_url: str | None = None, server_url: str = "https://github.com",
            log: Any = lambda _m: None) -> Bundle:
    """Resolve, verify and stage everything a release of ``tag`` publishes.

    ``settings`` (:func:`ci_mlops.deploy.settings.load_settings`) decides where and whether;
    what is released, and every word of the card and lineage, comes from the tag and its commit.
    """
    config = settings.config
    repo = Repo(root)
    commit = tag_commit(repo, tag)
    environment = settings.environment(tag)
    at_head = repo.head() == commit
    label = tag.raw
    if at_head and repo.is_dirty(["dvc.lock", "dvc.yaml", "*/dvc.lock", "*/dvc.yaml"]):
        raise UserError(f"dvc.yaml/dvc.lock have uncommitted changes; the release must match the tag {label}: "
                        "commit them and tag again, or `git checkout -- dvc.lock dvc.yaml`")

    version = release_version(tag, tags_at(repo, commit))
    all_tags = parse_all(repo.tags())
    prev = previous_tag(tag, all_tags)
    prev_commit = repo.try_rev_parse(f"refs/tags/{prev.raw}^{{commit}}") if prev else None
    model = model_name(tag, config, repository, root)
    out_dir.mkdir(parents=True, exist_ok=True)

    with BlobReader(root) as reader:
        project = load_project(root, rev=commit, reader=reader)
        tracked = set(repo.ls_files(commit))
        expected, origin = expected_at(project, config, tag, tracked, reader, commit, label)
        log(f"artifacts ({origin}): {', '.join(expected)}")
        artifacts = materialize(root, expected, commit=commit, at_head=at_head, staging=out_dir / "files",
                                reader=reader, rev_label=label)

    report, gates = _report_and_gates(root, config, base=prev.raw if prev else commit, head=commit)
    # Release notes: gates + the diff against the previous release (all metrics for a first release).
    notes = _notes_header(tag, prev, model, version) + report_markdown(report, gates=gates, show_all=prev is None)
    card_changes = render_markdown(report) if prev else None
    metrics, params = release_values(report, project)
    data, code = pipeline_inputs(project, tracked, set(expected))

    record = lineage_mod.build_lineage(
        tag=tag.raw, version=version, model=model, stage=tag.stage, commit=commit,
        artifacts=[a.record() for a in artifacts], data=data, code=code, params=params, metrics=metrics,
        gates=[_gate_record(g) for g in gates], repository=repository, actor=actor, run_url=run_url,
        previous={"tag": prev.raw, "commit": prev_commit} if prev and prev_commit else None,
        prerelease=is_prerelease(version), created_at=tag_time(repo, tag),
        retrained_from=retrained_from(root, commit),
    )
    slices_md = _slices_markdown(config, root) if at_head else None
    bundle = Bundle(tag=tag, commit=commit, model=model, version=version, stage=tag.stage,
                    environment=environment, artifacts=artifacts, lineage=record, card="",
                    notes=notes, gates=gates, previous=prev.raw if prev else None, out_dir=out_dir,
                    slices=slices_md, changes=card_changes)
    bundle.card = render_card(bundle, config, server_url=server_url)
    bundle.lineage = lineage_mod.with_documents(record, card=bundle.card, notes=release_body(notes))
    bundle.write()
    return bundle


def pipeline_inputs(project: DvcProject, tracked: set[str], released: set[str]) -> tuple[list[Dependency], list[Dependency]]:
    """The lineage's ``data`` (DVC-tracked) and ``code`` (git-tracked) entries: hashed ``dvc.lock`` deps."""
    data: list[Dependency] = []
    code: list[Dependency] = []
    for path, info in sorted(project.lock_deps.items()):
        if not info.get("md5") or path in released:  # the released model itself, when a later stage reads it
            continue
        entry: Dependency = {"path": path, "md5": info["md5"]}
        if "size" in info:
            entry["size"] = info["size"]
        if "nfiles" in info:
            entry["nfiles"] = info["nfiles"]
        (code if path in tracked else data).append(entry)
    return data, code


def render_card(bundle: Bundle, config: Config, *, server_url: str, lineage: Lineage | None = None) -> str:
    return render_model_card(lineage or bundle.lineage, config.settings.model_card or ModelCard(),
                             notes=bundle.changes, slices=bundle.slices, server_url=server_url)


def _report_and_gates(root: Path, config: Config, *, base: str, head: str) -> tuple[ReportDocument, list[GateResult]]:
    report = build_report(root, base=base, head=head, config=config, plots=False)
    return report, run_gates(config, root, report)


def _gate_record(gate: GateResult) -> GateRecord:
    return {"metric": gate["metric"], "file": gate["file"], "rule": gate["rule"], "bound": gate["bound"],
            "value": gate["value"], "base": gate["base"], "passed": gate["passed"], "message": gate["message"]}


def _slices_markdown(config: Config, root: Path) -> str | None:
    if config.settings.slices is None:
        return None

    return slices_markdown(run_slices(config, root)) or None


def _notes_header(tag: Tag, prev: Tag | None, model: str, version: str | None) -> str:
    since = f"Compared with the previous release `{prev.raw}`." if prev else "First release of this model."
    what = f"**{model}**" + (f" v{version}" if version else "") + (f", stage **{tag.stage}**" if tag.stage else "")
    return (f"{what} released from `{tag.raw}`. {since} Model card, lineage record and artifacts are attached; "
            f"verify them with `ci-mlops audit verify {tag.raw}`.\n\n")
