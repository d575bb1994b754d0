"""`.ci-mlops.yml`: find, load, validate against the shipped JSON Schema, read into typed records.

``Config.settings`` is the typed record of the file (ci_mlops.config.records): every value,
with its default, is read from it. ``Config.written`` is the file's mapping as written (no
defaults), for questions about the file itself: which keys two files write differently,
which file a section is taken from.

Every error is one line naming the file, the line, the key path and the bad value,
e.g. ``.ci-mlops.yml:7: metrics.test.accuracy.direction: 'sideways' is not one of
higher, lower``. Unknown keys are errors with a did-you-mean suggestion.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cached_property, lru_cache

from ci_mlops import __version__
from ci_mlops.config.convert import build
from ci_mlops.config.records import Settings
from ci_mlops.errors import UserError
from ci_mlops.record import field, frozen_record
from ci_mlops.safeload import JsonValue
from ci_mlops.safepath import folder_and_parents, path_text
from ci_mlops.yamlplain import load as load_plain

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    import yaml

    SCHEMA_PATH: Path  # the schema file as a Path: made on first use (module __getattr__ below)

CONFIG_NAME = ".ci-mlops.yml"
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schema", "ci-mlops.schema.json")
# Where editors (the YAML language server) fetch the schema of this version from.
SCHEMA_URL = f"https://raw.githubusercontent.com/ci-mlops/ci-mlops/v{__version__}/ci_mlops/schema/ci-mlops.schema.json"

Path_ = tuple[str, ...]


@frozen_record
class Config:
    """A validated configuration: ``settings`` to read, ``written`` as the file says it."""

    written: Mapping[str, JsonValue] = field(default_factory=dict)  # validated; absent keys absent
    file: str | None = None  # the file's path as text (``str(path)``; a Path given is read as its text)
    lines: Mapping[Path_, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.file is not None and type(self.file) is not str:  # a Path (callers before ``file`` was text)
            object.__setattr__(self, "file", path_text(self.file))

    @property
    def path(self) -> Path | None:
        """The file as a ``Path`` (None for the defaults): made when asked, so the report's start-up,
        which reads ``file``, does not import pathlib."""
        if self.file is None:
            return None
        from pathlib import Path  # lazy: see above

        return Path(self.file)

    def wrote(self, *keys: str) -> bool:
        """Whether the file itself sets ``keys`` (a default from the records does not count)."""
        node: JsonValue = dict(self.written)
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return False
            node = node[key]
        return True

    def line(self, *keys: str) -> int | None:
        """1-based line of a key in the file (for annotations), or None."""
        return self.lines.get(tuple(keys))

    @property
    def display_path(self) -> str:
        return os.path.basename(self.file) if self.file else CONFIG_NAME

    @cached_property
    def settings(self) -> Settings:
        """The typed record of the file: its values, and the records' defaults for the rest."""
        return build(Settings, self.written)

    @property
    def runner_labels(self) -> list[str]:
        runner = self.settings.runner
        return [runner] if isinstance(runner, str) else list(runner)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    with open(SCHEMA_FILE, encoding="utf-8") as file:
        loaded: dict[str, Any] = json.loads(file.read())
    return loaded


