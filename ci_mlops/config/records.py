"""Typed, frozen records of `.ci-mlops.yml`: every key declared once, with its default.

``ci_mlops/schema/ci-mlops.schema.json`` is the published contract: it validates the file
and its descriptions become docs/config.md. These records are what the code reads after
validation (``Config.settings``). tests/unit/config/test_config_records_schema.py proves the two
agree: the same keys, the same required keys, the same defaults, the same enum values and
the same value types. A change to either side without the other fails that test.

Conventions (the agreement test enforces them):

* A key with a ``default`` in the schema has that default here.
* A key without one defaults to ``None``, which means "not written": a section the user
  did not write is ``None`` (``settings.drift is None`` -> no drift monitoring), and so
  is a key whose fallback is computed (``base``: the repository's default branch).
* A list is a tuple, a mapping of user-chosen names is a read-only ``Mapping``.
* A key that is a Python keyword (``with``, ``import``) gets a trailing ``_`` and
  ``metadata={"key": ...}``.

``@record`` is ``@dataclass(frozen=True, kw_only=True)`` without compiling six methods per
class at import, nor importing the dataclasses module (ci_mlops/record.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from ci_mlops.record import field, record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Literal

    Direction = Literal["higher", "lower"]
    DataFormat = Literal["csv", "tsv", "parquet", "jsonl"]
    SliceMetric = Literal["accuracy", "precision", "recall", "f1", "error_rate"]

Scalar = str | float | bool  # an int is a float to the type checker
Runner = str | tuple[str, ...]

# The Literal aliases above, as run-time objects made when first read (``__getattr__`` below):
# by convert.py, for the type of a field the file gives a list or mapping, or by a module that
# imports one. Every command reads these records, and importing typing costs ~3 ms of its
# start-up. tests/unit/config/test_config_records_schema.py holds the two spellings equal.
LITERAL_ALIASES: dict[str, tuple[object, ...]] = {
    "Direction": ("higher", "lower"),
    "DataFormat": ("csv", "tsv", "parquet", "jsonl"),
    "SliceMetric": ("accuracy", "precision", "recall", "f1", "error_rate"),
}


def __getattr__(name: str) -> object:
    """``Literal`` and the :data:`LITERAL_ALIASES`, for reading the annotations at run time."""
    if name != "Literal" and name not in LITERAL_ALIASES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import typing  # lazy: see LITERAL_ALIASES

    made: object = typing.Literal if name == "Literal" else typing.Literal[LITERAL_ALIASES[name]]
    globals()[name] = made  # the same object from now on, as a module attribute is
    return made


# -- ci_mlops, dvc -----------------------------------------------------------------------


@record
class CiMlopsInstall:
    source: str | None = None
    python: str = "3.12"


@record
class AwsOidc:
    role: str
    read_role: str | None = None
    region: str


@record
class GcpOidc:
    workload_identity_provider: str
    service_account: str
    read_service_account: str | None = None


@record
class AzureOidc:
    client_id: str
    read_client_id: str | None = None
    tenant_id: str
    subscription_id: str


@record
class Oidc:
    aws: AwsOidc | None = None
    gcp: GcpOidc | None = None
    azure: AzureOidc | None = None


@record
class GitLab:
    image: str | None = None
    tool_image: str | None = None
    tags: tuple[str, ...] | None = None


@record
class Dvc:
    remote: str | None = None
    pull: bool = True
    push: bool | None = None
    push_environment: str | None = None
    secrets: tuple[str, ...] | None = None
    oidc: Oidc | None = None


# -- report, comment, metrics ------------------------------------------------------------


@record
class ReportImages:
    publish: bool = True
    branch: str = "ci-mlops/plots"
    keep_runs: int = 5
    on_close: Literal["delete", "keep"] = "delete"


@record
class Report:
    metrics_files: tuple[str, ...] | None = None
    params_files: tuple[str, ...] | None = None
    history: int = 0
    plots: bool = True
    tolerance: float = 0
    tolerance_pct: float = 0.1
    images: ReportImages | None = None


@record
class Comment:
    marker: str | None = None
    replace_cml: bool = False


@record
class MetricRule:
    direction: Direction | None = None
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    max_drop_pct: float | None = None
    required: bool = True
    significance: float | None = None
    estimate: str | None = None
    tolerance: float | None = None
    tolerance_pct: float | None = None


# -- data checks, slices -----------------------------------------------------------------


@record
class RowBounds:
    min: int | None = None
    max: int | None = None


@record
class ColumnRule:
    dtype: Literal["int", "float", "number", "string", "bool", "datetime", "category"] | None = None
    nullable: bool | None = None
    max_null_fraction: float | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[object, ...] | None = None
    unique: bool | None = None
    regex: str | None = None


@record
class Duplicates:
    max: int = 0


@record
class Leakage:
    with_: str = field(metadata={"key": "with"})
    on: tuple[str, ...] | None = None
    max: int = 0


@record
class DataFile:
    format: DataFormat | None = None
    rows: RowBounds | None = None
    columns: Mapping[str, ColumnRule] | None = None
    schema: Literal["strict", "lax"] = "lax"
    duplicates: Duplicates | None = None
    leakage: Leakage | None = None


@record
class SliceRule:
    max_gap: float | None = None
    min: float | None = None


@record
class Slices:
    file: str
    actual: str = "actual"
    predicted: str = "predicted"
    positive: object = 1  # the positive class: any value the label column holds
    by: tuple[str, ...]
    min_support: int | None = None
    metrics: Mapping[SliceMetric, SliceRule] | None = None


# -- significance, experiments -----------------------------------------------------------


@record
class Predictions:
    file: str
    actual: str = "actual"
    predicted: str | None = None
    score: str | None = None
    id: str | None = None
    positive: object = 1  # the positive class: any value the label column holds
    columns: tuple[str, ...] | None = None
    format: DataFormat | None = None
    paired: bool = True


@record
class Seeds:
    files: str | None = None
    file: str | None = None
    method: Literal["t", "wilcoxon"] = "t"


@record
class Significance:
    predictions: Predictions | None = None
    seeds: Seeds | None = None
    resamples: int = 2000
    seed: int = 0
    inconclusive: Literal["pass", "warn", "fail"] = "warn"


@record
class Experiments:
    grid: Mapping[str, tuple[Scalar, ...]] | None = None
    sets: tuple[Mapping[str, Scalar], ...] | None = None
    rank_by: str
    direction: Direction | None = None
    name: str = "sweep"
    max_parallel: int = 1
    max_experiments: int = 256
    runner: Runner | None = None
    timeout_minutes: int | None = None
    chatops: bool = True


@record
class Train:
    command: str | Literal[False] | None = None
    commit_results: bool = False


# -- deploy, drift, model card -----------------------------------------------------------


@record
class Docker:
    registry: str = "ghcr.io"
    image: str | None = None
    dockerfile: str = "Dockerfile"
    context: str = "."


@record
class Deploy:
    target: Literal["github-release", "gitlab-release", "docker", "custom", "none"] = "github-release"
    artifacts: tuple[str, ...] | None = None
    name: str | None = None
    environment: str = "production"
    stages: Mapping[str, str] | None = None
    command: str | None = None
    docker: Docker | None = None
    draft: bool = False


@record
class DriftTest:
    test: Literal["ks", "wasserstein", "chisquare", "jensenshannon", "ztest", "psi"] | None = None
    threshold: float | None = None


@record
class DriftPerformance:
    actual: str | None = None
    predicted: str | None = None
    task: Literal["classification", "regression"] = "classification"
    metric: Literal["accuracy", "precision", "recall", "f1", "error_rate", "rmse", "mae"] | None = None
    baseline_key: str | None = None
    max_drop: float | None = None


@record
class DriftIssue:
    label: str = "ci-mlops:drift"
    title: str = "Data drift detected"


@record
class RetrainImport:
    url: str
    path: str
    out: str
    rev: str | None = None


@record
class DriftRetrain:
    refresh: str | None = None
    update: tuple[str, ...] | None = None
    import_: tuple[RetrainImport, ...] | None = field(default=None, metadata={"key": "import"})
    branch_prefix: str = "ci-mlops/retrain-"
    auto_merge: bool = False
    merge_method: Literal["merge", "squash", "rebase"] = "merge"
    schedule: str | None = None
    workflow: str = "ci-mlops-pr.yml"
    labels: tuple[str, ...] = ("ci-mlops:retrain",)


@record
class Drift:
    reference: str | None = None
    current: str | None = None
    fetch: str | None = None
    schedule: str = "0 6 * * 1"
    columns: tuple[str, ...] | None = None
    exclude: tuple[str, ...] | None = None
    drift_share: float = 0.5
    psi: bool = False
    engine: Literal["python", "duckdb"] = "python"
    tests: Mapping[str, DriftTest] | None = None
    performance: DriftPerformance | None = None
    issue: DriftIssue | None = None
    retrain: DriftRetrain | None = None


@record
class ModelCard:
    name: str | None = None
    overview: str | None = None
    owners: tuple[str, ...] | None = None
    license: str | None = None
    references: tuple[str, ...] | None = None
    intended_use: str | None = None
    out_of_scope: str | None = None
    limitations: str | None = None
    tradeoffs: str | None = None
    ethical_considerations: str | None = None
    training_data: str | None = None
    evaluation_data: str | None = None


# -- the file ----------------------------------------------------------------------------


@record
class Settings:
    """The whole `.ci-mlops.yml`."""

    version: Literal[1] = 1
    base: str | None = None
    python: str = "3.11"
    install: str | Literal[False] | None = None
    train: str | Literal[False] | Train | None = None
    test: str | Literal[False] | None = None
    runner: Runner = "ubuntu-latest"
    timeout_minutes: int = 60
    ci_mlops: CiMlopsInstall | None = None
    gitlab: GitLab | None = None
    dvc: Dvc | None = None
    report: Report | None = None
    comment: Comment | None = None
    metrics: Mapping[str, MetricRule] | None = None
    data: Mapping[str, DataFile] | None = None
    slices: Slices | None = None
    significance: Significance | None = None
    experiments: Experiments | None = None
    deploy: Deploy | None = None
    drift: Drift | None = None
    model_card: ModelCard | None = None
