"""The plain TOML reader against tomllib: whenever it answers, ``tomllib.loads`` answers the same (types,
values, key order); whatever is outside its subset it leaves to tomllib (None)."""

from __future__ import annotations

import math
import tomllib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ci_mlops import safeload, tomlplain
from ci_mlops.safeload import DocumentError, load_toml


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, keys in the same order, floats to the bit (-0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return bool(a == b)


def reference(text: str) -> Any:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        return exc


def check(text: str) -> Any:
    """tomlplain's answer, asserted equal to tomllib's whenever it is not None."""
    plain = tomlplain.load(text)
    if plain is not None:
        expected = reference(text)
        assert not isinstance(expected, Exception), (text, plain, expected)
        assert same(plain, expected), (text, plain, expected)
    return plain


# -- generated documents ----------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "acc", "loss", "x-1", "val_loss", "1", "0", "true", "inf", "nan", "_", "-"])
NUMBERS = st.sampled_from([
    "0", "+0", "-0", "1", "-1", "+17", "42", "007", "1_000", "0x1F", "0o17", "0b101", "1.5", "-0.0", "+0.0",
    "0.1", "3.14159265358979323846264338327950288", "1e5", "1E5", "1e+05", "1e-05", "-2.5e-3", "1e999",
    "-1e999", "1e-999", "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "1.", ".5", "1e",
    "1.e5", "1._5", "inf", "nan", "+inf", "-nan", "1979-05-27", "07:32:00", "1_0.5", "0.1_2", "1e1_0", "00.5",
    "0e0", "-0e-0", "9" * 30, "1" * 4300, "1" * 4301, "-" + "1" * 4300, "1.0" + "0" * 400])
STRINGS = st.text(alphabet=st.sampled_from([*"ab #=\"'\\[]{}.,é€\t\x7f\x00\x1f", "\U0001f600"]),
                  max_size=8).map(lambda s: f'"{s}"')
OTHERS = st.sampled_from(["true", "false", "True", "FALSE", "tru", "'lit'", '"""ml"""', "'''ml'''", "[1, 2]",
                          "[]", "{a = 1}", "{}", '"a\\nb"', '"\\u00e9"', '""', "1979-05-27T07:32:00Z"])
VALUES = st.one_of(NUMBERS, STRINGS, OTHERS)
SPACE = st.sampled_from(["", " ", "  ", "\t"])
COMMENT = st.sampled_from(["", " # note", "# x", "  #", " # é = [1]", " #\t"])


# values and spacing inside the subset, so that most documents built of them are answered
PLAIN_VALUES = st.one_of(NUMBERS.filter(lambda n: n.lstrip("+-")[:1].isdigit() and "_" not in n and len(n) < 100),
                         st.sampled_from(["true", "false", '""', '"churn"', '"a # b = [c]"', '"é€"']))
PLAIN_COMMENT = COMMENT.filter(lambda c: "\t" not in c)


@st.composite
def lines(draw: st.DrawFn, plain: bool = False) -> str:
    kind = draw(st.sampled_from(["pair", "pair", "pair", "header", "comment", "blank", "dotted"]))
    if plain and kind in ("pair", "dotted"):
        indent, comment = draw(st.sampled_from(["", " "])), draw(PLAIN_COMMENT)
        return f"{indent}{draw(KEYS)} = {draw(PLAIN_VALUES)}{comment}"
    if plain and kind == "header":
        return f"[{'.'.join(draw(st.lists(KEYS, min_size=1, max_size=3)))}]"
    if kind == "pair":
        return f"{draw(SPACE)}{draw(KEYS)}{draw(SPACE)}={draw(SPACE)}{draw(VALUES)}{draw(COMMENT)}"
    if kind == "dotted":
        return f"{draw(KEYS)}.{draw(KEYS)} = {draw(VALUES)}"
    if kind == "header":
        path = ".".join(draw(st.lists(KEYS, min_size=1, max_size=3)))
        return draw(st.sampled_from([f"[{path}]", f"[[{path}]]", f"[ {path} ]", f"  [{path}]", f"[{path}] # t"]))
    if kind == "comment":
        return draw(st.sampled_from(["# a comment", "  # indented", "#", "# é \"quoted\" [x]"]))
    return draw(st.sampled_from(["", "  ", "\t"]))


wild = st.lists(lines(), max_size=12).map("\n".join).flatmap(
    lambda text: st.sampled_from([text, text + "\n", text + "\r\n", text.replace("\n", "\r\n")]))
documents = st.one_of(wild, st.lists(lines(plain=True), max_size=12).map(lambda ls: "\n".join(ls) + "\n"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_generated_documents_read_as_tomllib_reads_them(text: str) -> None:
    check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.data())
def test_random_edits_read_as_tomllib_reads_them(text: str, data: st.DataObject) -> None:
    """Insert, delete or replace characters anywhere in a generated document."""
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(chars)))
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        char = data.draw(st.sampled_from([*"[]=.#\"'\\ \n\t\r_+-eE0123456789abtf,{}x", "\x00", "é"]))
        if op == "insert":
            chars.insert(at, char)
        elif chars and at < len(chars):
            if op == "delete":
                del chars[at]
            else:
                chars[at] = char
    check("".join(chars))


