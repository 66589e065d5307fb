"""Running ``semaphore-gate`` as users do: in a subprocess against a simulator on a real clock sped up, or in-process
(``cli.main(argv, pacing=...)``) on the simulator's manual clock when a test needs simulated time exactly.

Every run is checked for the two things no command may ever do: print a traceback, or print the API token. The
token is a recognisable canary, so a leak anywhere (stdout, stderr, a written file) is found by a plain search.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pytest_semaphore.cli import main
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.serve import default_scenario
from pytest_semaphore.waiting import Pacing

#: Recognisable wherever it leaks.
CANARY = "cli-canary-0123456789-never-print-me"
#: Simulated seconds per real second for subprocess runs: the release train (about 3 simulated minutes) takes about
#: a real second, polls start at 10 ms.
SPEED = 200.0
RELEASE_TRAIN = default_scenario()
assert RELEASE_TRAIN is not None
FAILING = RELEASE_TRAIN.with_name("failing.yml")
PROJECT = "release-train"
ESCAPE = re.compile(r"\x1b\[")


def first_pipeline(sim: SemaphoreSimulator) -> str:
    """The pipeline the scenario's push started."""
    project = sim.world.project(PROJECT)
    return sim.world.workflows(project.project_id)[-1].initial_ppl_id


def clean_env(sim: SemaphoreSimulator | None, **extra: str) -> dict[str, str]:
    """The process environment without any Semaphore variable of the developer's, plus the simulator's URL and
    the canary token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMAPHORE_") and k != "CI"}
    env["PYTHONUNBUFFERED"] = "1"
    if sim is not None:
        env["SEMAPHORE_ORGANIZATION_URL"] = sim.url
        env["SEMAPHORE_API_TOKEN"] = CANARY
    env.update(extra)
    return env


def check_output(text: str) -> None:
    assert "Traceback" not in text, text
    assert CANARY not in text, "the API token was printed"


def gate(
    *args: str, sim: SemaphoreSimulator | None, cwd: Path, env: dict[str, str] | None = None, speed: float = SPEED
) -> subprocess.CompletedProcess[str]:
    """``semaphore-gate --speed SPEED ARGS`` in a subprocess; output checked for tracebacks and the token."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest_semaphore.cli", "--speed", str(speed), *args],
        cwd=cwd,
        env=env if env is not None else clean_env(sim),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    check_output(result.stdout + result.stderr)
    return result


@dataclass
class Run:
    code: int
    out: str
    err: str


def gate_here(*args: str, sim: SemaphoreSimulator, env: dict[str, str] | None = None) -> Run:
    """``semaphore-gate ARGS`` in this process, on the simulator's manual clock (simulated time, exactly)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(
        list(args),
        pacing=Pacing(sleep=sim.advance, monotonic=sim.monotonic),
        environ=env if env is not None else clean_env(sim),
        stdout=out,
        stderr=err,
    )
    run = Run(code, out.getvalue(), err.getvalue())
    check_output(run.out + run.err)
    return run
