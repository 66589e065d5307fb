"""A pipeline as a JUnit report: a testsuite per block, a testcase per job.

A failed job carries its excerpt in ``<failure>``, a stopped one is an ``<error>``, a job that never ran is
``<skipped>`` (``describe_topology`` names the jobs of blocks that never started). Names are unique under
Semaphore's test-result ids (an MD5 of ``"<id>.<name>.<classname>.<package>.<file>"`` per suite), or its reader
would merge two jobs into one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..logs import Excerpt, LogSource, clean_text
from .properties import add_properties, clean_properties, job_url, pipeline_url
from .xmlio import attr, write_atomic, xml_api

if TYPE_CHECKING:
    from ..logs import ExcerptOptions
    from ..models import Block, BlockJob, Job, Pipeline, TopologyBlock

__all__ = ["PipelineSource", "pipeline_report", "write_pipeline_report", "write_pipeline_report_from_client"]


def _semaphore_test_key(name: str, classname: str) -> str:
    """The string Semaphore hashes into a test id (testcase ``id``, ``package`` and ``file`` are empty here)."""
    return f".{name}.{classname}.."


class _UniqueNames:
    """Hand out names that do not collide (after cleaning) under a given key function."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def take(self, name: str, key: Any = lambda n: n, disambiguator: str = "") -> str:
        candidate = name
        counter = 1
        while key(candidate) in self._seen:
            counter += 1
            suffix = f" [{disambiguator}]" if disambiguator and counter == 2 else f" ({counter})"
            candidate = f"{name}{suffix}"
        self._seen.add(key(candidate))
        return candidate


def _seconds(job: Job | None) -> float | None:
    if job is None or job.start_time is None or job.finish_time is None:
        return None
    return max((job.finish_time - job.start_time).total_seconds(), 0.0)


def _job_case(
    job: BlockJob | None,
    job_name: str,
    classname: str,
    *,
    skipped_reason: str | None,
    excerpt: Excerpt | None,
    details: Job | None,
    base_url: str | None,
) -> Any:
    import junitparser
    from junitparser import xunit2

    Error: Any = junitparser.Error
    Failure: Any = junitparser.Failure
    Skipped: Any = junitparser.Skipped
    TestCase: Any = xunit2.TestCase

    case = TestCase(job_name, classname, _seconds(details))
    etree = xml_api()
    props: list[tuple[str, str]] = []
    if job is not None and job.job_id:
        props.append(("semaphore_job_id", job.job_id))
        if base_url:
            props.append(("semaphore_job_url", job_url(base_url, job.job_id)))
    add_properties(etree, case._elem, clean_properties(props))
    if skipped_reason is not None:
        case.result = [Skipped(attr(skipped_reason))]
    elif job is not None and job.result == "failed":
        message = excerpt.summary() if excerpt is not None else f"job {job_name} failed (no log excerpt)"
        failure = Failure(attr(message)[:1000], "semaphore.job_failed")
        if excerpt is not None:
            failure.text = clean_text(excerpt.render())
        case.result = [failure]
    elif job is not None and job.result == "stopped":
        error = Error(attr(f"job {job_name} was stopped before it finished"), "semaphore.job_stopped")
        if excerpt is not None:
            error.text = clean_text(excerpt.render())
        case.result = [error]
    if excerpt is not None and excerpt.log_path:
        case.system_out = clean_text(f"[[ATTACHMENT|{excerpt.log_path}]]")
    return case


