"""JUnit: attaching excerpts to a real pytest report, pipelines as JUnit, bad input, and both XML backends."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

from pytest_semaphore.errors import ReportError
from pytest_semaphore.junit import (
    LogAttachment,
    TestTarget,
    attach_logs,
    attachment_for,
    job_url,
    pipeline_url,
    read_report,
    write_pipeline_report,
    xml_backend,
)
from pytest_semaphore.logs import Excerpt
from pytest_semaphore.models import Job, Pipeline, TopologyBlock

HOSTILE = "ansi \x1b[31mred\x1b[0m nul \x00 bel \x07 cdata ]]> amp & lt < \ufffe surrogate-free \U0001f600 \x85"
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CHAR_REF = re.compile(r"&#(x[0-9a-fA-F]+|[0-9]+);")


def strict_check(path: Path) -> ElementTree.Element:
    """What Semaphore's Go reader needs: well-formed, no forbidden character raw or as a character reference."""
    data = path.read_bytes()
    text = data.decode("utf-8")
    assert _FORBIDDEN.search(text) is None
    for ref in _CHAR_REF.findall(text):
        code = int(ref[1:], 16) if ref.startswith("x") else int(ref)
        assert code in (9, 10, 13) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000
    return ElementTree.fromstring(data)


def excerpt(job_name: str = "unit tests", job_id: str = "job-1", *, log_path: str | None = "/logs/unit.log") -> Excerpt:
    lines = tuple(f"output line {i} " + "x" * 50 for i in range(100))
    return Excerpt(job_name, job_id, "make test", 2, "failed", (*lines, HOSTILE), 4000, "non-zero exit code", log_path)


def pipeline_json(blocks: list[dict[str, object]], *, name: str = "CI", ppl_id: str = "ppl-1") -> Pipeline:
    return Pipeline.from_api(
        {
            "pipeline": {"ppl_id": ppl_id, "wf_id": "wf-1", "name": name, "state": "done", "result": "failed"},
            "blocks": blocks,
        }
    )


def block(name: str, *jobs: tuple[str, str, str, str], state: str = "done") -> dict[str, object]:
    return {
        "name": name,
        "block_id": f"b-{name}" if jobs else "",
        "state": state,
        "result": "failed",
        "jobs": [{"name": n, "job_id": i, "index": k, "status": s, "result": r} for k, (n, i, s, r) in enumerate(jobs)],
    }


@pytest.fixture
def pytest_report(pytester: pytest.Pytester) -> Path:
    """A real report written by pytest's junitxml (classes, params, captured output)."""
    pytester.makepyfile(
        test_gate=textwrap.dedent(
            """
            import pytest

            class TestDeploy:
                def test_release(self):
                    print("captured before")
                    assert False

            @pytest.mark.parametrize("env", ["staging", "prod/eu"])
            def test_env(env):
                assert env == "staging"

            def test_ok():
                pass
            """
        )
    )
    report = pytester.path / "report.xml"
    result = pytester.runpytest_inprocess(
        f"--junitxml={report}", "-o", "junit_logging=system-out", "-p", "no:semaphore"
    )
    result.assert_outcomes(passed=2, failed=2)
    return report


# --------------------------------------------------------------------------------------------- attaching


