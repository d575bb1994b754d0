"""The typed config records (ci_mlops.config.records) and the published JSON Schema agree.

Every schema property has a record field and every field a property; the required keys,
the defaults, the enum/const values and the value types are the same on both sides.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import inspect
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

import pytest

from ci_mlops.config import SCHEMA_PATH, records
from ci_mlops.config.convert import type_hints
from ci_mlops.config.records import Settings

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
LEAVES = {str: "string", int: "integer", float: "number", bool: "boolean", object: "any"}


def disagreements(schema: dict[str, Any], root: type = Settings) -> list[str]:
    problems: list[str] = []
    _compare(schema, root, "(top level)", problems)
    return problems


def _members(hint: Any) -> list[Any]:
    if get_origin(hint) in (typing.Union, types.UnionType):
        return [m for m in get_args(hint) if m is not type(None)]
    return [hint]


def _kind(hint: Any) -> Any:
    if dataclasses.is_dataclass(hint) or get_origin(hint) is Mapping:
        return "object"
    if get_origin(hint) is tuple:
        return "array"
    if get_origin(hint) is Literal:
        args = get_args(hint)
        return ("const", args[0]) if len(args) == 1 else ("enum", args)
    return LEAVES.get(hint, repr(hint))


def _node_kind(node: dict[str, Any]) -> Any:
    if "const" in node:
        return ("const", node["const"])
    if "enum" in node:
        return ("enum", tuple(node["enum"]))
    return node.get("type", "any")


def _compare(node: dict[str, Any], hint: Any, where: str, problems: list[str]) -> None:
    members = _members(hint)
    options = node.get("oneOf") or node.get("anyOf")
    if len(members) > 1 or (options and "type" not in node):
        if not options or len(options) != len(members):
            problems.append(f"{where}: the record allows {hint}, the schema {options or _node_kind(node)}")
            return
        for member in members:
            found = [o for o in options if _node_kind(o) == _kind(member)]
            if len(found) != 1:
                problems.append(f"{where}: no schema option matches {member} (options: {options})")
                continue
            _compare(found[0], member, where, problems)
        return
    (hint,) = members
    if _kind(hint) != _node_kind(node):
        problems.append(f"{where}: the record says {_kind(hint)}, the schema {_node_kind(node)}")
        return
    if dataclasses.is_dataclass(hint):
        _compare_record(node, hint, where, problems)
    elif get_origin(hint) is Mapping:
        names, value = get_args(hint)
        if not isinstance(node.get("additionalProperties"), dict) or "properties" in node:
            problems.append(f"{where}: the record is a mapping of names, the schema is not")
            return
        wanted = list(get_args(names)) if get_origin(names) is Literal else None
        if wanted != node.get("propertyNames", {}).get("enum"):
            problems.append(f"{where}: names {wanted} in the record, {node.get('propertyNames')} in the schema")
        _compare(node["additionalProperties"], value, f"{where}.<name>", problems)
    elif get_origin(hint) is tuple:
        _compare(node.get("items", {}), get_args(hint)[0], f"{where}[]", problems)


def _compare_record(node: dict[str, Any], cls: Any, where: str, problems: list[str]) -> None:
    hints = type_hints(cls)
    fields = {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls)}
    props = node.get("properties", {})
    prefix = "" if where == "(top level)" else f"{where}."
    for name in sorted(set(props) - set(fields)):
        problems.append(f"{prefix}{name}: in the schema, not in {cls.__name__}")
    for name in sorted(set(fields) - set(props)):
        problems.append(f"{prefix}{name}: in {cls.__name__}, not in the schema")
    if node.get("additionalProperties") is not False:
        problems.append(f"{where}: the schema allows unknown keys, {cls.__name__} does not")
    required = {n for n, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    if required != set(node.get("required", [])):
        problems.append(f"{where}: required {sorted(required)} in {cls.__name__}, "
                        f"{sorted(node.get('required', []))} in the schema")
    for name in sorted(set(props) & set(fields)):
        item, prop, path = fields[name], props[name], f"{prefix}{name}"
        if name not in required:
            expected = prop.get("default")
            if isinstance(expected, list):  # a list default is a tuple in the record
                expected = tuple(expected)
            if item.default != expected or (type(item.default) is not type(expected) and not (
                    isinstance(item.default, (int, float)) and isinstance(expected, (int, float))
                    and not isinstance(expected, bool))):
                problems.append(f"{path}: default {item.default!r} in {cls.__name__}, "
                                f"{expected!r} in the schema")
        _compare(prop, hints[item.name], path, problems)


def test_records_and_schema_agree():
    assert disagreements(SCHEMA) == []


def _mutated(change: Any) -> dict[str, Any]:
    schema = copy.deepcopy(SCHEMA)
    change(schema["properties"])
    return schema


@pytest.mark.parametrize(("change", "expected"), [
    (lambda p: p["drift"]["properties"].update(window={"type": "integer"}), "drift.window: in the schema, not in Drift"),
    (lambda p: p["drift"]["properties"].pop("psi"), "drift.psi: in Drift, not in the schema"),
    (lambda p: p["drift"]["properties"]["schedule"].update(default="0 7 * * 1"), "drift.schedule: default"),
    (lambda p: p["report"]["properties"]["history"].pop("default"), "report.history: default 0 in Report, None"),
    (lambda p: p["deploy"]["properties"]["target"]["enum"].append("pypi"), "deploy.target: the record says"),
    (lambda p: p["drift"]["properties"]["tests"]["additionalProperties"]["properties"]["test"]["enum"].remove("psi"),
     "drift.tests.<name>.test"),
    (lambda p: p["slices"].update(required=["file"]), "slices: required ['by', 'file']"),
    (lambda p: p["dvc"]["properties"]["pull"].update(type="string"), "dvc.pull: the record says boolean"),
    (lambda p: p["runner"]["oneOf"].pop(), "runner: the record allows"),
    (lambda p: p["data"]["additionalProperties"]["properties"]["leakage"]["properties"]["on"].update(
        items={"type": "integer"}), "data.<name>.leakage.on[]"),
    (lambda p: p["slices"]["properties"]["metrics"]["propertyNames"]["enum"].append("auc"), "slices.metrics: names"),
    (lambda p: p["comment"].update(additionalProperties=True), "comment: the schema allows unknown keys"),
], ids=["new-key", "dropped-key", "default", "lost-default", "enum", "nested-enum", "required", "type", "union",
        "items", "names", "open-section"])
def test_a_drifted_schema_is_caught(change, expected):
    problems = disagreements(_mutated(change))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_drifted_record_is_caught():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Docker:
        registry: str = "docker.io"
        image: str | None = None
        dockerfile: str = "Dockerfile"

    node = SCHEMA["properties"]["deploy"]["properties"]["docker"]
    assert disagreements(node, Docker) == [
        "context: in the schema, not in Docker",
        "registry: default 'docker.io' in Docker, 'ghcr.io' in the schema",
    ]


def test_the_literal_aliases_at_run_time_are_the_type_checker_s():
    """records.py spells Direction, DataFormat and SliceMetric twice: as Literal types for the type
    checker and as LITERAL_ALIASES, made into the same types on first use (no typing at start-up)."""
    tree = ast.parse(inspect.getsource(records))
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    checked = {node.targets[0].id: tuple(ast.literal_eval(node.value.slice))  # type: ignore[attr-defined]
               for node in block.body if isinstance(node, ast.Assign)}
    assert checked == records.LITERAL_ALIASES
    for name, choices in records.LITERAL_ALIASES.items():
        assert get_origin(getattr(records, name)) is Literal and get_args(getattr(records, name)) == choices
    assert records.Literal is Literal
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        records.Nope  # noqa: B018 - the attribute access is what is tested
