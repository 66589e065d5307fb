"""The fault campaign's soak: thousands of seeded gates, each with a pipeline of up to an hour of simulated time,
through ``semaphore-gate wait``/``promote`` (in-process, on the simulator's manual clock) and, every tenth case, a
pytest session (in-process ``pytest.main``) waiting on the same kind of world; every verdict is checked against the
world (``tests/reliability/campaign.py`` says what "right" means). Prints a table per fault kind and error rate, one
per outage, and the totals; any wrong answer is listed with its seed and fails the run (exit 1): turn its seed into
a regression case of ``tests/reliability/test_faults.py``.

Run: ``python bench/reliability_soak.py [--quick] [--cases N] [--first-seed N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from tests.reliability.campaign import (  # noqa: E402
    FAULT_KINDS,
    PYTEST_CONFTEST,
    RATES,
    Case,
    run_case,
    run_pytest_case,
)


def pytest_session(source: str, args: list[str], plugin: object) -> tuple[int, str]:
    """An inner pytest session in a fresh directory, in this process; its exit status and output."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # contextlib.chdir is Python 3.11+
        Path("conftest.py").write_text(PYTEST_CONFTEST)
        Path("test_gate.py").write_text(source)
        os.environ["SEMAPHORE_API_TOKEN"] = "unused-the-client-fixture-is-given"
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args, "."], plugins=[plugin])
        for name in ("conftest", "test_gate"):  # the next session's files must be imported afresh
            sys.modules.pop(name, None)
        os.chdir(here)
        return int(code), out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="220 cases instead of 2,200")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--first-seed", type=int, default=100_000)
    args = parser.parse_args(argv)
    cases = args.cases or (220 if args.quick else 2200)
    for name in [n for n in os.environ if n.startswith("SEMAPHORE_")]:
        del os.environ[name]
    table: dict[tuple[str, float], Counter[str]] = defaultdict(Counter)
    by_outage: dict[str, Counter[str]] = defaultdict(Counter)
    faces: Counter[str] = Counter()
    wrong = []
    simulated = 0.0
    requests = 0
    began = time.perf_counter()
    kinds = sorted(FAULT_KINDS)
    for i in range(cases):
        seed = args.first_seed + i
        # every kind at every rate in turn, the rest drawn from the seed
        kind, rate = kinds[i % len(kinds)], RATES[(i // len(kinds)) % len(RATES)]
        if i % 10 == 9:
            case = Case.draw(seed, command="wait", kind=kind, rate=rate, longest=3600)
            outcome = run_pytest_case(case, pytest_session)
            verdict, face = outcome.verdict, "pytest"
        else:
            case = Case.draw(seed, kind=kind, rate=rate, longest=3600)
            result = run_case(case)
            verdict, face = result.verdict, f"semaphore-gate {case.command}"
            simulated += result.simulated
            requests += result.requests
        table[(kind, rate)][verdict] += 1
        by_outage[case.outage][verdict] += 1
        faces[f"{face}: {verdict}"] += 1
        if verdict == "WRONG":
            wrong.append(case)
    elapsed = time.perf_counter() - began
    print(f"{'fault kind':<16} | " + " | ".join(f"{f'{r:.0%}':>18}" for r in RATES))
    print("-" * (19 + 21 * len(RATES)))
    for kind in kinds:
        cells = []
        for rate in RATES:
            c = table[(kind, rate)]
            refused = f" {c['refused']} R" if c["refused"] else ""
            cells.append(f"{c['truth']:>4} T {c['unavailable']:>4} U{refused} {c['WRONG']:>2} W")
        print(f"{kind:<16} | " + " | ".join(f"{cell:>18}" for cell in cells))
    print()
    print(
        "T: the world's verdict and exit code; U: 'API unavailable' (exit 5, or pytest exit 1 naming it); "
        "R: an injected 500 answered the promotion trigger, read as Semaphore's refusal (exit 4); W: wrong"
    )
    for outage in ("none", "within", "beyond"):
        c = by_outage[outage]
        print(
            f"outage {outage:<7}: {c['truth']:>5} truth, {c['unavailable']:>5} unavailable, {c['refused']:>2} refused,"
            f" {c['WRONG']:>3} wrong"
        )
    for key in sorted(faces):
        print(f"{key}: {faces[key]}")
    hours = simulated / 3600
    print(f"{cases} gates, {hours:.0f} simulated hours (semaphore-gate), {requests} requests, {elapsed:.0f} s real")
    for case in wrong:
        print("WRONG:", case, file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
