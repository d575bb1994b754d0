"""``drift.retrain`` and ``train.commit_results`` from ``.ci-mlops.yml``, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ci_mlops.config.records import DriftRetrain

DEFAULT_PREFIX = DriftRetrain.branch_prefix
DEFAULT_WORKFLOW = DriftRetrain.workflow  # the PR workflow `ci-mlops init` writes


@dataclass(frozen=True)
class RetrainSettings:
    refresh: str | None = None  # a shell command that refreshes the training data
    update: tuple[str, ...] = ()  # `dvc update` targets (.dvc files of imports)
    imports: tuple[dict[str, str], ...] = ()  # `dvc import --force URL PATH -o OUT [--rev REV]`
    branch_prefix: str = DEFAULT_PREFIX
    auto_merge: bool = DriftRetrain.auto_merge
    merge_method: str = DriftRetrain.merge_method
    schedule: str | None = None  # cron of the scheduled refresh; None: only on drift
    workflow: str = DEFAULT_WORKFLOW  # dispatched on the retrain branch so the PR gets its checks
    labels: tuple[str, ...] = field(default=("ci-mlops:retrain",))

    @classmethod
    def from_config(cls, config: Any) -> RetrainSettings | None:
        """The settings, or None when ``drift.retrain`` is absent."""
        section = (config.get("drift") or {}).get("retrain") if config is not None else None
        if section is None:
            return None
        if section is True:
            section = {}
        return cls(
            refresh=section.get("refresh"),
            update=tuple(section.get("update") or ()),
            imports=tuple(dict(i) for i in section.get("import") or ()),
            branch_prefix=section.get("branch_prefix", DEFAULT_PREFIX),
            auto_merge=bool(section.get("auto_merge", DriftRetrain.auto_merge)),
            merge_method=section.get("merge_method", DriftRetrain.merge_method),
            schedule=section.get("schedule"),
            workflow=section.get("workflow", DEFAULT_WORKFLOW),
            labels=tuple(section.get("labels", ["ci-mlops:retrain"])),
        )


def commit_results(config: Any) -> bool:
    """``train.commit_results``: commit a same-repo PR's changed dvc.lock, metrics and plots back to it."""
    train = config.get("train") if config is not None else None
    return isinstance(train, dict) and bool(train.get("commit_results", False))
