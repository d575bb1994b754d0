"""`ci-mlops config`: validate the configuration file, or print its JSON Schema."""

from __future__ import annotations

import click

from ci_mlops.config import SCHEMA_PATH, load_config


@click.command("config")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file to validate. Default: .ci-mlops.yml at the repository root.")
@click.option("--schema", "show_schema", is_flag=True, help="Print the JSON Schema of .ci-mlops.yml and exit.")
def command(config_path: str | None, show_schema: bool) -> None:
    """Validate .ci-mlops.yml (exit 2 with one line naming the key if it is wrong).

    Point your editor at the schema for autocompletion: add
    `# yaml-language-server: $schema=<path or URL of ci-mlops.schema.json>`
    to the top of the file.
    """
    if show_schema:
        click.echo(SCHEMA_PATH.read_text(encoding="utf-8"), nl=False)
        return
    config = load_config(config_path, required=True)
    click.echo(f"{config.path}: valid")
