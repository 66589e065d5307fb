"""A deployment gate written with the library, against the embedded Semaphore simulator: no account, no network.

``semaphore-gate demo`` is the ready-made rehearsal (docs/cli.md); this example shows the library calls a gate of
your own makes against semaphoreci.com, the same ones the command makes:

1. find the pipeline that a push to ``master`` started (it may not exist yet when the gate starts);
2. wait for it to finish (growing poll intervals, transient API errors tolerated, finite timeout);
3. if it passed, trigger the ``Production`` promotion with parameters and wait for the pipeline it schedules;
4. if anything failed, print the failing command of each failed job with its last lines (cleaned, secrets redacted);
5. write a Markdown summary and exit with the gate's code: 0 passed, 1 failed, 3 stopped or canceled, 4 another
   failure, 5 API unavailable, 6 authentication, 124 timeout.

The simulator's clock is the gate's clock (``Pacing(sleep=sim.advance, monotonic=sim.monotonic)``), so a release
train of several simulated minutes runs at once. ``--failing`` uses the bundled scenario in which one unit-test
shard fails.

    python examples/gate_demo.py [--failing] [--summary gate-summary.md]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pytest_semaphore import errors
from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.logs import ExcerptOptions, fetch_failed_excerpts
from pytest_semaphore.models import Pipeline
from pytest_semaphore.report import write_summary
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.waiting import (
    Outcome,
    Pacing,
    find_pipeline,
    outcome,
    wait_for_pipeline,
    wait_for_promotion,
    worst_outcome,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "pytest_semaphore" / "simulator" / "examples" / "release-train"
PROJECT = "release-train"


def _progress(pipeline: Pipeline) -> None:
    """One plain line per observed change, as a gate prints it in a CI log."""
    verdict = f" {outcome(pipeline)}" if pipeline.done else ""
    if pipeline.done and pipeline.result != "passed":
        verdict += f" (result {pipeline.result}, reason {pipeline.result_reason})"
    print(f"  {pipeline.name} ({pipeline.ppl_id[:8]}): {pipeline.state}{verdict}")


def run_gate(scenario: Path, summary_path: Path, log_dir: Path) -> int:
    """Run the gate against a simulator started from ``scenario``; return the exit code.

    Full logs of failed jobs are saved in ``log_dir``; the excerpts and the summary name them.
    """
    excerpt_options = ExcerptOptions(log_dir=log_dir, tail_lines=20)
    with SemaphoreSimulator(scenario) as sim:
        pacing = Pacing(sleep=sim.advance, monotonic=sim.monotonic)  # the gate runs on the simulator's clock
        with SemaphoreClient(sim.url, sim.token, sleep=sim.advance, monotonic=sim.monotonic) as client:
            print(f"Semaphore simulator at {sim.url}; waiting for the push to master of {PROJECT!r}")
            first = find_pipeline(client, PROJECT, branch="master", appear_timeout=120, pacing=pacing)
            done = wait_for_pipeline(client, first.ppl_id, timeout=3600, on_change=_progress, pacing=pacing)
            pipelines = [done]
            if outcome(pipelines[0]) is Outcome.PASSED:
                print("Build passed: promoting to Production (REGION=eu-west-1)")
                promoted = wait_for_promotion(
                    client,
                    first.ppl_id,
                    "Production",
                    parameters={"REGION": "eu-west-1", "RELEASE_NOTE": "gate demo"},
                    timeout=3600,
                    on_change=_progress,
                    pacing=pacing,
                )
                pipelines.extend(promoted.pipelines)
            detailed = [client.describe_pipeline(p.ppl_id, detailed=True) for p in pipelines]
            excerpts = {}
            for pipeline in detailed:
                excerpts.update(fetch_failed_excerpts(client, pipeline, options=excerpt_options))
            for excerpt in excerpts.values():
                print()
                print(excerpt.render())
            write_summary(summary_path, detailed, excerpts=excerpts, base_url=client.base_url)
    verdict = worst_outcome(detailed)
    print(f"\nGate verdict: {verdict} (summary written to {summary_path})")
    return verdict.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--failing", action="store_true", help="use the scenario in which a unit-test shard fails")
    parser.add_argument("--summary", type=Path, default=Path("gate-summary.md"), help="where to write the summary")
    parser.add_argument("--log-dir", type=Path, default=Path("gate-logs"), help="where to save failed jobs' logs")
    args = parser.parse_args(argv)
    scenario = EXAMPLES / ("failing.yml" if args.failing else "scenario.yml")
    try:
        return run_gate(scenario, args.summary, args.log_dir)
    except errors.WaitTimeout as exc:
        print(f"gate timed out: {exc}", file=sys.stderr)
        return 124
    except errors.AuthenticationError as exc:
        print(f"authentication failed: {exc}", file=sys.stderr)
        return 6
    except errors.APIUnavailable as exc:
        print(f"Semaphore API unavailable: {exc}", file=sys.stderr)
        return 5
    except errors.SemaphoreError as exc:
        print(f"gate error: {exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
