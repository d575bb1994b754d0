"""The plain YAML reader against PyYAML: whenever it answers, PyYAML answers the same (types, order,
lines); whatever is outside its subset it leaves to PyYAML (None).

Three schemas: YAML 1.1 as PyYAML's C safe loader reads it (safeload's default), YAML 1.2 as
DVC reads it (``dvc.project.yaml_loader``), and ``.ci-mlops.yml``'s keys-as-written loader with
each key's and item's line. Documents: generated ones built from resolver edge cases, random
edits of them, real repositories' files (``yamlplain_cases/``) and the project's own YAML files.
"""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ci_mlops import config, yamlplain
from ci_mlops.dvc.project import yaml_loader
from ci_mlops.errors import UserError
from ci_mlops.safeload import MAX_DEPTH, MAX_YAML_BYTES, DocumentError, load_yaml

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "yamlplain_cases"


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, keys in the same order (NaN equals NaN of the same sign)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(k, j) and same(v, w)
                                        for (k, v), (j, w) in zip(a.items(), b.items(), strict=True))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b) and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


def pyyaml(text: str, schema: str) -> Any:
    """What PyYAML makes of ``text``, or the exception it raises."""
    try:
        return load_yaml(text, yaml_loader() if schema == "1.2" else None)
    except (yaml.YAMLError, DocumentError) as exc:
        return exc