def __getattr__(name: str) -> Any:
    """``SCHEMA_PATH``, the schema file as a ``Path``, on first use (start-up without pathlib)."""
    if name == "SCHEMA_PATH":
        from pathlib import Path  # lazy: see above

        return Path(SCHEMA_FILE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def find_config_file(start: str | os.PathLike[str] = ".") -> str:
    """:func:`find_config` as text."""
    start = os.path.realpath(path_text(start))  # Path(start).resolve()'s text
    for folder in folder_and_parents(start):
        candidate = os.path.join(folder, CONFIG_NAME)
        if os.path.isfile(candidate) or os.path.exists(os.path.join(folder, ".git")):
            return candidate
    return os.path.join(start, CONFIG_NAME)


def find_config(start: str | os.PathLike[str] = ".") -> Path:
    """The config path for a project: ``.ci-mlops.yml`` in the git work-tree root, else in ``start``."""
    from pathlib import Path  # lazy: the report's path uses find_config_file (start-up without pathlib)

    return Path(find_config_file(start))


def load_config(path: str | os.PathLike[str] | None = None, *, required: bool = False) -> Config:
    """Load and validate a config file; a missing file gives the defaults unless ``required``."""
    path = path_text(path) if path is not None else find_config_file()
    _stays_in_work_tree(path)
    if not os.path.exists(path):
        if required:
            hint = " (run `ci-mlops init` to create it)" if os.path.basename(path) == CONFIG_NAME else ""
            raise UserError(f"{path}: no such file{hint}")
        return Config()
    from ci_mlops.safeload import MAX_YAML_BYTES, DocumentError, read_limited

    try:
        text = read_limited(path, MAX_YAML_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError, DocumentError) as exc:
        raise UserError(f"{path}: cannot read: {_reason(exc)}") from exc
    return parse_config(text, path)


def parse_config(text: str, path: str | os.PathLike[str] | None = None) -> Config:
    """Parse and validate config text. ``path`` is only used in messages."""
    path = None if path is None else path_text(path)
    name = path or CONFIG_NAME
    lines: dict[Path_, int] = {}
    data = load_plain(text, "1.1", text_keys=True, lines=lines)
    if data is None:  # not plain YAML (or not YAML): PyYAML reads it and words any error
        data = _parse_yaml(text, name, lines)
        if data is None:
            return Config(file=path)
    if not isinstance(data, dict):
        raise UserError(f"{name}: the top level must be a mapping of keys, got {_kind(data)}")
    error = first_error(data, lines)
    if error:
        raise UserError(f"{name}:{error}")
    return Config(data, path, lines)


def _parse_yaml(text: str, name: str, lines: dict[Path_, int]) -> Any:
    """The document by PyYAML (None when empty), each key's and item's line into ``lines``."""
    import yaml  # lazy: PyYAML is slow to import, and a plain file never needs it (yamlplain)

    from ci_mlops.safeload import DocumentError, compose_yaml, construct_yaml

    try:
        node = compose_yaml(text, _loader())
    except yaml.YAMLError as exc:
        raise UserError(_yaml_error(name, exc)) from exc
    except DocumentError as exc:
        raise UserError(f"{name}: {exc}") from None
    if node is None:
        return None
    _collect_lines(node, (), lines, name)
    try:
        return construct_yaml(node, _loader())
    except yaml.YAMLError as exc:
        raise UserError(_yaml_error(name, exc)) from exc
    except DocumentError as exc:
        raise UserError(f"{name}: {exc}") from None


def first_error(data: dict[str, Any], lines: dict[Path_, int] | None = None) -> str | None:
    """The first schema violation in file order as ``LINE: key.path: message``, or None."""
    from ci_mlops.config.accept import accepts  # lazy: only a written file is validated (start-up without one)

    if accepts(data, schema()):
        return None  # certainly valid: no need to import jsonschema (60-80 ms)
    import jsonschema  # lazy: only a config that may be invalid needs it, for its message

    validator_cls = jsonschema.validators.validator_for(schema())
    validator = validator_cls(schema(), format_checker=validator_cls.FORMAT_CHECKER)
    errors = list(validator.iter_errors(data))
    if not errors:
        return None
    lines = lines or {}

    def position(err: Any) -> tuple[int, str]:
        keys = tuple(str(p) for p in err.absolute_path)
        while keys and keys not in lines:
            keys = keys[:-1]
        return (lines.get(keys, 0), ".".join(str(p) for p in err.absolute_path))

    err = _focus(min(errors, key=position))
    line, _ = position(err)
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    prefix = f"{line}: " if line else " "
    return f"{prefix}{describe_error(err)}{more}"


def describe_error(err: Any) -> str:
    """One readable sentence for a jsonschema ValidationError."""
    keys = [str(p) for p in err.absolute_path]
    where = ".".join(keys) if keys else "top level"
    value = err.instance
    kind = err.validator
    if kind == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        unknown = sorted(k for k in value if k not in err.schema.get("properties", {}))
        key = unknown[0]
        import difflib  # lazy: only an error message needs it

        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else f" (known keys: {', '.join(allowed)})"
        full = ".".join([*keys, key])
        return f"{full}: unknown key '{key}'{suggestion}"
    if kind == "enum":
        options = ", ".join(str(o) for o in err.validator_value)
        return f"{where}: {_show(value)} is not one of {options}"
    if kind == "propertyNames":
        return f"{where}: {err.message}"
    if kind == "const":
        return f"{where}: {_show(value)} is not supported (expected {_show(err.validator_value)})"
    if kind == "type":
        expected = err.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{where}: expected {_article(expected)}, got {_kind(value)} {_show(value)}"
    if kind in ("oneOf", "anyOf"):
        desc = err.schema.get("description", "")
        return f"{where}: {_show(value)} is not valid here" + (f" ({desc})" if desc else "")
    if kind == "required":
        return f"{where}: {err.message.replace(' is a required property', '')} is required"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": "below the minimum", "maximum": "above the maximum",
                "exclusiveMinimum": "not above", "exclusiveMaximum": "not below"}[kind]
        return f"{where}: {_show(value)} is {word} {err.validator_value}"
    if kind == "format":
        return f"{where}: {_show(value)} is not a valid {err.validator_value}"
    if kind == "pattern":
        # Schema entries with a pattern carry an "x-hint" in words; users never see a regex.
        return f"{where}: {_show(value)} {err.schema.get('x-hint', 'is not valid here')}"
    return f"{where}: {err.message}"


