from pathlib import Path

import pytest

from ci_mlops.config import DEFAULTS, load_config, parse_config
from ci_mlops.errors import UserError
from conftest import run_cli


def error_of(text: str) -> str:
    with pytest.raises(UserError) as info:
        parse_config(text, Path(".ci-mlops.yml"))
    return str(info.value)


def test_empty_file_gives_defaults():
    config = parse_config("", None)
    assert config.get("train") == DEFAULTS["train"]
    assert config.get("drift") is None
    assert config.runner_labels == ["ubuntu-latest"]


def test_full_example_is_valid():
    text = """
version: 1
base: main
python: "3.11"
install: pip install -r requirements.txt
train: dvc repro
test: pytest -q
runner: [self-hosted, gpu]
metrics:
  test.accuracy: {direction: higher, min: 0.90, max_drop: 0.01}
  test.log_loss: {direction: lower}
data:
  data/train.csv:
    rows: {min: 100}
    columns:
      age: {min: 0, max: 120, nullable: false}
      label: {allowed: [0, 1]}
deploy:
  target: github-release
  artifacts: [models/model.pkl]
drift:
  reference: data/train.csv
  current: data/live.csv
  schedule: "0 6 * * 1"
"""
    config = parse_config(text, None)
    assert config.get("metrics", "test.accuracy", "min") == 0.90
    assert config.runner_labels == ["self-hosted", "gpu"]
    assert config.line("metrics", "test.accuracy") == 10


def test_enum_error_names_key_path_and_value():
    msg = error_of("metrics:\n  test.accuracy:\n    direction: sideways\n")
    assert msg == ".ci-mlops.yml:3: metrics.test.accuracy.direction: 'sideways' is not one of higher, lower"


def test_unknown_key_suggests():
    msg = error_of("metircs: {}\n")
    assert "unknown key 'metircs'" in msg and "did you mean 'metrics'" in msg
    msg = error_of("deploy:\n  targt: docker\n")
    assert "deploy.targt" in msg and "did you mean 'target'" in msg


def test_type_and_range_errors():
    assert "expected a list" in error_of("deploy:\n  artifacts: model.pkl\n")
    assert "drift.drift_share: 1.5 is above the maximum 1" in error_of("drift:\n  drift_share: 1.5\n")
    assert "version: 2 is not supported" in error_of("version: 2\n")


def test_invalid_yaml_and_duplicates_and_non_mapping():
    assert "invalid YAML" in error_of("metrics: [\n")
    assert "duplicate key" in error_of("base: main\nbase: dev\n")
    assert "top level must be a mapping" in error_of("- a\n- b\n")


def test_config_command_reports_one_line(git_repo):
    (git_repo / ".ci-mlops.yml").write_text("deploy:\n  target: kubernetes\n")
    out = run_cli("config", cwd=git_repo)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "deploy.target: 'kubernetes' is not one of github-release, docker, custom, none" in out.stderr


def test_unreadable_config(tmp_path):
    path = tmp_path / ".ci-mlops.yml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UserError, match="not UTF-8"):
        load_config(path)
