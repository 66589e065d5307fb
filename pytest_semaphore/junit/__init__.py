"""JUnit reports with Semaphore job logs in them: attach excerpts to an existing report, or report a pipeline as JUnit.

Two jobs, one set of rules (docs/junit.md):

* :mod:`.attach`: a pytest report already lists the failed tests; the ones that waited on a pipeline get the failed
  jobs' excerpts, full-log attachment lines and id/URL properties (:func:`attach_logs`).
* :mod:`.pipeline`: a pipeline as a report of its own, a testsuite per block and a testcase per job
  (:func:`pipeline_report`).
* :mod:`.properties`: the ``<properties>`` both write, and the Semaphore UI links in them.
* :mod:`.xmlio`: reading a report safely (no DTD, JUnit only), the XML backend junitparser picked, atomic writes.

Every string written is cleaned with :func:`~pytest_semaphore.logs.clean_text`, so the output is valid whichever
backend junitparser picked and for Semaphore's strict Go parser; on any error the file given is left as it was.
"""

from __future__ import annotations

from .attach import AttachResult, LogAttachment, TestTarget, attach_logs, attachment_for, failed_testcases
from .pipeline import PipelineSource, pipeline_report, write_pipeline_report, write_pipeline_report_from_client
from .properties import job_url, pipeline_url
from .xmlio import read_report, xml_backend

__all__ = [
    "AttachResult",
    "LogAttachment",
    "PipelineSource",
    "TestTarget",
    "attach_logs",
    "attachment_for",
    "failed_testcases",
    "job_url",
    "pipeline_report",
    "pipeline_url",
    "read_report",
    "write_pipeline_report",
    "write_pipeline_report_from_client",
    "xml_backend",
]
