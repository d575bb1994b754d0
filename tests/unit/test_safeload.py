"""Hostile JSON, YAML and TOML: alias bombs, recursive aliases, code tags, deep nesting, huge integers,
special files. Each class is tried in several shapes, through the loader and through the CLI, and
gives one line and exit 2 within a memory cap."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, run_cli

from ci_mlops.config import parse_config
from ci_mlops.dvc.values import ParseError, parse
from ci_mlops.errors import UserError
from ci_mlops.safeload import MAX_DEPTH, DocumentError, load_json, load_toml, load_yaml, read_limited


def laughs(levels: int = 9, width: int = 9, flow: bool = True) -> str:
    """The "billion laughs" document: each level lists the previous one ``width`` times."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*l{i - 1}"] * width)
        lines.append(f"l{i}: &l{i} [{refs}]" if flow else f"l{i}: &l{i}\n" + "".join(f"  - *l{i - 1}\n" for _ in range(width)).rstrip())
    return "\n".join(lines) + "\n"


def mapping_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 {x: 1, y: 2, z: 3, w: 4, v: 5, u: 6, t: 7, s: 8, r: 9}"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(9)) + "}")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 9) -> str:
    lines = ["m0: &m0 {" + ", ".join(f"k{j}: [1, 2, 3, 4, 5, 6, 7, 8, 9]" for j in range(9)) + "}"]
    for i in range(1, levels + 1):
        lines.append(f"m{i}: &m{i} {{<<: *m{i - 1}, " + ", ".join(f"n{j}: *m{i - 1}" for j in range(9)) + "}")
    return "\n".join(lines) + "\n"


BOMBS = {"flow-list": laughs(), "block-list": laughs(flow=False), "mapping": mapping_bomb(), "merge": merge_bomb()}
RECURSIVE = {
    "list": "a: &a [1, *a]\n",
    "mapping": "a: &a {b: *a}\n",
    "nested": "a: &a {b: [c, {d: *a}]}\n",
    "merge": "a: &a {<<: *a}\n",
    "block": "a: &a\n  - x\n  - *a\n",
}
CODE_TAGS = [
    "a: !!python/object/apply:os.system [id]\n",
    "a: !!python/name:os.system\n",
    "a: !!python/tuple [1, 2]\n",
    "a: !!python/object/new:subprocess.Popen [[id]]\n",
    "a: !custom {b: 1}\n",
    "!!python/object:os.system {}\n",
]


def deep_yaml(depth: int, style: str) -> str:
    if style == "flow":
        return "a: " + "[" * depth + "]" * depth + "\n"
    if style == "flow-map":
        return "a: " + "{b: " * depth + "1" + "}" * depth + "\n"
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v\n"


# -- the loader -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BOMBS)
def test_alias_bombs_are_refused_before_expansion(name):
    with pytest.raises(DocumentError, match="aliases are expanded"):
        load_yaml(BOMBS[name])


def test_aliases_within_the_bound_still_work():
    data = load_yaml("base: &b {lr: 0.1, layers: [1, 2]}\ntrain: {<<: *b, epochs: 3}\nother: *b\n")
    assert data["train"] == {"lr": 0.1, "layers": [1, 2], "epochs": 3} and data["other"]["lr"] == 0.1
    assert len(load_yaml(laughs(levels=3))["l3"]) == 9  # 9**4 values: fine


@pytest.mark.parametrize("name", RECURSIVE)
def test_recursive_aliases_are_refused(name):
    with pytest.raises(DocumentError, match="recursive alias"):
        load_yaml(RECURSIVE[name])


@pytest.mark.parametrize("text", CODE_TAGS)
def test_code_and_unknown_tags_are_refused(text):
    with pytest.raises(DocumentError, match="is not allowed"):
        load_yaml(text)


@pytest.mark.parametrize("style", ["flow", "flow-map", "block"])
def test_deep_yaml_is_refused(style):
    assert load_yaml(deep_yaml(MAX_DEPTH - 2, style))
    with pytest.raises(DocumentError, match="nested deeper"):
        load_yaml(deep_yaml(MAX_DEPTH + 1, style))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 5000, 200_000])
@pytest.mark.parametrize("open_, close", [("[", "]"), ('{"a": ', "}")])
def test_deep_json_is_refused(depth, open_, close):
    text = open_ * depth + ("1" if open_ != "[" else "") + close * depth
    with pytest.raises(DocumentError, match="nested deeper"):
        load_json(text)


@pytest.mark.parametrize("encoding", [None, "utf-8", "utf-16", "utf-32-le"])
def test_json_depth_is_bounded_exactly_however_many_brackets(encoding):
    """A document is walked for its depth only when it holds more than MAX_DEPTH brackets: exactly
    MAX_DEPTH levels pass, one more is refused, with brackets in strings and wide shallow documents
    either side of the bound (bytes in every encoding json reads)."""
    def load(text):
        return load_json(text if encoding is None else text.encode(encoding))

    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load(deepest)
    below = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert load('{"s": "' + "{[" * 500 + '", "d": ' + below + "}")  # brackets in a string are not levels
    assert load(json.dumps([{"a": [i]} for i in range(300)]))  # 601 brackets, 3 levels
    with pytest.raises(DocumentError, match="nested deeper"):
        load("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(DocumentError, match="nested deeper"):
        load('{"a": ' * MAX_DEPTH + "[1]" + "}" * MAX_DEPTH)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 5000])
