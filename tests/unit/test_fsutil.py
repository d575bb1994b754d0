"""The one safe writer and the file hashes, in-process."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from ci_mlops import fsutil
from ci_mlops.errors import UserError
from ci_mlops.fsutil import atomic_write, md5_file, sha256_file, write_output


def test_a_new_file_is_written_with_its_parents_and_each_created_folder_is_reported(tmp_path: Path) -> None:
    said: list[str] = []
    atomic_write(tmp_path / "a" / "b" / "out.md", "é\n", announce=said.append)
    assert (tmp_path / "a" / "b" / "out.md").read_bytes() == "é\n".encode()
    assert said == [f"created folder {tmp_path / 'a'}", f"created folder {tmp_path / 'a' / 'b'}"]
    assert stat.S_IMODE((tmp_path / "a" / "b" / "out.md").stat().st_mode) == 0o644


def test_missing_parents_are_an_error_when_not_to_be_made(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=f"^{tmp_path / 'a'}: no such folder$"):
        atomic_write(tmp_path / "a" / "b" / "out.md", "x", make_parents=False)
    assert not (tmp_path / "a").exists()


def test_replacing_keeps_the_permission_bits_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_text("old")
    target.chmod(0o750)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.sh"]


def test_an_explicit_mode_wins(tmp_path: Path) -> None:
    atomic_write(tmp_path / "key", "k", mode=0o600)
    assert stat.S_IMODE((tmp_path / "key").stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_content_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_only_a_regular_file_is_ever_replaced(tmp_path: Path) -> None:
    (tmp_path / "real.md").write_text("keep")
    (tmp_path / "link.md").symlink_to(tmp_path / "real.md")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    for name, kind in (("link.md", "symbolic link"), ("pipe", "FIFO"), ("folder", "directory")):
        with pytest.raises(UserError, match=f"^{tmp_path / name}: is a {kind}; ci-mlops writes only regular files"):
            atomic_write(tmp_path / name, "x")
    assert (tmp_path / "real.md").read_text() == "keep"


def test_no_writing_through_a_dangling_link_or_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UserError, match="is a dangling symbolic link; not writing through it"):
        atomic_write(tmp_path / "gone" / "out.md", "x")
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match="a parent is not a folder"):
        atomic_write(tmp_path / "file" / "out.md", "x")


def test_write_output_refuses_a_relative_path_out_of_the_work_tree(git_repo: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(git_repo)
    said: list[str] = []
    write_output("out/report.md", "r", said.append)
    assert (git_repo / "out" / "report.md").read_text() == "r" and said == [f"created folder {Path('out')}"]
    with pytest.raises(UserError, match="-o"):
        write_output("../escaped.md", "x", said.append)
    assert not (git_repo.parent / "escaped.md").exists()


def test_hashes_match_hashlib_across_chunk_boundaries(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 + 17)
    (tmp_path / "blob").write_bytes(data)
    assert sha256_file(tmp_path / "blob", chunk=1024) == hashlib.sha256(data).hexdigest()
    assert md5_file(tmp_path / "blob", chunk=1000) == hashlib.md5(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
