"""Simulator throughput: requests/s and latency on loopback, load generated from another process.

The simulator serves in this process; a second process (``multiprocessing``, spawn) runs 8 threads, each with its own
keep-alive ``http.client`` connection, so that the load generator does not compete for this process's GIL. Each
workload is a fixed number of requests; the table shows requests/s, p50 and p99 latency, and the ratio to the
baseline measured in the same run (a 401 ``Unauthorized``: the cheapest answer, i.e. the HTTP machinery alone).
A pipeline's JSON is cached until something it shows changes (its state, result, blocks or jobs).

The last rows use our ``SemaphoreClient`` (one instance shared by 8 threads, as the waiting engine shares it), so
later load tests know which side limits them. Goal from the issue: at least 1,000 requests/s on 2 cores.

Run: ``python bench/simulator_throughput.py [--quick]``.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import BlockDef, CommandDef, JobDef, PipelineDef, ProjectDef, ScenarioDef

THREADS = 8
API = "/api/v1alpha"


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int


def _world() -> ScenarioDef:
    job = JobDef(
        "tests",
        (
            CommandDef("checkout", output=("Cloning into 'app'...\n",), duration=2),
            CommandDef("make test", output=tuple(f"test {i} ... ok\n" for i in range(40)), duration=30),
        ),
    )
    blocks = (
        BlockDef("Build", (JobDef("build"),)),
        BlockDef("Test", (job, job.__class__("lint"))),
        BlockDef("Package", (JobDef("package"),)),
    )
    endless = PipelineDef("Endless", (BlockDef("Run", (JobDef("run", (CommandDef("sleep", duration=1e9),)),)),))
    return ScenarioDef(
        projects=(
            ProjectDef("app", {".semaphore/semaphore.yml": PipelineDef("Pipeline", blocks)}),
            ProjectDef("busy", {".semaphore/semaphore.yml": endless}),
        )
    )


def _on_threads(work: Callable[[int], tuple[list[float], int]]) -> tuple[list[float], int]:
    """Run ``work(thread_number)`` on ``THREADS`` threads at once; merge their latencies and error counts."""
    results: list[tuple[list[float], int]] = [([], 0)] * THREADS

    def run(number: int) -> None:
        results[number] = work(number)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [latency for mine, _ in results for latency in mine], sum(failed for _, failed in results)


def _raw_worker(url: str, token: str, paths: list[str], per_thread: int, auth: bool) -> tuple[list[float], int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None

    def run(offset: int) -> tuple[list[float], int]:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 0, timeout=30)
        headers = {"Authorization": f"Token {token}"} if auth else {}
        mine: list[float] = []
        failed = 0
        for i in range(per_thread):
            path = paths[(offset + i) % len(paths)]
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status >= 500 or (auth and response.status != 200):
                failed += 1
        conn.close()
        return mine, failed

    return _on_threads(run)


def _client_worker(url: str, token: str, ppl_ids: list[str], per_thread: int) -> tuple[list[float], int]:
    from pytest_semaphore.client import SemaphoreClient

    with SemaphoreClient(url, token) as client:

        def run(offset: int) -> tuple[list[float], int]:
            mine: list[float] = []
            failed = 0
            for i in range(per_thread):
                start = time.perf_counter()
                try:
                    client.describe_pipeline(ppl_ids[(offset + i) % len(ppl_ids)])
                except Exception:
                    failed += 1
                mine.append(time.perf_counter() - start)
            return mine, failed

        return _on_threads(run)


def _load_process(kind: str, args: tuple[Any, ...], queue: Any) -> None:
    start = time.perf_counter()
    if kind == "client":
        latencies, errors = _client_worker(*args)
    else:
        latencies, errors = _raw_worker(*args)
    queue.put((time.perf_counter() - start, latencies, errors))


def _measure(name: str, kind: str, args: tuple[Any, ...]) -> Result:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_load_process, args=(kind, args, queue))
    process.start()
    seconds, latencies, errors = queue.get(timeout=600)
    process.join(timeout=60)
    return Result(name, len(latencies), seconds, latencies, errors)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (about 2,000 per workload)")
    options = parser.parse_args(argv)
    per_thread = 250 if options.quick else 1500

    with SemaphoreSimulator(_world(), token="bench-token", seed=1) as sim:
        ppl_ids = [sim.world.start_workflow("app")[1] for _ in range(40)]
        running_ids = [sim.world.start_workflow("busy")[1] for _ in range(40)]
        sim.advance(3600)
        project_id = sim.world.project("app").project_id
        busy_id = sim.world.project("busy").project_id
        job_ids = [job.job_id for ppl in ppl_ids for job in sim.world.pipeline(ppl).jobs]
        url, token = sim.url, sim.token
        workloads: list[tuple[str, str, tuple[Any, ...]]] = [
            ("baseline: 401 Unauthorized", "raw", (url, token, [f"{API}/pipelines/x"], per_thread, False)),
            ("describe pipeline", "raw", (url, token, [f"{API}/pipelines/{p}" for p in ppl_ids], per_thread, True)),
            (
                "describe pipeline, detailed",
                "raw",
                (url, token, [f"{API}/pipelines/{p}?detailed=true" for p in ppl_ids], per_thread, True),
            ),
            (
                "list pipelines (30 a page)",
                "raw",
                (url, token, [f"{API}/pipelines?project_id={project_id}"], per_thread, True),
            ),
            (
                "describe running pipeline",
                "raw",
                (url, token, [f"{API}/pipelines/{p}" for p in running_ids], per_thread, True),
            ),
            (
                "list running pipelines",
                "raw",
                (url, token, [f"{API}/pipelines?project_id={busy_id}"], per_thread, True),
            ),
            ("job logs (events)", "raw", (url, token, [f"{API}/logs/{j}" for j in job_ids], per_thread, True)),
            ("describe job", "raw", (url, token, [f"{API}/jobs/{j}" for j in job_ids], per_thread, True)),
            ("SemaphoreClient.describe_pipeline", "client", (url, token, ppl_ids, per_thread)),
        ]
        results: list[Result] = []
        for name, kind, args in workloads:
            try:
                results.append(_measure(name, kind, args))
            except ImportError as error:  # the client is optional for this bench
                print(f"skipped {name}: {error}", file=sys.stderr)

    baseline = results[0].requests / results[0].seconds
    print(f"simulator throughput: {THREADS} threads in another process, keep-alive, {per_thread} requests per thread")
    print()
    print(
        f"| {'workload':<36} | {'requests':>8} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'vs baseline':>11} |"
    )
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 13}|")
    for result in results:
        rate = result.requests / result.seconds
        p50 = statistics.median(result.latencies) * 1000
        p99 = _percentile(result.latencies, 0.99) * 1000
        note = f" ({result.errors} errors)" if result.errors else ""
        print(
            f"| {result.name + note:<36} | {result.requests:>8} | {rate:>7.0f} | {p50:>7.2f} | {p99:>7.2f} |"
            f" {rate / baseline:>10.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
