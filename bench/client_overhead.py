"""Client overhead: CPU microseconds ``SemaphoreClient`` spends per ``describe_pipeline``, one tree or several.

``simulator_throughput.py`` measures the client together with the simulator and eight threads, so on a loaded
machine its client row moves by a factor of two from run to run. This script isolates the client's own cost: the
simulator serves in this process, and each measurement is a fresh subprocess making sequential calls and reading
its own CPU time (``time.process_time``), which other processes on the machine barely disturb. Given source trees
(``--tree DIR``, e.g. an export of another branch), it measures each in turn, interleaved, and prints the medians
and each tree's ratio to the first, to compare a change of the client with what it replaces.

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

CHILD = """
import sys, time
from pytest_semaphore.client import SemaphoreClient
url, token, calls, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
with SemaphoreClient(url, token) as client:
    for ppl_id in ids[:5]:
        client.describe_pipeline(ppl_id)  # connections and imports warmed up
    start = time.process_time()
    for i in range(calls):
        client.describe_pipeline(ids[i % len(ids)])
    print((time.process_time() - start) / calls * 1e6)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument("--tree", action="append", default=[], help="a source tree to measure (repeatable)")
    args = parser.parse_args(argv)
    trees = args.tree or [str(Path(__file__).resolve().parent.parent)]
    calls, rounds = (500, 3) if args.quick else (1500, 5)
    samples: dict[str, list[float]] = {tree: [] for tree in trees}
    with SemaphoreSimulator(_world(), token="bench-token", seed=1) as sim:
        ppl_ids = [sim.world.start_workflow("app")[1] for _ in range(40)]
        sim.advance(3600)
        for _ in range(rounds):
            for tree in trees:
                env = dict(os.environ, PYTHONPATH=tree, NO_PROXY="127.0.0.1,localhost")
                command = [sys.executable, "-c", CHILD, sim.url, sim.token, str(calls), ",".join(ppl_ids)]
                result = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=True)
                samples[tree].append(float(result.stdout))
    first = statistics.median(samples[trees[0]])
    print(f"client CPU per describe_pipeline: {calls} calls x {rounds} rounds per tree, medians\n")
    print("| tree | CPU us/call | vs first |")
    print("|------|-------------|----------|")
    for tree in trees:
        median = statistics.median(samples[tree])
        print(f"| {tree} | {median:.0f} | {median / first:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
