"""Render the Jinja2 templates in ``templates/``.

Templates use ``[[ ... ]]`` / ``[% ... %]`` delimiters so GitHub's own
``${{ ... }}`` expressions pass through untouched. Actions are pinned by commit
SHA from the packaged ``action-pins.json`` (``[[ uses("actions/checkout") ]]``).
"""

from __future__ import annotations

import json
import re
import shlex
from functools import lru_cache
from pathlib import Path
from typing import Any

from ci_mlops import __version__
from ci_mlops.errors import UserError
from ci_mlops.scaffold import TEMPLATE_VERSION, templates_dir

PINS_PATH = Path(__file__).with_name("action-pins.json")
# What may stay unquoted inside ``[a, b]``: no flow indicators, quotes, ``#`` or ``:``.
_FLOW_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./ -]*")
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def install_spec() -> str:
    """What generated workflows pass to ``pip install`` to get this very ci-mlops (one place)."""
    return f"ci-mlops=={__version__}"


@lru_cache(maxsize=1)
def action_pins() -> dict[str, dict[str, str]]:
    pins: dict[str, dict[str, str]] = json.loads(PINS_PATH.read_text(encoding="utf-8"))
    return pins


def uses(action: str) -> str:
    """``owner/name@<full sha> # vX.Y.Z`` for a pinned action."""
    pin = action_pins().get(action)
    if pin is None:
        raise KeyError(f"no pinned SHA for {action} in {PINS_PATH.name}")
    return f"{action}@{pin['sha']} # {pin['version']}"


def yaml_scalar(value: Any) -> str:
    """A YAML scalar for ``value`` on one line: plain when that reads back the same, else JSON-quoted."""
    if isinstance(value, str):
        return _string_scalar(value)
    return json.dumps(value)


@lru_cache(maxsize=4096)  # a pure function of the string; a workflow repeats its values (runner, python, remote)
def _string_scalar(value: str) -> str:
    import yaml  # lazy: PyYAML is slow to import

    if value and "\n" not in value and value.strip() == value:
        try:
            if yaml.safe_load(f"k: {value}") == {"k": value} and not value.startswith(("*", "&", "!", "%", "@", "`")):
                return value
        except yaml.YAMLError:
            pass
    return _double_quoted(value)


def flow_scalar(value: Any) -> str:
    """A YAML scalar that is safe inside a flow collection (``[a, b]``), where ``,[]{}`` end a plain one."""
    if isinstance(value, str) and _FLOW_PLAIN.fullmatch(value) and yaml_scalar(value) == value:
        return value
    if isinstance(value, str):
        return _double_quoted(value)
    return json.dumps(value)


def shell_quote(value: Any) -> str:
    """One shell word for ``value`` (``shlex.quote``): a config value never becomes shell syntax."""
    return shlex.quote(str(value))


def comment_text(value: Any) -> str:
    """``value`` for a ``# ...`` comment: line breaks and other control characters escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(value))


def no_expression(value: str) -> str:
    """Refuse ``${{`` in a user value bound for a ``run:`` (the schema refuses it first; this is the backstop)."""
    if "${{" in value:
        raise UserError(f"{value[:60]!r}: a command for a generated workflow must not contain '${{{{'")
    return value


def run_block(command: str, indent: int) -> str:
    """A ``run:`` value: inline for a one-line command, else a literal block indented by ``indent``."""
    command = no_expression(command).strip("\n")
    if "\n" not in command:
        return yaml_scalar(command)
    pad = " " * indent
    return "|\n" + "\n".join(pad + line if line.strip() else "" for line in command.splitlines())


def flow_list(items: list[str]) -> str:
    """``[a, b]`` with each item as a YAML scalar quoted for flow context."""
    return "[" + ", ".join(flow_scalar(i) for i in items) + "]"


def _double_quoted(value: str) -> str:
    import yaml  # lazy: PyYAML is slow to import

    # PyYAML's own double-quoted style escapes exactly what YAML needs escaped
    return yaml.safe_dump(value, default_style='"', allow_unicode=True, width=1 << 30).rstrip("\n").removesuffix("\n...")


def dvc_env_block(wf: dict[str, Any], remote: bool = True, extra: tuple[str, ...] = (), keyless: bool = False) -> str:
    """The ``env:`` of a step that talks to the DVC remote: its credentials, and nothing for other steps.

    ``keyless``: a job that logs in with ``dvc.oidc``; the static secrets (which would
    override the login's credentials) stay out of it.
    """
    pad = " " * 10
    bad = [name for name in (*wf["dvc"]["secrets"], *wf["reusable_secrets"]) if not _SECRET_NAME.fullmatch(name)]
    if bad:
        raise UserError(f"dvc.secrets: {bad[0][:60]!r} is not a secret name (letters, digits and '_')")
    if wf["reusable"]:
        lines = ["        env:  # the DVC remote's credentials, only for the steps that talk to the remote"]
        if remote:
            lines.append(pad + "DVC_REMOTE: ${{ inputs.dvc-remote }}")
        lines += [f"{pad}{name}: ${{{{ secrets.{name} }}}}" for name in wf["reusable_secrets"]]
    else:
        lines = ["        env:  # the DVC remote's credentials (dvc.secrets in .ci-mlops.yml), only for the steps that talk to the remote"]
        if not (keyless and wf["dvc"].get("oidc")):
            lines += [f"{pad}{name}: ${{{{ secrets.{name} }}}}" for name in wf["dvc"]["secrets"]]
    lines += [pad + line for line in extra]
    return "\n".join(lines) if len(lines) > 1 else ""


def header(template_version: int = TEMPLATE_VERSION) -> str:
    return (
        f"# Generated by `ci-mlops init` (ci-mlops {__version__}, template {template_version}).\n"
        "# Settings live in .ci-mlops.yml: change them there and run `ci-mlops init` again.\n"
        "# If you edit this file, `ci-mlops init` merges later changes into your version\n"
        "# (what it generated is in .github/ci-mlops.lock); `ci-mlops init --force` regenerates it."
    )


@lru_cache(maxsize=4)
def environment(root: str | None = None) -> Any:
    import jinja2  # lazy: Jinja2 is slow to import

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root or str(templates_dir())),
        block_start_string="[%", block_end_string="%]",
        variable_start_string="[[", variable_end_string="]]",
        comment_start_string="[#", comment_end_string="#]",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False,
    )
    env.globals.update(uses=uses, header=header, install_spec=install_spec, dvc_env_block=dvc_env_block)
    env.filters.update(yaml=yaml_scalar, run=run_block, flow=flow_list, tojson=json.dumps,
                       sh=shell_quote, comment=comment_text)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    """Render ``templates/<template>`` with ``context``; the result always ends with one newline."""
    text = environment().get_template(template).render(**context)
    # Templates keep their conditionals readable; tidy the whitespace they leave behind.
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"
