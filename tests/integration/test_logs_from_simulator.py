"""Real logs from the simulator, through the real client, into excerpts, JUnit reports and summaries.

The simulator writes job logs byte for byte as the agent does; the failing job here prints ANSI colours, NUL and other
control bytes, ``\\r`` progress bars, ``]]>``, invalid UTF-8, the API token, and a secret from its ``spec.env_vars``
split across two output events. Everything downstream must be clean, redacted and valid for a strict XML parser.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.junit import (
    attach_logs,
    attachment_for,
    write_pipeline_report,
    write_pipeline_report_from_client,
)
from pytest_semaphore.logs import REDACTED, Excerpt, ExcerptOptions, Redactor, fetch_excerpt, fetch_failed_excerpts
from pytest_semaphore.models import Pipeline
from pytest_semaphore.report import render_summary
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import BlockDef, CommandDef, FaultDef, JobDef, PipelineDef, ProjectDef

TOKEN = "sim-token-canary-5b1e0c7a"
JOB_SECRET = "deploy-secret-0a1b2c3d4e"
FAILING_JOB = "unit ../../etc/パス\x00"
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

HOSTILE_OUTPUT: tuple[str | bytes, ...] = (
    "\x1b[1;34m==> running tests\x1b[0m\n",
    b"download \r 10%\r 55%\r100%\r\n",
    b"nul:\x00 bell:\x07 backspace:\x08 formfeed:\x0c esc-alone:\x1b\n",
    b"cdata breaker ]]> and <tag> & amp\n",
    b"invalid utf-8: \xff\xfe\xc3( end\n",
    f"token in output: {TOKEN}\n".encode(),
    f"using secret {JOB_SECRET[:9]}",  # the secret is split across two cmd_output events
    f"{JOB_SECRET[9:]} now\n",
    "\x1b[31mFAILED tests/test_api.py::test_deploy - AssertionError\x1b[0m\n",
)


def project() -> ProjectDef:
    failing = JobDef(
        name=FAILING_JOB,
        commands=(
            CommandDef("checkout", output=("cloned\n",)),
            CommandDef("pytest -x tests/", output=HOSTILE_OUTPUT, exit_code=3),
            CommandDef("never runs", output=("nope\n",)),
        ),
        env_vars=(("DEPLOY_TOKEN", JOB_SECRET), ("LANG", "C.UTF-8")),
    )
    passing = JobDef(name="lint", commands=(CommandDef("ruff check", output=("All checks passed!\n",)),))
    pipeline = PipelineDef(
        name="CI",
        blocks=(
            BlockDef("Build", (JobDef(name="compile"),)),
            BlockDef("Tests", (failing, passing), dependencies=("Build",)),
            BlockDef("Deploy", (JobDef(name="push image"), JobDef(name="tag release")), dependencies=("Tests",)),
        ),
    )
    return ProjectDef(name="logs-demo", pipelines={".semaphore/semaphore.yml": pipeline})


@pytest.fixture
def sim() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(token=TOKEN) as simulator:
        simulator.world.add_project(project())
        yield simulator


@pytest.fixture
def client(sim: SemaphoreSimulator) -> Iterator[SemaphoreClient]:
    with SemaphoreClient(sim.url, TOKEN, sleep=lambda _: None, timeout=10.0) as semaphore:
        yield semaphore


@pytest.fixture
def failed_pipeline(sim: SemaphoreSimulator, client: SemaphoreClient) -> Pipeline:
    _, ppl_id = sim.world.start_workflow("logs-demo")
    for _ in range(200):
        sim.advance(30)
        pipeline = client.describe_pipeline(ppl_id, detailed=True)
        if pipeline.done:
            return pipeline
    raise AssertionError("the simulated pipeline never finished")


def failing_job_id(pipeline: Pipeline) -> str:
    (job,) = pipeline.failed_jobs
    return job.job_id


def test_excerpt_of_a_hostile_log(client: SemaphoreClient, failed_pipeline: Pipeline, tmp_path: Path) -> None:
    job_id = failing_job_id(failed_pipeline)
    excerpt = fetch_excerpt(client, job_id, options=ExcerptOptions(log_dir=tmp_path / "logs", tail_lines=50))
    assert excerpt.directive == "pytest -x tests/"
    assert excerpt.exit_code == 3
    assert excerpt.job_result == "failed"
    assert excerpt.reason == "non-zero exit code"
    text = excerpt.render()
    assert _FORBIDDEN.search(text) is None
    assert "\x1b" not in text
    assert TOKEN not in text
    assert JOB_SECRET not in text
    assert JOB_SECRET[:9] not in text
    assert f"using secret {REDACTED} now" in excerpt.lines
    assert "100%" in excerpt.lines  # the progress bar's final state
    assert "nul: bell: backspace: formfeed: esc-alone:" in excerpt.lines
    assert "invalid utf-8: \ufffd\ufffd\ufffd( end" in excerpt.lines
    assert "cdata breaker ]]> and <tag> & amp" in excerpt.lines
    assert excerpt.lines[-1] == "FAILED tests/test_api.py::test_deploy - AssertionError"
    last = text[-1000:]
    assert "pytest -x tests/" in last
    assert "exited with code 3" in last
    assert "unit ../../etc/パス" in last
    # The full log: in the directory given, safely named, clean and redacted too.
    assert excerpt.log_path is not None
    log_file = Path(excerpt.log_path)
    assert log_file.parent == tmp_path / "logs"
    assert re.fullmatch(r"[A-Za-z0-9._-]+\.log", log_file.name)
    full = log_file.read_text(encoding="utf-8")
    # The agent's preamble comes first, as in every real log; the excerpt above still shows the user's command.
    assert full.startswith("$ Exporting environment variables\nExporting CI\n")
    assert "\n$ Injecting Files\n$ checkout\ncloned\n$ pytest -x tests/\n" in full
    assert "[exit code 3]" in full
    assert TOKEN not in full
    assert JOB_SECRET not in full
    assert _FORBIDDEN.search(full) is None


def test_user_patterns_and_hook_through_fetch(client: SemaphoreClient, failed_pipeline: Pipeline) -> None:
    job_id = failing_job_id(failed_pipeline)
    options = ExcerptOptions(patterns=[r"test_\w+"], hook=lambda s: s.replace("cdata", "C"))
    excerpt = fetch_excerpt(client, job_id, options=options)
    assert "FAILED tests/[REDACTED].py::[REDACTED] - AssertionError" in excerpt.lines
    assert "C breaker ]]> and <tag> & amp" in excerpt.lines
    assert TOKEN not in excerpt.render()  # the defaults still apply next to user patterns


def _excerpts(client: SemaphoreClient, pipeline: Pipeline, log_dir: Path) -> dict[str, Excerpt]:
    excerpts = fetch_failed_excerpts(client, pipeline, options=ExcerptOptions(log_dir=log_dir))
    assert set(excerpts) == {job.job_id for job in pipeline.failed_jobs}
    return excerpts


def test_an_unavailable_log_still_gives_an_excerpt(
    sim: SemaphoreSimulator, client: SemaphoreClient, failed_pipeline: Pipeline
) -> None:
    sim.add_fault(FaultDef(route="GET /api/v1alpha/logs/*", kind="status", status=503))
    (excerpt,) = fetch_failed_excerpts(client, failed_pipeline).values()
    assert excerpt.reason.startswith("log unavailable: GET /api/v1alpha/logs/")
    assert excerpt.job_result == "failed"
    assert excerpt.lines == ()
    assert TOKEN not in excerpt.render()
    assert "unit ../../etc/パス" in excerpt.render()[-1000:]


def test_pipeline_as_junit_from_the_simulator(
    sim: SemaphoreSimulator, client: SemaphoreClient, failed_pipeline: Pipeline, tmp_path: Path
) -> None:
    excerpts = _excerpts(client, failed_pipeline, tmp_path)
    topology = client.describe_topology(failed_pipeline.ppl_id)
    jobs = {job_id: client.describe_job(job_id) for job_id in excerpts}
    path = write_pipeline_report(
        tmp_path / "pipeline.xml",
        failed_pipeline,
        topology=topology,
        excerpts=excerpts,
        jobs=jobs,
        base_url=client.base_url,
    )
    data = path.read_bytes()
    assert _FORBIDDEN.search(data.decode("utf-8")) is None
    assert TOKEN.encode() not in data
    assert JOB_SECRET.encode() not in data
    root = ElementTree.fromstring(data)
    assert [s.get("name") for s in root.iter("testsuite")] == ["Build", "Tests", "Deploy"]
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failing = next(c for name, c in cases.items() if name and name.startswith("unit"))
    failure = failing.find("failure")
    assert failure is not None
    assert "exited with code 3" in (failure.get("message") or "")
    assert "pytest -x tests/" in (failure.text or "")[-1000:]
    assert cases["lint"].find("failure") is None
    for name in ("push image", "tag release"):  # Deploy never started: known only from the topology
        skipped = cases[name].find("skipped")
        assert skipped is not None
        assert skipped.get("message") == "block never started"


def test_the_client_convenience_writes_the_same_report(
    client: SemaphoreClient, failed_pipeline: Pipeline, tmp_path: Path
) -> None:
    path = write_pipeline_report_from_client(
        client, failed_pipeline.ppl_id, tmp_path / "p.xml", options=ExcerptOptions(log_dir=tmp_path)
    )
    root = ElementTree.fromstring(path.read_bytes())
    assert [s.get("name") for s in root.iter("testsuite")] == ["Build", "Tests", "Deploy"]
    assert root.get("failures") == "1"
    assert sum(int(s.get("skipped") or 0) for s in root.iter("testsuite")) == 2  # xunit2 has none on <testsuites>
    assert len(list(tmp_path.glob("*.log"))) == 1


def test_attach_to_a_pytest_report_with_the_stdlib_backend(
    client: SemaphoreClient, failed_pipeline: Pipeline, tmp_path: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_gate="def test_release():\n    assert False\n")
    report = pytester.path / "report.xml"
    pytester.runpytest_inprocess(f"--junitxml={report}", "-p", "no:semaphore").assert_outcomes(failed=1)
    excerpts = _excerpts(client, failed_pipeline, tmp_path)
    attachment = attachment_for(failed_pipeline, excerpts.values(), base_url=client.base_url)
    # Write with the stdlib backend (lxml blocked) in a child process, from the attachment's plain data.
    script = textwrap.dedent(
        """
        import json, sys
        sys.modules["lxml"] = None
        from pytest_semaphore.junit import LogAttachment, attach_logs, xml_backend
        from pytest_semaphore.logs import Excerpt
        data = json.loads(sys.stdin.read())
        excerpts = tuple(Excerpt(**e) for e in data["excerpts"])
        attachment = LogAttachment(excerpts, tuple(tuple(p) for p in data["properties"]))
        result = attach_logs(sys.argv[1], {"test_gate.py::test_release": attachment})
        assert xml_backend() == "stdlib" and result.attached, result
        """
    )
    import dataclasses
    import json

    payload = json.dumps(
        {
            "excerpts": [dataclasses.asdict(e) for e in attachment.excerpts],
            "properties": [list(p) for p in attachment.properties],
        }
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(report)], input=payload, capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, child.stderr
    data = report.read_bytes()
    assert _FORBIDDEN.search(data.decode("utf-8")) is None
    assert TOKEN.encode() not in data
    root = ElementTree.fromstring(data)
    case = root.find(".//testcase[@name='test_release']")
    assert case is not None
    out = case.findtext("system-out") or ""
    assert out.startswith("[[ATTACHMENT|")
    assert "exited with code 3" in out[-1000:]
    props = {p.get("name"): p.get("value") for p in case.iterfind("properties/property")}
    assert props["semaphore_pipeline_id"] == failed_pipeline.ppl_id
    assert (props["semaphore_job_url"] or "").startswith(client.base_url + "/jobs/")
    # Attaching the same again (in-process, lxml) changes nothing: the post-processing may safely run twice.
    attach_logs(report, {"test_gate.py::test_release": attachment})
    again = ElementTree.fromstring(report.read_bytes()).find(".//testcase[@name='test_release']")
    assert again is not None
    assert again.findtext("system-out") == out
    assert len(again.findall("properties/property")) == len(case.findall("properties/property"))


def test_summary_from_the_simulator(client: SemaphoreClient, failed_pipeline: Pipeline, tmp_path: Path) -> None:
    excerpts = _excerpts(client, failed_pipeline, tmp_path)
    html = render_summary([failed_pipeline], fmt="html", excerpts=excerpts, base_url=client.base_url)
    assert "&lt;tag&gt;" in html
    assert "<tag>" not in html
    assert TOKEN not in html
    markdown = render_summary([failed_pipeline], excerpts=excerpts, base_url=client.base_url)
    assert "exited with code **3**" in markdown
    assert JOB_SECRET not in markdown


def test_redactor_repr_and_excerpt_never_show_the_token(client: SemaphoreClient, failed_pipeline: Pipeline) -> None:
    redactor = Redactor.for_job(token=TOKEN, job=client.describe_job(failing_job_id(failed_pipeline)), env={})
    assert TOKEN not in repr(redactor)
    assert JOB_SECRET not in repr(redactor)


def test_the_client_tells_the_redactor_its_token_publicly(client: SemaphoreClient) -> None:
    # fetch_excerpt learns the token through this public method, not the client's private state; it must never
    # show up in the client's repr either.
    assert client.redaction_values() == (TOKEN,)
    assert TOKEN not in repr(client)
    assert Redactor(client.redaction_values())(f"echo {TOKEN}") == f"echo {REDACTED}"


def _doc_examples() -> list[str]:
    doc = Path(__file__).resolve().parents[2] / "docs" / "logs.md"
    return re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_docs_examples_run_as_pasted(
    sim: SemaphoreSimulator,
    failed_pipeline: Pipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain, through_client = _doc_examples()[:2]
    monkeypatch.chdir(tmp_path)  # both save full logs in ./semaphore-logs
    exec(compile(plain, "docs/logs.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.rstrip().endswith("command `pytest -x tests/` exited with code 1")
    assert "FAILED tests/test_api.py::test_deploy" in printed
    assert "s3cr3t" not in printed
    assert "[REDACTED]" in printed
    monkeypatch.setenv("SEMAPHORE_ORGANIZATION_URL", sim.url)
    monkeypatch.setenv("SEMAPHORE_API_TOKEN", TOKEN)
    monkeypatch.setattr(sys, "argv", ["show_failures.py", failed_pipeline.ppl_id])
    exec(compile(through_client, "docs/logs.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "command `pytest -x tests/` exited with code 3" in printed
    assert TOKEN not in printed
    assert JOB_SECRET not in printed
    assert sorted(p.suffix for p in (tmp_path / "semaphore-logs").iterdir()) == [".log", ".log"]
