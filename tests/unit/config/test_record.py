"""``@record`` behaves as ``@dataclass(frozen=True, kw_only=True)`` without compiling methods.

Each record class is compared with a real frozen, keyword-only dataclass of the same fields:
construction, defaults, errors, repr, equality, hash, immutability and the ``dataclasses``
helpers must not tell them apart.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Mapping
from typing import Any

import pytest

from ci_mlops.config import records
from ci_mlops.config.record import record


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
