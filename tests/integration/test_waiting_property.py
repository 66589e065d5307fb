"""Property: whatever the pipeline and whatever the API does, the wait's verdict is the world's truth.

Hypothesis draws a pipeline (blocks, jobs, durations, failures, a time-limit kill, malformed YAML, a stop or cancel at
some instant) and faults on the pipeline's route (500/502/503, 403 from an erring auth service, 429 with and without
``Retry-After``, connection resets before and after the answer, truncated bodies, a little real latency). Then:

* faults within patience: the wait returns the done pipeline and ``outcome`` equals the outcome of the world's own
  record (with ``fail_fast``, a ``PipelineFailed`` names jobs that really failed in the world);
* an outage that never ends: ``APIUnavailable``, never a verdict and never a timeout, once patience is spent.

One simulator serves every example (each gets its own project and its faults are cleared after it), so a few hundred
examples run in seconds of real time: the clock is simulated. ``bench/wait_property_long.py`` runs 10,000.

Every example is decided by its draw alone, never by real time or by the examples before it, so that hypothesis can
replay a failure: the fault draws restart from the seed after each example's ``clear_faults``, the client's retry
jitter restarts from its seed at each example, and the client's deadlines run on the real clock. On the simulated
clock, a call's deadline could be nearly spent by simulated ``Retry-After`` waits, and what is left of it (a few
simulated milliseconds) would become the real read timeout of the next answer, which a loaded machine may miss: an
extra failed request that no fault accounts for. The waits themselves (timeout, patience, schedule) stay simulated.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_semaphore.errors import APIUnavailable, PipelineFailed
from pytest_semaphore.models import Pipeline
from pytest_semaphore.simulator.definitions import BlockDef, FaultDef, JobDef, PipelineDef, ProjectDef
from pytest_semaphore.waiting import outcome, outcome_of, wait_for_pipeline

from .waiting_support import MAIN, Sim, job, simulated

#: bench/wait_property_long.py sets the number of examples; otherwise the hypothesis profile decides (ci: 200).
_EXAMPLES = os.environ.get("WAIT_PROPERTY_EXAMPLES")
_OVERRIDES: dict[str, Any] = {"max_examples": int(_EXAMPLES)} if _EXAMPLES else {}

_names = itertools.count()
#: The client's retry jitter, reseeded at each example (the client outlives the examples).
_JITTER = random.Random(0)
#: What the examples ended with, so that the long run can show it exercised every kind of ending.
verdicts: Counter[str] = Counter()


@dataclass(frozen=True)
class Case:
    definition: PipelineDef
    stop_at: float | None
    faults: tuple[FaultDef, ...]
    endless_outage: FaultDef | None
    fail_fast: bool
    patience: float


_job = st.builds(
    lambda duration, exit_code, killed: job(
        "j", duration=duration, exit_code=exit_code, result="stopped" if killed else None
    ),
    duration=st.floats(min_value=1, max_value=400),
    exit_code=st.sampled_from([0, 0, 0, 1]),
    killed=st.sampled_from([False, False, False, False, True]),  # a job killed by its execution time limit
)


@st.composite
def _pipelines(draw: st.DrawFn) -> PipelineDef:
    blocks = []
    for b in range(draw(st.integers(min_value=1, max_value=3))):
        jobs = draw(st.lists(_job, min_size=1, max_size=3))
        named = tuple(JobDef(name=f"b{b}j{i}", commands=j.commands, result=j.result) for i, j in enumerate(jobs))
        blocks.append(BlockDef(name=f"block{b}", jobs=named))
    malformed = draw(st.sampled_from([None, None, None, None, None, "unknown key 'blox'"]))
    return PipelineDef(name="P", blocks=tuple(blocks), malformed=malformed)


_OUTAGE = st.one_of(
    st.builds(lambda s: ("status", s, None), st.sampled_from([500, 502, 503, 504, 403])),
    st.builds(lambda r: ("rate_limit", 429, r), st.sampled_from([None, 1.0, 15.0, 60.0])),
    st.sampled_from([("reset_before", 0, None), ("reset_after", 0, None), ("truncate", 0, None)]),
)
_TRANSIENT = st.one_of(_OUTAGE, st.just(("latency", 0, None)))
#: The longest one failed request can hold the wait up: the server's Retry-After, the client's backoff (16 s at
#: most) or our schedule's cap (30 s). Transient faults are kept within patience with this bound.
_LONGEST_FAILURE = 60.0


@st.composite
def _cases(draw: st.DrawFn) -> Case:
    definition = draw(_pipelines())
    stop_at = draw(st.one_of(st.none(), st.floats(min_value=0, max_value=600)))
    faults = []
    for kind, status, retry_after in draw(st.lists(_TRANSIENT, max_size=3)):
        faults.append(
            FaultDef(
                route="",  # the pipeline's route, filled in once it exists
                kind=kind,
                status=status or 500,
                retry_after=retry_after,
                latency=0.002 if kind == "latency" else 0.0,
                rate=draw(st.sampled_from([1.0, 0.5])),
                count=draw(st.integers(min_value=1, max_value=6)),
                after=draw(st.integers(min_value=0, max_value=8)),
            )
        )
    endless = None
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # one example in ten: an outage that never ends
        kind, status, retry_after = draw(_OUTAGE)
        endless = FaultDef(route="", kind=kind, status=status or 503, retry_after=retry_after)
    return Case(
        definition=definition,
        stop_at=stop_at,
        faults=tuple(faults),
        endless_outage=endless,
        fail_fast=draw(st.booleans()),
        patience=max(
            draw(st.sampled_from([120.0, 300.0, 900.0])),
            # within patience by construction: every failure of every transient fault, back to back, plus a margin
            sum(f.count or 0 for f in faults) * _LONGEST_FAILURE + 60.0,
        ),
    )


@pytest.fixture(scope="module")
def world() -> Iterator[Sim]:
    with simulated(seed=7, client_options={"monotonic": time.monotonic, "rng": _JITTER}) as s:
        yield s
    if _EXAMPLES:  # bench/wait_property_long.py (pytest -s) shows which endings the examples reached
        print("verdicts:", dict(sorted(verdicts.items())))


def _on_route(fault: FaultDef, ppl_id: str) -> FaultDef:
    return dataclasses.replace(fault, route=f"GET /api/v1alpha/pipelines/{ppl_id}")


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None, **_OVERRIDES
)
@given(case=_cases())
def test_the_verdict_is_the_worlds_truth_and_outages_are_never_verdicts(world: Sim, case: Case) -> None:
    s = world
    _JITTER.seed(0)
    name = f"p{next(_names)}"
    s.sim.world.add_project(ProjectDef(name=name, pipelines={MAIN: case.definition}))
    ppl_id = s.start(name)
    begin = s.sim.monotonic()
    s.hooks.clear()
    if case.stop_at is not None:
        s.at(begin + case.stop_at, lambda: s.sim.world.terminate_pipeline(ppl_id))
    if case.endless_outage is not None:  # first: the first fault that fires wins, and this one must always win
        s.sim.add_fault(_on_route(case.endless_outage, ppl_id))
    for fault in case.faults:
        s.sim.add_fault(_on_route(fault, ppl_id))
    try:
        ended: Pipeline | BaseException
        try:
            ended = wait_for_pipeline(
                s.client,
                ppl_id,
                timeout=6 * 3600,
                fail_fast=case.fail_fast,
                pacing=s.paced(patience=case.patience, rng=random.Random(0)),
            )
        except (APIUnavailable, PipelineFailed) as exc:
            ended = exc
        truth = s.sim.world.pipeline(ppl_id)
        if isinstance(ended, APIUnavailable):
            assert case.endless_outage is not None, "an outage within patience must never end the wait"
            assert s.sim.monotonic() - begin >= case.patience
        elif isinstance(ended, PipelineFailed):
            really_failed = {j.name for j in truth.jobs if j.state == "finished" and j.result == "failed"}
            assert case.fail_fast
            assert ended.failed_jobs
            assert {j.name for j in ended.failed_jobs} <= really_failed
        else:
            assert isinstance(ended, Pipeline)
            assert case.endless_outage is None, "an endless outage cannot end with a verdict"
            assert truth.done
            assert ended.done
            assert (ended.result, ended.result_reason) == (truth.result, truth.result_reason)
            assert outcome(ended) is outcome_of(truth.state, truth.result, truth.result_reason)
            if case.fail_fast:
                assert not ended.failed_jobs  # a finished failed job would have been raised
        verdicts[type(ended).__name__ if not isinstance(ended, Pipeline) else str(outcome(ended))] += 1
    finally:
        s.sim.clear_faults()
        s.sim.clear_requests()  # one simulator serves thousands of examples (bench/): keep its log from growing
        s.hooks.clear()
        s.delays.clear()
