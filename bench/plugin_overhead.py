"""Benchmark: what the installed but unused plugin costs a pytest run, and how long a gate rehearsal takes.

1. Wall time of ``pytest`` on a 1-test and a 1,000-test project with the plugin installed and unconfigured, against
   the same run with ``-p no:semaphore``. The two variants alternate run by run (interleaved), so a machine that
   gets busier or quieter affects both alike. Median of N runs each, with the spread (interquartile range).
   Goal: the median at most 10 ms slower.
2. A gate rehearsal: ``--semaphore-simulate`` with a test that waits for a 10-minute simulated pipeline, then a
   promotion of it that is waited for too. Goal: under 3 s of wall time (the whole pytest process).

    python bench/plugin_overhead.py            # 100 runs of each variant, 10 rehearsals
    python bench/plugin_overhead.py --quick    # 15 runs, 3 rehearsals
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "pytest_semaphore" / "simulator" / "examples" / "release-train"
#: Plugins of the test extras that are not part of the comparison; both variants run without them.
QUIET = ("-p", "no:cacheprovider", "-p", "no:httpserver", "-p", "no:hypothesispytest", "-p", "no:xdist")


def make_project(root: Path, tests: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    body = "".join(f"def test_{i}():\n    assert {i} == {i}\n\n" for i in range(tests))
    (root / "test_many.py").write_text(body)
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


def timed(command: list[str], cwd: Path, cpu: list[float] | None = None) -> float:
    """Wall time of one run; its CPU time (user + system, less disturbed by a busy machine) goes to ``cpu``."""
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    for name in [n for n in env if n.startswith("SEMAPHORE_")]:
        del env[name]  # the plugin stays unconfigured
    # Bytecode is cached as in any real installation (the warm-up run writes it): without it, every run would
    # compile the plugin's modules from source and measure the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def spread(samples: list[float]) -> str:
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return f"{statistics.median(samples) * 1000:8.1f} ms (IQR {q1 * 1000:.1f}-{q3 * 1000:.1f})"


def overhead(root: Path, tests: int, runs: int) -> tuple[float, float]:
    project = make_project(root / f"project_{tests}", tests)
    base = [sys.executable, "-m", "pytest", "-q", *QUIET]
    variants = {"installed, unused": base, "-p no:semaphore": [*base, "-p", "no:semaphore"]}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    timed(base, project)  # warm the file cache and the bytecode
    for _ in range(runs):
        for name, command in variants.items():
            samples[name].append(timed(command, project, cpu[name]))
    print(f"\n{tests} test(s), {runs} interleaved runs each")
    for name, values in samples.items():
        print(f"  {name:20} {spread(values)}   CPU {spread(cpu[name])}")
    difference = statistics.median(samples["installed, unused"]) - statistics.median(samples["-p no:semaphore"])
    cpu_difference = statistics.median(cpu["installed, unused"]) - statistics.median(cpu["-p no:semaphore"])
    print(f"  median difference    {difference * 1000:+8.1f} ms (goal: at most +10 ms)")
    print(f"  CPU time difference  {cpu_difference * 1000:+8.1f} ms")
    return difference, statistics.median(samples["installed, unused"])


REHEARSAL_SCENARIO = """
description: a 10-minute pipeline and its promotion, for the rehearsal benchmark
seed: 7
projects:
  - name: release-train
    repository: {repository}
    defaults:
      duration: 20
    jobs:
      Build:
        duration: 520
      Unit tests:
        duration: 90
runs:
  - branch: master
"""

REHEARSAL_TEST = """
def test_release(wait_for_pipeline, semaphore_ppl_id):
    pipeline = wait_for_pipeline(semaphore_ppl_id)
    assert (pipeline.done_at - pipeline.created_at).total_seconds() >= 600
"""


def rehearsal(root: Path, runs: int) -> float:
    project = root / "rehearsal"
    project.mkdir()
    (project / "scenario.yml").write_text(REHEARSAL_SCENARIO.format(repository=EXAMPLES))
    (project / "test_release.py").write_text(REHEARSAL_TEST)
    (project / "pytest.ini").write_text("[pytest]\n")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        *QUIET,
        "--semaphore-simulate",
        "--semaphore-simulate-scenario=scenario.yml",
        "--semaphore-promote=Production",
        "--semaphore-promote-param=REGION=eu-west-1",
    ]
    samples = [timed(command, project) for _ in range(runs)]
    print(f"\ngate rehearsal (10-minute pipeline + promotion), {runs} runs")
    print(f"  wall time            {spread(samples) if runs >= 2 else f'{samples[0] * 1000:.1f} ms'}")
    print("  goal: under 3000 ms")
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 runs per variant, 3 rehearsals")
    parser.add_argument("--runs", type=int, default=None, help="runs per variant (default 100, 15 with --quick)")
    args = parser.parse_args()
    runs = args.runs or (15 if args.quick else 100)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small, _ = overhead(root, 1, runs)
        large, _ = overhead(root, 1000, runs)
        rehearsed = rehearsal(root, 3 if args.quick else 10)
    ok = small <= 0.010 and large <= 0.010 and rehearsed < 3.0
    print("\nall goals met" if ok else "\nsome goal missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
