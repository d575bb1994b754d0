"""git plumbing in-process on real repositories: discovery, revisions, branches, tags, files, batched blobs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from conftest import git

from ci_mlops.errors import UserError
from ci_mlops.git import WORKSPACE, BlobReader, GitError, Repo, run_git


def commit(repo: Path, name: str, text: str, message: str) -> str:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def test_discover_finds_the_work_tree_from_a_subfolder_or_a_file(git_repo: Path) -> None:
    (git_repo / "src").mkdir()
    (git_repo / "src" / "train.py").write_text("")
    assert Repo.discover(git_repo / "src").root == git_repo.resolve()
    assert Repo.discover(git_repo / "src" / "train.py").root == git_repo.resolve()


def test_discover_refuses_a_missing_folder_a_non_repository_and_a_bare_one(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such directory"):
        Repo.discover(tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(UserError, match=r"not a git repository \(run `git init` first\)"):
        Repo.discover(tmp_path / "plain")
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    with pytest.raises(UserError, match="is a bare git repository"):
        Repo.discover(tmp_path / "bare.git")


def test_revisions_resolve_to_full_shas_and_unknown_ones_are_one_clear_error(git_repo: Path) -> None:
    repo = Repo(git_repo)
    first = repo.rev_parse("HEAD")
    second = commit(git_repo, "a.txt", "a", "second")
    assert len(first) == 40 and repo.rev_parse("HEAD~1") == first
    assert repo.head() == second and repo.try_rev_parse("nope") is None
    with pytest.raises(GitError, match=r"^unknown revision 'nope'$"):
        repo.rev_parse("nope")
    assert repo.log("HEAD", 5) == [second, first]
    assert repo.log("HEAD", 1) == [second]


def test_an_empty_repository_says_it_has_no_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    repo = Repo(tmp_path)
    assert not repo.has_commits() and repo.head() is None
    with pytest.raises(GitError, match=r"no commits yet"):
        repo.rev_parse("main")


def test_merge_base_of_two_branches_and_of_unrelated_histories(git_repo: Path) -> None:
    repo = Repo(git_repo)
    fork = repo.head()
    git(git_repo, "checkout", "-q", "-b", "feature")
    feature = commit(git_repo, "f.txt", "f", "feature")
    git(git_repo, "checkout", "-q", "main")
    commit(git_repo, "m.txt", "m", "main moves on")
    assert repo.merge_base("main", feature) == fork
    git(git_repo, "checkout", "-q", "--orphan", "other")
    orphan = commit(git_repo, "o.txt", "o", "unrelated")
    with pytest.raises(GitError, match="no common ancestor of 'main' and"):
        repo.merge_base("main", orphan)


def test_default_branch_prefers_origin_head_then_main_or_master(git_repo: Path, tmp_path: Path) -> None:
    assert Repo(git_repo).default_branch() == "main"
    clone = tmp_path / "clone"
    git(git_repo, "branch", "-q", "trunk")
    git(git_repo, "symbolic-ref", "HEAD", "refs/heads/trunk")
    git(tmp_path, "clone", "-q", str(git_repo), str(clone))
    assert Repo(clone).default_branch() == "trunk"  # origin/HEAD, though main exists too
    assert Repo(clone).current_branch() == "trunk"
    git(clone, "checkout", "-q", "--detach")
    assert Repo(clone).current_branch() is None


def test_tags_are_listed_in_creation_order(git_repo: Path) -> None:
    repo = Repo(git_repo)
    git(git_repo, "tag", "v2.0.0")
    commit(git_repo, "b.txt", "b", "later")
    git(git_repo, "tag", "-a", "-m", "annotated", "v1.0.0")
    assert set(repo.tags()) == {"v2.0.0", "v1.0.0"}
    assert repo.tags("v1*") == ["v1.0.0"]


def test_files_at_a_revision_and_in_the_workspace(git_repo: Path) -> None:
    repo = Repo(git_repo)
    sha = commit(git_repo, "dir/with space.txt", "x", "a file with a space")
    (git_repo / "untracked.txt").write_text("u")
    (git_repo / ".gitignore").write_text("ignored.txt\n")
    (git_repo / "ignored.txt").write_text("i")
    assert sorted(repo.ls_files(sha)) == ["README.md", "dir/with space.txt"]
    assert sorted(repo.ls_files(WORKSPACE)) == [".gitignore", "README.md", "dir/with space.txt", "untracked.txt"]
    assert repo.is_dirty() and repo.is_dirty(["untracked.txt"]) and not repo.is_dirty(["README.md"])


def test_the_blob_reader_reads_many_blobs_in_one_process(git_repo: Path) -> None:
    first = Repo(git_repo).head()
    second = commit(git_repo, "README.md", "# changed\n", "edit")
    binary = bytes(range(256)) * 3
    (git_repo / "model.bin").write_bytes(binary)
    git(git_repo, "add", "model.bin")
    git(git_repo, "commit", "-q", "-m", "binary")
    with BlobReader(git_repo) as reader:
        assert reader.read_many([(first, "README.md"), (second, "README.md"), ("HEAD", "model.bin"),
                                 (first, "missing.txt"), ("HEAD", "dir")]) == [b"# test\n", b"# changed\n", binary,
                                                                               None, None]
        assert reader.read("no-such-rev", "README.md") is None
        assert reader.read_many([]) == []
    assert reader._proc is None  # closed on leaving the block


def test_the_blob_reader_handles_a_batch_larger_than_a_pipe_buffer(git_repo: Path) -> None:
    specs = [("HEAD", f"missing-{i:05d}-{'x' * 40}.txt") for i in range(1000)] + [("HEAD", "README.md")]
    with BlobReader(git_repo) as reader:
        answers = reader.read_many(specs)
    assert answers[:-1] == [None] * 1000 and answers[-1] == b"# test\n"


def test_run_git_names_the_command_and_git_s_last_line(git_repo: Path) -> None:
    assert run_git(["rev-parse", "--abbrev-ref", "HEAD"], git_repo) == "main"
    with pytest.raises(GitError, match=r"^git cat-file -t nope: fatal: Not a valid object name nope$"):
        run_git(["cat-file", "-t", "nope"], git_repo)
    assert run_git(["cat-file", "-t", "nope"], git_repo, check=False) == ""
    with pytest.raises(UserError, match="not a directory"):
        run_git(["status"], git_repo / "README.md")


def test_revisions_resolved_in_the_batch_process_are_rev_parse_s(git_repo: Path) -> None:
    first = git(git_repo, "rev-parse", "HEAD").strip()
    second = commit(git_repo, "a/b.txt", "x", "second")
    git(git_repo, "tag", "-a", "-m", "annotated", "v1", first)
    git(git_repo, "tag", "light")
    git(git_repo, "branch", "feature", first)
    git(git_repo, "tag", "feature", second)  # a name both a branch and a tag: git's own precedence
    tree = git(git_repo, "rev-parse", "HEAD^{tree}").strip()
    refs = ["HEAD", "HEAD~1", "main", "v1", "light", "feature", "refs/heads/feature", first[:7], first, tree,
            "HEAD:a/b.txt", "main@{0}", ":/second", "no-such-ref", "HEAD~5", "a b", "with space@{1 day ago}",
            "-x", "--all", "main\nHEAD", "", "0" * 40]
    plain = Repo(git_repo)
    with BlobReader(git_repo) as reader:
        batched = Repo(git_repo, batch=reader)
        for ref in refs:
            assert batched.try_rev_parse(ref) == plain.try_rev_parse(ref), ref
        assert batched.rev_parse("v1") == first
        with pytest.raises(GitError, match="unknown revision 'nope'"):
            batched.rev_parse("nope")
        assert reader.read("HEAD", "a/b.txt") == b"x"  # the batch stays in step after a lookup
    assert plain.try_rev_parse("main") == second


@pytest.mark.parametrize("count", [0, 1, 3, 7, 8, 250])
def test_first_parents_in_the_batch_process_are_rev_list_s(git_repo: Path, count: int) -> None:
    for i in range(6):
        commit(git_repo, "a.txt", f"{i}", f"main {i}")
    git(git_repo, "checkout", "-q", "-b", "side", "HEAD~3")
    commit(git_repo, "b.txt", "side", "side")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")  # a second parent first-parent skips
    head = git(git_repo, "rev-parse", "HEAD").strip()
    expected = git(git_repo, "rev-list", "--first-parent", f"--max-count={count}", head).split()
    with BlobReader(git_repo) as reader:
        assert reader.first_parents(head, count) == expected == Repo(git_repo).log(head, count)
        assert reader.read("HEAD", "b.txt") == b"side"  # the batch stays in step
    assert len(expected) == min(count, 8)


def test_first_parents_past_a_shallow_clone_s_boundary_stop_there(git_repo: Path, tmp_path: Path) -> None:
    for i in range(120):
        commit(git_repo, "a.txt", f"{i}", f"c{i}")
    git(tmp_path, "clone", "-q", "--depth", "105", f"file://{git_repo}", "shallow")
    shallow = tmp_path / "shallow"
    head = git(shallow, "rev-parse", "HEAD").strip()
    with BlobReader(shallow) as reader:
        found = reader.first_parents(head, 500)
    assert found == git(shallow, "rev-list", "--first-parent", head).split() and len(found) == 105


def test_a_batch_of_large_blobs_and_many_names_does_not_block(git_repo: Path) -> None:
    big = bytes(range(256)) * 1024  # 256 KiB: more than a pipe holds
    (git_repo / "big.bin").write_bytes(big)
    git(git_repo, "add", "big.bin")
    git(git_repo, "commit", "-q", "-m", "big")
    specs = [("HEAD", "big.bin"), *[("HEAD", f"missing-{i:05d}-{'x' * 40}.txt") for i in range(800)], ("HEAD", "big.bin")]
    with BlobReader(git_repo) as reader:
        answers = reader.read_many(specs)
    assert answers[0] == answers[-1] == big and answers[1:-1] == [None] * 800


def test_git_missing_from_path_is_one_line(git_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder without git
    for call in (lambda: run_git(["status"], git_repo), lambda: Repo.discover(git_repo),
                 lambda: BlobReader(git_repo).read("HEAD", "README.md")):
        with pytest.raises(UserError, match=r"^git is not installed or not on PATH$"):
            call()


def test_a_folder_that_is_not_one_is_named(git_repo: Path) -> None:
    with pytest.raises(UserError, match=r"README.md: not a directory$"):
        run_git(["status"], git_repo / "README.md")
    with pytest.raises(UserError, match=r"README.md/sub: not a directory$"):
        run_git(["status"], git_repo / "README.md" / "sub")
    with pytest.raises(UserError, match=r"nope: no such directory$"):
        run_git(["status"], git_repo / "nope")
    with pytest.raises(UserError, match=r"nope: no such directory$"):
        BlobReader(git_repo / "nope").read("HEAD", "README.md")


def test_git_runs_in_the_folder_given_as_if_started_there(git_repo: Path, tmp_path: Path) -> None:
    (git_repo / "sub dir").mkdir()
    (git_repo / "sub dir" / "f.txt").write_text("f")
    assert run_git(["ls-files", "--others"], git_repo / "sub dir") == "f.txt"  # relative to the folder
    assert run_git(["rev-parse", "--show-prefix"], git_repo / "sub dir") == "sub dir/"
    spaced = tmp_path / "a repo with spaces"
    git(tmp_path, "init", "-q", "-b", "main", str(spaced))
    (spaced / "src").mkdir()
    assert Repo.discover(spaced / "src").root == spaced.resolve()  # the whole top level, spaces and all


def _fds() -> list[str]:
    return sorted(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_the_blob_reader_leaves_no_descriptor_or_process_behind_even_after_an_error(git_repo: Path) -> None:
    before = _fds()
    with BlobReader(git_repo) as reader:
        assert reader.read("HEAD", "README.md") == b"# test\n"
        assert reader._proc is not None
        pid = reader._proc.pid
    assert _fds() == before and not Path(f"/proc/{pid}").exists()

    with pytest.raises(GitError, match=r"^git cat-file stopped unexpectedly$"), BlobReader(git_repo) as reader:
        assert reader.read("HEAD", "README.md") == b"# test\n"
        assert reader._proc is not None
        pid = reader._proc.pid
        os.kill(pid, signal.SIGKILL)
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # dead, not yet waited for
        reader.read_many([("HEAD", "README.md")] * 3)
    assert _fds() == before and not Path(f"/proc/{pid}").exists()


def test_closing_the_blob_reader_in_the_middle_of_a_large_blob_ends_git(git_repo: Path) -> None:
    (git_repo / "big.bin").write_bytes(b"\1" * (8 << 20))  # 8 MiB: git blocks writing it
    git(git_repo, "add", "big.bin")
    git(git_repo, "commit", "-q", "-m", "big")
    reader = BlobReader(git_repo)
    proc = reader._send(b"HEAD:big.bin\n")
    assert proc.stdout.readline().split()[1:] == [b"blob", str(8 << 20).encode()]
    reader.close()  # git is writing the blob nobody reads: it ends of the closed pipe
    assert proc.returncode == -signal.SIGPIPE and reader._proc is None


def _tree_repo(path: Path, object_format: str = "sha1") -> Path:
    """Folders in git's own order ('a' sorts as 'a/': after 'a-b', before 'a0'), two identical
    folders, a symlink, an executable, a submodule, and names with a space, a newline and non-UTF-8 bytes."""
    git(path.parent, "init", "-q", "-b", "main", f"--object-format={object_format}", str(path))
    for name in ("a-b", "a0", "a.b", "a/x.txt", "a/deep/er/y.txt", "b/x.txt", "b/deep/er/y.txt", "with space/f",
                 "new\nline", "z/dvc.yaml"):
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("same" if "/" in name and name[0] in "ab" else name)
    (path / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name")
    (path / "run.sh").write_text("#!/bin/sh\n")
    (path / "run.sh").chmod(0o755)
    (path / "link").symlink_to("a/x.txt")
    git(path, "add", "-A")
    sub = "1" * (40 if object_format == "sha1" else 64)  # a submodule's commit (git need not have it)
    git(path, "update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/lib")
    git(path, "commit", "-q", "-m", "tree")
    return path


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_listing_a_revision_in_the_batch_process_is_ls_tree_s(tmp_path: Path, object_format: str) -> None:
    repo = _tree_repo(tmp_path / "repo", object_format)
    plain = Repo(repo)
    with BlobReader(repo) as reader:
        batched = Repo(repo, batch=reader)
        for rev in ("HEAD", "main", "HEAD:a", "HEAD:a/deep", "main~0:b", git(repo, "rev-parse", "HEAD^{tree}").strip()):
            listed = reader.list_tree(rev)
            assert listed is not None and listed == plain.ls_files(rev) == batched.ls_files(rev), rev
        assert {"vendor/lib", "new\nline", "caf\ufffd.txt", "link", "a/deep/er/y.txt"} <= set(plain.ls_files("HEAD"))
        assert reader.list_tree("HEAD:run.sh") is None and reader.list_tree("nope") is None  # ls-tree says why
        assert reader.list_tree(":/tree") is None and batched.ls_files(":/tree") == plain.ls_files(":/tree")
        for rev in ("HEAD:run.sh", "nope", "HEAD:nope", "-x", "HEAD\nHEAD"):
            with pytest.raises(GitError) as plain_error:
                plain.ls_files(rev)
            with pytest.raises(GitError) as batched_error:
                batched.ls_files(rev)
            assert str(batched_error.value) == str(plain_error.value)
        assert reader.read("HEAD", "z/dvc.yaml") == b"z/dvc.yaml"  # the batch stays in step


def test_an_empty_tree_and_a_tree_of_many_folders(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(git_repo, "rm", "-q", "README.md")
    git(git_repo, "commit", "-q", "-m", "empty")
    with BlobReader(git_repo) as reader:
        assert reader.list_tree("HEAD") == [] == Repo(git_repo).ls_files("HEAD")
    for i in range(12):
        (git_repo / f"d{i}" / "e" / "f.txt").parent.mkdir(parents=True)
        (git_repo / f"d{i}" / "e" / "f.txt").write_text(str(i))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "24 folders")
    monkeypatch.setattr("ci_mlops.git._MAX_LISTED_TREES", 24)  # the root and 24 folders: one too many
    with BlobReader(git_repo) as reader:
        assert reader.list_tree("HEAD") is None  # left to git ls-tree
        assert Repo(git_repo, batch=reader).ls_files("HEAD") == Repo(git_repo).ls_files("HEAD")
        monkeypatch.setattr("ci_mlops.git._MAX_LISTED_TREES", 25)
        assert reader.list_tree("HEAD") == Repo(git_repo).ls_files("HEAD") == [f"d{i}/e/f.txt" for i in
                                                                            sorted(range(12), key=str)]
        trees = ["HEAD^{tree}", *(line.split()[2] for line in git(git_repo, "ls-tree", "-r", "-d", "HEAD").splitlines())]
        sizes = sum(int(git(git_repo, "cat-file", "-s", tree)) for tree in trees)
        monkeypatch.setattr("ci_mlops.git._MAX_LISTED_BYTES", sizes - 1)  # the trees' bytes: one too many
        assert reader.list_tree("HEAD") is None
        assert Repo(git_repo, batch=reader).ls_files("HEAD") == Repo(git_repo).ls_files("HEAD")
        monkeypatch.setattr("ci_mlops.git._MAX_LISTED_BYTES", sizes)
        assert reader.list_tree("HEAD") is not None