def _focus(err: Any) -> Any:
    """For a oneOf/anyOf failure, the error of the option the value was meant for.

    ``runner: [self-hosted, "gpu,large"]`` fails the string option by its type and the
    list option by one item's pattern: the item is what the user needs to hear about.
    """
    while err.validator in ("oneOf", "anyOf") and err.context:
        inside = [e for e in err.context if len(e.absolute_path) > len(err.absolute_path)]
        meant = inside or [e for e in err.context if e.validator not in ("type", "const")]
        if not meant:
            break
        err = max(meant, key=lambda e: len(e.absolute_path))
    return err


# -- helpers ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _loader() -> type:
    """A safe loader whose mapping keys are their source text.

    YAML 1.1 would read the bare keys ``on``/``yes``/``no``/``off`` as booleans and
    ``1`` as a number; every key of ``.ci-mlops.yml`` is a name, so keep it as written.
    """
    import yaml  # lazy: PyYAML is slow to import, and a plain file never needs it (yamlplain)

    class StrKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[str, Any]:
            self.flatten_mapping(node)
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):  # _collect_lines reports it first
                    raise yaml.constructor.ConstructorError(None, None, "a key must be a plain name",
                                                            key_node.start_mark)
                mapping[key_node.value] = self.construct_object(value_node, deep=deep)
            return mapping

    return StrKeyLoader


def _stays_in_work_tree(path: str) -> None:
    """A relative ``--config`` must not climb out of the work tree; a config that is a symbolic
    link must not point out of the work tree holding the link (a PR could plant one).
    ``path`` as :func:`~ci_mlops.safepath.path_text` writes it."""
    from ci_mlops.safepath import absolute_text, check_cli_path, inside_text, work_tree_text

    if not path.startswith("/"):
        check_cli_path(path, "config file")
    if os.path.islink(path):
        absolute = absolute_text(path)
        root = work_tree_text(os.path.dirname(absolute))  # a folder above it, by text
        if root is not None:
            inside_text(root, absolute[len(root):].lstrip("/"), "config file")


def _collect_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], name: str) -> None:
    import yaml  # lazy: only a document that is not plain YAML gets here

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                where = ".".join(path) or "top level"
                raise UserError(f"{name}:{key_node.start_mark.line + 1}: {where}: a key must be a plain name, "
                                f"not a {kind}")
            key = str(key_node.value)
            if key in seen:
                raise UserError(f"{name}:{key_node.start_mark.line + 1}: {'.'.join([*path, key])}: duplicate key")
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*path, key), lines, name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, str(index))] = item.start_mark.line + 1
            _collect_lines(item, (*path, str(index)), lines, name)


def _yaml_error(name: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}: invalid YAML: {problem}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return getattr(exc, "strerror", None) or str(exc)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


def _article(word: str) -> str:
    names = {"object": "a mapping", "array": "a list", "string": "a string", "number": "a number",
             "integer": "an integer", "boolean": "true or false", "null": "nothing"}
    return " or ".join(names.get(w, w) for w in word.split(" or "))


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
