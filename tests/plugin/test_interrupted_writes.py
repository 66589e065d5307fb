"""SIGINT or SIGTERM from inside the plugin's atomic writes at the end of a session (the JSON result, the summary,
the JUnit report with excerpts attached, the full logs): each file is the old one or whole, never half-written, and
no temporary file is left. The signal is raised by a test hook in the inner session's conftest, which wraps the
temporary file of :class:`~pytest_semaphore.atomic.AtomicFile` (a random moment rarely lands in a write of
milliseconds)."""

from __future__ import annotations

import json
import signal
import xml.etree.ElementTree as ET

import pytest

from .conftest import FAILING_TRAIN

HOOK = """
import os
import signal

from pytest_semaphore.atomic import AtomicFile

TARGET, SIGNUM = {target!r}, {signum}
original = AtomicFile.__init__


class SignalingFile:
    def __init__(self, file):
        self._file = file

    def write(self, data):
        written = self._file.write(data)
        os.kill(os.getpid(), SIGNUM)
        return written

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._file, name)


def hooked(self, path, *, what):
    original(self, path, what=what)
    if self.path.name.lower().startswith(TARGET):
        self.file = SignalingFile(self.file)


AtomicFile.__init__ = hooked
"""

INNER = """
def test_release(wait_for_pipeline, semaphore_ppl_id):
    wait_for_pipeline(semaphore_ppl_id)
"""


@pytest.mark.parametrize(
    ("target", "signum"),
    [
        ("result.json", signal.SIGINT),
        ("summary.md", signal.SIGTERM),
        ("out.xml", signal.SIGTERM),
        ("logs", signal.SIGINT),
    ],
)
def test_a_signal_inside_a_report_write_leaves_no_half_written_file(
    pytester: pytest.Pytester, target: str, signum: int
) -> None:
    prefix = "unit-tests" if target == "logs" else target  # a full log's file is named after its job
    pytester.makeconftest(HOOK.format(target=prefix.lower(), signum=int(signum)))
    pytester.makepyfile(test_inner=INNER)
    old = {"result.json": '{"old": true}', "summary.md": "old summary", "out.xml": "<testsuite/>"}
    for name, text in old.items():
        (pytester.path / name).write_text(text)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--semaphore-simulate",
        f"--semaphore-simulate-scenario={FAILING_TRAIN}",
        "--junitxml=out.xml",
        "--semaphore-json=result.json",
        "--semaphore-report=summary.md",
        "--semaphore-log-dir=logs",
    )
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, text[-2000:]  # the hook fired
    assert "Traceback" not in text
    temporary = [p.name for p in pytester.path.rglob("*.tmp")]
    assert not temporary, temporary
    json.loads((pytester.path / "result.json").read_text())  # whole: the old one, or the new one
    ET.parse(pytester.path / "out.xml")  # whole: pytest's own report, or ours attached to it
    if target == "out.xml":  # pytest wrote its report; attaching the excerpts to it was interrupted
        assert b"<property" not in (pytester.path / "out.xml").read_bytes()
    elif target != "logs":
        assert (pytester.path / target).read_text() == old[target], (target, text[-2000:])
    else:
        assert not list((pytester.path / "logs").glob("*.log"))
