"""The records checks pass around: one result per gate or check, the verdict, a failure.

Gate, data-check and slice results are the entries of ``ci-mlops check --format json``
(docs/check.md); they stay JSON-shaped dicts, typed here, because that document is the
contract ``status``, the PR report and users' scripts read back. :class:`Verdict` is the
whole document; :class:`Item` is one entry with everything an annotation, a status or a
test report needs, so every command names and places a gate or check the same way.

The result dicts are declared for the type checker only (an importer names them under
``if TYPE_CHECKING:``): a report with gates loads this module, and creating the TypedDicts
with ``typing`` cost ~5 ms of its start-up (tests/cli/test_report_gate_imports.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from ci_mlops.config import Config
from ci_mlops.config.convert import build
from ci_mlops.config.records import Settings
from ci_mlops.record import field, frozen_record, mutable_record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any, Literal, NotRequired, TypedDict

    from ci_mlops.report.document import ReportDocument
    from ci_mlops.report.rows import MetricRow

# How a data check's ``examples`` count rows (the log, the PR comment and the summary all say it).
ROW_CONVENTION = "row numbers are 1-based data rows; the header is not counted"

if TYPE_CHECKING:  # the documents stay plain dicts: these types are the type checker's only
    # What the checks take as their settings: a loaded config (its typed record is read), the
    # record itself, or a plain mapping shaped like ``.ci-mlops.yml`` (engines' callers and
    # tests), read into one.
    ConfigLike = Config | Settings | Mapping[str, Any]

    class GateResult(TypedDict):
        """One rule of one metric gate (``metrics:``)."""

        metric: str
        file: str | None
        key: str  # the gate's key as written in the config
        rule: str  # min, max, max_drop, max_drop_pct or required
        bound: Any
        value: Any
        base: Any
        passed: bool
        skipped: bool
        message: str
        verdict: NotRequired[str]  # with significance: pass, fail or inconclusive
        warning: NotRequired[bool]
        interval: NotRequired[dict[str, Any]]

    class DataResult(TypedDict):
        """One check of one data file (``data:``)."""

        file: str
        check: str  # rows, schema, dtype, ... or load when the file could not be read
        column: str | None
        passed: bool
        bound: Any
        value: Any
        failing_rows: int
        examples: list[int]  # 1-based data row numbers
        message: str

    class SliceCheck(TypedDict):
        """One gate of the ``slices:`` section."""

        metric: str | None
        rule: str  # min_support, min, max_gap, rows or load
        bound: Any
        value: Any
        group: Any
        passed: bool
        message: str

    class SliceResult(TypedDict):
        """The groups of one ``by`` column and the gates on them."""

        file: NotRequired[str]
        by: str | None
        passed: bool
        groups: list[dict[str, Any]]
        checks: list[SliceCheck]

    class GateChange(TypedDict):
        """One gate setting a pull request adds, removes or changes (``gatesource.gate_changes``)."""

        key: list[str]  # its path in .ci-mlops.yml
        base: Any  # the setting as written (None: absent; "(present)" for a bare gate)
        head: Any

    # The report's and check document's ``gate_source``: where the deciding gates came from.
    GateSourceJson = TypedDict("GateSourceJson", {
        "from": str,  # base, proposed or workspace
        "ref": str | None,
        "sha": str | None,
        "path": str,
        "changes": list[GateChange],
    })

    class Metrics(TypedDict):
        """What the metric gates read of a report: its metric rows (a report, or a sweep experiment's rows)."""

        metrics: list[MetricRow]

    class JudgedReport(ReportDocument):
        """The report document with the checks' keys (``add_to_report``, ``report --checks``)."""

        gates: NotRequired[list[GateResult]]
        gate_source: NotRequired[GateSourceJson]

    Kind = Literal["gate", "data", "slice"]


def as_judged(report: ReportDocument) -> JudgedReport:
    """The same report (nothing is copied), typed with the keys the checks add to it: the report
    layer below builds the document and cannot name the checks' records."""
    return report  # type: ignore[return-value]  # the same dict, the checks' keys typed


@frozen_record
class Item:
    """One gate rule or check of a verdict, named once for every command that shows or places it.

    ``keys`` are key paths in ``.ci-mlops.yml``, most specific first (the rule, then its
    column, gate, file or section): an annotation goes on the first one the file has.
    """

    kind: Kind
    passed: bool
    skipped: bool
    name: str  # short, for a status description: "test.accuracy", "data/a.csv[age] max"
    case: str  # one per rule, for per-check statuses and test reports: "test.accuracy min"
    title: str  # an annotation's title
    message: str  # an annotation's text
    detail: str  # the entry's own message
    keys: tuple[tuple[str, ...], ...]


@mutable_record
class Verdict:
    """The result of running every configured check: the document ``check --format json`` prints.

    ``extra`` holds the document's other keys (``gate_source``, ``notes``, ``config``) in order.
    """

    gates: list[GateResult] = field(default_factory=list)
    data: list[DataResult] = field(default_factory=list)
    slices: list[SliceResult] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    passed: bool | None = None  # None: computed from the entries

    def __post_init__(self) -> None:
        if self.passed is None:
            self.passed = all(g["passed"] for g in self.gates) and all(d["passed"] for d in self.data) \
                and all(s["passed"] for s in self.slices)

    @property
    def ok(self) -> bool:
        return bool(self.passed)

    @property
    def total(self) -> int:
        """How many gates and checks ran: a slice counts its checks, not its groups."""
        return len(self.gates) + len(self.data) + sum(len(s["checks"]) for s in self.slices)

    def items(self) -> list[Item]:
        """Every gate rule, data check and slice check, in the document's order."""
        out = [_gate_item(g) for g in self.gates]
        out += [_data_item(d) for d in self.data]
        out += [_slice_item(s, c) for s in self.slices for c in s["checks"]]
        return out

    def failures(self) -> list[Item]:
        """The items that failed."""
        return [item for item in self.items() if not item.passed]

    @property
    def gates_changed(self) -> bool:
        """Whether the deciding gates are the base branch's while this PR changes them."""
        source = self.extra.get("gate_source")
        return isinstance(source, Mapping) and bool(source.get("changes"))

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.ok, "gates": self.gates, "data": self.data, "slices": self.slices, **self.extra}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Verdict:
        """A verdict from a check document read back (a file, another version): entries that are not
        objects are left out, and the fields an entry lacks take neutral values."""
        gates = [_filled(g, _GATE) for g in _objects(doc.get("gates"))]
        data = [_filled(d, _DATA) for d in _objects(doc.get("data"))]
        slices = []
        for s in _objects(doc.get("slices")):
            entry = _filled(s, _SLICE)
            entry["checks"] = [_filled(c, _SLICE_CHECK) for c in _objects(s.get("checks"))]
            slices.append(entry)
        extra = {k: v for k, v in doc.items() if k not in ("passed", "gates", "data", "slices")}
        passed = doc.get("passed")
        return cls(gates, data, slices, extra, passed if isinstance(passed, bool) else None)