def _pipeline_error_suite(pipeline: Pipeline, suite_name: str, base_url: str | None) -> Any:
    import junitparser
    from junitparser import xunit2

    new_suite: Any = xunit2.TestSuite
    suite = new_suite(suite_name)
    suite.add_property("semaphore_pipeline_id", attr(pipeline.ppl_id))
    if base_url and pipeline.wf_id:
        suite.add_property("semaphore_pipeline_url", attr(pipeline_url(base_url, pipeline.wf_id, pipeline.ppl_id)))
    new_case: Any = xunit2.TestCase
    case = new_case("pipeline", suite_name)
    reason = pipeline.result_reason or "unknown reason"
    message = f"pipeline {pipeline.result} ({reason})" + (
        f": {pipeline.error_description}" if pipeline.error_description else ""
    )
    new_error: Any = junitparser.Error
    error = new_error(attr(message)[:1000], f"semaphore.pipeline_{pipeline.result}")
    error.text = clean_text(pipeline.error_description or message)
    case.result = [error]
    suite.add_testcases([case])
    return suite


def _block_cases(
    block: Block | None,
    topo_jobs: Sequence[str],
    classname: str,
    *,
    excerpts: Mapping[str, Excerpt],
    jobs: Mapping[str, Job],
    base_url: str | None,
) -> list[Any]:
    """The testcases of one block: its jobs if it started, else the job names its topology gives, all skipped.

    Names are made unique under Semaphore's test-result id (see :func:`_semaphore_test_key`), or its reader would
    merge two jobs called alike into one.
    """
    case_names = _UniqueNames()

    def key(name: str) -> str:
        return _semaphore_test_key(name, classname)

    cases = []
    if block is not None and block.jobs:
        for job in block.jobs:
            job_name = case_names.take(attr(job.name) or "job", key=key, disambiguator=job.job_id[:8])
            skipped = None if job.finished else f"job did not finish (status: {job.status or 'unknown'})"
            excerpt, details = excerpts.get(job.job_id), jobs.get(job.job_id)
            cases.append(
                _job_case(
                    job,
                    job_name,
                    classname,
                    skipped_reason=skipped,
                    excerpt=excerpt,
                    details=details,
                    base_url=base_url,
                )
            )
        return cases
    reason = "block was skipped" if block is not None and block.result_reason == "skipped" else "block never started"
    for job_name in topo_jobs or ("(block)",):
        unique = case_names.take(attr(job_name) or "job", key=key)
        cases.append(
            _job_case(None, unique, classname, skipped_reason=reason, excerpt=None, details=None, base_url=base_url)
        )
    return cases


def _topologies(
    ppl_list: Sequence[Pipeline], topology: Mapping[str, Sequence[TopologyBlock]] | Sequence[TopologyBlock] | None
) -> Mapping[str, Sequence[TopologyBlock]]:
    """``topology`` as a mapping by ``ppl_id`` (a plain sequence is accepted with a single pipeline)."""
    if isinstance(topology, Mapping):
        return topology
    if topology is None:
        return {}
    if len(ppl_list) == 1:
        return {ppl_list[0].ppl_id: topology}
    raise ValueError("with several pipelines, pass topology as a mapping {ppl_id: [TopologyBlock, ...]}")


