"""A fast yes to a valid `.ci-mlops.yml`, without importing jsonschema (~60-80 ms of start-up).

``accepts(instance, schema)`` walks the shipped schema with the same rules as
jsonschema's Draft 2020-12 validator and its format checker, for the keywords our schema
uses. It only ever answers "certainly valid" (True) or "not known to be valid" (False):
a False sends the caller to jsonschema, which finds the error and words today's one-line
message. So a keyword this module does not know (a schema change) makes it answer False for
a config that reaches it, and costs time, never correctness; `tests/unit/config/test_accept.py` checks that it knows
every keyword of the shipped schema and agrees with jsonschema on the config corpora and
on generated configs.

Patterns are searched with Python's ``re.search``, exactly as jsonschema does, so the
schema's ``$(?!\\n)`` anchors keep their meaning; ``x-hint`` and other annotations are
ignored here (the message comes from jsonschema). Why not fastjsonschema's generated code:
it implements drafts 4, 6 and 7 (our schema is 2020-12) and rewrites every unescaped ``$`` of
a pattern to ``\\Z`` (python-fastjsonschema PR #34), which is not how jsonschema, and so
today's messages, read our patterns; a walk of ~20 keywords needs no generated module to
keep in step with the schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

# Keywords that never reject a value (annotations, and ones applied by their neighbours).
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly", "x-hint", "markdownDescription",
})


def accepts(instance: object, schema: Mapping[str, Any]) -> bool:
    """Whether ``instance`` is certainly valid under ``schema`` (False: ask jsonschema).

    Only the subschemas the instance reaches are read: a keyword this module does not judge
    answers False where it is met, and a ``oneOf`` is judged only when each of its branches
    is known throughout (:func:`exact`). The whole schema is never walked up front (~0.5 ms
    of a configured report's start-up).
    """
    return _valid(instance, schema)


def exact(schema: object) -> bool:
    """Whether ``_valid`` judges ``schema`` exactly both ways (no unknown keyword anywhere in it),
    as ``oneOf`` needs: "valid under exactly one" must not count a branch as invalid only because
    a keyword is unknown. Each branch is walked once per process (kept alive with its id)."""
    judged = _EXACT.get(id(schema))
    if judged is None or judged[0] is not schema:
        judged = _EXACT[id(schema)] = (schema, not unknown_keywords(schema))
    return judged[1]


_EXACT: dict[int, tuple[object, bool]] = {}


def unknown_keywords(schema: object) -> set[str]:
    """The keywords (and formats) in ``schema`` this module cannot judge exactly as jsonschema.

    With none, ``_valid`` is exact both ways, which ``oneOf`` needs: "valid under exactly
    one" must not count a subschema as invalid only because a keyword is unknown.
    """
    found: set[str] = set()
    if isinstance(schema, bool):
        return found
    if not isinstance(schema, Mapping):
        return {repr(schema)}
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword not in _KEYWORDS:
            found.add(keyword)
        elif keyword == "format" and value != "regex":
            found.add(f"format: {value}")
        elif keyword == "type" and not set(value if isinstance(value, list) else [value]) <= _TYPES:
            found.add(f"type: {value}")
        elif keyword == "properties":
            for sub in value.values():
                found |= unknown_keywords(sub)
        elif keyword in ("additionalProperties", "propertyNames", "items"):
            found |= unknown_keywords(value)
        elif keyword in ("oneOf", "anyOf"):
            for sub in value:
                found |= unknown_keywords(sub)
    return found


def _valid(instance: object, schema: Mapping[str, Any] | bool) -> bool:
    if schema is True:
        return True
    if not isinstance(schema, Mapping):
        return False
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        check = _KEYWORDS.get(keyword)
        if check is None or not check(value, instance, schema):
            return False
    return True


_TYPES = frozenset({"object", "array", "string", "boolean", "null", "integer", "number"})


def _is_type(instance: object, name: str) -> bool:
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if isinstance(instance, bool):
        return False
    if name == "integer":
        return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    if name == "number":
        if isinstance(instance, (int, float)):
            return True  # what YAML and JSON give: the numbers module (~0.4 ms) only for anything else
        from numbers import Number  # lazy: see above

        return isinstance(instance, Number)
    return False  # an unknown type name: jsonschema raises on it


def _equal(one: object, two: object) -> bool:
    """jsonschema's equality: ``True`` is not ``1``, also inside lists and mappings."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return one == two


def _type(value: Any, instance: object, _: Any) -> bool:
    names = value if isinstance(value, list) else [value]
    return set(names) <= _TYPES and any(_is_type(instance, name) for name in names)  # jsonschema raises on others


def _properties(value: Any, instance: object, _: Any) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(_valid(instance[key], sub) for key, sub in value.items() if key in instance)


def _additional(value: Any, instance: object, schema: Any) -> bool:
    if not isinstance(instance, dict):
        return True
    known = schema.get("properties", {})
    extras = [key for key in instance if key not in known]
    if value is False:
        return not extras
    return all(_valid(instance[key], value) for key in extras)


def _property_names(value: Any, instance: object, _: Any) -> bool:
    return not isinstance(instance, dict) or all(_valid(key, value) for key in instance)


def _items(value: Any, instance: object, schema: Any) -> bool:
    if not isinstance(instance, list):
        return True
    return all(_valid(item, value) for item in instance)


def _format(value: Any, instance: object, _: Any) -> bool:
    if value != "regex":
        return False  # a format judged by jsonschema's checker only
    if not isinstance(instance, str):
        return True
    try:
        re.compile(instance)
    except re.error:
        return False
    return True


def _number(test: Callable[[Any, Any], bool]) -> Callable[[Any, object, Any], bool]:
    return lambda value, instance, _: not _is_type(instance, "number") or test(instance, value)


def _sized(kind: str, test: Callable[[int, Any], bool]) -> Callable[[Any, object, Any], bool]:
    return lambda value, instance, _: not _is_type(instance, kind) or test(len(instance), value)  # type: ignore[arg-type]


_KEYWORDS: dict[str, Callable[[Any, object, Any], bool]] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "propertyNames": _property_names,
    "items": _items,
    "format": _format,
    "required": lambda value, instance, _: not isinstance(instance, dict) or all(k in instance for k in value),
    "enum": lambda value, instance, _: any(_equal(each, instance) for each in value),
    "const": lambda value, instance, _: _equal(instance, value),
    "pattern": lambda value, instance, _: not isinstance(instance, str) or re.search(value, instance) is not None,
    "oneOf": lambda value, instance, _: all(exact(sub) for sub in value) and sum(_valid(instance, sub) for sub in value) == 1,
    "anyOf": lambda value, instance, _: any(_valid(instance, sub) for sub in value),
    "minimum": _number(lambda n, limit: n >= limit),
    "maximum": _number(lambda n, limit: n <= limit),
    "exclusiveMinimum": _number(lambda n, limit: n > limit),
    "exclusiveMaximum": _number(lambda n, limit: n < limit),
    "minLength": _sized("string", lambda n, limit: n >= limit),
    "maxLength": _sized("string", lambda n, limit: n <= limit),
    "minItems": _sized("array", lambda n, limit: n >= limit),
    "maxItems": _sized("array", lambda n, limit: n <= limit),
    "minProperties": _sized("object", lambda n, limit: n >= limit),
    "maxProperties": _sized("object", lambda n, limit: n <= limit),
}
KNOWN_KEYWORDS = frozenset(_KEYWORDS) | _ANNOTATIONS
