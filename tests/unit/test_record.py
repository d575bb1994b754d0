"""``@record``, ``@frozen_record`` and ``@mutable_record`` behave as the dataclasses they stand for.

Each record class is compared with a real dataclass of the same fields and options:
construction, defaults, errors, repr, equality, hash, immutability, ``__post_init__`` and the
``dataclasses`` helpers must not tell them apart. None of it imports ``dataclasses``.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from ci_mlops import record as records_module
from ci_mlops.config import records
from ci_mlops.record import field, fields, frozen_record, is_record, mutable_record, record, replace


def _pair() -> tuple[type[Any], type[Any]]:
    def body(ns: dict[str, Any]) -> None:
        ns["__annotations__"] = {"role": "str", "region": "str | None", "tags": "tuple[str, ...]",
                                 "with_": "int", "items": "list[int]"}
        ns["region"] = None
        ns["tags"] = ("a",)
        ns["with_"] = dataclasses.field(default=3, metadata={"key": "with"})
        ns["items"] = dataclasses.field(default_factory=list)

    made = []
    for decorate in (record, dataclasses.dataclass(frozen=True, kw_only=True)):
        ns: dict[str, Any] = {"__module__": __name__, "__qualname__": "Thing"}
        body(ns)
        made.append(decorate(type("Thing", (), ns)))
    return made[0], made[1]


def _outcome(call: Any) -> Any:
    try:
        return ("ok", call())
    except Exception as exc:  # the type and message are what is compared
        return (type(exc), str(exc))


def test_a_record_is_indistinguishable_from_a_frozen_kw_only_dataclass():
    ours, theirs = _pair()
    calls = [{"role": "r"}, {"role": "r", "region": "eu", "tags": ("x", "y"), "with_": 5, "items": [1]},
             {}, {"region": "eu"}, {"role": "r", "colour": "red"}, {"role": "r", "region": None}]
    for kwargs in calls:
        a, b = _outcome(lambda k=kwargs: ours(**k)), _outcome(lambda k=kwargs: theirs(**k))
        assert (a[0] == "ok") == (b[0] == "ok"), kwargs
        if a[0] == "ok":
            assert repr(a[1]) == repr(b[1])
            assert dataclasses.asdict(a[1]) == dataclasses.asdict(b[1])
        else:
            assert a == b
    with pytest.raises(TypeError, match="positional"):
        ours("r")
    assert ours(role="r") == ours(role="r") and ours(role="r") != ours(role="s")
    assert ours(role="r") != theirs(role="r")  # another class is never equal
    assert hash(ours(role="r", items=())) == hash(ours(role="r", items=()))
    with pytest.raises(TypeError, match="unhashable"):
        hash(ours(role="r"))  # a list inside, as with a dataclass
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert dataclasses.fields(ours)[3].metadata["key"] == "with"
    assert dataclasses.is_dataclass(ours)
    assert ours.__doc__ == theirs.__doc__ and ours(role="r").__doc__ == theirs(role="r").__doc__  # written when read
    changed = dataclasses.replace(ours(role="r"), region="us")
    assert (changed.role, changed.region) == ("r", "us")


def test_a_record_is_frozen():
    ours, _ = _pair()
    thing = ours(role="r")
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'role'"):
        thing.role = "s"
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'other'"):
        thing.other = 1
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'role'"):
        del thing.role
    assert copy.deepcopy(thing) == thing
    report = records.Report(history=3, metrics_files=("m.json",))
    assert pickle.loads(pickle.dumps(report)) == report


def test_a_record_refuses_what_a_dataclass_refuses_and_its_own_methods():
    with pytest.raises(ValueError, match="mutable default"):
        record(type("Bad", (), {"__annotations__": {"items": "list[int]"}, "items": []}))
    with pytest.raises(TypeError, match="defines __repr__"):
        record(type("Own", (), {"__annotations__": {"x": "int"}, "__repr__": lambda self: "x"}))


def test_every_config_record_is_a_record():
    found = [v for v in vars(records).values() if isinstance(v, type) and dataclasses.is_dataclass(v)]
    assert len(found) >= 30
    for cls in found:
        assert cls.__init__ is records.Settings.__init__, cls  # no compiled methods of its own
        assert not any(isinstance(getattr(cls, f.name, None), (list, dict, set, Mapping))
                       for f in dataclasses.fields(cls))


def _plain_pair(frozen: bool) -> tuple[type[Any], type[Any]]:
    """A positional class (``@frozen_record`` or ``@mutable_record``) and its dataclass twin."""
    made = []
    ours = frozen_record if frozen else mutable_record
    for decorate, make_field in ((ours, field), (dataclasses.dataclass(frozen=frozen), dataclasses.field)):
        ns: dict[str, Any] = {
            "__module__": __name__, "__qualname__": "Plain",
            "__annotations__": {"name": "str", "count": "int", "tags": "list[str]", "hidden": "object",
                                "note": "str"},
            "count": 1,
            "tags": make_field(default_factory=list),
            "hidden": make_field(default=None, repr=False, compare=False),
            "note": make_field(default="n", kw_only=True),
        }
        made.append(decorate(type("Plain", (), ns)))
    return made[0], made[1]


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("a",), {}), (("a", 2), {}), (("a", 2, ["x"]), {"hidden": 5}), ((), {"name": "a", "note": "m"}),
    ((), {}), (("a", 2, ["x"], 4, 5), {}), (("a",), {"name": "b"}), (("a",), {"colour": 1}),
    (("a", 2, ["x"], 4), {}), ((), {"count": 3}), (("a",), {"note": "x", "count": 2}),
]


@pytest.mark.parametrize("frozen", [True, False])
def test_a_positional_record_is_indistinguishable_from_its_dataclass(frozen: bool) -> None:
    ours, theirs = _plain_pair(frozen)
    for args, kwargs in CALLS:
        a = _outcome(lambda a=args, k=kwargs: ours(*a, **k))
        b = _outcome(lambda a=args, k=kwargs: theirs(*a, **k))
        if a[0] == "ok":
            assert b[0] == "ok", (args, kwargs)
            assert repr(a[1]) == repr(b[1])
            assert dataclasses.asdict(a[1]) == dataclasses.asdict(b[1])
            assert dataclasses.astuple(a[1]) == dataclasses.astuple(b[1])
        else:
            assert a == b, (args, kwargs)
    assert ours("a", hidden=1) == ours("a", hidden=2)  # compare=False
    assert ours("a") != ours("b") and ours("a") != theirs("a")
    assert ours.__match_args__ == theirs.__match_args__ == ("name", "count", "tags", "hidden")
    assert ours.__doc__ == theirs.__doc__  # the signature, for a class without a docstring
    assert [(f.name, f.repr, f.compare, f.kw_only) for f in dataclasses.fields(ours)] == \
        [(f.name, f.repr, f.compare, f.kw_only) for f in dataclasses.fields(theirs)]
    assert [f.name for f in fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert is_record(ours) and is_record(ours("a")) and not is_record(theirs)
    thing = ours("a", tags=["t"])
    assert replace(thing, count=5) == ours("a", 5, ["t"]) == dataclasses.replace(thing, count=5)
    assert (ours.count, getattr(ours, "tags", "absent"), ours.note) == (1, "absent", "n")  # as @dataclass leaves them
    if frozen:
        assert hash(ours("a", tags=())) == hash(theirs("a", tags=()))
        with pytest.raises(dataclasses.FrozenInstanceError):
            thing.count = 2
    else:
        assert ours.__hash__ is None and theirs.__hash__ is None  # eq without frozen: unhashable
        thing.count = 2
        del thing.note
        assert thing.count == 2 and thing.note == "n"  # the class attribute shows through, as for a dataclass


def test_post_init_runs_and_inherited_fields_come_first() -> None:
    seen: list[Any] = []

    @mutable_record
    class Base:
        a: int
        b: int = 2

        def __post_init__(self) -> None:
            seen.append((self.a, self.b))

    @mutable_record
    class Child(Base):
        c: int = 3
        a: int = 1  # redefined: keeps its place, takes its new default

    assert Child(5, 6, 7) == Child(a=5, b=6, c=7)
    assert repr(Child()) == "test_post_init_runs_and_inherited_fields_come_first.<locals>.Child(a=1, b=2, c=3)"
    assert seen[-1] == (1, 2)
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        mutable_record(type("Bad", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 1}))


def test_a_record_inside_itself_repr_stops() -> None:
    @mutable_record
    class Node:
        child: object = None

    node = Node()
    node.child = node
    assert repr(node) == "test_a_record_inside_itself_repr_stops.<locals>.Node(child=...)"


def test_the_report_path_does_not_import_dataclasses_for_records() -> None:
    code = ("import sys\nfrom ci_mlops.record import mutable_record, record, field\n"
            "@record\nclass A:\n    x: int = field(default=1, metadata={'key': 'y'})\n"
            "@mutable_record\nclass B:\n    x: list[int] = field(default_factory=list)\n"
            "assert A() == A(x=1) and B() == B([]) and repr(B()) == 'B(x=[])'\n"
            "print('dataclasses' in sys.modules, 'typing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    assert records_module.__name__ == "ci_mlops.record"