def pipeline_report(
    pipelines: Pipeline | Sequence[Pipeline],
    *,
    topology: Mapping[str, Sequence[TopologyBlock]] | Sequence[TopologyBlock] | None = None,
    excerpts: Mapping[str, Excerpt] | None = None,
    jobs: Mapping[str, Job] | None = None,
    base_url: str | None = None,
    name: str | None = None,
) -> Any:
    """A pipeline (or several: a workflow and its promotions) as a junitparser ``JUnitXml``.

    ``pipelines`` come from ``describe_pipeline(ppl_id, detailed=True)``; ``topology`` is ``describe_topology`` per
    ``ppl_id`` (a plain sequence when there is one pipeline) and names the jobs of blocks that never started;
    ``excerpts`` and ``jobs`` (``describe_job``, for durations) are keyed by job id.

    A testsuite per block (named ``"<pipeline> / <block>"`` when several pipelines share the report), a testcase per
    job with the block as classname; failed jobs fail with their excerpt, stopped jobs are errors, jobs that never
    ran (unfinished, or in a block that never started) are skipped.
    """
    from junitparser import xunit2

    JUnitXml: Any = xunit2.JUnitXml
    TestSuite: Any = xunit2.TestSuite
    ppl_list: list[Pipeline] = [pipelines] if not isinstance(pipelines, Sequence) else list(pipelines)
    topologies = _topologies(ppl_list, topology)
    report_name = name or (ppl_list[0].name if len(ppl_list) == 1 else "Semaphore pipelines")
    xml = JUnitXml(attr(report_name or "Semaphore pipeline"))
    suite_names = _UniqueNames()
    for pipeline in ppl_list:
        known = {block.name for block in pipeline.blocks}
        entries: list[tuple[str, Block | None]] = [(block.name, block) for block in pipeline.blocks]
        entries += [(t.name, None) for t in topologies.get(pipeline.ppl_id, ()) if t.name not in known]
        topo_jobs = {t.name: t.jobs for t in topologies.get(pipeline.ppl_id, ())}
        if not entries and pipeline.result not in (None, "passed"):
            # No block ran at all (a malformed YAML, a pipeline canceled in the queue): say so, or the report
            # would be empty and read as "nothing failed".
            xml.append(_pipeline_error_suite(pipeline, suite_names.take(attr(pipeline.name) or "pipeline"), base_url))
            continue
        for block_name, block in entries:
            label = attr(block_name) or "block"
            if len(ppl_list) > 1:
                label = f"{attr(pipeline.name) or pipeline.ppl_id} / {label}"
            suite = TestSuite(suite_names.take(label))
            suite.add_property("semaphore_pipeline_id", attr(pipeline.ppl_id))
            if pipeline.wf_id:
                suite.add_property("semaphore_workflow_id", attr(pipeline.wf_id))
                if base_url:
                    suite.add_property(
                        "semaphore_pipeline_url", attr(pipeline_url(base_url, pipeline.wf_id, pipeline.ppl_id))
                    )
            cases = _block_cases(
                block,
                topo_jobs.get(block_name, ()),
                suite.name,
                excerpts=excerpts or {},
                jobs=jobs or {},
                base_url=base_url,
            )
            suite.add_testcases(cases)  # one statistics pass, never add_testcase in a loop
            xml.append(suite)
    xml.update_statistics()
    return xml


def write_pipeline_report(
    path: str | os.PathLike[str],
    pipelines: Pipeline | Sequence[Pipeline],
    **kwargs: Any,
) -> Path:
    """:func:`pipeline_report` written atomically to ``path``."""
    xml = pipeline_report(pipelines, **kwargs)
    target = Path(path)
    write_atomic(xml._elem, target)
    return target


class PipelineSource(LogSource, Protocol):
    """What :func:`write_pipeline_report_from_client` reads from a client: the pipeline, its topology, the UI's
    address, and (through :class:`~pytest_semaphore.logs.LogSource`) the failed jobs' logs."""

    @property
    def base_url(self) -> str: ...

    def describe_pipeline(self, ppl_id: str, *, detailed: bool = ...) -> Pipeline: ...

    def describe_topology(self, ppl_id: str) -> Sequence[TopologyBlock]: ...


def write_pipeline_report_from_client(
    client: PipelineSource,
    ppl_id: str,
    path: str | os.PathLike[str],
    *,
    options: ExcerptOptions | None = None,
) -> Path:
    """The thin convenience for the CLI and the plugin: describe the pipeline and its topology, fetch the excerpts
    of its failed jobs (see :func:`~pytest_semaphore.logs.fetch_failed_excerpts`), and write the report."""
    from ..logs import fetch_failed_excerpts

    pipeline = client.describe_pipeline(ppl_id, detailed=True)
    topology = client.describe_topology(ppl_id)
    excerpts = fetch_failed_excerpts(client, pipeline, options=options)
    return write_pipeline_report(path, pipeline, topology=topology, excerpts=excerpts, base_url=client.base_url)
