"""Tamper detection for releases, and the release history of each model.

``verify_release`` checks three things against each other: the artifact bytes
(downloaded from the release or given locally), the lineage record, and what git
says about the tag (its commit and ``dvc.lock`` there). Which files are the release
is never taken from the lineage: it is resolved at the tag exactly as ``deploy``
resolves it (``.ci-mlops.yml``, ``dvc.yaml`` and ``dvc.lock`` at the tagged commit),
so a forged record cannot pass another file off as the model. Each check is one
finding ``{"subject", "ok", "message"}``; the command turns the first failure into
exit 1.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from ci_mlops.config import Config
from ci_mlops.deploy.artifacts import asset_names, config_at, expected_at
from ci_mlops.deploy.bundle import pipeline_inputs
from ci_mlops.deploy.host import CiRun, ReleaseHost, release_body
from ci_mlops.deploy.lineage import ArtifactRecord, RetrainedFrom, is_lineage, schema_problems
from ci_mlops.deploy.origin import describe, retrained_from
from ci_mlops.deploy.restate import Finding, document_findings, finding, run_finding, statement_findings
from ci_mlops.deploy.tags import RELEASING, model_name, parse_tag, release_version, version_key
from ci_mlops.dvc.project import DvcProject, load_project
from ci_mlops.dvc.values import ParseError, metrics_values, parse
from ci_mlops.errors import UserError
from ci_mlops.git import BlobReader, Repo
from ci_mlops.report.collect import read_files
from ci_mlops.report.direction import is_counter
from ci_mlops.safeload import load_json, read_limited


def render_findings(tag: str, findings: list[Finding], fmt: str) -> str:
    """The findings as ``ok``/``FAIL`` lines, or as the JSON of ``audit verify --format json``."""
    if fmt == "json":
        return json.dumps({"tag": tag, "passed": all(f["ok"] for f in findings), "checks": findings}, indent=2)
    return "\n".join(f"{'ok  ' if f['ok'] else 'FAIL'}  {f['subject']}: {f['message']}" for f in findings)


def tampering(tag: str, findings: list[Finding]) -> str | None:
    """One line naming the first failed finding (and how many more), or None when all passed."""
    failed = [f for f in findings if not f["ok"]]
    if not failed:
        return None
    return (f"tampering detected in {tag}: {failed[0]['subject']}: {failed[0]['message']}"
            + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""))


def verify_release(repo: Repo, tag_text: str, *, paths: list[Path], lineage_path: Path | None, run: CiRun,
                   open_host: Callable[[], ReleaseHost], card_path: Path | None = None,
                   notes_path: Path | None = None) -> list[Finding]:
    """All findings for ``tag_text``; UserError when the inputs themselves are unusable.

    ``open_host`` gives the forge's releases; it is called only when something must be read
    from the release (no local ``--lineage`` and ``--path``)."""

    tag = parse_tag(tag_text)
    commit = repo.try_rev_parse(f"refs/tags/{tag.raw}^{{commit}}")
    if commit is None:
        raise UserError(f"tag '{tag.raw}' does not exist in this repository (fetch tags with `git fetch --tags`)")
    if not tag.releases:
        raise UserError(f"tag '{tag.raw}' is a {tag.kind} tag, which releases nothing; verify a release tag")

    releases: ReleaseHost | None = None
    release: dict[str, Any] | None = None
    if lineage_path is None or not paths:
        releases = open_host()
        release = releases.find(tag.raw)
        if release is None:
            raise UserError(f"no {releases.kind} for tag '{tag.raw}' in {releases.repo}")

    findings: list[Finding] = []
    raw: bytes | None
    if lineage_path is not None:
        try:
            raw = read_limited(lineage_path)  # a regular file of at most 32 MiB: not /dev/zero
        except ValueError as exc:
            raise UserError(f"{lineage_path}: cannot read: {exc}") from None
    else:
        assert releases is not None and release is not None  # read above when there is no --lineage
        raw = releases.read_asset(release, "lineage.json")
        if raw is None:
            return [finding("lineage.json", False, f"the release of {tag.raw} has no lineage.json asset")]
    try:
        document = load_json(raw)
    except ValueError as exc:
        return [finding("lineage.json", False, f"not valid JSON ({exc})")]
    if not is_lineage(document):  # from here on its shape is the lineage schema's
        problems = schema_problems(document)
        return [*findings, finding("lineage.json", False, problems[0] if problems else "not a JSON object")]
    lineage = document
    findings.append(finding("lineage.json", True, "valid against the lineage schema"))

    findings.append(finding("lineage.json", lineage["tag"] == tag.raw,
                            f"records tag {lineage['tag']}" + ("" if lineage["tag"] == tag.raw else f", not {tag.raw}")))
    same_commit = lineage["commit"] == commit
    findings.append(finding(f"tag {tag.raw}", same_commit,
                            f"points at {commit[:12]}" + (", as recorded" if same_commit else
                                                          f" but the lineage records {lineage['commit'][:12]} (tag moved?)")))

    with BlobReader(repo.root) as reader:
        project = load_project(repo.root, rev=commit, reader=reader)
        tracked = set(repo.ls_files(commit))
        tag_config = config_at(reader, commit, tag.raw)
        try:
            expected, origin = expected_at(project, tag_config, tag, tracked, reader, commit, tag.raw)
        except UserError as exc:
            return [*findings, finding("artifacts", False, f"cannot tell what {tag.raw} releases: {exc.message}")]
    names = asset_names(list(expected))
    findings.append(_artifact_set(lineage["artifacts"], expected, origin, tag.raw))

    local = _match_paths(paths, [{"path": p, "name": n} for p, n in names.items()])
    for art in lineage["artifacts"]:
        subject = art["path"]
        if subject not in expected:
            continue  # named by the artifact-set finding; its bytes prove nothing
        source, locked = expected[subject]
        where = "git" if source == "git" else "dvc.lock"
        if art.get("source", "dvc") != source or art.get("name") != names[subject]:
            findings.append(finding(subject, False, f"the lineage records it as {art.get('source', 'dvc')} asset "
                                                    f"'{art.get('name')}', {tag.raw} releases it as {source} asset "
                                                    f"'{names[subject]}'"))
            continue
        findings.append(finding(subject, locked == art["md5"],
                                f"md5 {art['md5']} matches {where} at {tag.raw}" if locked == art["md5"] else
                                f"lineage md5 {art['md5']} but {where} at {tag.raw} has {locked}"))
        if subject in local:
            data, origin_label = local[subject].read_bytes(), str(local[subject])
        elif paths:
            continue  # only the given files are checked
        else:
            assert releases is not None and release is not None  # read above when no --path is given
            asset = releases.read_asset(release, names[subject])
            if asset is None:
                findings.append(finding(subject, False, f"asset '{names[subject]}' is missing from the release"))
                continue
            data, origin_label = asset, f"release asset {names[subject]}"
        findings.extend(_compare_bytes(subject, data, art, origin_label))

    data_deps, code_deps = pipeline_inputs(project, tracked, set(expected))
    for key, deps, recorded in (("data", data_deps, lineage["data"]), ("code", code_deps, lineage.get("code") or [])):
        want = {d["path"] for d in deps}
        have = {d["path"] for d in recorded}
        if want != have:
            findings.append(finding(key, False, _set_difference(
                have, want, f"not a dvc.lock input at {tag.raw}", f"dvc.lock inputs at {tag.raw} missing from the lineage")))
        for dep in recorded:
            lock_md5 = project.lock_deps.get(dep["path"], {}).get("md5")
            findings.append(finding(dep["path"], lock_md5 == dep["md5"],
                                    f"{key} md5 matches dvc.lock" if lock_md5 == dep["md5"] else
                                    f"lineage md5 {dep['md5']} but dvc.lock at {tag.raw} has {lock_md5 or 'no entry'}"))

    findings += statement_findings(repo, tag, commit, lineage, project=project, tag_config=tag_config,
                                   repository=run.repository)
    if card_path is not None:
        findings += document_findings(lineage, "model-card.md", "model_card", card_path.read_bytes(), str(card_path))
    elif releases is not None and release is not None:
        card = releases.read_asset(release, "model-card.md")
        if card is None:
            findings.append(finding("model-card.md", False, f"the release of {tag.raw} has no model-card.md asset"))
        else:
            findings += document_findings(lineage, "model-card.md", "model_card", card, "release asset model-card.md")
    if notes_path is not None:
        body = release_body(notes_path.read_text(encoding="utf-8")).encode("utf-8")
        findings += document_findings(lineage, "release notes", "release_notes", body, str(notes_path))
    elif release is not None:
        body = (release.get("body") or "").encode("utf-8")
        findings += document_findings(lineage, "release notes", "release_notes", body, "the release's notes")
    if releases is not None and release is not None:
        findings.append(run_finding(releases, releases.repo, run.server_url, lineage, commit, tag.raw))
        findings.append(_release_assets(releases.assets(release), set(names.values()), tag.raw))
    return findings


RELEASE_FILES = ("model-card.md", "lineage.json")


def _artifact_set(recorded: list[ArtifactRecord], expected: dict[str, Any], origin: str, tag: str) -> Finding:
    """The lineage must list exactly the artifacts the tag releases, each once."""
    paths = [a["path"] for a in recorded]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        return finding("artifacts", False, f"the lineage lists {', '.join(twice)} more than once")
    if set(paths) != set(expected):
        return finding("artifacts", False, _set_difference(
            set(paths), set(expected), f"the lineage lists what {tag} does not release",
            f"{tag} releases ({origin} at the tag), the lineage lacks"))
    return finding("artifacts", True, f"{', '.join(sorted(expected))}: exactly what {origin} at {tag} releases")


def _set_difference(have: set[str], want: set[str], extra: str, missing: str) -> str:
    parts = []
    if have - want:
        parts.append(f"{extra}: {', '.join(sorted(have - want))}")
    if want - have:
        parts.append(f"{missing}: {', '.join(sorted(want - have))}")
    return "; ".join(parts)


def _release_assets(assets: list[dict[str, Any]], artifact_names: set[str], tag: str) -> Finding:
    """A release holds the artifacts, model-card.md and lineage.json, nothing else."""
    allowed = artifact_names | set(RELEASE_FILES)
    extra = sorted(a.get("name", "") for a in assets if a.get("name") not in allowed)
    if extra:
        return finding("release assets", False, f"unexpected asset(s) {', '.join(extra)}: neither an artifact of "
                                                f"{tag} nor {' / '.join(RELEASE_FILES)}")
    return finding("release assets", True, "only the artifacts, model-card.md and lineage.json")


def _compare_bytes(subject: str, data: bytes, art: ArtifactRecord, origin: str) -> list[Finding]:
    sha256 = hashlib.sha256(data).hexdigest()
    md5 = hashlib.md5(data).hexdigest()
    if len(data) != art["size"]:
        return [finding(subject, False, f"{origin} is {len(data)} bytes, the lineage records {art['size']}")]
    if sha256 != art["sha256"]:
        return [finding(subject, False, f"{origin} has sha256 {sha256}, the lineage records {art['sha256']}")]
    if md5 != art["md5"]:
        return [finding(subject, False, f"{origin} has md5 {md5}, the lineage records {art['md5']}")]
    return [finding(subject, True, f"{origin}: size, sha256 and md5 match the lineage")]


def _match_paths(paths: list[Path], artifacts: list[dict[str, Any]]) -> dict[str, Path]:
    """Map each given file to the released artifact with the same asset name, path or file name."""
    out: dict[str, Path] = {}
    for path in paths:
        match = [a for a in artifacts if path.name == a.get("name") or path.as_posix().endswith(a["path"])]
        if not match:
            match = [a for a in artifacts if path.name == Path(a["path"]).name]
        if len(match) != 1:
            names = ", ".join(a.get("name") or a["path"] for a in artifacts)
            raise UserError(f"{path}: matches {'no' if not match else 'several'} released artifacts ({names})")
        out[match[0]["path"]] = path
    return out


# -- history ---------------------------------------------------------------------------------


class ReleaseEntry(TypedDict):
    """One release of a model in ``audit log`` (an entry of its ``--format json``)."""

    tag: str
    kind: str  # the tag's kind (tags.RELEASING)
    version: str | None
    stage: str | None
    date: str  # the tag's date, ISO 8601
    commit: str
    metrics: dict[str, Any]  # dotted key -> value at the commit: the gated metrics, else the first few
    release_url: str | None
    retrained_from: RetrainedFrom | None


def release_history(repo: Repo, config: Config, repository: str | None, *, model: str | None = None,
                    release_urls: Callable[[], dict[str, str]] = dict) -> dict[str, list[ReleaseEntry]]:
    """model -> its releases, newest version first: tag, kind, version, stage, date, commit, metrics.

    ``release_urls`` gives tag -> release URL from the forge (nothing when it cannot)."""

    refs = repo.git("for-each-ref", "refs/tags", "--format=%(refname:short)%00%(creatordate:iso-strict)%00%(*objectname)%00%(objectname)")
    rows = []
    for line in refs.splitlines():
        name, date, peeled, obj = [*line.split("\0"), "", "", "", ""][:4]
        try:
            tag = parse_tag(name)
        except UserError:
            continue
        if tag.kind in RELEASING:
            rows.append((tag, date, peeled or obj))
    by_commit: dict[str, list[Any]] = {}
    for tag, _, commit in rows:
        by_commit.setdefault(commit, []).append(tag)
    urls = release_urls()
    wanted = _key_metrics(config)
    history: dict[str, list[ReleaseEntry]] = {}
    metrics_cache: dict[str, dict[str, Any]] = {}

    with BlobReader(repo.root) as reader:
        for tag, date, commit in rows:
            name = model_name(tag, config, repository, repo.root)
            if model and name != model:
                continue
            version = release_version(tag, by_commit.get(commit, []))
            if commit not in metrics_cache:
                metrics_cache[commit] = _metrics_at(repo.root, commit, reader, load_project, wanted)
            history.setdefault(name, []).append({
                "tag": tag.raw, "kind": tag.kind, "version": version, "stage": tag.stage, "date": date,
                "commit": commit, "metrics": metrics_cache[commit], "release_url": urls.get(tag.raw),
                "retrained_from": retrained_from(repo.root, commit),
            })
    for entries in history.values():
        entries.sort(key=lambda e: (version_key(e["version"]) if e["version"] else (-1,), e["date"]), reverse=True)
    if model and model not in history:
        raise UserError(f"no releases of model '{model}' (known: {', '.join(sorted(history)) or 'none'})")
    return dict(sorted(history.items()))


def _key_metrics(config: Config) -> list[str]:
    return [key.split(":", 1)[-1] for key in (config.settings.metrics or {})]


def _metrics_at(root: Path, commit: str, reader: BlobReader, load_project: Callable[..., DvcProject], wanted: list[str]) -> dict[str, Any]:

    project = load_project(root, rev=commit, reader=reader)
    blobs = read_files(root, commit, project.metrics_paths, project, reader)
    values: dict[str, Any] = {}
    for path in project.metrics_paths:
        blob = blobs.get(path)
        if blob is None:
            continue
        try:
            flat = metrics_values(parse(blob, path))
        except ParseError:
            continue
        for key, value in flat.items():
            if (key in wanted if wanted else len(values) < 4 and not is_counter(key)):
                values[key] = value
    return values


def render_history(history: dict[str, list[ReleaseEntry]]) -> str:
    if not history:
        return "no releases yet: tag a commit vX.Y.Z, NAME@vX.Y.Z or NAME#STAGE#N"
    lines = []
    for model, entries in history.items():
        lines.append(f"{model}:")
        for e in entries:
            version = f"v{e['version']}" if e["version"] else "-"
            stage = f"stage {e['stage']}" if e["stage"] else ""
            metrics = "  ".join(f"{k}={v}" for k, v in e["metrics"].items())
            parts: list[str | None] = [f"  {version:<12}", f"{stage:<16}", f"{e['date'][:10]}", e["commit"][:12], f"{e['tag']:<22}", metrics]
            if e.get("retrained_from"):
                parts.append(describe(e["retrained_from"]))
            if e.get("release_url"):
                parts.append(e["release_url"])
            lines.append("  ".join(p for p in parts if p is not None).rstrip())
    return "\n".join(lines)