def test_deep_toml_is_refused(depth):
    with pytest.raises(DocumentError, match="nested deeper"):
        load_toml("a = " + "[" * depth + "]" * depth)


@pytest.mark.parametrize("loader,text", [
    (load_json, '{"a": ' + "9" * 5000 + "}"),
    (load_json, "[-" + "1" * 4301 + "]"),
    (load_toml, "a = " + "7" * 5000),
    (load_yaml, "a: " + "1" * 5000),
    (load_yaml, "a: -" + "1" * 4400),
    (load_yaml, "a: 0x" + "f" * 4400),
])
def test_integers_over_the_digit_limit_are_refused(loader, text):
    with pytest.raises(DocumentError, match="4300"):
        loader(text)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_special_files_are_not_read(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} missing")
    with pytest.raises(DocumentError, match="not a regular file"):
        read_limited(device)


def test_fifo_and_directory_are_not_read(tmp_path: Path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(DocumentError, match="FIFO"):
        read_limited(fifo)  # would block forever if opened for a plain read
    with pytest.raises(DocumentError, match="directory"):
        read_limited(tmp_path)


def test_oversized_file_is_refused(tmp_path: Path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * 2000)
    assert read_limited(big, 5000)
    with pytest.raises(DocumentError, match="more than"):
        read_limited(big, 1000)


# -- every reader goes through it ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [*BOMBS.values(), *RECURSIVE.values(), *CODE_TAGS[:2], deep_yaml(300, "flow")])
def test_config_refuses_in_one_line(text):
    with pytest.raises(UserError) as err:
        parse_config(text)
    assert "\n" not in str(err.value) and ".ci-mlops.yml" in str(err.value)


@pytest.mark.parametrize("path,text", [
    ("params.yaml", BOMBS["merge"]), ("metrics.yaml", RECURSIVE["mapping"]), ("m.yml", CODE_TAGS[0]),
    ("metrics.json", "[" * 3000 + "]" * 3000), ("metrics.json", '{"a": ' + "1" * 4400 + "}"),
    ("params.toml", "a = " + "[" * 800 + "]" * 800), ("metrics", BOMBS["flow-list"]),
])
def test_metrics_and_params_refuse_with_a_parse_error(path, text):
    with pytest.raises(ParseError):
        parse(text.encode(), path)


# -- through the CLI, within a memory cap -------------------------------------------------------------

CAP = 1024 * 1024 * 1024  # 1 GiB of address space: the bombs used to grow past 2 GB


def run_capped(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([sys.executable, "-m", "ci_mlops", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=cap)


def one_line_exit_2(out: subprocess.CompletedProcess, *fragments: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], out.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("name", ["flow-list", "merge"])
def test_config_bomb_through_the_cli_is_bounded(tmp_path: Path, name: str):
    (tmp_path / ".ci-mlops.yml").write_text(BOMBS[name])
    one_line_exit_2(run_capped("config", cwd=tmp_path), ".ci-mlops.yml", "aliases are expanded")


@pytest.mark.parametrize("params", [BOMBS["mapping"], RECURSIVE["list"], CODE_TAGS[0], "a: " + "1" * 5000 + "\n"])
def test_params_and_metrics_through_report(git_repo: Path, params: str):
    (git_repo / ".ci-mlops.yml").write_text("report:\n  metrics_files: [m.json]\n  params_files: [params.yaml]\n")
    (git_repo / "m.json").write_text('{"acc": 1}')
    (git_repo / "params.yaml").write_text("a: 1\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "base")
    (git_repo / "params.yaml").write_text(params)
    one_line_exit_2(run_capped("report", "--base", "HEAD", cwd=git_repo), "params.yaml")
    (git_repo / "params.yaml").write_text("a: 1\n")
    (git_repo / "m.json").write_text("[" * 100_000 + "]" * 100_000)
    one_line_exit_2(run_capped("report", "--base", "HEAD", cwd=git_repo), "m.json", "nested deeper")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("args", [("config", "--config", "/dev/zero"), ("report", "--config", "/dev/zero")])
def test_dev_zero_as_config(git_repo: Path, args):
    one_line_exit_2(run_capped(*args, cwd=git_repo), "/dev/zero", "not a regular file")


def test_deep_event_payload(tmp_path: Path):
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": ' * 2000 + "{}" + "}" * 2000)
    (tmp_path / "report.md").write_text("report\n")
    out = run_cli("comment", "report.md", "--dry-run", cwd=tmp_path, env={
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "t"})
    assert out.returncode == 2 and "internal error" not in out.stderr, out.stderr
    assert "nested deeper" in out.stderr


@pytest.mark.parametrize("meta", [
    '{"pr": ' * 1000 + "1" + "}" * 1000,
    "[" * 2000 + "]" * 2000,
    '{"pr": 1, "head_sha": "' + "a" * 40 + '", "x": ' + "[" * 1900 + "]" * 1900 + "}",
])
def test_fork_artifact_metadata_is_bounded(tmp_path: Path, meta: str):
    from ci_mlops.github.artifact import read_artifact

    (tmp_path / "pr.json").write_text(meta[:4096])
    (tmp_path / "report.md").write_text("report\n")
    with pytest.raises(UserError) as err:
        read_artifact(tmp_path)
    assert "pr.json" in str(err.value)


def test_json_bomb_of_many_keys_is_just_big_not_fatal():
    assert len(load_json(json.dumps({f"k{i}": i for i in range(10_000)}))) == 10_000
