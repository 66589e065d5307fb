"""SIGINT and SIGTERM at random moments of promote-and-wait, and from inside the atomic write of a report; dropped
connections after a promotion or a run-workflow took effect. What must hold: exit 130 (SIGINT) or 143 (SIGTERM);
never a second promotion or workflow (the simulator counts them); no half-written file and no temporary file left;
with ``--cancel-on-interrupt`` the pipelines this process started are terminated, and never one it did not start.
"""

from __future__ import annotations

import random
import signal

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.waiting import Pacing

from .campaign import Case
from .interrupts import SignalAt, gate_here

CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}


def passing_world(seed: int) -> Case:
    """A pipeline that passes after a few minutes, with a deployment whose job passes."""
    case = Case.draw(seed, command="promote", rate=0.0)
    return Case(**{**case.__dict__, "ending": "passed", "deploy_passes": True, "outage": "none", "outage_length": 0})


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("cancel", [False, True], ids=["leave", "cancel-on-interrupt"])
def test_a_signal_at_a_random_moment_of_promote_and_wait(signum: int, cancel: bool) -> None:
    rng = random.Random(f"{signum}{cancel}")
    fired = 0
    for round_ in range(12):
        seed = 5000 + round_ * 10 + int(cancel) + 2 * int(signum)
        case = passing_world(seed)
        with SemaphoreSimulator(case.scenario(), seed=seed) as sim:
            _, ppl_id = sim.world.start_workflow("app")
            _, foreign = sim.world.start_workflow("app")  # someone else's: never ours to cancel
            moment = SignalAt(sim.monotonic, signum, at=rng.randint(1, 80))
            argv = ["promote", "Production", "--pipeline", ppl_id, "--param", "REGION=eu"]
            gate = gate_here(
                sim,
                [*argv, *(["--cancel-on-interrupt"] if cancel else [])],
                Pacing(sleep=sim.advance, monotonic=moment),
            )
            promotions = sim.world.promotions(ppl_id)
            promoted = [p.scheduled_pipeline_id for p in promotions if p.scheduled_pipeline_id]
            sim.advance(3600)
            promotions_later = sim.world.promotions(ppl_id)
            terminated = {p.ppl_id for p in sim.world.pipelines() if p.terminate_request}
        assert len(promotions_later) <= 1
        assert foreign not in terminated and ppl_id not in terminated, "a pipeline this process did not start"
        if not moment.fired:
            assert gate.code == 0, gate.err
            continue
        fired += 1
        assert gate.code == CODES[signum], gate.err
        assert "Traceback" not in gate.err
        later = [p.scheduled_pipeline_id for p in promotions_later if p.scheduled_pipeline_id]
        if cancel:
            assert terminated == set(later) or not later, (terminated, later, promoted, moment.at, gate.err)
        else:
            assert not terminated
        assert promoted == later or not promoted
    assert fired >= 6, "most rounds were interrupted"
