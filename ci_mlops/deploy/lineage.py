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
from typing import Any

from ci_mlops import __version__

SCHEMA_VERSION = 1
PROVENANCE_KEYS = ("actor", "run_url")  # the only fields that vary between runs


def build_lineage(
    *,
    tag: str,
    version: str | None,
    model: str,
    stage: str | None,
    commit: str,
    artifacts: list[dict[str, Any]],
    data: list[dict[str, Any]],
    code: list[dict[str, Any]] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    metrics: dict[str, dict[str, Any]] | None = None,
    gates: list[dict[str, Any]] | None = None,
    previous: dict[str, str] | None = None,
    repository: str | None = None,
    actor: str | None = None,
    run_url: str | None = None,
    created_at: str,
    prerelease: bool = False,
    retrained_from: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the record; lists are sorted by path so the output is deterministic."""
    return {
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
        # the retrain PR and drift issue the released training came from (drift.retrain)
        **({"retrained_from": retrained_from} if retrained_from else {}),
    }


def dumps(lineage: dict[str, Any]) -> str:
    """Canonical text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(lineage, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def with_provenance(lineage: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """The record with the time/actor/run of an earlier attempt, so a retried release is byte-identical."""
    return {**lineage, **{k: earlier.get(k) for k in PROVENANCE_KEYS}}


def substance(lineage: dict[str, Any]) -> dict[str, Any]:
    """The record without the fields that legitimately differ between two attempts."""
    return {k: v for k, v in lineage.items() if k not in PROVENANCE_KEYS}


def with_documents(lineage: dict[str, Any], *, card: str, notes: str) -> dict[str, Any]:
    """The record with the SHA-256 and size of the model card and of the release notes (the
    release body as published), so ``audit verify`` notices an edit to either."""
    def digest(text: str) -> dict[str, Any]:
        data = text.encode("utf-8")
        return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    return {**lineage, "model_card": {"name": "model-card.md", **digest(card)}, "release_notes": digest(notes)}

