"""Schema patterns are full matches: a value that is valid plus a trailing newline is refused.

JSON Schema validators (jsonschema uses ``re.search``) let ``$`` match before a final
newline, so ``base: "main\\n"`` used to pass and ``init`` wrote workflows actionlint rejects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ci_mlops.config import parse_config
from ci_mlops.errors import UserError

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = [ROOT / "ci_mlops" / "schema" / "ci-mlops.schema.json", ROOT / "ci_mlops" / "deploy" / "lineage.schema.json"]


def _patterns(node):
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda p: p.name)
def test_every_end_anchor_refuses_a_trailing_newline(schema: Path):
    patterns = list(_patterns(json.loads(schema.read_text())))
    assert patterns
    for pattern in patterns:
        if not pattern.endswith("$") and "$(?!" not in pattern:
            continue  # a prefix-only pattern (e.g. "no ${{ anywhere"), nothing to anchor
        assert pattern.endswith("$(?!\\n)"), pattern
        # The guard is portable: Python's re (jsonschema) and ECMA-262 (editors) agree on it.
        assert re.search(pattern.replace("$(?!\\n)", "$(?!\n)"), "x\n") is None


# (key in YAML, a valid value): each is accepted as is and refused with a trailing newline or CR+LF.
CASES = [
    ("base", "main"),
    ("python", "3.11"),
    ("runner", "ubuntu-latest"),
    ("runner", ["self-hosted", "gpu"]),
    ("dvc", {"remote": "storage"}),
    ("dvc", {"remote": "storage", "secrets": ["AWS_KEY"]}),
    ("report", {"metrics_files": ["metrics.json"]}),
    ("comment", {"marker": "ci-mlops"}),
    ("deploy", {"environment": "production"}),
    ("deploy", {"docker": {"image": "team/model"}}),
    ("deploy", {"docker": {"registry": "ghcr.io"}}),
    ("drift", {"reference": "ref.csv", "current": "cur.csv", "schedule": "0 6 * * 1"}),
]


def _with_suffix(value, suffix):
    """The value with ``suffix`` appended to its last string leaf."""
    if isinstance(value, str):
        return value + suffix
    if isinstance(value, list):
        return [*value[:-1], _with_suffix(value[-1], suffix)]
    last = list(value)[-1]
    return {**value, last: _with_suffix(value[last], suffix)}


@pytest.mark.parametrize("key,value", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\n\n"], ids=["lf", "crlf", "lflf"])
def test_trailing_newline_is_refused(key, value, suffix):
    parse_config(json.dumps({key: value}))
    with pytest.raises(UserError) as err:
        parse_config(json.dumps({key: _with_suffix(value, suffix)}))
    assert key in str(err.value)


@pytest.mark.parametrize("check", [
    lambda: __import__("ci_mlops.github.artifact", fromlist=["SHA_RE"]).SHA_RE.fullmatch("a" * 40 + "\n"),
    lambda: __import__("ci_mlops.github.comments", fromlist=["MARKER_ID_RE"]).MARKER_ID_RE.fullmatch("m\n"),
    lambda: __import__("ci_mlops.github.context", fromlist=["REPO_RE"]).REPO_RE.fullmatch("o/r\n"),
])
def test_code_side_patterns_are_full_matches(check):
    assert check() is None

