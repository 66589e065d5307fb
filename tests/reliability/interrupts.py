"""Signals at chosen moments of a gate, in this process: ``semaphore-gate`` installs its SIGTERM handler here and
Python turns SIGINT into ``KeyboardInterrupt``, so a real signal raised from inside the gate's own clock (the
``n``-th time it reads the time: between requests, inside a poll, inside the client's retries) lands exactly there,
whatever the machine's load. The world then says what became of every pipeline.
"""

from __future__ import annotations

import io
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pytest_semaphore.cli import main
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.waiting import Pacing


@dataclass
class SignalAt:
    """A ``monotonic`` for the pacing that raises ``signum`` in this (the main) thread on its ``at``-th call
    (``at=0``: never; it only counts)."""

    clock: Callable[[], float]
    signum: int
    at: int
    calls: int = 0

    def __call__(self) -> float:
        self.calls += 1
        if self.calls == self.at:
            signal.raise_signal(self.signum)
        return self.clock()

    @property
    def fired(self) -> bool:
        return self.calls >= self.at


@dataclass(frozen=True)
class Gate:
    code: int
    out: str
    err: str


def gate_here(sim: SemaphoreSimulator, argv: list[str], pacing: Pacing, environ: Mapping[str, str] = {}) -> Gate:
    """``semaphore-gate ARGV`` in this process against ``sim``."""
    out, err = io.StringIO(), io.StringIO()
    env = {"SEMAPHORE_ORGANIZATION_URL": sim.url, "SEMAPHORE_API_TOKEN": sim.token, **environ}
    code = main(argv, pacing=pacing, environ=env, stdout=out, stderr=err)
    return Gate(code, out.getvalue(), err.getvalue())
