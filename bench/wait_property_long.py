"""The waiting engine's property test (``tests/integration/test_waiting_property.py``) with 10,000 examples.

The default suite runs a few hundred examples (the ``ci`` hypothesis profile); this runs the ``long`` profile (10,000,
``--quick``: 1,000) in a subprocess, after the ``ci`` profile as the baseline of the same run, and prints a table:
examples, real time, time per example and what the examples ended with. Any failing example fails the run (exit 1);
turn it into an ordinary regression test.

Run: ``python bench/wait_property_long.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/integration/test_waiting_property.py"


def run(profile: str, examples: int | None) -> tuple[int, float, str]:
    env = dict(os.environ, HYPOTHESIS_PROFILE=profile, NO_PROXY="127.0.0.1,127.0.0.2,localhost")
    if examples is not None:
        env["WAIT_PROPERTY_EXAMPLES"] = str(examples)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-q", "-s", "-p", "no:cacheprovider", "-o", "timeout=0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - began
    summary = [line[line.index("verdicts:") :] for line in done.stdout.splitlines() if "verdicts:" in line]
    endings = ("passed", "failed", "error", "stopped", "canceled", "PipelineFailed", "APIUnavailable")
    if not summary or not all(f"'{e}'" in summary[-1] for e in endings):
        print(f"the examples did not reach every kind of ending ({', '.join(endings)})", file=sys.stderr)
        return 1, time.perf_counter() - began, (summary[-1] if summary else "") + " | incomplete coverage"
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-300:]
    return done.returncode, elapsed, (summary[-1] if summary else "") + " | " + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 examples instead of 10,000")
    args = parser.parse_args(argv)
    long_examples = 1000 if args.quick else 10_000
    rows = []
    status = 0
    for name, profile, examples in (("ci (baseline)", "ci", 200), ("long", "long", long_examples)):
        code, elapsed, summary = run(profile, examples)
        status |= code
        rows.append((name, examples, elapsed, summary))
    base = rows[0][2] / rows[0][1]
    print(f"{'profile':<14} | {'examples':>8} | {'real s':>8} | {'ms/example':>10} | {'vs ci':>6} | result")
    print("-" * 110)
    for name, examples, elapsed, summary in rows:
        per = elapsed / examples
        print(f"{name:<14} | {examples:>8} | {elapsed:>8.1f} | {per * 1000:>10.1f} | {per / base:>6.2f} | {summary}")
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
