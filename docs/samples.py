"""Generate the sample outputs the docs show, from a real gate run against the simulator (never typed by hand).

The bundled failing release train (one unit-test shard fails) runs on the simulator's clock; then, exactly as a gate
does: wait for the pipeline, fetch the failed job's excerpt, write the gate summary (HTML and Markdown) and the
pipeline as a JUnit report. The JUnit report of a test run is the plugin's own: the release tests of
examples/release-tests rehearsed against the failing shop scenario of examples/deployment-gate. docs/conf.py runs
this at every build; tests/docs/test_samples.py runs it and checks what it wrote.

    python docs/samples.py [OUT]     # default docs/_generated
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest_semaphore.simulator as simulator_package
from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.junit import write_pipeline_report
from pytest_semaphore.logs import ExcerptOptions, fetch_failed_excerpts
from pytest_semaphore.report import write_summary
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.waiting import Pacing, find_pipeline, wait_for_pipeline

SCENARIO = Path(simulator_package.__file__).resolve().parent / "examples" / "release-train" / "failing.yml"
OUT = Path(__file__).resolve().parent / "_generated"
BASE_URL = "https://myorg.semaphoreci.com"  # the UI links in the samples, as a real organisation's would read
#: What the files are called; docs/samples.md includes them by these names. ``*.pretty.xml`` are the reports indented
#: for reading (element text untouched); ``report-tail.txt`` is the last 1000 characters of the testcase's
#: ``<system-out>``, all that Semaphore's test-results reader keeps of an output field.
FILES = (
    "summary.html",
    "summary.md",
    "pipeline.xml",
    "pipeline.pretty.xml",
    "report.xml",
    "report.pretty.xml",
    "report-tail.txt",
)
SEMAPHORE_OUTPUT_CHARS = 1000

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RELEASE_TESTS = EXAMPLES / "release-tests"
RELEASE_SCENARIO = EXAMPLES / "deployment-gate" / "failing.yml"


def generate(out: Path = OUT) -> list[Path]:
    """Write the samples into ``out`` (created); return their paths. Paths inside them are relative to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    here = Path.cwd()
    os.chdir(out)  # the full logs go to ./logs, and the samples name them so
    try:
        _run(out)
    finally:
        os.chdir(here)
    return [out / name for name in FILES]


def _run(out: Path) -> None:
    options = ExcerptOptions(log_dir="logs", tail_lines=12)
    with SemaphoreSimulator(SCENARIO, seed=2024) as sim:
        pacing = Pacing(sleep=sim.advance, monotonic=sim.monotonic)
        with SemaphoreClient(sim.url, sim.token, sleep=sim.advance, monotonic=sim.monotonic) as client:
            found = find_pipeline(client, "release-train", branch="master", pacing=pacing)
            wait_for_pipeline(client, found.ppl_id, pacing=pacing)
            pipeline = client.describe_pipeline(found.ppl_id, detailed=True)
            excerpts = fetch_failed_excerpts(client, pipeline, options=options)
            write_summary("summary.html", [pipeline], excerpts=excerpts, base_url=BASE_URL)
            write_summary("summary.md", [pipeline], excerpts=excerpts, base_url=BASE_URL)
            write_pipeline_report(
                "pipeline.xml",
                pipeline,
                topology=client.describe_topology(found.ppl_id),
                excerpts=excerpts,
                base_url=BASE_URL,
            )
    _release_test_report(out)
    for name in ("pipeline", "report"):
        tree = ElementTree.parse(f"{name}.xml")  # noqa: S314 - the files this function just wrote
        ElementTree.indent(tree)
        tree.write(f"{name}.pretty.xml", encoding="unicode")
    system_out = ElementTree.parse("report.xml").findtext(".//testcase/system-out") or ""  # noqa: S314 - as above
    Path("report-tail.txt").write_text(system_out[-SEMAPHORE_OUTPUT_CHARS:] + "\n", encoding="utf-8")


def _release_test_report(out: Path) -> None:
    """``report.xml``: the example release tests, rehearsed with the plugin against a red build (both tests fail)."""
    command = [
        *(sys.executable, "-m", "pytest", str(RELEASE_TESTS), "-q", "-p", "no:cacheprovider"),
        *("-c", os.devnull, "--rootdir", str(RELEASE_TESTS)),  # the example's own root: no outer configuration
        *("--semaphore-simulate", "--semaphore-simulate-scenario", str(RELEASE_SCENARIO)),
        *("--semaphore-log-dir", "logs", "--junitxml", str(out / "report.xml")),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMAPHORE_")}  # not the developer's own
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing written into examples/
    ran = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    if ran.returncode != 1:  # test failures, as the red build promises
        raise RuntimeError(f"the example release tests should fail, got exit {ran.returncode}:\n{ran.stdout}")


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path)