def _gate_item(g: GateResult) -> Item:
    key, rule = str(g["key"] or g["metric"] or "gate"), str(g["rule"])
    return Item("gate", bool(g["passed"]), bool(g.get("skipped")), str(g["metric"] or key), f"{key} {rule}".strip(),
                f"Gate failed: {key}", f"{key} {rule}: {g['message']}", str(g["message"]),
                (("metrics", key, rule), ("metrics", key)))


def _data_item(d: DataResult) -> Item:
    file, check, column = str(d["file"]), str(d["check"]), d["column"]
    rows = f" (rows {', '.join(map(str, d['examples']))})" if d["examples"] else ""
    name = (f"{file}[{column}] {check}" if column else f"{file} {check}").strip()
    keys = (("data", file, "columns", str(column), check), ("data", file, "columns", str(column))) if column \
        else (("data", file, check),)
    return Item("data", bool(d["passed"]), False, name, name, f"Data check failed: {file}",
                f"{file}: {d['message']}{rows}", str(d["message"]), (*keys, ("data", file)))


def _slice_item(s: SliceResult, c: SliceCheck) -> Item:
    metric, rule = c["metric"], str(c["rule"])
    keys = (("slices", "metrics", str(metric), rule),) if metric else (("slices", rule),)
    name = " ".join(f"slice {s['by'] or ''} {metric or rule}".split())
    return Item("slice", bool(c["passed"]), False, name, name, f"Slice check failed: {s['by']}", str(c["message"]),
                str(c["message"]), (*keys, ("slices",)))


# Neutral values for the fields a read-back entry lacks; an entry that does not say it passed did not.
_GATE: dict[str, Any] = {"metric": "", "file": None, "key": "", "rule": "", "bound": None, "value": None,
                         "base": None, "passed": False, "skipped": False, "message": ""}
_DATA: dict[str, Any] = {"file": "data", "check": "", "column": None, "passed": False, "bound": None, "value": None,
                         "failing_rows": 0, "examples": [], "message": ""}
_SLICE: dict[str, Any] = {"by": None, "passed": False, "groups": [], "checks": []}
_SLICE_CHECK: dict[str, Any] = {"metric": None, "rule": "", "bound": None, "value": None, "group": None,
                                "passed": False, "message": ""}


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _filled(entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    out = dict(defaults)
    out.update({k: v for k, v in entry.items() if v is not None or k not in defaults})
    if not isinstance(out.get("examples", []), list):
        out["examples"] = []
    return out


def settings_of(config: Config | Settings | Mapping[str, Any]) -> Settings:
    """The typed record of a config: a :class:`Config`'s own, the record itself, or one built from
    a plain mapping (the shape of ``.ci-mlops.yml``, as the engines' callers and tests pass it)."""
    if isinstance(config, Settings):
        return config
    return config.settings if isinstance(config, Config) else build(Settings, config)