def test_attach_by_nodeid_to_a_real_pytest_report(pytest_report: Path) -> None:
    ppl = pipeline_json([block("Build", ("unit tests", "job-1", "FINISHED", "FAILED"))])
    attachment = attachment_for(ppl, [excerpt()], base_url="https://org.semaphoreci.com")
    result = attach_logs(
        pytest_report,
        {
            "test_gate.py::TestDeploy::test_release": attachment,
            "test_gate.py::test_env[prod/eu]": attachment,
            "test_gate.py::test_missing": attachment,
        },
    )
    assert result.attached == (
        TestTarget("test_gate.TestDeploy", "test_release"),
        TestTarget("test_gate", "test_env[prod/eu]"),
    )
    assert result.missing == (TestTarget("test_gate", "test_missing"),)
    root = strict_check(pytest_report)
    case = root.find(".//testcase[@name='test_release']")
    assert case is not None
    out = case.findtext("system-out") or ""
    assert "captured before" in out  # pytest's own output kept, ours appended after it
    assert out.index("captured before") < out.index("[[ATTACHMENT|/logs/unit.log]]") < out.index("output line 99")
    assert "\x1b" not in out
    assert "red" in out
    assert "]]>" in out
    props = {(p.get("name"), p.get("value")) for p in case.iterfind("properties/property")}
    assert ("semaphore_pipeline_id", "ppl-1") in props
    assert ("semaphore_job_url", "https://org.semaphoreci.com/jobs/job-1") in props
    assert ("semaphore_pipeline_url", "https://org.semaphoreci.com/workflows/wf-1?pipeline_id=ppl-1") in props
    assert next(iter(case)).tag == "properties"
    # Semaphore keeps the last 1000 characters: they still name the job, the command and the exit code.
    last = out[-1000:]
    assert "unit tests" in last
    assert "make test" in last
    assert "exited with code 2" in last
    untouched = root.find(".//testcase[@name='test_ok']")
    assert untouched is not None
    assert "ATTACHMENT" not in (untouched.findtext("system-out") or "")
    # junitparser reads it back.
    cases = {case.name: case for suite in read_report(pytest_report) for case in suite}
    assert cases["test_release"].is_failure


def test_attach_by_classname_and_name_creates_system_out_before_system_err(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        '<testsuite name="s"><testcase classname="c" name="n"><failure message="x"/>'
        "<system-err>err</system-err></testcase></testsuite>",
        encoding="utf-8",
    )
    attach_logs(report, {TestTarget("c", "n"): LogAttachment((excerpt(log_path=None),), (("k", "v\x00v"),))})
    root = strict_check(report)
    assert root.tag == "testsuite"  # the root element is kept as it was
    case = root.find("testcase")
    assert case is not None
    assert [child.tag for child in case] == ["properties", "failure", "system-out", "system-err"]
    assert case.find("properties/property").get("value") == "vv"  # type: ignore[union-attr]
    assert "ATTACHMENT" not in (case.findtext("system-out") or "")


def test_with_several_excerpts_the_last_line_names_every_job() -> None:
    jobs = [excerpt(f"job number {i} " + "n" * 100, f"id-{i}") for i in range(12)]
    text = LogAttachment(tuple(jobs)).text()
    last = text[-1000:]
    assert last.splitlines()[-1].startswith(">>> 12 Semaphore jobs failed: job number 0")
    for i in range(12):
        assert f"job number {i}" in last
    assert "exit 2" in last
    assert len(text.splitlines()[-1].encode()) <= 900


def test_nodeid_mangling_matches_pytest() -> None:
    assert TestTarget.from_nodeid("tests/unit/test_x.py::TestA::test_b[1-a/b::c]") == TestTarget(
        "tests.unit.test_x.TestA", "test_b[1-a/b::c]"
    )
    assert TestTarget.from_nodeid("test_y.py::test_z", prefix="gate") == TestTarget("gate.test_y", "test_z")
    assert TestTarget.from_nodeid("t.py::test[\x1b]").name == "test[#x1B]"


def test_output_file_leaves_the_input_alone(pytest_report: Path, tmp_path: Path) -> None:
    before = pytest_report.read_bytes()
    out = tmp_path / "out" / "with-logs.xml"
    attach_logs(pytest_report, {"test_gate.py::test_env[staging]": LogAttachment((excerpt(),))}, output=out)
    assert pytest_report.read_bytes() == before
    assert "output line 99" in out.read_text(encoding="utf-8")


