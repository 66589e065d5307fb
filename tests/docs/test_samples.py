"""docs/samples.py, which writes the sample outputs docs/samples.md shows, writes what the page says it does."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from .scripts import docs_script

FAILED_JOB = "Unit tests - 2/3"  # of the bundled release train
FAILED_SHOP_JOB = "Unit tests - 2/2"  # of the example shop's failing scenario


@pytest.mark.slow
def test_the_samples_come_from_a_real_failing_gate(tmp_path: Path) -> None:
    module = docs_script("samples")
    written = module.generate(tmp_path)
    assert [path.name for path in written] == list(module.FILES)
    assert Path.cwd() != tmp_path, "generate() must give the working directory back"

    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert FAILED_JOB in html
    assert "make test PARTITION=$SEMAPHORE_JOB_INDEX" in html
    assert "https://myorg.semaphoreci.com/jobs/" in html
    assert "127.0.0.1" not in html, "the simulator's address leaked into the sample"

    report = etree.parse(str(tmp_path / "report.xml"), etree.XMLParser(resolve_entities=False))
    case, _ = report.iter("testcase")  # the example release tests, both red on the failing scenario
    assert case.get("name") == "test_a_push_to_main_is_built_tested_and_deployed"
    assert case.find("failure") is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["semaphore_pipeline_result"] == "failed"
    system_out = case.findtext("system-out") or ""
    attachment = system_out.splitlines()[0]
    assert attachment.startswith("[[ATTACHMENT|logs/")
    assert (tmp_path / attachment.removeprefix("[[ATTACHMENT|").removesuffix("]]")).is_file()
    assert system_out.splitlines()[-1].startswith(f'>>> Semaphore job "{FAILED_SHOP_JOB}"')

    tail = (tmp_path / "report-tail.txt").read_text(encoding="utf-8")
    assert len(tail) <= module.SEMAPHORE_OUTPUT_CHARS + 1
    assert system_out.endswith(tail.rstrip("\n"))

    pipeline = etree.parse(str(tmp_path / "pipeline.xml"), etree.XMLParser(resolve_entities=False))
    failed = [c.get("name") for c in pipeline.iter("testcase") if c.find("failure") is not None]
    assert failed == [FAILED_JOB]
    pretty = etree.parse(str(tmp_path / "pipeline.pretty.xml"), etree.XMLParser(resolve_entities=False))
    assert [c.findtext("failure") for c in pretty.iter("testcase")] == [
        c.findtext("failure") for c in pipeline.iter("testcase")
    ], "indenting for the page changed a failure's text"
