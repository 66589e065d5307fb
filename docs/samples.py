"""Generate the sample outputs the docs show, from a real gate run against the simulator (never typed by hand).

The bundled failing release train (one unit-test shard fails) runs on the simulator's clock; then, exactly as a gate
does: wait for the pipeline, fetch the failed job's excerpt, write the gate summary (HTML and Markdown), write the
pipeline as a JUnit report, and attach the excerpt to the JUnit report of a pytest run whose release test waited on
that pipeline. docs/conf.py runs this at every build; tests/docs/test_samples.py runs it and checks what it wrote.

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
from pytest_semaphore.junit import attach_logs, attachment_for, write_pipeline_report
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

RELEASE_TEST = """\
import os

from pytest_semaphore import SemaphoreClient, outcome, wait_for_pipeline


def test_release_train_passes():
    with SemaphoreClient(os.environ["SAMPLE_URL"], os.environ["SAMPLE_TOKEN"]) as client:
        pipeline = wait_for_pipeline(client, os.environ["SAMPLE_PPL_ID"], timeout=60)
    assert outcome(pipeline) == "passed", f"{pipeline.name} {outcome(pipeline)}"
"""


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
            _release_test_report(out, sim.url, sim.token, pipeline.ppl_id)
    node = "test_release.py::test_release_train_passes"
    result = attach_logs("report.xml", {node: attachment_for(pipeline, excerpts.values(), base_url=BASE_URL)})
    if result.missing:
        raise RuntimeError(f"the release test's testcase is not in report.xml: {result.missing}")
    for name in ("pipeline", "report"):
        tree = ElementTree.parse(f"{name}.xml")  # noqa: S314 - the files this function just wrote
        ElementTree.indent(tree)
        tree.write(f"{name}.pretty.xml", encoding="unicode")
    system_out = ElementTree.parse("report.xml").findtext(".//testcase/system-out") or ""  # noqa: S314 - as above
    Path("report-tail.txt").write_text(system_out[-SEMAPHORE_OUTPUT_CHARS:] + "\n", encoding="utf-8")


def _release_test_report(out: Path, url: str, token: str, ppl_id: str) -> None:
    """Run a one-test release suite in a pytest subprocess that writes ``report.xml`` (its test fails: the train
    failed)."""
    suite = out / "suite"
    suite.mkdir(exist_ok=True)
    (suite / "test_release.py").write_text(RELEASE_TEST, encoding="utf-8")
    (suite / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # its own rootdir: no outer project's config
    env = {**os.environ, "SAMPLE_URL": url, "SAMPLE_TOKEN": token, "SAMPLE_PPL_ID": ppl_id}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", "../report.xml"]
    ran = subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    if ran.returncode != 1:  # exactly one failed test, as the failing train promises
        raise RuntimeError(f"the sample release test should fail once, got exit {ran.returncode}:\n{ran.stdout}")


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path)