def config_pyyaml(text: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    lines: dict[tuple[str, ...], int] = {}
    try:
        return config._parse_yaml(text, ".ci-mlops.yml", lines), lines
    except UserError as exc:
        return exc, lines


def agrees(text: str) -> dict[str, bool]:
    """Per schema: True when the fast path answered (and PyYAML agrees), False when it declined."""
    taken = {}
    for schema in ("1.1", "1.2"):
        fast = yamlplain.load(text, schema)
        taken[schema] = fast is not None
        if fast is not None:
            expected = pyyaml(text, schema)
            assert same(fast, expected), (schema, text, fast, expected)
            if schema == "1.1":  # PyYAML without libyaml reads it the same
                expected = load_yaml(text, yaml.SafeLoader)
                assert same(fast, expected), ("pure 1.1", text, fast, expected)
    lines: dict[tuple[str, ...], int] = {}
    fast = yamlplain.load(text, "1.1", text_keys=True, lines=lines)
    taken["config"] = fast is not None
    if fast is None:
        assert lines == {}
    else:
        expected, expected_lines = config_pyyaml(text)
        assert same(fast, expected), ("config", text, fast, expected)
        assert lines == expected_lines, (text, lines, expected_lines)
    return taken


# -- the resolver tables are PyYAML's ------------------------------------------------------


def _by_first(table: dict[Any, list[tuple[str, re.Pattern[str]]]]) -> dict[str, list[tuple[str, str]]]:
    return {"\0" if first == "" else first: [(tag.rsplit(":", 1)[-1], rx.pattern) for tag, rx in entries]
            for first, entries in table.items()}


@pytest.mark.parametrize(("schema", "resolvers"), [
    ("1.1", lambda: yaml.resolver.Resolver.yaml_implicit_resolvers),
    ("1.2", lambda: yaml_loader().yaml_implicit_resolvers),
])
def test_the_resolver_tables_are_the_loaders(schema, resolvers):
    firsts = {ch for _, _, chars in yamlplain._TABLES[schema] for ch in chars}
    ours = {first: [(tag, rx.pattern) for tag, rx in yamlplain._compile(schema, first)] for first in firsts}
    assert ours == _by_first(resolvers())
    assert yamlplain._compile(schema, "a") == []  # a word's first character: nothing to compile


def test_resolvers_compile_when_a_scalar_first_asks(monkeypatch):
    monkeypatch.setattr(yamlplain, "_COMPILED", {})
    assert yamlplain.load("a: word\nb: yes\n") == {"a": "word", "b": True}
    assert {("1.1", "w"), ("1.1", "y")} <= set(yamlplain._COMPILED)
    assert not any(first in "-+.0123456789" for _, first in yamlplain._COMPILED)  # no number or date pattern yet
    assert yamlplain.load("c: 1.5\nd: 20\ne: false\n") == {"c": 1.5, "d": 20, "e": False}  # read without them
    assert not any(first in "-+.0123456789f" for _, first in yamlplain._COMPILED)
    assert yamlplain.load("f: False\n", "1.2") == {"f": False} and ("1.2", "F") in yamlplain._COMPILED
    assert yamlplain.load("e: 1e3\n") == {"e": "1e3"}  # not a float in YAML 1.1: the tables tell
    assert ("1.1", "1") in yamlplain._COMPILED


def test_the_flow_pattern_compiles_with_the_first_flow(monkeypatch):
    monkeypatch.setattr(yamlplain, "_FLOW_STOPS", [])
    assert yamlplain.load("a: word\nb: ['x', \"y\"]\nc: {}\n") == {"a": "word", "b": ["x", "y"], "c": {}}
    assert yamlplain._FLOW_STOPS == []  # quoted and empty flows need no plain scalar's end
    assert yamlplain.load("a: {b: c}\n") == {"a": {"b": "c"}}
    assert len(yamlplain._FLOW_STOPS) == 1


# -- scalars: every edge case in every position ---------------------------------------------

EDGES = [
    "1e3", "1E3", "1e-3", "1.0e+3", "1.5", "-1.5e-3", ".5", "-.5", "1.", "+1.", "1_000", "1_000.5", "0x1F", "0X1F",
    "-0x1f", "0o17", "017", "-017", "09", "0b101", "0b", "_", "0_1", "1__0", "+1", "-0", "0", "00", "+0", "-1",
    "12:30", "1:30:00", "-1:30", "190:20:30.15", "1:60", ".inf", "-.Inf", "+.INF", ".NaN", ".nan", "-.nan",
    "~", "null", "Null", "NULL", "nULL", "yes", "Yes", "No", "NO", "on", "On", "OFF", "off", "y", "n", "true",
    "False", "TRUE", "tRUE", "2001-12-14", "2001-12-14 21:59:43.10 -5", "2001-12-14t21:59:43.10-05:00",
    "=", "<<", "1" * 40, "0." + "1" * 30, "123456789012345678901234567890", "9" * 5000,
    "a", "a b", "a  b", "it's", 'say "hi"', "a#b", "a #b", "http://x:8080/y", "a:b", "x:", "a: b",
    "-x", "--x", "-", "- x", "---", "...", "?x", ":x", "[a]", "[]", "{}", "{a: 1}", "&a", "*a", "!x", "!!str",
    "|", ">", "%", "@", "`", "a,b", "é", "日本語", "ü: x", "a\\b", "'", '"', "#", "", " a", "a ",
    "\t", "a\tb", "\x7f", "\u2028", "\ufeff", "\r",
]
STYLES = ["plain", "single", "double"]


def render(value: str, style: str) -> str:
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value + '"'
    return value


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("value", EDGES)
def test_scalars_as_values_keys_and_items(value, style):
    scalar = render(value, style)
    for text in (f"key: {scalar}\n", f"{scalar}: value\n", f"- {scalar}\n", f"k: [{scalar}, 1]\n",
                 f"- {scalar}: 1\n  b: 2\n", f"k:\n  {scalar}: x  # note\n"):
        agrees(text)


def test_common_scalars_take_the_fast_path():
    for value in ("1e3", "1_000", "0x1F", "017", ".inf", "-.Inf", ".nan", "~", "null", "yes", "No", "12:30",
                  "+1", "-0", "a b", "it's", "http://x:8080/y", "-x"):
        for style in STYLES:
            assert agrees(f"key: {render(value, style)}\n") == {"1.1": True, "1.2": True, "config": True}


# -- documents outside the subset go to PyYAML ---------------------------------------------

NOT_PLAIN = {
    "tab indent": "a:\n\tb: 1\n",
    "tab in value": "a: b\tc\n",
    "anchor and alias": "a: &x 1\nb: *x\n",
    "tag": "a: !!str 1\n",
    "local tag": "a: !thing 1\n",
    "document start": "---\na: 1\n",
    "document end": "a: 1\n...\n",
    "directive": "%YAML 1.1\n---\na: 1\n",
    "literal block": "a: |\n  text\n",
    "folded block": "a: >-\n  text\n",
    "multi-line plain": "a: one\n  two\n",
    "multi-line quoted": "a: 'one\n  two'\n",
    "multi-line flow": "a: [1,\n  2]\n",
    "multi-line flow mapping": "a: {b: 1,\n  c: 2}\n",
    "flow pair in a sequence": "a: [b: 1]\n",
    "flow key without a value": "a: {b, c: 1}\n",
    "flow empty value": "a: {b: , c: 1}\n",
    "flow colon before a comma": "a: {b:, c: 1}\n",  # PyYAML reads b: null, its C loader fails
    "flow question mark": "a: [b?c]\n",  # PyYAML fails, its C loader reads "b?c"
    "flow complex key": "a: {? b: 1}\n",
    "flow collection as key": "a: {[b]: 1}\n",
    "flow anchor and alias": "a: [&x 1, *x]\n",
    "flow tag": "a: {b: !!str 1}\n",
    "flow escape": 'a: {b: "x\\ny"}\n',
    "flow duplicate key": "a: {b: 1, b: 2}\n",
    "flow merge key": "a: {<<: {b: 1}, c: 2}\n",
    "flow comment inside": "a: [b #c]\n",
    "text after a flow": "a: [b] c\n",
    "flow then a mapping value": "- {a: 1}: b\n",
    "lone comma": "a: [,]\n",
    "double comma": "a: [1,,2]\n",
    "two trailing commas": "a: {b: 1,,}\n",
    "unclosed nested flow": "a: {b: [1}\n",
    "top-level flow": "{a: 1}\n",
    "complex key": "? a\n: 1\n",
    "duplicate key": "a: 1\na: 2\n",
    "merge key": "a:\n  <<:\n    b: 1\n",
    "odd indentation": "a:\n    b: 1\n  c: 2\n",
    "deeper sibling": "a: 1\n b: 2\n",
    "item under item": "- - a\n",
    "BOM": "\ufeffa: 1\n",
    "CRLF": "a: 1\r\nb: 2\r\n",
    "NEL": "a: 1\x85b: 2\n",
    "control character": "a: \x01\n",
    "escape": 'a: "x\\ny"\n',
    "date": "a: 2001-12-14\n",
    "value key": "=: 1\n",
    "space before colon": "a : 1\n",
    "scalar document": "just text\n",
    "empty document": "# nothing\n",
    "indented top level": "  a: 1\n",
    "mapping value on a value": "a: b: c\n",
    "huge integer": "a: " + "9" * 5000 + "\n",
}


@pytest.mark.parametrize("text", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_outside_the_subset_is_left_to_pyyaml(text):
    for schema in ("1.1", "1.2"):
        assert yamlplain.load(text, schema) is None
    lines: dict[tuple[str, ...], int] = {}
    assert yamlplain.load(text, "1.1", text_keys=True, lines=lines) is None and lines == {}


# Flow collections the project's docs and real repositories write; every one is read without PyYAML.
FLOW = {
    "docs/check.md gates": "metrics:\n  test.accuracy: {min: 0.90, max_drop: 0.01}   # DVC's dotted key\n"
                           "  test.log_loss: {max: 0.35, max_drop_pct: 5}\n"
                           "  eval/metrics.json:f1: {min: 0.8}             # FILE:KEY\n",
    "docs/check.md data": "data:\n  - file: data/train.csv\n    rows: {min: 1000, max: 5000000}\n    columns:\n"
                          "      id:     {dtype: int, unique: true, nullable: false}\n"
                          "      label:  {allowed: [0, 1]}\n      email:  {regex: '[^@]+@[^@]+\\.[a-z]+'}\n"
                          "    duplicates: {max: 0}           # rows equal to an earlier row\n"
                          "    leakage: {with: data/test.csv, on: [id]}\n",
    "docs/check.md slices": "slices:\n  file: eval/predictions.csv\n  by: [sex, region]\n  metrics:\n"
                            "    accuracy: {max_gap: 0.05}\n    recall:   {min: 0.7, max_gap: 0.1}\n",
    "docs/workflows.md oidc": 'dvc:\n  oidc:\n    aws: {role: "arn:aws:iam::123456789012:role/dvc-push", '
                              'region: eu-west-1}\n',
    "dvc.yaml outs": "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py, data/prepared]\n"
                     "    params: [train.lr, train.layers]\n    outs: [model.pkl]\n"
                     "    metrics: [{metrics.json: {cache: false}}]\n",
    "params layers": "train:\n  layers: [64, 32]\n  lr: 1e-3\n  dropout: [0.1, .5, 1.]\n  shape: [[28, 28], [1]]\n",
    "magnetic-tiles-defect params (one line)": "train:\n  augmentations: {do_flip: false, flip_vert: false, "
                                               "max_rotate: 10, min_zoom: 1, max_zoom: 1}\n",
    "magnetic-tiles-defect params (quoted)": "train:\n  augmentations: {do_flip: 'true', flip_vert: 'true', "
                                             "max_rotate: 10.0}\n",
    "workflow lists": "on: [push]\njobs:\n  run:\n    runs-on: [self-hosted, cml-runner]\n",
    "workflow_dispatch": "on:\n  workflow_dispatch: {}\n  release:\n    types: [published]\n",
    "lefthook args": 'pre-commit:\n  commands:\n    lint:\n      args: ["--configfile=pyproject.toml"]\n'
                     "      stages: [pre-push]\n",
    "FUNDING.yml": 'custom: ["https://donate.stripe.com/4gw8xT9oVbCc98s7ss"]\n',
    "JSON style": 'k: {"a":1, "b": [true, null], "c":{"d": "e"}}\n',
    "spacing": "k: { a : 1 ,b: [ x ,y ] , c: { } }\n",
    "trailing commas": "k: [1, 2,]\nm: {a: 1, b: [x,],}\n",  # PyYAML and its C loader both allow one
    "words and URLs": "k: [a b, it's, a#b, -x, http://x:8080/y, 1:30, ~]\n",
    "flow items": "- [a, b]\n- {c: d}\n- e: {f: [g]}\n",
}


@pytest.mark.parametrize("text", FLOW.values(), ids=FLOW.keys())
def test_flow_collections_take_the_fast_path(text):
    assert agrees(text) == {"1.1": True, "1.2": True, "config": True}


def test_flow_keys_resolve_as_block_keys_do():
    """In YAML 1.1 ``on`` and ``yes`` are both True: a duplicate, which PyYAML decides. YAML 1.2 and
    ``.ci-mlops.yml`` (keys as written) read them; there ``1`` and ``'1'`` are the same key."""
    text = "k: {on: [id], yes: no, 1: a}\n"
    assert agrees(text) == {"1.1": False, "1.2": True, "config": True}
    assert yamlplain.load(text, "1.2") == {"k": {"on": ["id"], "yes": "no", 1: "a"}}
    assert yamlplain.load(text, text_keys=True) == {"k": {"on": ["id"], "yes": False, "1": "a"}}
    text = "k: {1: a, '1': b}\n"
    assert agrees(text) == {"1.1": True, "1.2": True, "config": False}
    assert isinstance(config_pyyaml(text)[0], UserError)


def test_flow_lines_are_the_lines_pyyaml_gives():
    text = "a: 1\nmetrics:\n  acc: {min: 0.9, by: [x, {y: 1}]}\nb: [c]\n"
    lines: dict[tuple[str, ...], int] = {}
    assert yamlplain.load(text, text_keys=True, lines=lines) is not None
    assert lines == {("a",): 1, ("metrics",): 2, ("metrics", "acc"): 3, ("metrics", "acc", "min"): 3,
                     ("metrics", "acc", "by"): 3, ("metrics", "acc", "by", "0"): 3,
                     ("metrics", "acc", "by", "1"): 3, ("metrics", "acc", "by", "1", "y"): 3,
                     ("b",): 4, ("b", "0"): 4}
    assert agrees(text)["config"]  # and PyYAML's nodes give the same lines


def test_keys_equal_as_values_are_duplicates_but_not_as_text():
    text = "1: a\n0x1: b\ntrue: c\n"
    assert yamlplain.load(text, "1.1") is None and yamlplain.load(text, "1.2") is None
    assert agrees(text)["config"] and yamlplain.load(text, text_keys=True) == {"1": "a", "0x1": "b", "true": "c"}


def test_the_bounds_hold_on_the_fast_path():
    deep = "".join(" " * i + f"k{i}:\n" for i in range(MAX_DEPTH)) + " " * MAX_DEPTH + "k: 1\n"
    assert yamlplain.load(deep, "1.2") is None
    with pytest.raises(DocumentError, match="nested deeper"):
        load_yaml(deep, yaml_loader())
    shallow = "".join(" " * i + f"k{i}:\n" for i in range(MAX_DEPTH - 1)) + " " * (MAX_DEPTH - 1) + "k: 1\n"
    assert agrees(shallow) == {"1.1": True, "1.2": True, "config": True}
    big = "a: 1\n" + "# padding\n" * (MAX_YAML_BYTES // 10)
    assert len(big) > MAX_YAML_BYTES and yamlplain.load(big) is None
    with pytest.raises(DocumentError, match="limit"):
        load_yaml(big)


def test_the_depth_bound_holds_in_flows():
    """Each flow collection is a level, as PyYAML's nodes count them: ``k: [[...]]`` with the
    mapping at level 1 may hold 99 nested brackets, not 100."""
    assert agrees("k: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n") == {
        "1.1": True, "1.2": True, "config": True}
    deep = "k: " + "{a: " * MAX_DEPTH + "1" + "}" * MAX_DEPTH + "\n"
    assert yamlplain.load(deep) is None
    with pytest.raises(DocumentError, match="nested deeper"):
        load_yaml(deep)


def test_a_long_flow_mapping_is_read_in_one_pass():
    """20,000 entries on a 380 kB line (slicing off the rest per entry would copy 3.8 GB)."""
    keys = [f"k{i}" for i in range(20_000)]
    text = "m: {" + ", ".join(f"{key}: [{i}, x]" for i, key in enumerate(keys)) + "}\n"
    assert yamlplain.load(text, "1.2") == {"m": {key: [i, "x"] for i, key in enumerate(keys)}}


def test_a_long_flow_line_is_read_in_one_pass():
    """100,000 items on one line: read by position (slicing off the rest per item would copy
    tens of gigabytes here; a 4 MiB line, terabytes)."""
    items = ["1", "'a'", '"b"', "x y"] * 25_000
    text = "k: [" + ", ".join(items) + "]  # end\n"
    assert yamlplain.load(text, "1.2") == {"k": [1, "a", "b", "x y"] * 25_000}
    assert yamlplain.load(text[:-9] + "\n", "1.2") is None  # unclosed


# -- generated documents --------------------------------------------------------------------

# Most scalars are ones the reader takes as plain values (so most documents are compared, not
# declined); the rest are any edge case or short text of YAML's punctuation.
SHORT = [v for v in EDGES if len(v) < 100]
TAKEN = [v for v in SHORT if v and yamlplain.load(f"k: {v}\n", "1.1") and yamlplain.load(f"k: {v}\n", "1.2")]
WORDS = st.from_regex(r"[a-z][a-z0-9_.-]{0,8}", fullmatch=True)


def _pick(values: list[str]) -> st.SearchStrategy[str]:
    """``sampled_from`` with a short repr (hypothesis warns about, and spends time on, long ones)."""
    def pick(index: int) -> str:
        return values[index]

    return st.integers(0, len(values) - 1).map(pick)


KEYS = st.one_of(_pick(TAKEN), WORDS, _pick(SHORT))
SCALARS = st.tuples(st.one_of(_pick(TAKEN), _pick(TAKEN), WORDS, _pick(SHORT),
                              st.text(st.sampled_from("ab1 :#-'\".,_e"), max_size=6)),
                    st.sampled_from(STYLES))


class Pairs(list):  # type: ignore[type-arg]
    """A mapping as written: (key, style) and value pairs (a key may repeat)."""


def _collections(children: st.SearchStrategy[Any], min_size: int = 0) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, min_size=min_size, max_size=4),
        st.lists(st.tuples(st.tuples(KEYS, st.sampled_from(STYLES)), children), min_size=min_size, max_size=4,
                 unique_by=lambda pair: pair[0][0]).map(Pairs))


TREES = st.recursive(SCALARS, _collections, max_leaves=12)
TOPS = _collections(TREES, min_size=1)  # a document is a list or a mapping


def _flow(draw: st.DrawFn, node: Any) -> str:
    """``node`` on one line in flow style, spaced as people write it (or JSON does)."""
    if isinstance(node, tuple):
        return render(*node)
    comma = draw(st.sampled_from([", ", ", ", ",", " , "]))
    inside = draw(st.sampled_from(["", "", " "]))
    last = draw(st.sampled_from(["", "", "", ","]))
    if isinstance(node, Pairs):  # "a:1" is one plain scalar, '"a":1' a pair
        entries = [render(key, style) + draw(st.sampled_from([": ", ": ", " : ", ": " if style == "plain" else ":"]))
                   + _flow(draw, value) for (key, style), value in node]
        return "{" + inside + comma.join(entries) + (last if entries else "") + inside + "}"
    items = [_flow(draw, item) for item in node]
    return "[" + inside + comma.join(items) + (last if items else "") + inside + "]"


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A tree written as block YAML, with random indentation, indentless and compact lists, flow
    collections (nested, spaced in different ways, trailing commas), comments, blank lines and
    trailing spaces."""
    step = draw(st.integers(1, 4))
    out: list[str] = []

    def pad() -> str:
        return draw(st.sampled_from(["", "", " ", "  # c", " #: x"]))

    def write(node: Any, indent: int, lead: str) -> None:
        """``lead`` is the text already on the line ("key:" or "- "), at column ``indent``."""
        if isinstance(node, tuple):
            out.append(f"{lead} {render(*node)}{pad()}" if lead.endswith(":") else f"{lead}{render(*node)}{pad()}")
            return
        if not node:
            empty = "{}" if isinstance(node, Pairs) else "[]"
            out.append(f"{lead} {empty}" if lead.endswith(":") else f"{lead}{empty}")
            return
        mapping = isinstance(node, Pairs)
        scalars = not mapping and all(isinstance(x, tuple) for x in node)
        if lead and (draw(st.integers(0, 3)) == 0 or (scalars and draw(st.booleans()))):  # in flow style
            text = _flow(draw, node)
            out.append(f"{lead} {text}{pad()}" if lead.endswith(":") else f"{lead}{text}{pad()}")
            return
        if mapping and lead.endswith("- ") and draw(st.booleans()):  # "- key: value", the rest below it
            column = len(lead)
            for index, ((key, style), value) in enumerate(node):
                write(value, column, (lead if not index else " " * column) + render(key, style) + ":")
            return
        if lead:
            out.append(lead.rstrip() + pad())
        if draw(st.integers(0, 5)) == 0:
            out.append("")
        inner = indent + step
        if not mapping and lead.endswith(":") and draw(st.booleans()):
            inner = indent  # indentless
        if not lead:
            inner = 0
        for item in node:
            if mapping:
                (key, style), value = item
                write(value, inner, " " * inner + render(key, style) + ":")
            else:
                write(item, inner, " " * inner + "- ")

    write(draw(TOPS), 0, "")
    return "\n".join(out) + draw(st.sampled_from(["\n", "", "\n\n", "\n# end\n"]))


# Flow collections of scalars the reader mostly takes, nested, and now and then YAML's punctuation.
FLOW_SCALARS = st.tuples(st.one_of(_pick(TAKEN), _pick(TAKEN), WORDS, _pick(SHORT),
                                   st.text(st.sampled_from("ab1 :#-'\",_[]{}?"), min_size=1, max_size=5)),
                         st.sampled_from(STYLES))
FLOW_TREES = _collections(st.recursive(FLOW_SCALARS, _collections, max_leaves=8))


@st.composite
def flow_documents(draw: st.DrawFn) -> str:
    """A few lines whose values are one-line flow collections, as a mapping (``k0: {...}``), a
    list (``- [...]``) or a list's mapping item (``- k0: {...}`` then ``  k1: [...]``), each
    perhaps with a comment after it."""
    nodes = draw(st.lists(FLOW_TREES, min_size=1, max_size=3))
    form = draw(st.sampled_from(["mapping", "list", "item"]))
    lines = []
    for index, node in enumerate(nodes):
        lead = {"mapping": f"k{index}: ", "list": "- ", "item": f"- k{index}: " if not index else f"  k{index}: "}[form]
        lines.append(lead + _flow(draw, node) + draw(st.sampled_from(["", "", "  # c", " #: x"])))
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(flow_documents())
def test_generated_flow_documents(text):
    agrees(text)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents())
def test_generated_documents(text):
    agrees(text)


def _taken(strategy: st.SearchStrategy[str], examples: int) -> list[tuple[dict[str, bool], str]]:
    """``agrees`` on the same ``examples`` documents every run, with each document."""
    taken = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(text: str) -> None:
        taken.append((agrees(text), text))

    run()
    return taken


FLOW_MAPPING = re.compile(r"{ ?[^\s}]")  # a flow mapping that is not empty
NESTED = re.compile(r"[\[{][^\]}\n]*[\[{] ?[^\s\]}]")  # a collection that is not empty inside a flow


def test_generated_documents_reach_the_fast_path():
    """The generators are not mostly refused: most documents are read by both paths and compared,
    flow mappings and nested flow collections among them. (Which documents Hypothesis draws
    depends on the modules loaded, whose constants it uses: 114-136 and 59-75 were taken in
    runs beside other test modules, 20-39 flow mappings and 25-47 nested flows.)"""
    taken = _taken(documents(), 200)
    flows = _taken(flow_documents(), 100)
    for schema in ("1.1", "1.2", "config"):
        assert sum(t[schema] for t, _ in taken) > len(taken) / 2, schema
        assert sum(t[schema] for t, _ in flows) > len(flows) * 2 / 5, schema
        assert sum(t[schema] and bool(FLOW_MAPPING.search(text)) for t, text in flows) > len(flows) / 10
        assert sum(t[schema] and bool(NESTED.search(text)) for t, text in flows) > len(flows) / 10


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents(), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 2),
                                       st.sampled_from(list(" -:#'\"[],{}\n\tx1&*!|>?%@`\\.~")))))
def test_edited_documents(text, edits):
    """Random insertions, deletions and replacements: the reader never fails on its own."""
    chars = list(text)
    for at, kind, ch in edits:
        at = at % (len(chars) + 1)
        if kind == 0:
            chars.insert(at, ch)
        elif chars and at < len(chars):
            chars[at:at + 1] = [ch] if kind == 1 else []
    agrees("".join(chars))


# -- real files -----------------------------------------------------------------------------

REAL = sorted(CASES.iterdir())
OURS = sorted(p for pattern in ("ci_mlops/**/*.yml", "ci_mlops/**/*.yaml", "tests/**/*.yml", "tests/**/*.yaml",
                                "templates/**/*.yml", "templates/**/*.yaml", ".github/**/*.yml", "*.yml", "*.yaml")
              for p in ROOT.glob(pattern) if p.is_file() and "node_modules" not in p.parts)


@pytest.mark.parametrize("path", REAL + OURS, ids=lambda p: p.name if p.parent == CASES else str(p.relative_to(ROOT)))
def test_real_files(path):
    agrees(path.read_text(encoding="utf-8"))


DOC_PAGES = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])
DOC_BLOCKS = {f"{page.name}:{text[:match.start()].count(chr(10)) + 2}": textwrap.dedent(match.group(1))
              for page in DOC_PAGES for text in [page.read_text(encoding="utf-8")]
              for match in re.finditer(r"^ *```ya?ml\n(.*?)^ *```", text, re.S | re.M)}


def test_the_docs_have_yaml_blocks():
    assert len(DOC_BLOCKS) >= 15 and any("{min: " in block for block in DOC_BLOCKS.values())


@pytest.mark.parametrize("text", DOC_BLOCKS.values(), ids=DOC_BLOCKS.keys())
def test_the_docs_yaml_is_read_without_pyyaml(text):
    """A configuration the docs show (flow-style gates included) never needs PyYAML: every YAML
    block of docs/ and README.md that ``.ci-mlops.yml``'s loader reads takes the fast path (one
    that it refuses, such as an example with ``...`` in it, goes to PyYAML for its error)."""
    taken = agrees(text)
    assert taken["config"] or isinstance(config_pyyaml(text)[0], UserError)


def test_real_dvc_files_take_the_fast_path():
    """Every dvc.yaml, dvc.lock and params file of the five real repositories is plain, but the
    one written with a multi-line flow mapping (magnetic-tiles-defect's params.yaml)."""
    dvc = [p for p in REAL if p.name.split("--")[1].endswith(("dvc.yaml", "dvc.lock", "params.yaml"))]
    slow = [p.name for p in dvc if yamlplain.load(p.read_text(encoding="utf-8"), "1.2") is None]
    assert len(dvc) >= 10 and slow == ["magnetic-tiles-defect--params.yaml"]
