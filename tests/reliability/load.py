"""Load: one ``semaphore-gate wait`` on many pipelines at once, in this process on the simulator's manual clock,
measured as the simulator saw it (requests per poll round, by simulated minute) and as this process lived it (peak
threads, peak traced memory, simulated wall time); every pipeline's verdict in the ``--json`` document is checked
against the world. The suite runs it with 200 pipelines; ``bench/reliability_load.py`` prints the figures, and
those of ``pytest -n 4`` with 200 tests each waiting on one.
"""

from __future__ import annotations

import io
import json
import random
import threading
import tracemalloc
from collections import Counter
from dataclasses import dataclass

from pytest_semaphore.cli import main
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import BlockDef, FaultDef, PipelineDef, ProjectDef, ScenarioDef
from pytest_semaphore.waiting import Pacing, outcome_of

from ..integration.waiting_support import job


def many_pipelines_world(count: int, seed: int, minutes: float) -> ScenarioDef:
    """Project ``app`` with ``count`` pipeline files, each one job of a random length (1 to ``minutes`` minutes) that
    passes, or fails one time in five."""
    rng = random.Random(seed)
    files = {}
    for i in range(count):
        exit_code = 1 if rng.random() < 0.2 else 0
        build = job("build", duration=rng.uniform(60, 60 * minutes), exit_code=exit_code)
        files[f".semaphore/p{i}.yml"] = PipelineDef(f"P{i}", blocks=(BlockDef("Build", jobs=(build,)),))
    files[".semaphore/semaphore.yml"] = files[".semaphore/p0.yml"]
    return ScenarioDef(projects=(ProjectDef("app", files),), seed=seed)


@dataclass(frozen=True)
class LoadFigures:
    pipelines: int
    requests: int
    excerpt_requests: int  # of which for the failed jobs' excerpts after the wait (outside its budget)
    per_minute_peak: int  # the most requests the simulator received in one simulated minute, excerpts apart
    per_minute_mean: float
    simulated: float  # seconds from the start of the wait to its verdict
    peak_threads: int
    peak_memory: int  # bytes, tracemalloc's peak during the wait (this process: gate and simulator)
    right: int  # pipelines whose verdict in the JSON document is the world's
    code: int


def wait_on_many(
    count: int = 200, *, seed: int = 1, minutes: float = 30, error_rate: float = 0.0, trace_memory: bool = True
) -> LoadFigures:
    """``semaphore-gate --json wait ID...`` on ``count`` running pipelines of 1 to ``minutes`` minutes, with
    ``error_rate`` of the requests answered 503; the figures, and the verdicts checked. ``trace_memory`` measures
    the peak memory (tracemalloc slows everything down about threefold)."""
    with SemaphoreSimulator(many_pipelines_world(count, seed, minutes), seed=seed) as sim:
        ppl_ids = [sim.world.start_workflow("app", pipeline_file=f".semaphore/p{i}.yml")[1] for i in range(count)]
        if error_rate:
            sim.add_fault(FaultDef("/api/v1alpha/**", "status", status=503, rate=error_rate))
        sim.clear_requests()
        threads = [threading.active_count()]

        def sleep(seconds: float) -> None:
            threads.append(threading.active_count())
            sim.advance(seconds)

        started = sim.monotonic()
        out, err = io.StringIO(), io.StringIO()
        env = {"SEMAPHORE_ORGANIZATION_URL": sim.url, "SEMAPHORE_API_TOKEN": sim.token}
        if trace_memory:
            tracemalloc.start()
        try:
            code = main(
                ["--json", "wait", *ppl_ids, "--timeout", "7200"],
                pacing=Pacing(sleep=sleep, monotonic=sim.monotonic, rng=random.Random(seed)),
                environ=env,
                stdout=out,
                stderr=err,
            )
            _, peak = tracemalloc.get_traced_memory() if trace_memory else (0, 0)
        finally:
            if trace_memory:
                tracemalloc.stop()
        simulated = sim.monotonic() - started
        # the failed jobs' excerpts (a job's description and its log, after the wait) are counted apart
        excerpts = [r for r in sim.requests if r.path.startswith(("/api/v1alpha/jobs/", "/api/v1alpha/logs/"))]
        by_minute = Counter(int((r.time - started) // 60) for r in sim.requests if r not in excerpts)
        truth = {}
        for ppl_id in ppl_ids:
            record = sim.world.pipeline(ppl_id)
            truth[ppl_id] = outcome_of(record.state, record.result, record.result_reason).value
        requests = len(sim.requests)
        excerpts_count = len(excerpts)
    document = json.loads(out.getvalue())
    seen = {p["ppl_id"]: p["outcome"] for p in document["pipelines"]}
    return LoadFigures(
        pipelines=count,
        requests=requests,
        excerpt_requests=excerpts_count,
        per_minute_peak=max(by_minute.values()),
        per_minute_mean=requests / max(1.0, simulated / 60),
        simulated=simulated,
        peak_threads=max(threads),
        peak_memory=peak,
        right=sum(seen.get(p) == v for p, v in truth.items()),
        code=code,
    )
