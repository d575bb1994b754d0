"""The report's paths as text (``ci_mlops.safepath``'s ``*_text`` helpers) name and find what ``pathlib`` did.

The report's modules work on ``str`` paths so that ``pathlib`` stays off its start-up; every message
that names a path must read as it did when the path was a ``Path``, and every check must decide the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ci_mlops.config import Config, find_config, find_config_file
from ci_mlops.errors import UserError
from ci_mlops.git import BlobReader, Repo
from ci_mlops.safepath import absolute_text, cli_path, folder_and_parents, inside, inside_text, path_text, work_tree

PARTS = st.sampled_from(["", ".", "..", "a", "b c", "d.e", "..f", "/"])


@given(st.lists(PARTS, max_size=8).map("/".join))
def test_path_text_is_the_text_of_a_path(text):
    path = Path(text)
    assert path_text(text) == str(path)
    assert list(folder_and_parents(path_text(text))) == [str(p) for p in (path, *path.parents)]
    assert absolute_text(text) == str(path.absolute())


@pytest.mark.parametrize("text", ["", ".", "./", "a/./b/", "a//b", "/", "//", "///", "//a//b/", "///a", "/a/../b",
                                  "../a/.", "/./", "/."])
def test_the_edge_cases_by_name(text):
    assert path_text(text) == str(Path(text))
    assert path_text(Path(text)) == str(Path(text))


def test_inside_decides_and_words_as_before(tmp_path):
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "m.json").write_text("{}")
    (root / "out").symlink_to(tmp_path)  # a link out of the tree
    (root / "in").symlink_to(root / "sub")  # a link inside it
    (root / "loop").symlink_to(root / "loop")
    assert inside_text(root, "sub/./m.json", "metrics") == f"{root}/sub/m.json"
    assert inside(root, "in/m.json", "metrics") == root / "in" / "m.json"
    assert inside_text(str(root) + "/", "", "metrics") == str(root)
    assert inside_text(root, "loop", "metrics") == f"{root}/loop"  # reading it fails later, in one line
    with pytest.raises(UserError, match=f"^metrics out/x: resolves to {tmp_path}/x, outside the repository"):
        inside_text(root, "out/x", "metrics")
    with pytest.raises(UserError, match="leaves the repository"):
        inside_text(root, "sub/../../x", "metrics")
    (tmp_path / "repo2").mkdir()  # a sibling whose name starts with the root's: outside
    (root / "sib").symlink_to(tmp_path / "repo2")
    with pytest.raises(UserError, match="outside the repository"):
        inside_text(root, "sib", "metrics")


def test_work_tree_and_cli_paths(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(root / "a")
    assert work_tree("b") == root and work_tree(root / "a" / "b" / "..") == root
    assert work_tree(tmp_path) is None
    assert cli_path("b/../x.md", "-o") == Path("b/../x.md")
    with pytest.raises(UserError, match=r"^-o \.\./x\.md: leaves the repository"):
        cli_path("../../x.md", "-o")


def test_find_config_and_the_repository_keep_their_paths(tmp_path, git_repo):
    (git_repo / "src").mkdir(exist_ok=True)
    assert find_config_file(git_repo / "src") == str(git_repo.resolve() / ".ci-mlops.yml")
    assert find_config(git_repo / "src") == git_repo.resolve() / ".ci-mlops.yml"
    repo = Repo.discover(git_repo / "src")
    assert repo.top == str(git_repo.resolve()) and repo.root == git_repo.resolve() and repo.root is repo.root
    assert Repo(git_repo) == Repo(str(git_repo) + "/") and Repo(git_repo).root == git_repo
    assert BlobReader(f"{git_repo}/./").root == git_repo and BlobReader(git_repo).top == str(git_repo)
    assert Config(file=Path("a/./b.yml")).file == "a/b.yml" and Config(file="a/./b.yml").path == Path("a/b.yml")
    assert Config().path is None and Config(file="x/.ci-mlops.yml").display_path == ".ci-mlops.yml"
    with pytest.raises(UserError, match=f"^{tmp_path}/nowhere: no such directory$"):
        Repo.discover(tmp_path / "nowhere")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    with pytest.raises(UserError, match=f"^{tmp_path}/nowhere: no such directory$"):  # resolved, as Path.resolve did
        Repo.discover(tmp_path / "dangling")


def test_a_symbolic_link_loop_is_a_one_line_error(tmp_path):
    from ci_mlops.report.collect import read_workspace_file

    (tmp_path / "m.json").symlink_to(tmp_path / "m.json")  # Path.resolve() raised RuntimeError on it
    with pytest.raises(UserError, match="^declared file m.json: cannot read: "):
        read_workspace_file(tmp_path, "m.json")
