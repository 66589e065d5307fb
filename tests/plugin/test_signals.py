"""A real SIGINT or SIGTERM while a test waits: the cancel option decides whether the pipeline this run started is
terminated, and the reports are still whole. The token (a canary) appears in no output and no file.

The simulator runs on its manual clock, which nobody moves: the started pipeline stays running however slow the
machine, so "not done" after the signal is the plugin's doing, not a race with the pipeline's end. The inner pytest is
a real process polling on the real clock. It prints a line once the workflow is started, and the signal is sent when
that line is read (:class:`tests.support.child.Child`): no sleeping, no guessing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator

from ..support.child import Child
from .conftest import CANARY, RELEASE_TRAIN

INNER = """
def test_release(semaphore_run_workflow, wait_for_pipeline):
    started = semaphore_run_workflow("release-train", "refs/heads/master", wait=False)
    print("STARTED", started.ppl_id, flush=True)
    wait_for_pipeline(started.ppl_id)
"""


@pytest.fixture
def simulator() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(RELEASE_TRAIN, token=CANARY) as running:
        yield running


def interrupt(
    pytester: pytest.Pytester, simulator: SemaphoreSimulator, signum: int, *options: str
) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Run the inner session, send ``signum`` once its workflow is started; (ppl_id, the finished process)."""
    pytester.makepyfile(test_inner=INNER)
    token_file = pytester.path / "token"
    token_file.write_text(CANARY)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-s",
        f"--semaphore-url={simulator.url}",
        f"--semaphore-token-file={token_file}",
        "--junitxml=out.xml",
        "--semaphore-json=result.json",
        "--semaphore-timeout=90",  # ends by itself should the signal never come
        *options,
    ]
    with Child(command, cwd=pytester.path) as child:
        line = child.wait_for("STARTED ")  # after the progress line's "test_inner.py " when output is not captured
        ppl_id = line.split("STARTED ")[1].split()[0]
        child.send_signal(signum)
        return ppl_id, child.finish()


def check_reports_whole(path: Path, done: subprocess.CompletedProcess[str]) -> None:
    ET.parse(path / "out.xml")  # well-formed
    document = json.loads((path / "result.json").read_text())
    assert document["exitstatus"] == pytest.ExitCode.INTERRUPTED
    for text in (done.stdout, done.stderr, (path / "out.xml").read_text(), (path / "result.json").read_text()):
        assert CANARY not in text


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_with_cancel_on_interrupt_the_started_pipeline_is_terminated(
    pytester: pytest.Pytester, simulator: SemaphoreSimulator, signum: int
) -> None:
    ppl_id, done = interrupt(pytester, simulator, signum, "--semaphore-cancel-on-interrupt")
    assert done.returncode == pytest.ExitCode.INTERRUPTED, done.stdout + done.stderr
    assert "KeyboardInterrupt" in done.stdout
    assert simulator.world.pipeline(ppl_id).terminate_request in ("stop", "cancel")
    check_reports_whole(pytester.path, done)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_without_the_option_the_pipeline_runs_on(
    pytester: pytest.Pytester, simulator: SemaphoreSimulator, signum: int
) -> None:
    ppl_id, done = interrupt(pytester, simulator, signum)
    assert done.returncode == pytest.ExitCode.INTERRUPTED, done.stdout + done.stderr
    pipeline = simulator.world.pipeline(ppl_id)
    assert pipeline.terminate_request == ""
    assert not pipeline.done
    check_reports_whole(pytester.path, done)
