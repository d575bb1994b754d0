"""Recompute from the tag everything a release's lineage states, and name every difference.

``audit verify`` uses this after checking the artifacts: the version, stage, model,
pre-release flag, tag date, repository, previous release, metrics, params and gate
values are recomputed from the tag, its commit and the configuration committed there,
exactly as ``deploy`` computed them. The model card and release notes are bound to the
lineage by the SHA-256 it records.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from ci_mlops.config import Config
from ci_mlops.deploy.bundle import release_values, tag_time
from ci_mlops.deploy.host import ReleaseHost
from ci_mlops.deploy.lineage import Lineage, Previous
from ci_mlops.deploy.tags import (
    STAGE,
    Tag,
    is_prerelease,
    model_name,
    parse_all,
    previous_tag,
    release_version,
    tags_at,
    try_parse,
)
from ci_mlops.dvc.project import DvcProject
from ci_mlops.errors import CiMlopsError
from ci_mlops.git import Repo
from ci_mlops.report import build_report


class Finding(TypedDict):
    """One check of ``audit verify`` (an entry of its ``--format json`` ``checks``)."""

    subject: str  # what was checked: a file, a lineage field, the tag
    ok: bool
    message: str


def finding(subject: str, ok: bool, message: str) -> Finding:
    return {"subject": subject, "ok": ok, "message": message}


def statement_findings(repo: Repo, tag: Tag, commit: str, lineage: Lineage, *, project: DvcProject,
                       tag_config: Config, repository: str | None) -> list[Finding]:
    """One finding per recomputed field (failed ones name the recorded and the true value)."""
    version = release_version(tag, tags_at(repo, commit))
    expected: dict[str, Any] = {
        "version": version, "stage": tag.stage, "prerelease": is_prerelease(version),
        "model": model_name(tag, tag_config, lineage.get("repository") or repository, repo.root),
        "created_at": tag_time(repo, tag),
    }
    if repository:
        expected["repository"] = repository
    out = []
    record: Mapping[str, object] = lineage
    for key, want in expected.items():
        have = record.get(key)
        out.append(finding(f"lineage {key}", have == want, f"{_show(have)}, as {tag.raw} says" if have == want else
                           f"records {_show(have)}, but {tag.raw} says {_show(want)}"))
    out.append(_previous(repo, tag, lineage.get("previous")))

    report = build_report(repo.root, base=commit, head=commit, config=tag_config, plots=False)
    metrics, params = release_values(report, project)
    out += _values("metrics", lineage.get("metrics") or {}, metrics, tag.raw)
    out += _values("params", lineage.get("params") or {}, params, tag.raw)
    out += _gate_values(lineage.get("gates") or [], metrics, tag.raw)
    return out


def document_findings(lineage: Lineage, name: str, key: Literal["model_card", "release_notes"], data: bytes | None,
                      origin: str) -> list[Finding]:
    """The card (``key`` "model_card") or notes ("release_notes") against the hash the lineage records."""
    recorded = lineage.get(key)
    if data is None:
        return []
    if not isinstance(recorded, dict):
        return [finding(name, False, f"the lineage records no SHA-256 for {name}, so an edit to it cannot be "
                                     "detected (released by an older ci-mlops: release the tag again)")]
    sha256 = hashlib.sha256(data).hexdigest()
    if sha256 != recorded.get("sha256"):
        return [finding(name, False, f"{origin} has sha256 {sha256} ({len(data)} bytes), the lineage records "
                                     f"{recorded.get('sha256')} ({recorded.get('size')} bytes): it was edited")]
    return [finding(name, True, f"{origin}: sha256 matches the lineage")]


def run_finding(host: ReleaseHost, repository: str, server_url: str, lineage: Lineage, commit: str,
                tag: str) -> Finding:
    """``actor`` and ``run_url`` against the workflow run GitHub recorded: the run must be this
    repository's, for the tagged commit, and started by the recorded actor."""
    actor, run_url = lineage.get("actor"), lineage.get("run_url")
    if run_url is None:
        if actor is None:
            return finding("lineage run", True, "released outside a workflow run (no actor, no run recorded)")
        return finding("lineage run", False, f"records actor {_show(actor)} but no workflow run to check it against")
    # a GitHub Actions run, or a GitLab CI job (both looked up through the host)
    m = re.fullmatch(re.escape(f"{server_url}/{repository}/") + r"(?:actions/runs|-/jobs)/(\d+)", str(run_url))
    if m is None:
        return finding("lineage run", False, f"records run {_show(run_url)}, not a workflow run of {repository}")
    try:
        run = host.workflow_run(m[1])
    except CiMlopsError as exc:
        forge = host.kind.removesuffix(" release")  # "GitHub", "GitLab"
        return finding("lineage run", False, f"records run {m[1]}, which {forge} does not return ({exc.message})")
    started_by = run.actor
    problems = []
    if run.head_sha != commit:
        problems.append(f"run {m[1]} built {str(run.head_sha)[:12]}, not {tag} ({commit[:12]})")
    if started_by != actor:
        problems.append(f"records actor {_show(actor)}, but run {m[1]} was started by {_show(started_by)}")
    if problems:
        return finding("lineage run", False, "; ".join(problems))
    return finding("lineage run", True, f"run {m[1]} built {tag}, started by {actor}")


