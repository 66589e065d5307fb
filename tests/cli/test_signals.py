"""A real SIGINT (Ctrl-C) and SIGTERM (how CI stops a job) during a wait, with and without ``--cancel-on-interrupt``:
the exit code, and the simulator's world showing the pipeline stopped or still running.

The simulator runs on its manual clock, moved by the test until the build job runs and then left alone: the pipeline
stays running for as long as the command waits, however slow the machine, so "still running" after the signal is
the command's doing and not a race with the pipeline's own end. The command polls on a real clock of its own; the
signal is sent once it has printed that it sees the running build.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.simulator import SemaphoreSimulator

from ..support.child import Child
from .support import CANARY, RELEASE_TRAIN, check_output, clean_env, first_pipeline

#: The command's own pace (simulated seconds per real second): polls every fifth of a second at first, and its
#: default timeout (an hour) is six real minutes away, far beyond the signal.
SPEED = 10.0


def build_running(sim: SemaphoreSimulator, ppl_id: str) -> None:
    """Move the manual clock a simulated second at a time until the pipeline's build job runs."""
    with SemaphoreClient(sim.url, CANARY) as client:
        for _ in range(600):
            pipeline = client.describe_pipeline(ppl_id, detailed=True)
            if any(job.status == "running" for block in pipeline.blocks for job in block.jobs):
                return
            sim.advance(1.0)
    raise AssertionError(f"the build job of {ppl_id} never started")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("cancel", [False, True], ids=["leave-running", "cancel-on-interrupt"])
def test_a_signal_during_a_wait(signum: int, code: int, cancel: bool, tmp_path: Path) -> None:
    with SemaphoreSimulator(RELEASE_TRAIN, token=CANARY) as sim:
        ppl_id = first_pipeline(sim)
        build_running(sim, ppl_id)
        args = ["--speed", str(SPEED), "wait", ppl_id, *(["--cancel-on-interrupt"] if cancel else [])]
        with Child([sys.executable, "-m", "pytest_semaphore.cli", *args], cwd=tmp_path, env=clean_env(sim)) as child:
            child.wait_for("Build > Build: running")  # it is waiting on the running job
            child.send_signal(signum)
            done = child.finish()
        record = sim.world.pipeline(ppl_id)
        state, terminate_request = record.state, record.terminate_request
    check_output(done.stdout + done.stderr)
    assert done.returncode == code, done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1, done.stderr
    if cancel:
        assert terminate_request == "stop"
        assert state in ("stopping", "done")
        assert "asked Semaphore to stop" in done.stderr
    else:
        assert terminate_request == ""
        assert state == "running"
        assert "left running" in done.stderr