# -- what it reads ----------------------------------------------------------------------

PLAIN = """\
# written by train.py
top = 1
name = "churn model é"   # a name

[summary]
quality = 0.8123
stable = true
count = -17
tiny = 1e-05
big = +2.5E+10
hash = "a#b = c"

[eval.test]
auc = 0.91
[eval.train]
auc = 0.99
  indented = false
[eval]
"""


def test_a_plain_document_is_read_as_tomllib_reads_it() -> None:
    plain = PLAIN.rsplit("[eval]\n", 1)[0]
    result = check(plain)
    assert result == tomllib.loads(plain)
    assert list(result) == ["top", "name", "summary", "eval"]
    assert type(result["summary"]["count"]) is int and type(result["summary"]["tiny"]) is float
    assert result["summary"]["hash"] == "a#b = c"


@pytest.mark.parametrize("text", [
    "", "\n\n", "# only a comment\n", "a = -0\n", "a = -0.0\n", "a = 0e0\n", "a = 1e999\n", "a = 4.9e-324\n",
    "a = 1e06\n", 'a = ""\n', "a=1#c\n", "a = true#c\n", "[a.b.c]\n[a.d]\nx = 1\n", "[a]\nx = 1\n[a.b]\n",
    "1 = 2\n", "true = false\n", f"a = {'1' * 4300}\n", f"a = -{'9' * 4300}\n",
])
def test_edge_cases_inside_the_subset(text: str) -> None:
    assert check(text) is not None


@pytest.mark.parametrize("text", [
    "a = [1, 2]\n", "a = {b = 1}\n", "a = 'literal'\n", 'a = """x"""\n', "a = '''x'''\n", 'a = "x\\ny"\n',
    "a = 1979-05-27\n", "a = 07:32:00\n", "a = inf\n", "a = nan\n", "a = -inf\n", "a = 0x1F\n", "a = 0o17\n",
    "a = 0b1\n", "a = 1_000\n", "a = 1.0_1\n", "a = 1e1_0\n", "a = 01\n", "a = 00.5\n", "a = 1.\n", "a = .5\n",
    "a = 1\na = 2\n", "[a]\n[a]\n", "a = 1\n[a]\n", "a = 1\n[a.b]\n", "[a.b]\n[a]\n", "[a]\nb = 1\n[a.b]\n",
    "a.b = 1\n", '"a" = 1\n', "[ a ]\n", "[[a]]\n", "[a.\"b\"]\n", "a = 1\r\n", "a\t= 1\n", "a = 1 # \x7f\n",
    "\ufeffa = 1\n", "a = TRUE\n", "a = 1 2\n", 'a = "x" "y"\n', "= 1\n", "a =\n", "a\n", "[]\n", "[a.]\n",
    f"a = {'1' * 4301}\n", f"a = +{'1' * 4301}\n",
])
def test_anything_else_is_left_to_tomllib(text: str) -> None:
    assert tomlplain.load(text) is None


def test_the_digit_limit_is_safeloads() -> None:
    assert tomlplain.MAX_INT_DIGITS == safeload.MAX_INT_DIGITS


# -- through safeload -------------------------------------------------------------------

def test_load_toml_reads_plain_and_other_documents_the_same_and_keeps_its_bounds() -> None:
    assert same(load_toml(PLAIN), tomllib.loads(PLAIN))
    other = "a = [1, 2]\nb = 1979-05-27\n"
    assert same(load_toml(other), tomllib.loads(other))
    with pytest.raises(DocumentError, match="limit"):
        load_toml("a = 1\n", limit=3)
    deep = "[" + ".".join(["k"] * (safeload.MAX_DEPTH + 1)) + "]\n"
    assert tomlplain.load(deep) is not None
    with pytest.raises(DocumentError, match="nested deeper"):
        load_toml(deep)
    with pytest.raises(DocumentError, match="invalid TOML"):
        load_toml("a = 1\na = 2\n")
    with pytest.raises(DocumentError, match="4300 digits"):
        load_toml(f"a = {'1' * 4301}\n")
