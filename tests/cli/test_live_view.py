"""The live terminal view: redrawn in place (cursor up, clear), blocks and jobs with elapsed times on the injected
clock, text printed above the frame, the last frame left on screen; and never used without a terminal."""

from __future__ import annotations

import dataclasses
import io
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_semaphore.cli.live import LiveView
from pytest_semaphore.cli.output import Output
from pytest_semaphore.models import Block, BlockJob, Pipeline
from pytest_semaphore.simulator import SemaphoreSimulator

from .support import CANARY, RELEASE_TRAIN, SPEED, check_output, clean_env, first_pipeline


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _pipeline(state: str, job_status: str, job_result: str | None = None) -> Pipeline:
    job = BlockJob(name="Unit tests", job_id="job-1", index=0, status=job_status, result=job_result)
    block = Block(name="Tests", block_id="b-1", state=state, result=job_result, result_reason=None, jobs=(job,))
    return Pipeline(
        ppl_id="0123456789abcdef",
        wf_id="wf-1",
        name="Release train",
        project_id="p-1",
        branch_name="master",
        commit_sha="abc",
        state=state,
        result=job_result,
        result_reason=None,
        blocks=(block,),
    )


def test_the_view_redraws_in_place_with_elapsed_times() -> None:
    screen, clock = io.StringIO(), Clock()
    view = LiveView(screen, clock, tick=None)
    view.update(_pipeline("running", "running"))
    assert view.frame() == ["Release train (01234567)  running  0s", "  Tests  running", "    Unit tests  running  0s"]
    clock.now = 75
    view.print_above("a message")
    view.update(_pipeline("done", "finished", "passed"))
    assert view.frame() == [
        "Release train (01234567)  passed  1m15s",
        "  Tests  passed",
        "    Unit tests  ok  1m15s",
    ]
    clock.now = 500
    assert view.frame()[0].endswith("1m15s"), "a finished pipeline's clock stops"
    view.close()
    text = screen.getvalue()
    assert "\x1b[1A" * 3 + "\r\x1b[J" in text, "the previous frame of three lines is erased before redrawing"
    assert text.index("a message") < text.rindex("Unit tests  ok")
    assert text.endswith("    Unit tests  ok  1m15s\n"), "the last frame stays on screen"


def test_output_uses_the_view_only_on_a_terminal() -> None:
    clock = Clock()
    plain = io.StringIO()
    Output(stdout=plain, stderr=io.StringIO(), monotonic=clock).watch(_pipeline("running", "running"))
    assert "\x1b[" not in plain.getvalue()
    assert plain.getvalue().splitlines() == [
        "[    0s] Release train (01234567): running",
        "[    0s] Release train (01234567) > Tests > Unit tests: running",
    ]
    live = io.StringIO()
    output = Output(stdout=live, stderr=io.StringIO(), monotonic=clock, live=True)
    output.watch(_pipeline("running", "running"))
    output.say("hello")
    output.close()
    assert "\x1b[" in live.getvalue()
    assert "hello\n" in live.getvalue()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_wait_on_a_terminal_draws_the_live_view(tmp_path: Path) -> None:
    import pty

    with SemaphoreSimulator(RELEASE_TRAIN, token=CANARY, speed=SPEED) as sim:
        main_fd, child_fd = pty.openpty()
        env = clean_env(sim, TERM="xterm")
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest_semaphore.cli", "--speed", str(SPEED), "wait", first_pipeline(sim)],
            cwd=tmp_path,
            env=env,
            stdin=child_fd,
            stdout=child_fd,
            stderr=child_fd,
        )
        os.close(child_fd)
        chunks: list[bytes] = []
        deadline = time.monotonic() + 120  # bounded: a hung child fails the test instead of hanging the suite
        try:
            while True:
                ready, _, _ = select.select([main_fd], [], [], max(deadline - time.monotonic(), 0))
                assert ready, "the command did not finish its output within 120 s:\n" + b"".join(chunks).decode()
                try:
                    chunk = os.read(main_fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            assert process.wait(timeout=60) == 0
        finally:
            os.close(main_fd)
            if process.poll() is None:
                process.kill()
                process.wait()
    screen = b"".join(chunks).decode("utf-8", "replace")
    check_output(screen)
    assert "\x1b[1A" in screen, "the frame is redrawn in place"
    assert "[    0s]" not in screen, "no plain progress lines on a terminal"
    assert "Unit tests - 3/3  ok" in screen
    assert "Verdict: passed (exit code 0)" in screen


def test_a_frame_taller_than_the_terminal_is_cut_to_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINES", "6")
    monkeypatch.setenv("COLUMNS", "200")
    screen, clock = io.StringIO(), Clock()
    view = LiveView(screen, clock, tick=None)
    for index in range(5):
        view.update(dataclasses.replace(_pipeline("running", "running"), ppl_id=f"{index}" * 16))
    view.close()
    last_frame = screen.getvalue().rsplit("\r\x1b[J", 1)[-1].splitlines()
    assert len(last_frame) == 4
    assert last_frame[-1] == "  ... and 12 more lines"