def _previous(repo: Repo, tag: Tag, recorded: Previous | None) -> Finding:
    if not recorded:
        earlier = previous_tag(tag, parse_all(repo.tags()))
        if earlier is None:
            return finding("lineage previous", True, "none: the first release of this model")
        return finding("lineage previous", False, f"records no previous release, but {earlier.raw} came before {tag.raw}")
    prev_tag = try_parse(str(recorded.get("tag")))
    at = repo.try_rev_parse(f"refs/tags/{recorded.get('tag')}^{{commit}}") if prev_tag else None
    if at is None:
        return finding("lineage previous", False, f"records {recorded.get('tag')}, which is not a tag here")
    if at != recorded.get("commit"):
        return finding("lineage previous", False, f"records {recorded.get('tag')} at {str(recorded.get('commit'))[:12]}, "
                                                  f"but that tag points at {at[:12]}")
    if prev_tag is None or prev_tag.artifact != tag.artifact or (tag.kind == STAGE) != (prev_tag.kind == STAGE):
        return finding("lineage previous", False, f"records {recorded.get('tag')}, not a release of the same model")
    return finding("lineage previous", True, f"{recorded.get('tag')} at {at[:12]}")


def _values(kind: str, recorded: dict[str, Any], actual: dict[str, dict[str, Any]], label: str) -> list[Finding]:
    """One failed finding per file/key that differs; one passing finding when none does."""
    out = []
    files = sorted(set(recorded) | set(actual))
    for path in files:
        have = recorded[path] if isinstance(recorded.get(path), dict) else {}
        want = actual.get(path, {})
        if not isinstance(recorded.get(path), dict) and path in recorded:
            out.append(finding(f"{kind} {path}", False, f"the lineage records {_show(recorded[path])}, not a mapping"))
            continue
        for key in sorted(set(have) | set(want)):
            if key not in want:
                out.append(finding(f"{kind} {path}", False, f"{key}: the lineage records {_show(have[key])}, "
                                                            f"{label} has no such {kind[:-1]}"))
            elif key not in have:
                out.append(finding(f"{kind} {path}", False, f"{key}: {label} has {_show(want[key])}, "
                                                            "the lineage does not record it"))
            elif not same(have[key], want[key]):
                out.append(finding(f"{kind} {path}", False, f"{key}: the lineage records {_show(have[key])}, "
                                                            f"{label} has {_show(want[key])}"))
    if not out:
        count = sum(len(v) for v in actual.values())
        out.append(finding(kind, True, f"{count} value(s), each as recomputed at {label}"))
    return out


def _gate_values(gates: list[Any], metrics: dict[str, dict[str, Any]], label: str) -> list[Finding]:
    """Each recorded gate's value must be the metric's value at the tag."""
    out = []
    for gate in gates:
        if not isinstance(gate, dict):
            continue
        key, path = gate.get("metric"), gate.get("file")
        sources = [metrics.get(path, {})] if path else list(metrics.values())
        values = [m[key] for m in sources if key in m]
        if gate.get("value") is None or not values:
            continue  # a gate on a missing metric records no value; nothing to compare
        if not any(same(gate["value"], v) for v in values):
            out.append(finding(f"gate {key}", False, f"records value {_show(gate['value'])}, "
                                                     f"{label} has {_show(values[0])}"))
    return out


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values, with NaN equal to NaN (json keeps it) and 1 equal to 1.0."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    text = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 80 else text[:77] + "..."
