"""``drift.retrain`` and ``train.commit_results`` from ``.ci-mlops.yml``, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from ci_mlops.config import Config
from ci_mlops.config.records import DriftRetrain, RetrainImport, Train

DEFAULT_PREFIX = DriftRetrain.branch_prefix
DEFAULT_WORKFLOW = DriftRetrain.workflow  # the PR workflow `ci-mlops init` writes


@dataclass(frozen=True)
class RetrainSettings:
    refresh: str | None = None  # a shell command that refreshes the training data
    update: tuple[str, ...] = ()  # `dvc update` targets (.dvc files of imports)
    imports: tuple[RetrainImport, ...] = ()  # `dvc import --force URL PATH -o OUT [--rev REV]`
    branch_prefix: str = DEFAULT_PREFIX
    auto_merge: bool = DriftRetrain.auto_merge
    merge_method: str = DriftRetrain.merge_method
    schedule: str | None = None  # cron of the scheduled refresh; None: only on drift
    workflow: str = DEFAULT_WORKFLOW  # dispatched on the retrain branch so the PR gets its checks
    labels: tuple[str, ...] = DriftRetrain.labels

    @classmethod
    def from_config(cls, config: Config | None) -> RetrainSettings | None:
        """The settings, or None when ``drift.retrain`` is absent."""
        drift = config.settings.drift if config is not None else None
        section = drift.retrain if drift is not None else None
        if section is None:
            return None
        return cls(refresh=section.refresh, update=section.update or (), imports=section.import_ or (),
                   branch_prefix=section.branch_prefix, auto_merge=section.auto_merge, merge_method=section.merge_method,
                   schedule=section.schedule, workflow=section.workflow, labels=section.labels)


def commit_results(config: Config | None) -> bool:
    """``train.commit_results``: commit a same-repo PR's changed dvc.lock, metrics and plots back to it."""
    train = config.settings.train if config is not None else None
    return isinstance(train, Train) and train.commit_results