def test_write_keeps_permissions_and_leaves_no_temp_files(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text('<testsuites><testsuite name="s"><testcase classname="c" name="n"/></testsuite></testsuites>')
    os.chmod(report, 0o640)
    attach_logs(report, {TestTarget("c", "n"): LogAttachment((excerpt(),))})
    assert stat.S_IMODE(report.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.xml"]


BAD_INPUTS = {
    "not xml": (b"this is not xml", "not well-formed XML"),
    "empty": (b"", "not well-formed XML"),
    "truncated": (b"<testsuites><testsuite name='x'>", "not well-formed XML"),
    "not junit": (b"<html><body/></html>", "root element is <html>"),
    "billion laughs": (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n<testsuites><testsuite name="&lol3;"/></testsuites>',
        "document type declaration",
    ),
    "external entity": (
        b'<!-- c --><!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><testsuite name="&xxe;"/>',
        "document type declaration",
    ),
    "doctype after a long comment": (
        b"<?xml version='1.0'?><!--" + b"c" * 200_000 + b'--><!DOCTYPE t [<!ENTITY a "b">]><testsuite/>',
        "document type declaration",
    ),
    "endless prolog": (b"<!--" + b"c" * 2_000_000, "no root element in the first"),
    "utf-16 doctype": (
        '\ufeff<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE t [<!ENTITY a "b">]><testsuite/>'.encode("utf-16-le"),
        "document type declaration",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_a_clear_error_and_leaves_the_file_untouched(tmp_path: Path, case: str) -> None:
    data, message = BAD_INPUTS[case]
    report = tmp_path / "bad.xml"
    report.write_bytes(data)
    with pytest.raises(ReportError, match=re.escape(message)) as info:
        attach_logs(report, {TestTarget("c", "n"): LogAttachment((excerpt(),))})
    assert str(report) in str(info.value)
    assert report.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["bad.xml"]


def test_a_long_prolog_without_doctype_is_fine(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    body = '<testsuite name="s"><testcase classname="c" name="n"/></testsuite>'
    report.write_text("<?xml version='1.0'?>\n<!-- " + "x" * 100_000 + " -->\n" + " " * 70_000 + body)
    assert attach_logs(report, {TestTarget("c", "n"): LogAttachment((excerpt(),))}).attached


def test_missing_report_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no such JUnit report"):
        attach_logs(tmp_path / "nope.xml", {})


# --------------------------------------------------------------------------------------------- pipeline as JUnit


def semaphore_ids(root: ElementTree.Element) -> list[str]:
    """Semaphore's test-result ids (UUIDv3 over MD5) for every testcase, as semaphoreci/test-results computes them."""
    report_id = uuid.uuid3(uuid.NAMESPACE_DNS, root.get("name") or "")
    ids = []
    for suite in root.iter("testsuite"):
        suite_id = uuid.uuid3(report_id, suite.get("id") or suite.get("name") or "")
        for case in suite.iter("testcase"):
            key = f"{case.get('id') or ''}.{case.get('name')}.{case.get('classname')}.{''}.{case.get('file') or ''}"
            ids.append(str(uuid.uuid3(suite_id, key)))
    return ids


def test_pipeline_report_blocks_jobs_failures_and_skips(tmp_path: Path) -> None:
    ppl = pipeline_json(
        [
            block(
                "Test",
                ("unit", "j-unit", "FINISHED", "FAILED"),
                ("lint", "j-lint", "FINISHED", "PASSED"),
                ("e2e", "j-e2e", "FINISHED", "STOPPED"),
                ("slow", "j-slow", "RUNNING", "PASSED"),
            ),
            block("Deploy", state="waiting"),
        ]
    )
    topology = [
        TopologyBlock("Test", ("unit", "lint", "e2e", "slow"), ()),
        TopologyBlock("Deploy", ("push", "tag"), ()),
    ]
    job = Job.from_api(
        {
            "metadata": {"id": "j-unit", "name": "unit", "start_time": "1700000000", "finish_time": "1700000090"},
            "status": {"state": "FINISHED", "result": "FAILED"},
        }
    )
    path = write_pipeline_report(
        tmp_path / "pipeline.xml",
        ppl,
        topology=topology,
        excerpts={"j-unit": excerpt("unit", "j-unit")},
        jobs={"j-unit": job},
        base_url="https://org.semaphoreci.com",
    )
    root = strict_check(path)
    assert root.get("name") == "CI"
    assert [s.get("name") for s in root.iter("testsuite")] == ["Test", "Deploy"]
    cases = {c.get("name"): c for c in root.iter("testcase")}
    unit = cases["unit"]
    assert unit.get("time") == "90.0"
    failure = unit.find("failure")
    assert failure is not None
    assert failure.get("type") == "semaphore.job_failed"
    assert "exited with code 2" in (failure.get("message") or "")
    body = failure.text or ""
    assert "unit" in body[-1000:]
    assert "make test" in body[-1000:]
    assert "exited with code 2" in body[-1000:]
    assert unit.findtext("system-out") == "[[ATTACHMENT|/logs/unit.log]]"
    assert cases["lint"].find("failure") is None
    assert cases["lint"].find("skipped") is None
    assert cases["e2e"].find("error") is not None
    assert "did not finish" in (cases["slow"].find("skipped").get("message") or "")  # type: ignore[union-attr]
    assert cases["push"].find("skipped").get("message") == "block never started"  # type: ignore[union-attr]
    assert cases["tag"].get("classname") == "Deploy"
    test_suite = root.find("testsuite")
    assert test_suite is not None
    assert (test_suite.get("tests"), test_suite.get("failures"), test_suite.get("errors")) == ("4", "1", "1")
    assert test_suite.get("skipped") == "1"
    props = {p.get("name"): p.get("value") for p in test_suite.iterfind("properties/property")}
    assert props["semaphore_pipeline_url"] == pipeline_url("https://org.semaphoreci.com", "wf-1", "ppl-1")
    unit_props = {p.get("name"): p.get("value") for p in unit.iterfind("properties/property")}
    assert unit_props["semaphore_job_url"] == job_url("https://org.semaphoreci.com", "j-unit")


def test_pipeline_report_names_are_unique_under_semaphore_ids(tmp_path: Path) -> None:
    # Same names, names equal after cleaning, and names whose dotted concatenation collides.
    ppl = pipeline_json(
        [
            block(
                "B",
                ("job", "j1", "FINISHED", "PASSED"),
                ("job", "j2", "FINISHED", "FAILED"),
                ("job\x00", "j3", "FINISHED", "PASSED"),
                ("job\x1b[0m", "j4", "FINISHED", "PASSED"),
                ("x.B", "j5", "FINISHED", "PASSED"),
            ),
            block("B\x00", ("job", "j6", "FINISHED", "PASSED")),
            block("B", ("job", "j7", "FINISHED", "PASSED")),
        ]
    )
    second = pipeline_json([block("B", ("job", "j8", "FINISHED", "PASSED"))], ppl_id="ppl-2")
    path = write_pipeline_report(tmp_path / "p.xml", [ppl, second])
    root = strict_check(path)
    suites = [s.get("name") for s in root.iter("testsuite")]
    assert len(suites) == len(set(suites)) == 4
    ids = semaphore_ids(root)
    assert len(ids) == len(set(ids)) == 8
    assert root.get("tests") == "8"


def test_a_pipeline_where_no_block_ran_is_reported_as_an_error(tmp_path: Path) -> None:
    ppl = Pipeline.from_api(
        {
            "pipeline": {
                "ppl_id": "p",
                "wf_id": "w",
                "name": "CI",
                "state": "done",
                "result": "failed",
                "result_reason": "malformed",
                "error_description": "yaml: line 3: \x1b[31mmapping values are not allowed\x1b[0m",
            },
            "blocks": [],
        }
    )
    root = strict_check(write_pipeline_report(tmp_path / "p.xml", ppl))
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert error.get("message") == "pipeline failed (malformed): yaml: line 3: mapping values are not allowed"
    assert root.get("errors") == "1"
    passed = Pipeline.from_api({"pipeline": {"ppl_id": "p", "state": "done", "result": "passed"}, "blocks": []})
    assert list(strict_check(write_pipeline_report(tmp_path / "ok.xml", passed))) == []


def test_pipeline_report_with_hostile_excerpt_round_trips_through_junitparser(tmp_path: Path) -> None:
    ppl = pipeline_json([block("B", ("job", "j1", "FINISHED", "FAILED"))])
    path = write_pipeline_report(tmp_path / "p.xml", ppl, excerpts={"j1": excerpt("job\x1b", "j1")})
    strict_check(path)
    xml = read_report(path)
    (suite,) = list(xml)
    (case,) = list(suite)
    assert case.is_failure
    assert "]]>" in case.result[0].text
    hashlib.md5(path.read_bytes(), usedforsecurity=False)  # readable bytes


# --------------------------------------------------------------------------------------------- both backends

STDLIB_SCRIPT = """
import json, sys
sys.modules["lxml"] = None  # junitparser must fall back to xml.etree
from pathlib import Path
from pytest_semaphore.junit import attach_logs, write_pipeline_report, LogAttachment, TestTarget, xml_backend
from pytest_semaphore.logs import Excerpt
from pytest_semaphore.models import Pipeline
hostile = json.loads(sys.argv[2])
work = Path(sys.argv[1])
ex = Excerpt("job" + hostile, "j1", "make" + hostile, 2, "failed", (hostile, "end"), 2, "non-zero exit code", "/l.log")
report = work / "r.xml"
report.write_text(
    '<testsuites><testsuite name="s"><testcase classname="c" name="n"><failure/></testcase></testsuite></testsuites>'
)
attach_logs(report, {TestTarget("c", "n"): LogAttachment((ex,), (("p", hostile),))})
ppl = Pipeline.from_api({"pipeline": {"ppl_id": "p", "wf_id": "w", "name": "CI" + hostile, "state": "done",
                                      "result": "failed"},
    "blocks": [{"name": "B", "block_id": "b", "state": "done", "result": "failed",
                "jobs": [{"name": "job", "job_id": "j1", "index": 0, "status": "FINISHED", "result": "FAILED"}]}]})
write_pipeline_report(work / "p.xml", ppl, excerpts={"j1": ex})
from pytest_semaphore.junit import read_report
cases = [case for name in ("r.xml", "p.xml") for suite in read_report(work / name) for case in suite]
assert [c.is_failure for c in cases] == [True, True], cases
print(json.dumps({"backend": xml_backend(), "lxml_loaded": "lxml.etree" in sys.modules}))
"""


@pytest.mark.parametrize("backend", ["stdlib", "lxml"])
def test_output_is_strict_xml_with_both_backends(tmp_path: Path, backend: str) -> None:
    if backend == "lxml":
        pytest.importorskip("lxml")
        script = STDLIB_SCRIPT.replace('sys.modules["lxml"] = None', "import lxml")
    else:
        script = STDLIB_SCRIPT
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), json.dumps(HOSTILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["backend"] == backend
    assert info["lxml_loaded"] == (backend == "lxml")
    for name in ("r.xml", "p.xml"):
        root = strict_check(tmp_path / name)
        text = ElementTree.tostring(root, encoding="unicode")
        assert "end" in text
        assert "red" in text


def test_in_process_backend_is_reported() -> None:
    assert xml_backend() in ("lxml", "stdlib")


def test_an_unwritable_destination_is_a_clear_error(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text('<testsuite name="s"><testcase classname="c" name="n"/></testsuite>')
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ReportError, match="cannot write the report there"):
        attach_logs(report, {TestTarget("c", "n"): LogAttachment((excerpt(),))}, output=blocker / "out.xml")


# --------------------------------------------------------------------------------------------- review: edge cases


def _report_with_cdata(path: Path) -> None:
    path.write_bytes(
        b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>\n<!-- written by a tool -->\n<testsuites>"
        b'<testsuite name="s"><testcase classname="c" name="n"><system-out><![CDATA[<b>already</b> & ]]]]><![CDATA[>'
        b"]]></system-out></testcase>"
        b'<testcase classname="c" name="n"><failure/></testcase>'  # a rerun plugin wrote the test twice
        b'<testcase classname="c" name="other"/></testsuite></testsuites>'
    )


def test_placeholders_write_exactly_what_the_tree_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lxml")
    if xml_backend() != "lxml":
        pytest.skip("placeholders are the lxml path")
    hostile = excerpt()
    tricky = Excerpt("j", "i", "c", 1, "failed", ("a & b < c > d\r\ne ]]> f \u00e9 \U0001f600 \t tab",), 1, "r", "/p")
    attachments = {
        TestTarget("c", "n"): LogAttachment((hostile, tricky), (("k", "v&<>\"'"),)),
        TestTarget("c", "other"): LogAttachment((tricky,)),
    }
    outputs = []
    for use in (True, False):
        monkeypatch.setattr("pytest_semaphore.junit.attach._USE_PLACEHOLDERS", use)
        report = tmp_path / f"r-{use}.xml"
        _report_with_cdata(report)
        attach_logs(report, attachments)
        outputs.append(report.read_bytes())
    assert outputs[0] == outputs[1]
    assert b"semaphore-excerpt-" not in outputs[0]
    root = strict_check(tmp_path / "r-True.xml")
    texts = [case.findtext("system-out") or "" for case in root.iter("testcase")]
    assert texts[0].startswith("<b>already</b> & ]]>\n")  # the CDATA content kept, ours appended after it
    assert "a & b < c > d" in texts[0]
    assert "a & b < c > d" in texts[2]
    assert texts[0].endswith(texts[1])  # both copies of the rerun test got it
    assert "exited with code 2" in texts[1]


def test_attaching_twice_changes_nothing(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    _report_with_cdata(report)
    attachments = {TestTarget("c", "n"): attachment_for(pipeline_json([]), [excerpt()], base_url="https://x.io")}
    attach_logs(report, attachments)
    once = report.read_bytes()
    attach_logs(report, attachments)
    assert report.read_bytes() == once
    assert once.count(b"[[ATTACHMENT|/logs/unit.log]]") == 2


def test_a_bom_does_not_hide_a_doctype(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    data = b'\xef\xbb\xbf<!DOCTYPE t [<!ENTITY a "b">]><testsuite name="&a;"/>'
    report.write_bytes(data)
    with pytest.raises(ReportError, match="document type declaration"):
        attach_logs(report, {})
    assert report.read_bytes() == data


def test_namespaced_root_is_refused_clearly(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text('<testsuites xmlns="urn:x"><testsuite name="s"/></testsuites>')
    with pytest.raises(ReportError, match=r"root element is <\{urn:x\}testsuites>"):
        attach_logs(report, {})


def test_directories_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="is a directory"):
        attach_logs(tmp_path, {})
    report = tmp_path / "r.xml"
    report.write_text('<testsuite name="s"><testcase classname="c" name="n"/></testsuite>')
    (tmp_path / "out").mkdir()
    with pytest.raises(ReportError, match="cannot write the report"):
        attach_logs(report, {TestTarget("c", "n"): LogAttachment((excerpt(),))}, output=tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "r.xml"]
    assert list((tmp_path / "out").iterdir()) == []


COMMENT_SCRIPT = """
import sys
sys.modules["lxml"] = None
from pathlib import Path
from pytest_semaphore.junit import LogAttachment, TestTarget, attach_logs, xml_backend
report = Path(sys.argv[1])
attach_logs(report, {TestTarget("c", "n"): LogAttachment((), (("k", "v"),))})
print(xml_backend())
"""


def test_the_stdlib_backend_keeps_comments_inside_the_report(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        '<testsuite name="s"><!-- keep me --><testcase classname="c" name="n"><?pi x?></testcase></testsuite>'
    )
    result = subprocess.run(
        [sys.executable, "-c", COMMENT_SCRIPT, str(report)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stdlib"
    text = report.read_text(encoding="utf-8")
    assert "<!-- keep me -->" in text
    assert "<?pi x?>" in text
    assert '<property name="k" value="v" />' in text
