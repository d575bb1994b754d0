"""The lineage record (``lineage.json``) released with every model version.

It says exactly what was released and where it came from: the tag and commit,
who and which workflow run released it, every artifact with its size, SHA-256
and the MD5 that ``dvc.lock`` records, the data the model was trained on (with
their ``dvc.lock`` hashes), params, metrics, gate verdicts and the SHA-256 of the
model card and release notes published with it. The schema is published as
``docs/lineage.schema.json``. Everything except ``actor`` and ``run_url`` (who and
which run first released it) is a function of the tag and its commit; ``created_at``
is the tag's own date, so a release retried minutes or days later writes the same record.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, NotRequired, TypedDict, TypeGuard

from ci_mlops import __version__
from ci_mlops.safeload import JsonValue

SCHEMA_VERSION = 1
PROVENANCE_KEYS = ("actor", "run_url")  # the only fields that vary between runs
SCHEMA_PATH = Path(__file__).with_name("lineage.schema.json")  # docs/lineage.schema.json is a copy


# The record as docs/lineage.schema.json publishes it: a key the schema does not require is
# NotRequired (a record of an earlier version may lack it), though build_lineage writes it.


class ArtifactRecord(TypedDict):
    """A released model file."""

    path: str
    size: int
    sha256: str
    md5: str  # dvc.lock's md5 for a DVC output
    name: NotRequired[str]  # the release asset's name
    source: NotRequired[str]  # "dvc" or "git"


class Dependency(TypedDict):
    """A pipeline dependency with the hashes ``dvc.lock`` records (``data``: DVC-tracked, ``code``: git)."""

    path: str
    md5: str
    size: NotRequired[int | None]
    nfiles: NotRequired[int | None]


class GateRecord(TypedDict):
    """A metric gate's verdict at release time (a ``checks.records.GateResult``'s fields)."""

    metric: str
    rule: str
    passed: bool
    file: NotRequired[str | None]
    bound: NotRequired[Any]  # as written in the config
    value: NotRequired[Any]  # the metric's value at the tag, as its file holds it
    base: NotRequired[Any]
    message: NotRequired[str]


class Previous(TypedDict):
    """The previous release of the model, which the release notes compare against."""

    tag: str
    commit: str


class RetrainedFrom(TypedDict):
    """The ci-mlops retrain the released training came from (``deploy.origin``)."""

    reason: str  # "drift" or "schedule"
    drift_issue: int | None
    pull_request: int | None
    commit: str


class Digest(TypedDict):
    """A published document's SHA-256 and size in bytes."""

    sha256: str
    size: int


class CardDigest(Digest):
    name: str  # "model-card.md"


class Lineage(TypedDict):
    """``lineage.json``."""

    schema_version: int
    tag: str
    version: str | None
    model: str
    stage: str | None
    commit: str
    created_at: str
    actor: str | None
    run_url: str | None
    artifacts: list[ArtifactRecord]
    data: list[Dependency]
    params: dict[str, dict[str, Any]]  # file -> dotted key -> value as its file holds it
    metrics: dict[str, dict[str, Any]]
    ci_mlops_version: str
    prerelease: NotRequired[bool]
    repository: NotRequired[str | None]
    code: NotRequired[list[Dependency]]
    gates: NotRequired[list[GateRecord]]
    previous: NotRequired[Previous | None]
    retrained_from: NotRequired[RetrainedFrom]
    model_card: NotRequired[CardDigest]
    release_notes: NotRequired[Digest]


def build_lineage(
    *,
    tag: str,
    version: str | None,
    model: str,
    stage: str | None,
    commit: str,
    artifacts: list[ArtifactRecord],
    data: list[Dependency],
    code: list[Dependency] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    metrics: dict[str, dict[str, Any]] | None = None,
    gates: list[GateRecord] | None = None,
    previous: Previous | None = None,
    repository: str | None = None,
    actor: str | None = None,
    run_url: str | None = None,
    created_at: str,
    prerelease: bool = False,
    retrained_from: RetrainedFrom | None = None,
) -> Lineage:
    """Assemble the record; lists are sorted by path so the output is deterministic."""
    record: Lineage = {
        "schema_version": SCHEMA_VERSION,
        "tag": tag,
        "version": version,
        "model": model,
        "stage": stage,
        "prerelease": prerelease,
        "repository": repository,
        "commit": commit,
        "created_at": created_at,
        "actor": actor,
        "run_url": run_url,
        "artifacts": sorted(artifacts, key=lambda a: a["path"]),
        "data": sorted(data, key=lambda d: d["path"]),
        "code": sorted(code or [], key=lambda d: d["path"]),
        "params": params or {},
        "metrics": metrics or {},
        "gates": gates or [],
        "previous": previous,
        "ci_mlops_version": __version__,
    }
    if retrained_from:  # the retrain PR and drift issue the released training came from (drift.retrain)
        record["retrained_from"] = retrained_from
    return record


def dumps(lineage: Lineage) -> str:
    """Canonical text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(lineage, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def with_provenance(lineage: Lineage, earlier: Lineage) -> Lineage:
    """The record with the actor and run of an earlier attempt (:data:`PROVENANCE_KEYS`), so a retried
    release is byte-identical."""
    return {**lineage, "actor": earlier.get("actor"), "run_url": earlier.get("run_url")}


def substance(lineage: Lineage) -> dict[str, object]:
    """The record without the fields that legitimately differ between two attempts."""
    return {k: v for k, v in lineage.items() if k not in PROVENANCE_KEYS}


def with_documents(lineage: Lineage, *, card: str, notes: str) -> Lineage:
    """The record with the SHA-256 and size of the model card and of the release notes (the
    release body as published), so ``audit verify`` notices an edit to either."""
    def digest(text: str) -> Digest:
        data = text.encode("utf-8")
        return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    return {**lineage, "model_card": {"name": "model-card.md", **digest(card)}, "release_notes": digest(notes)}


# -- reading a record back --------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema  # lazy: jsonschema is slow to import

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) if SCHEMA_PATH.is_file() else {"type": "object"}
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_problems(lineage: JsonValue) -> list[str]:
    """Schema violations of a lineage record, one line each ("" path = top level)."""
    errors = sorted(_validator().iter_errors(lineage), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or 'top level'}: {e.message}" for e in errors]


def is_lineage(value: JsonValue) -> TypeGuard[Lineage]:
    """Whether a parsed document is a lineage record: valid against the published schema."""
    return isinstance(value, dict) and not schema_problems(value)

