"""AtomicFile: the one way reports, summaries and full logs reach the disk (whole or not at all)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pytest_semaphore.atomic import NEW_FILE_MODE, AtomicFile
from pytest_semaphore.errors import ReportError


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_new_file_appears_only_on_commit_with_readable_permissions(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.xml"
    out = AtomicFile(target, what="report")
    out.file.write(b"<testsuites/>")
    assert not target.exists()
    assert out.commit() == target
    assert target.read_bytes() == b"<testsuites/>"
    assert stat.S_IMODE(target.stat().st_mode) == NEW_FILE_MODE
    assert _leftovers(target.parent) == []
    assert out.commit() == target  # idempotent


def test_replacing_keeps_the_old_files_permissions(tmp_path: Path) -> None:
    target = tmp_path / "junit.xml"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with AtomicFile(target, what="report") as out:
        out.file.write(b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_an_exception_leaves_the_target_untouched_and_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "junit.xml"
    target.write_bytes(b"pytest's own report")

    def write_half() -> None:
        with AtomicFile(target, what="report") as out:
            out.file.write(b"<half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_half()
    assert target.read_bytes() == b"pytest's own report"
    assert _leftovers(tmp_path) == []


def test_an_os_error_while_writing_is_a_report_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    with pytest.raises(ReportError, match=r"summary\.md: cannot write the summary \(disk full\)"):  # noqa: SIM117
        with AtomicFile(target, what="summary"):
            raise OSError(28, "disk full")
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_a_directory_in_the_way_is_a_clear_error_at_commit(tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    target.mkdir()
    out = AtomicFile(target, what="report")
    out.file.write(b"x")
    with pytest.raises(ReportError, match=r"report\.xml: cannot write the report"):
        out.commit()
    assert target.is_dir()
    assert _leftovers(tmp_path) == []


def test_an_unusable_folder_is_a_clear_error_at_once(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ReportError, match="cannot write the full log there"):
        AtomicFile(blocker / "logs" / "job.log", what="full log")


def test_discard_removes_the_temporary_file(tmp_path: Path) -> None:
    out = AtomicFile(tmp_path / "job.log", what="full log")
    out.file.write(b"partial")
    out.discard()
    out.discard()
    assert list(tmp_path.iterdir()) == []
