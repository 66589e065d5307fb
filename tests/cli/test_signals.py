"""A real SIGINT (Ctrl-C) and SIGTERM (how CI stops a job) during a wait, with and without ``--cancel-on-interrupt``:
the exit code, and the simulator's world showing the pipeline stopped or still running."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator

from .support import CANARY, RELEASE_TRAIN, check_output, clean_env, first_pipeline

#: Slow enough that the release train (about 160 simulated seconds) is still running when the signal arrives.
SPEED = 10.0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("cancel", [False, True], ids=["leave-running", "cancel-on-interrupt"])
def test_a_signal_during_a_wait(signum: int, code: int, cancel: bool, tmp_path: Path) -> None:
    with SemaphoreSimulator(RELEASE_TRAIN, token=CANARY, speed=SPEED) as sim:
        ppl_id = first_pipeline(sim)
        args = ["--speed", str(SPEED), "wait", ppl_id, *(["--cancel-on-interrupt"] if cancel else [])]
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest_semaphore.cli", *args],
            cwd=tmp_path,
            env=clean_env(sim),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            seen = []
            for line in process.stdout:  # synchronise on what the command printed: it is waiting on a running job
                seen.append(line)
                if "Build > Build: running" in line:
                    break
            else:
                raise AssertionError("the wait never reported the running build: " + "".join(seen))
            process.send_signal(signum)
            rest, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        record = sim.world.pipeline(ppl_id)
        state, terminate_request = record.state, record.terminate_request
    check_output("".join(seen) + rest + stderr)
    assert process.returncode == code, stderr
    assert len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr
    if cancel:
        assert terminate_request == "stop"
        assert state in ("stopping", "done")
        assert "asked Semaphore to stop" in stderr
    else:
        assert terminate_request == ""
        assert state == "running"
        assert "left running" in stderr
