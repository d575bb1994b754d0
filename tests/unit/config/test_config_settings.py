"""``Config.settings``: the validated file as typed, frozen records with the defaults applied."""

from __future__ import annotations

import dataclasses

import pytest

from ci_mlops.config import Config, parse_config
from ci_mlops.config.records import Deploy, Leakage, Settings

TEXT = """\
version: 1
runner: [self-hosted, gpu]
metrics:
  test.accuracy: {direction: higher, max_drop: 0.02}
data:
  data/test.csv:
    leakage: {with: data/train.csv, on: [id]}
    columns:
      label: {allowed: [0, 1]}
deploy:
  target: docker
  docker: {image: acme/model}
experiments:
  rank_by: test.accuracy
  grid: {train.lr: [0.1, 0.01]}
  sets: [{train.depth: 3}]
"""


def test_the_file_becomes_typed_records_with_defaults():
    settings = parse_config(TEXT).settings
    assert isinstance(settings, Settings)
    assert settings.runner == ("self-hosted", "gpu")
    assert settings.python == "3.11" and settings.timeout_minutes == 60
    rule = settings.metrics["test.accuracy"]
    assert (rule.direction, rule.max_drop, rule.required, rule.min) == ("higher", 0.02, True, None)
    test_csv = settings.data["data/test.csv"]
    assert test_csv.leakage == Leakage(with_="data/train.csv", on=("id",), max=0)
    assert test_csv.schema == "lax" and test_csv.columns["label"].allowed == (0, 1)
    assert settings.deploy.target == "docker" and settings.deploy.environment == "production"
    assert (settings.deploy.docker.image, settings.deploy.docker.registry) == ("acme/model", "ghcr.io")
    assert settings.experiments.grid == {"train.lr": (0.1, 0.01)}
    assert settings.experiments.sets == ({"train.depth": 3},)
    assert (settings.experiments.name, settings.experiments.max_parallel) == ("sweep", 1)


def test_sections_not_written_are_none():
    settings = parse_config("version: 1\n").settings
    assert settings.drift is settings.deploy is settings.metrics is settings.install is None
    assert settings.runner == "ubuntu-latest"
    assert Deploy().environment == "production"  # what a command falls back to without `deploy:`


def test_records_are_frozen():
    settings = parse_config(TEXT).settings
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.deploy.target = "none"  # type: ignore[misc]


def test_defaults_come_from_the_records_not_the_written_mapping():
    empty = parse_config("")
    assert empty.written == {} and empty.settings == Settings()
    config = Config({"experiments": {"rank_by": "loss"}})
    assert config.settings.experiments.rank_by == "loss" and config.settings.python == Settings.python
    assert config.wrote("experiments", "rank_by") and not config.wrote("python")
    assert not config.wrote("experiments", "rank_by", "deeper")
