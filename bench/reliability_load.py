"""Load: 200 pipelines waited on at once, through both faces, every verdict checked against the world.

1. ``semaphore-gate --json wait`` with 200 pipeline ids (pipelines of 1-30 simulated minutes, one in five fails), in
   this process on the simulator's manual clock, without and with 25% of the requests answered 503: requests in
   all, the busiest simulated minute, peak threads and peak traced memory of the process, simulated time.
2. ``pytest -n 4`` with 200 tests, each waiting on one of 200 such pipelines, against a simulator in this process
   whose clock runs ``--speed`` times real time: requests per simulated minute counted by the simulator across the
   four worker processes, each worker's peak threads and peak RSS, simulated time of the whole session. Each worker
   shares one request budget among its own waits, as every process does on the real clock; the workers do not share
   one between them, so the session may send up to four budgets' worth.

Run: ``python bench/reliability_load.py [--quick] [--speed N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_semaphore.simulator import SemaphoreSimulator  # noqa: E402
from pytest_semaphore.waiting import RequestBudget, outcome_of  # noqa: E402
from tests.reliability.load import many_pipelines_world, wait_on_many  # noqa: E402

CONFTEST = """
import json, os, resource, threading
import pytest
from pytest_semaphore.waiting import Pacing, RequestBudget

SPEED = float(os.environ["LOAD_SPEED"])
IDS = json.loads(open(os.environ["LOAD_IDS"]).read())
PEAK = [threading.active_count()]
BASE = Pacing.at_speed(SPEED)
BUDGET = RequestBudget(monotonic=BASE.monotonic)   # one per worker process, as on the real clock


def sleep(seconds):
    PEAK[0] = max(PEAK[0], threading.active_count())
    BASE.sleep(seconds)


@pytest.fixture
def semaphore_pacing(semaphore_settings):
    return Pacing(sleep=sleep, monotonic=BASE.monotonic, budget=BUDGET, patience=semaphore_settings.patience)


def pytest_generate_tests(metafunc):
    if "ppl_id" in metafunc.fixturenames:
        metafunc.parametrize("ppl_id", IDS)


def pytest_sessionfinish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(os.path.join(os.environ["LOAD_OUT"], worker + ".json"), "w") as out:
        json.dump({"threads": PEAK[0], "rss_kib": peak_kib}, out)
"""

TESTS = """
def test_pipeline(wait_for_pipeline, ppl_id):
    wait_for_pipeline(ppl_id, expect=("passed", "failed"))
"""


def command_rows(count: int) -> None:
    print("semaphore-gate wait, in-process, manual clock")
    header = f"{'pipelines':>9} | {'503s':>4} | {'requests':>8} | {'excerpts':>8} | {'busiest min':>11} | "
    print(header + f"{'mean/min':>8} | {'threads':>7} | {'peak MiB':>8} | {'simulated':>9} | {'right':>5} | exit")
    for rate in (0.0, 0.25):
        f = wait_on_many(count, error_rate=rate)
        print(
            f"{f.pipelines:>9} | {rate:>4.0%} | {f.requests:>8} | {f.excerpt_requests:>8} | {f.per_minute_peak:>11} | "
            f"{f.per_minute_mean:>8.0f} | {f.peak_threads:>7} | {f.peak_memory / 2**20:>8.1f} | "
            f"{f.simulated / 60:>7.1f} m | {f.right:>5} | {f.code}"
        )
    budget = RequestBudget()
    print(f"budget: {budget.per_minute:.0f} requests/minute, bursts of {budget.burst:.0f}")


def pytest_rows(count: int, speed: float) -> int:
    print()
    print(f"pytest -n 4, {count} tests each waiting on one pipeline, simulator at {speed:g}x real time")
    with (
        tempfile.TemporaryDirectory() as folder,
        SemaphoreSimulator(many_pipelines_world(count, 2, 30), seed=2, speed=speed) as sim,
    ):
        ppl_ids = [sim.world.start_workflow("app", pipeline_file=f".semaphore/p{i}.yml")[1] for i in range(count)]
        path = Path(folder)
        (path / "ids.json").write_text(json.dumps(ppl_ids))
        (path / "conftest.py").write_text(CONFTEST)
        (path / "test_load.py").write_text(TESTS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEMAPHORE_")}
        env.update(
            SEMAPHORE_ORGANIZATION_URL=sim.url,
            SEMAPHORE_API_TOKEN=sim.token,
            LOAD_SPEED=str(speed),
            LOAD_IDS=str(path / "ids.json"),
            LOAD_OUT=folder,
        )
        started = sim.monotonic()
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-n", "4", "-q", "-p", "no:cacheprovider", "--semaphore-json=r.json"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        real = time.perf_counter() - began
        simulated = sim.monotonic() - started
        by_minute = Counter(int((r.time - started) // 60) for r in sim.requests)
        truth = {}
        for ppl_id in ppl_ids:
            record = sim.world.pipeline(ppl_id)
            truth[ppl_id] = outcome_of(record.state, record.result, record.result_reason).value
        document = json.loads((path / "r.json").read_text())
        seen = {p["ppl_id"]: p["outcome"] for p in document["pipelines"]}
        workers = {p.stem: json.loads(p.read_text()) for p in path.glob("gw*.json")}
        requests = len(sim.requests)
    right = sum(seen.get(p) == v for p, v in truth.items())
    print(f"pytest: {done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]}")
    print(
        f"requests: {requests}; busiest simulated minute: {max(by_minute.values())}; mean per minute: "
        f"{requests / max(1.0, simulated / 60):.0f}; simulated time: {simulated / 60:.1f} min ({real:.0f} s real)"
    )
    for name in sorted(workers):
        peak = workers[name]
        print(f"worker {name}: peak threads {peak['threads']}, peak RSS {peak['rss_kib'] / 1024:.0f} MiB")
    print(f"verdicts right: {right} of {count}")
    return 0 if right == count and done.returncode == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 pipelines instead of 200")
    parser.add_argument("--speed", type=float, default=100.0)
    args = parser.parse_args(argv)
    count = 50 if args.quick else 200
    command_rows(count)
    return pytest_rows(count, args.speed)


if __name__ == "__main__":
    sys.exit(main())
