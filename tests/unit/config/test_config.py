from pathlib import Path

import pytest
from conftest import run_cli

from ci_mlops.config import load_config, parse_config
from ci_mlops.config.records import Leakage, Settings
from ci_mlops.errors import UserError


def error_of(text: str) -> str:
    with pytest.raises(UserError) as info:
        parse_config(text, Path(".ci-mlops.yml"))
    return str(info.value)


def test_empty_file_gives_defaults():
    config = parse_config("", None)
    assert config.settings.python == Settings.python
    assert config.settings.install is None and config.settings.train is None  # init detects them
    assert config.settings.drift is None
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
    assert config.settings.metrics["test.accuracy"].min == 0.90
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
    assert "deploy.target: 'kubernetes' is not one of github-release, gitlab-release, docker, custom, none" in out.stderr


def test_unreadable_config(tmp_path):
    path = tmp_path / ".ci-mlops.yml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UserError, match="not UTF-8"):
        load_config(path)


# -- keys are names: YAML 1.1 must not turn them into booleans or numbers ---------------
# (hand-written text on purpose: yaml.dump would quote 'on')


def test_yaml11_keys_stay_strings():
    text = (
        "version: 1\n"
        "data:\n"
        "  t.csv:\n"
        "    columns:\n"
        "      no: {nullable: false}\n"
        "      off: {min: 0}\n"
        "      1: {max: 3}\n"
        "    leakage: {with: t.csv, on: [a]}\n"
        "metrics:\n"
        "  1: {min: 0}\n"
        "  yes: {min: 0}\n"
    )
    config = parse_config(text, None)
    assert config.settings.data["t.csv"].leakage == Leakage(with_="t.csv", on=("a",))
    assert set(config.settings.data["t.csv"].columns) == {"no", "off", "1"}
    assert set(config.settings.metrics) == {"1", "yes"}
    assert config.line("data", "t.csv", "leakage") == 8
    assert config.line("metrics", "yes") == 11


def test_yaml11_values_keep_their_meaning():
    config = parse_config("dvc:\n  push: no\n  pull: yes\n", None)
    assert config.settings.dvc.push is False and config.settings.dvc.pull is True


def test_key_spelled_two_ways_is_a_duplicate():
    assert error_of("drift:\n  reference: a.csv\n  current: b.csv\nbase: main\n'base': dev\n").endswith(
        "base: duplicate key")
    assert "on: duplicate key" in error_of("data:\n  t.csv:\n    leakage: {with: u.csv, on: [a], 'on': [b]}\n")


def test_complex_key_is_one_line():
    assert error_of("metrics:\n  ? [a, b]\n  : {min: 0}\n") == (
        ".ci-mlops.yml:2: metrics: a key must be a plain name, not a list")
    assert error_of("{a: 1}: x\n") == ".ci-mlops.yml:1: top level: a key must be a plain name, not a mapping"


def test_bare_on_key_in_check_and_config(git_repo):
    (git_repo / "t.csv").write_text("a,no\n1,2\n")
    (git_repo / "u.csv").write_text("a,no\n1,4\n")
    (git_repo / ".ci-mlops.yml").write_text(
        "version: 1\ndata:\n  t.csv:\n    columns:\n      no: {nullable: false}\n"
        "    leakage: {with: u.csv, on: [a]}\n")
    assert run_cli("config", cwd=git_repo).returncode == 0
    out = run_cli("check", "--format", "json", cwd=git_repo)
    assert out.returncode == 1, out.stderr  # the leak is found: a failed check, not a crash
    assert "leak" in out.stdout
    (git_repo / "t.csv").write_text("a,b\n1,2\n")
    out = run_cli("check", cwd=git_repo)
    assert out.returncode == 2 and out.stderr == "ci-mlops: error: t.csv: no column 'no' (columns: a, b)\n"


# -- an explicitly named config file must exist -----------------------------------------


@pytest.mark.parametrize("command", [["check"], ["report", "--no-summary"], ["config"], ["drift"],
                                     ["deploy", "--dry-run"], ["audit", "log"]])
def test_missing_explicit_config_is_an_error(git_repo, tmp_path, command):
    missing = tmp_path / "nope.yml"
    out = run_cli(*command, "--config", str(missing), cwd=git_repo)
    assert out.returncode == 2, out.stderr
    assert out.stderr == f"ci-mlops: error: {missing}: no such file\n"
    assert not missing.exists()


def test_missing_default_config_gives_defaults(tmp_path):
    assert load_config(tmp_path / ".ci-mlops.yml").path is None
    with pytest.raises(UserError, match=r"\.ci-mlops\.yml: no such file \(run `ci-mlops init`"):
        load_config(tmp_path / ".ci-mlops.yml", required=True)
