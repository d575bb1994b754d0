"""The fast yes (`config/accept.py`) agrees with jsonschema, and a no still gets jsonschema's message.

A valid `.ci-mlops.yml` is accepted without importing jsonschema; anything it does not
accept goes to jsonschema, so the one-line messages are today's. The fast path must never
accept what jsonschema refuses: checked on the config corpora of the other tests and on
configs generated from the schema itself (valid shapes, near misses and junk).
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from ci_mlops.config import first_error, parse_config, schema
from ci_mlops.config.accept import KNOWN_KEYWORDS, accepts, unknown_keywords
from ci_mlops.errors import UserError
from tests.unit.config.test_config_injection import ATTACKS, MORE
from tests.unit.config.test_schema_patterns import CASES

ROOT = Path(__file__).resolve().parents[3]
# The shipped schema, read once: each test reads it, none changes it (a changed copy is a deepcopy).
SCHEMA = schema()
# jsonschema's validator for it, built once (as `config.first_error` builds it for each config it words).
_VALIDATOR_CLS = jsonschema.validators.validator_for(SCHEMA)
_VALIDATOR = _VALIDATOR_CLS(SCHEMA, format_checker=_VALIDATOR_CLS.FORMAT_CHECKER)


def _jsonschema_valid(data: object) -> bool:
    return bool(_VALIDATOR.is_valid(data))


def _load(text: str) -> Any:
    from ci_mlops.config import _loader
    from ci_mlops.safeload import compose_yaml, construct_yaml

    node = compose_yaml(text, _loader())
    return construct_yaml(node, _loader()) if node is not None else None


def _corpus() -> list[str]:
    texts = [content for content, _ in ATTACKS + MORE]
    for key, value in CASES:
        for suffix in ("", "\n", "\r\n"):
            texts.append(yaml.safe_dump({key: value + suffix if isinstance(value, str) else value}))
    texts += [path.read_text() for path in ROOT.rglob(".ci-mlops*.yml") if ".venv" not in path.parts]
    # YAML code blocks of the docs that are configs (a top-level mapping of known keys).
    known = set(SCHEMA["properties"])
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```ya?ml\n(.*?)```", doc.read_text(), flags=re.S):
            try:
                data = yaml.safe_load(block)
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and data and set(map(str, data)) <= known:
                texts.append(block)
    return texts


CORPUS = _corpus()


def test_every_keyword_of_the_shipped_schema_is_judged_exactly():
    assert unknown_keywords(schema()) == set()


def test_the_corpus_has_both_valid_and_invalid_configs():
    verdicts = {_jsonschema_valid(_load(text)) for text in CORPUS}
    assert verdicts == {True, False}, len(CORPUS)


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_the_corpus_gets_jsonschemas_verdict(text: str):
    data = _load(text)
    assert accepts(data, SCHEMA) == _jsonschema_valid(data)


def test_a_keyword_it_does_not_know_sends_a_config_that_reaches_it_to_jsonschema():
    changed = copy.deepcopy(SCHEMA)
    changed["properties"]["base"]["not"] = {"const": "main"}
    assert unknown_keywords(changed) == {"not"}
    assert not accepts({"base": "dev"}, changed)  # unknown: not judged here, jsonschema decides
    assert accepts({"base": "dev"}, SCHEMA)
    assert accepts({"version": 1}, changed)  # a config that never reaches it is judged here


@pytest.mark.parametrize("where, keyword, value", [
    ("format", "format", "email"),  # a format jsonschema's checker judges
    ("type", "type", ["string", "path"]),  # a type name jsonschema does not know (it raises)
])
def test_a_format_or_type_it_does_not_know_is_not_judged_here(where, keyword, value):
    changed = copy.deepcopy(SCHEMA)
    changed["properties"]["base"][keyword] = value
    assert unknown_keywords(changed) == {f"{where}: {value}"}
    assert not accepts({"base": "dev"}, changed)
    assert accepts({"version": 1}, changed)


def test_a_one_of_with_an_unknown_keyword_in_a_branch_is_not_judged_here():
    """"Exactly one" needs each branch judged both ways: an unknown keyword in the branch the value
    does not match may hide that it matches it too."""
    seeds = {"significance": {"seeds": {"file": "s.json"}}}
    assert accepts(seeds, SCHEMA)
    changed = copy.deepcopy(SCHEMA)
    branches = changed["properties"]["significance"]["properties"]["seeds"]["oneOf"]
    branches[0]["not"] = {"required": ["nothing"]}  # the branch the value does not match
    assert not accepts(seeds, changed)


@pytest.mark.parametrize("data, valid", [
    ({"metrics": {"acc": {"min": True}}}, False),  # a boolean is not a number
    ({"metrics": {"acc": {"min": 1}}}, True),
    ({"metrics": {"acc": {"max_drop": -0.5}}}, False),  # minimum 0
    ({"metrics": {"acc": {"significance": 0.5}}}, False),  # exclusiveMinimum 0.5
    ({"version": True}, False),  # const 1: True is not 1
    ({"version": 1.0}, True),  # ... and 1.0 is
    ({"base": "main\n"}, False),  # $(?!\n): no trailing newline
    ({"metrics": {"acc": {"estimate": ""}}}, False),  # minLength 1
    ({"experiments": {"rank_by": "acc", "grid": {"lr": list(range(65))}}}, False),  # maxItems 64
    ({"experiments": {"rank_by": "acc", "grid": {"lr": list(range(64))}}}, True),
    ({"data": {"a.csv": {"columns": {"id": {"regex": "("}}}}}, False),  # format: regex
    ({"data": {"a.csv": {"columns": {"id": {"regex": "^[a-z]+$"}}}}}, True),
    ({"significance": {"seeds": {"file": "s.json", "files": "s/*.json"}}}, False),  # oneOf: not both
    ({"significance": {"seeds": {"file": "s.json"}}}, True),
    ({1: "x"}, False),  # a key that is not a string is unknown
])
def test_json_schema_corners_as_jsonschema_judges_them(data, valid):
    assert _jsonschema_valid(data) is valid
    assert accepts(data, SCHEMA) is valid


def test_a_refused_config_keeps_todays_one_line_message():
    with pytest.raises(UserError, match=r"^\.ci-mlops\.yml:1: base: 'main\\n' is not a git branch name"):
        parse_config('base: "main\\n"\n')
    assert first_error({"metrics": {"acc": {"direction": "up"}}}) == (
        " metrics.acc.direction: 'up' is not one of higher, lower")


def test_a_valid_config_does_not_import_jsonschema(tmp_path: Path):
    (tmp_path / ".ci-mlops.yml").write_text(
        "base: main\nmetrics:\n  test.acc: {direction: higher, min: 0.5}\nrunner: [self-hosted, gpu]\n")
    code = ("import sys; from ci_mlops.config import load_config; c = load_config('.ci-mlops.yml'); "
            "print(c.settings.base, 'jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["main", "False"]


# Configs generated from the schema: each node yields a value of its own shape or a near miss.
_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False),
                  st.text(max_size=6), st.just([]), st.just({}))


def _strings(node: dict[str, Any]) -> st.SearchStrategy[str]:
    if "pattern" not in node:
        return st.text(max_size=8)
    valid = st.from_regex(node["pattern"])
    return st.one_of(valid, valid.map(lambda s: s + "\n"), valid.map(lambda s: s[:-1]), st.text(max_size=8))


def _values(node: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    if not isinstance(node, dict) or depth > 6:
        return _JUNK
    options: list[st.SearchStrategy[Any]] = [_JUNK]
    if "enum" in node:
        options.append(st.sampled_from(node["enum"]))
    if "const" in node:
        options.append(st.just(node["const"]))
    for sub in node.get("oneOf", []) + node.get("anyOf", []):
        options.append(_values(sub, depth + 1))
    types = node.get("type", [])
    for kind in types if isinstance(types, list) else [types]:
        if kind == "object":
            props = {key: _values(sub, depth + 1) for key, sub in node.get("properties", {}).items()}
            extra = node.get("additionalProperties", True)
            names = _strings(node["propertyNames"]) if "propertyNames" in node else st.text(min_size=1, max_size=6)
            rest = st.dictionaries(names, _values(extra, depth + 1) if extra else _JUNK, max_size=2)
            fixed = st.fixed_dictionaries({}, optional=props) if props else st.just({})
            # Rarely an unknown key next to known ones.
            options.append(st.tuples(fixed, rest, st.integers(0, 9)).map(
                lambda t, extra=extra: {**t[0], **t[1]} if extra or t[2] == 0 else t[0]))
        elif kind == "array":
            options.append(st.lists(_values(node.get("items", {}), depth + 1), max_size=3))
        elif kind == "string":
            options.append(_strings(node))
        elif kind == "integer":
            options.append(st.integers(-2, 200))
        elif kind == "number":
            options.append(st.one_of(st.integers(-2, 200), st.floats(-2, 2)))
        elif kind == "boolean":
            options.append(st.booleans())
    return st.one_of(options)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(_values(SCHEMA))
def test_generated_configs_get_jsonschemas_verdict(data: Any):
    assert accepts(data, SCHEMA) == _jsonschema_valid(data)


@pytest.mark.parametrize("section", sorted(SCHEMA["properties"]))
def test_generated_sections_get_jsonschemas_verdict(section: str):
    """One section at a time, so that deep keys (a gate's bounds, a target's fields) are reached."""

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_values(SCHEMA["properties"][section]))
    def agree(value: Any) -> None:
        data = {section: value}
        assert accepts(data, SCHEMA) == _jsonschema_valid(data)

    agree()


def test_generated_configs_reach_valid_and_invalid():
    """The generator is not all junk: it makes valid configs of most sections (derandomized, so
    the same sections every run)."""
    found = set()
    for key, sub in SCHEMA["properties"].items():
        try:
            # Any one example answers the question: no shrinking it to the smallest (most of find's time).
            find(_values(sub), lambda v, key=key: v not in ({}, [], None) and _jsonschema_valid({key: v}),
                 settings=settings(max_examples=300, database=None, derandomize=True,
                                   phases=[Phase.explicit, Phase.reuse, Phase.generate],
                                   suppress_health_check=list(HealthCheck)))
        except NoSuchExample:
            continue
        found.add(key)
    missing = sorted(set(SCHEMA["properties"]) - found)
    assert len(missing) <= len(found) // 3, missing


def test_known_keywords_cover_annotations_and_rules():
    assert {"x-hint", "description", "pattern", "oneOf", "additionalProperties"} <= KNOWN_KEYWORDS
