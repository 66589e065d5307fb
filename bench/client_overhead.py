"""Client overhead: what ``SemaphoreClient.describe_pipeline`` costs per call, against bare HTTP stacks.

``simulator_throughput.py`` measures the client together with the simulator and eight threads, so on a loaded
machine its client row moves by a factor of two from run to run. This script isolates the client: the simulator
serves in this process, and each measurement is a fresh subprocess making sequential calls (single-threaded),
reading its own CPU time (``time.process_time``, which other processes on the machine barely disturb) and its
wall-clock requests per second. In the same run, interleaved round by round, the same describe is made by:

* ``SemaphoreClient.describe_pipeline`` (parsed into a ``Pipeline``), from each source tree given;
* bare urllib3: a ``PoolManager`` and ``json.loads`` of the body, nothing else (the floor of requests' stack);
* a plain ``requests.Session().get(...).json()``, as a script would write it.

Goals: the client at least 0.8x urllib3's requests per second, and at least 1.5x the plain Session's. Given source
trees (``--tree DIR``, e.g. an export of another branch), the client of each is measured, to compare a change of the
client with what it replaces.

Run: ``python bench/client_overhead.py [--quick] [--tree DIR ...]`` (default: this checkout).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from simulator_throughput import _world  # the same world as the throughput bench (this script's directory)

from pytest_semaphore.simulator import SemaphoreSimulator

MEASURE = """
import sys, time
url, token, calls, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
headers = {"Authorization": "Token " + token, "Accept": "application/json", "User-Agent": "bench"}
describe = setup(url, token, headers)
for ppl_id in ids[:5]:
    describe(ppl_id)  # connections and imports warmed up
cpu, wall = time.process_time(), time.perf_counter()
for i in range(calls):
    describe(ids[i % len(ids)])
print((time.process_time() - cpu) / calls * 1e6, calls / (time.perf_counter() - wall))
"""

SETUPS = {
    "client": """
from pytest_semaphore.client import SemaphoreClient
def setup(url, token, headers):
    client = SemaphoreClient(url, token)
    return client.describe_pipeline
""",
    "urllib3": """
import json, urllib3
def setup(url, token, headers):
    pool = urllib3.PoolManager()
    base = url + "/api/v1alpha/pipelines/"
    def describe(ppl_id):
        return json.loads(pool.request("GET", base + ppl_id, fields={"detailed": "false"}, headers=headers).data)
    return describe
""",
    "session": """
import requests
def setup(url, token, headers):
    session = requests.Session()
    base = url + "/api/v1alpha/pipelines/"
    def describe(ppl_id):
        return session.get(base + ppl_id, params={"detailed": "false"}, headers=headers).json()
    return describe
""",
}


def _measure(kind: str, tree: str, sim: SemaphoreSimulator, calls: int, ppl_ids: list[str]) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=tree, NO_PROXY="127.0.0.1,localhost")
    command = [sys.executable, "-c", SETUPS[kind] + MEASURE, sim.url, sim.token, str(calls), ",".join(ppl_ids)]
    result = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=True)
    cpu, rate = result.stdout.split()
    return float(cpu), float(rate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument("--tree", action="append", default=[], help="a source tree to measure (repeatable)")
    args = parser.parse_args(argv)
    here = str(Path(__file__).resolve().parent.parent)
    trees = args.tree or [here]
    calls, rounds = (300, 5) if args.quick else (400, 21)
    rows = [(f"SemaphoreClient ({tree})", "client", tree) for tree in trees]
    rows += [("bare urllib3 PoolManager + json.loads", "urllib3", here), ("requests.Session().get", "session", here)]
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in rows}
    with SemaphoreSimulator(_world(), token="bench-token", seed=1) as sim:
        ppl_ids = [sim.world.start_workflow("app")[1] for _ in range(40)]
        sim.advance(3600)
        for _ in range(rounds):
            for label, kind, tree in rows:
                samples[label].append(_measure(kind, tree, sim, calls, ppl_ids))
    bare, plain = samples[rows[-2][0]], samples[rows[-1][0]]
    print(f"describe_pipeline, single-threaded: {calls} calls x {rounds} rounds each, medians")
    print("(ratios: the median over rounds of each round's ratio, the stacks being measured back to back)\n")
    print("| what | requests/s | CPU us/call | vs urllib3 | vs Session |")
    print("|------|------------|-------------|------------|------------|")
    ratios: dict[str, tuple[float, float]] = {}
    for label, _, _ in rows:
        ours = samples[label]
        to_bare = statistics.median(ours[i][1] / bare[i][1] for i in range(rounds))
        to_plain = statistics.median(ours[i][1] / plain[i][1] for i in range(rounds))
        ratios[label] = (to_bare, to_plain)
        rate, cpu = statistics.median(s[1] for s in ours), statistics.median(s[0] for s in ours)
        print(f"| {label} | {rate:.0f} | {cpu:.0f} | {to_bare:.2f}x | {to_plain:.2f}x |")
    print("\ngoals (each client):")
    ok = True
    for label, _, _ in rows[: len(trees)]:
        for goal, ratio, floor in (("urllib3", ratios[label][0], 0.8), ("Session", ratios[label][1], 1.5)):
            met = ratio >= floor
            ok = ok and met
            print(f"  [{'ok' if met else 'MISSED'}] {label}: {ratio:.2f}x {goal} >= {floor}x")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
