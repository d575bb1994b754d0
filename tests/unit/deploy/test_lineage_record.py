"""A released lineage.json read back: a record by the published schema, or nothing."""

from __future__ import annotations

import json

import pytest

from ci_mlops.deploy.host import lineage_from_release
from ci_mlops.deploy.lineage import dumps, is_lineage, with_documents
from tests.unit.deploy.test_deploy_units import lineage


def test_a_released_record_reads_back_as_written():
    record = with_documents(lineage(retrained_from={"reason": "drift", "drift_issue": 3, "pull_request": 4,
                                                    "commit": "e" * 40}), card="# card\n", notes="notes")
    assert is_lineage(json.loads(dumps(record)))
    assert lineage_from_release(dumps(record).encode()) == record


def test_a_record_of_an_older_version_without_the_optional_keys_is_one():
    record = json.loads(dumps(lineage()))
    for key in ("prerelease", "repository", "code", "gates", "previous"):
        del record[key]
    assert lineage_from_release(json.dumps(record).encode()) == record


@pytest.mark.parametrize("spoil", [
    lambda r: r.pop("model"),  # a key the card is rendered from
    lambda r: r["artifacts"].append("models/other.pkl"),  # an entry that is not an object
    lambda r: r["data"][0].pop("md5"),
    lambda r: r.update(schema_version=2),
    lambda r: r.update(previous={"tag": "v1.1.0"}),
])
def test_a_document_the_schema_refuses_is_no_record(spoil):
    record = json.loads(dumps(lineage()))
    spoil(record)
    assert not is_lineage(record)
    assert lineage_from_release(json.dumps(record).encode()) is None


@pytest.mark.parametrize("data", [None, b"", b"{", b"[]", b'"lineage"', b"null"])
def test_an_absent_or_unparsable_asset_is_no_record(data):
    assert lineage_from_release(data) is None
