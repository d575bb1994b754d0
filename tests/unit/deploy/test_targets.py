"""The deploy target list is written once (deploy/targets.py); everything that names targets agrees with it."""

from __future__ import annotations

import dataclasses
import typing

import click

from ci_mlops.commands.deploy import command as deploy_command
from ci_mlops.commands.init import command as init_command
from ci_mlops.config import schema
from ci_mlops.config.convert import type_hints
from ci_mlops.config.records import Deploy
from ci_mlops.deploy.flow import DEFAULT_TARGET
from ci_mlops.deploy.targets import TARGETS


def choices(command: click.Command, option: str) -> tuple[str, ...]:
    param = next(p for p in command.params if p.name == option)
    assert isinstance(param.type, click.Choice)
    return tuple(param.type.choices)


def test_the_commands_offer_exactly_the_targets() -> None:
    assert choices(deploy_command, "target") == TARGETS
    assert choices(init_command, "deploy") == TARGETS


def test_the_schema_and_the_config_record_list_the_same_targets_with_the_same_default() -> None:
    declared = schema()["properties"]["deploy"]["properties"]["target"]
    assert tuple(declared["enum"]) == TARGETS
    target = next(f for f in dataclasses.fields(Deploy) if f.name == "target")
    # type_hints, not typing.get_type_hints: the records' Literal is made on first use (start-up)
    assert typing.get_args(type_hints(Deploy)["target"]) == TARGETS
    assert declared["default"] == target.default == DEFAULT_TARGET
