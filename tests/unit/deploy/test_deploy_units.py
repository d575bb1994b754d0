"""Pure parts of deploy: lineage, model card, previous-release choice, docker plan, asset names."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ci_mlops.config import parse_config
from ci_mlops.config.records import ModelCard
from ci_mlops.deploy.artifacts import asset_names
from ci_mlops.deploy.audit import schema_problems
from ci_mlops.deploy.lineage import build_lineage, dumps, with_provenance
from ci_mlops.deploy.model_card import render_model_card
from ci_mlops.deploy.settings import Settings
from ci_mlops.deploy.tags import parse_all, parse_tag, previous_tag, stage_version
from ci_mlops.deploy.targets import docker_commands, docker_plan
from ci_mlops.errors import UserError
from tests.conftest import ROOT

SHA = "a" * 40


def lineage(**over):
    base = {"tag": "v1.2.0", "version": "1.2.0", "model": "churn", "stage": None, "commit": SHA,
                "artifacts": [{"path": "models/m.pkl", "name": "m.pkl", "size": 3, "sha256": "b" * 64, "md5": "c" * 32,
                            "source": "dvc"}],
                "data": [{"path": "data/raw.csv", "md5": "d" * 32, "size": 10}],
                "params": {"params.yaml": {"train.lr": 0.1}}, "metrics": {"metrics.json": {"test.acc": 0.9}},
                "created_at": "2025-01-02T03:04:05Z", "actor": "octocat", "run_url": "https://x/run/1", "repository": "o/r"}
    base.update(over)
    return build_lineage(**base)


def test_lineage_is_valid_deterministic_and_the_docs_schema_is_the_shipped_one():
    record = lineage()
    assert schema_problems(record) == []
    assert dumps(record) == dumps(lineage())
    shipped = (ROOT / "ci_mlops" / "deploy" / "lineage.schema.json").read_text()
    assert (ROOT / "docs" / "lineage.schema.json").read_text() == shipped
    jsonschema.Draft202012Validator.check_schema(json.loads(shipped))


def test_lineage_schema_rejects_a_bad_hash():
    record = lineage()
    record["artifacts"][0]["sha256"] = "not-a-hash"
    assert schema_problems(record)[0].startswith("artifacts.0.sha256")


def test_retried_release_takes_the_first_attempts_provenance():
    first = lineage()
    retry = lineage(actor="someone-else", run_url="https://x/run/1?attempt=2")
    assert dumps(with_provenance(retry, first)) == dumps(first)


def test_the_card_names_no_run_so_every_attempt_renders_it_alike():
    first = render_model_card(lineage(), ModelCard())
    assert first == render_model_card(lineage(actor="someone-else", run_url="https://x/run/2"), ModelCard())
    assert "2025-01-02T03:04:05Z" in first  # the tag's date, not the time of the run


def test_model_card_sections_and_defaults():
    card = render_model_card(lineage(), ModelCard(intended_use="Churn triage.", owners=("ml-team",)),
                             server_url="https://ghe.example")
    for heading in ("# Model card: churn v1.2.0", "## Model details", "## Intended use", "### Out-of-scope use",
                    "## Training data", "## Training parameters", "## Quantitative analysis",
                    "### Limitations", "### Ethical considerations, bias and risks", "## How to reproduce"):
        assert heading in card
    assert "Churn triage." in card and "ml-team" in card
    assert "add `model_card.limitations`" in card  # an undocumented section says how to document it
    assert "https://ghe.example/o/r/commit/" + SHA in card
    assert render_model_card(lineage(), ModelCard()) == render_model_card(lineage(), ModelCard())


def test_previous_release_of_the_same_model_by_semver_and_stage_counter():
    tags = parse_all(["v1.0.0", "v1.10.0", "v1.9.0", "v2.0.0-rc.1", "churn@v0.9.0", "churn@v1.0.0",
                      "churn#prod#1", "churn#prod#2", "churn#dev#7", "garbage"])
    assert previous_tag(parse_tag("v2.0.0-rc.1"), tags).raw == "v1.10.0"
    assert previous_tag(parse_tag("v2.0.0"), tags).raw == "v2.0.0-rc.1"
    assert previous_tag(parse_tag("v1.0.0"), tags) is None
    assert previous_tag(parse_tag("churn@v1.0.0"), tags).raw == "churn@v0.9.0"
    assert previous_tag(parse_tag("churn#prod#3"), tags).raw == "churn#prod#2"
    assert stage_version(parse_tag("churn#prod#2"), parse_all(["churn@v1.0.0", "churn@v0.9.0", "v3.0.0"])) == "1.0.0"
    assert stage_version(parse_tag("churn#prod#2"), parse_all(["v3.0.0"])) == "3.0.0"


def test_environment_is_the_allowed_stages_else_the_configured_one():
    config = parse_config("deploy:\n  environment: release\n")
    settings = Settings(config=config, source="x", stages={"staging": "pre-prod"}, stages_source="x", differs=[])
    assert settings.environment(parse_tag("churn#staging#4")) == "pre-prod"
    assert settings.environment(parse_tag("v1.0.0")) == "release"
    for raw in ("churn#anything#1", "churn#production#1", "churn#Staging#2", "churn#staging/x#1"):
        with pytest.raises(UserError, match="not an allowed stage"):
            settings.environment(parse_tag(raw))
    closed = Settings(config=parse_config(""), source="x", stages=None, stages_source="nothing", differs=[])
    assert closed.environment(parse_tag("v1.0.0")) == "production"
    with pytest.raises(UserError, match="no stages are allowed"):
        closed.environment(parse_tag("churn#prod#1"))


def test_docker_plan_tags_labels_and_commands():
    config = parse_config("deploy:\n  docker: {registry: registry.example.com, context: srv}\n")
    plan = docker_plan(config, lineage(tag="churn#prod#3", stage="prod", version="1.2.0+build.7"),
                       repository="Org/Repo", server_url="https://github.com", lineage_sha256="e" * 64)
    assert plan.image == "registry.example.com/org/repo"
    assert plan.tags == ["registry.example.com/org/repo:churn-1.2.0-build.7",
                         "registry.example.com/org/repo:churn-prod"]
    assert plan.labels["org.opencontainers.image.revision"] == SHA
    assert plan.labels["io.ci-mlops.lineage.sha256"] == "e" * 64
    build, *pushes = docker_commands(plan)
    assert build[:4] == ["docker", "build", "--file", "Dockerfile"] and build[-1] == "srv"
    assert pushes == [["docker", "push", t] for t in plan.tags]
    assert "docker-tags" in plan.outputs() and plan.outputs()["docker-context"] == "srv"


def test_asset_names_avoid_collisions():
    assert asset_names(["models/a/model.pkl", "models/b/model.pkl", "models/c.onnx"]) == {
        "models/a/model.pkl": "models--a--model.pkl", "models/b/model.pkl": "models--b--model.pkl",
        "models/c.onnx": "c.onnx"}


def test_model_card_shows_the_release_gates_under_the_metrics():
    gates = [{"metric": "test.acc", "file": "metrics.json", "rule": "min", "bound": 0.95, "value": 0.9, "base": None,
              "passed": False, "message": "0.9 < min 0.95"}]
    card = render_model_card(lineage(gates=gates), {})
    section = card[card.index("### Metrics"):]
    assert "### Quality gates: 1 of 1 gates failed" in section
    assert "| ❌ | `test.acc` | min | 0.95 | 0.9 | 0.9 < min 0.95 |" in section
    assert "Quality gates" not in render_model_card(lineage(), {})  # no gates recorded: no section
