"""Excerpts attached to an existing JUnit report: the tests that waited on a pipeline get its failed jobs' logs.

A pytest report already lists the failed tests; the ones that waited on a pipeline get the failed jobs' excerpts
appended to their ``<system-out>``, ``[[ATTACHMENT|path]]`` lines for the full logs (the convention Jenkins and
GitLab read), and ``<properties>`` with pipeline/job ids and UI links. Testcases are found by ``classname``/``name``
or by a pytest node id mangled exactly as pytest's junitxml does.

Semaphore keeps the last 1000 characters of an output field: excerpts go last, and end with their summary. Big
reports are edited through one pass over the testcases, never with ``add_testcase`` in a loop (each call recounts
the whole suite: quadratic).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..logs import SUMMARY_BUDGET_BYTES, Excerpt, clean_text
from .properties import add_properties, clean_properties, first_children, job_url, new_properties, pipeline_url
from .xmlio import parse, write_atomic, xml_api, xml_backend

if TYPE_CHECKING:
    from ..models import Pipeline

__all__ = ["AttachResult", "LogAttachment", "TestTarget", "attach_logs", "attachment_for", "failed_testcases"]


# pytest's own escaping of testcase names (``_pytest.junitxml.bin_xml_escape``), including its odd range literal,
# so that a node id maps to the name pytest wrote.
_PYTEST_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\u007e\u0080-\ud7ff\ue000-\ufffd\u10000-\u10ffff]")


def _pytest_escape(text: str) -> str:
    if text.isascii() and text.isprintable():  # the usual case, without a regular expression
        return text
    return _PYTEST_ILLEGAL.sub(
        lambda m: f"#x{ord(m.group()):02X}" if ord(m.group()) <= 0xFF else f"#x{ord(m.group()):04X}", text
    )


@dataclass(frozen=True)
class TestTarget:
    """Which ``<testcase>`` to attach to: its ``classname`` and ``name`` attributes."""

    __test__ = False  # not a pytest test class

    classname: str
    name: str

    @classmethod
    def from_nodeid(cls, nodeid: str, *, prefix: str | None = None) -> TestTarget:
        """Mangle a pytest node id as ``_pytest.junitxml.mangle_test_address`` does.

        ``tests/test_x.py::TestA::test_b[1-2]`` becomes classname ``tests.test_x.TestA``, name ``test_b[1-2]``;
        ``prefix`` is pytest's ``junit_prefix`` ini value.
        """
        path, bracket, params = nodeid.partition("[")
        names = path.split("::")
        module = names[0].replace("/", ".")
        names[0] = module[:-3] if module.endswith(".py") else module
        names[-1] += bracket + params
        classnames = names[:-1]
        if prefix:
            classnames.insert(0, prefix)
        return cls(".".join(classnames), _pytest_escape(names[-1]))


@dataclass(frozen=True)
class LogAttachment:
    """What to attach to one testcase: excerpts (with their full-log paths) and properties."""

    excerpts: tuple[Excerpt, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        """``[[ATTACHMENT|path]]`` lines first, then each excerpt; the last excerpt's summary ends the text."""
        lines = [f"[[ATTACHMENT|{clean_text(e.log_path).strip()}]]" for e in self.excerpts if e.log_path]
        blocks = ["\n".join(lines)] if lines else []
        blocks += [e.render() for e in self.excerpts]
        if len(self.excerpts) > 1:
            blocks.append(_jobs_line(self.excerpts))
        return clean_text("\n\n".join(blocks))


def _jobs_line(excerpts: Sequence[Excerpt]) -> str:
    """With several excerpts, one last line naming every failed job, its command and exit code, in 900 bytes."""
    for name_limit, cmd_limit in ((60, 80), (30, 40), (16, 20), (8, 0)):
        parts = []
        for e in excerpts:
            part = _shorten(" ".join(clean_text(e.job_name).split()), name_limit)
            if e.directive is not None and cmd_limit:
                part += f" `{_shorten(' '.join(clean_text(e.directive).split()), cmd_limit)}`"
            part += f" exit {e.exit_code}" if e.exit_code is not None else f" {e.job_result or 'ended'}"
            parts.append(part)
        line = f">>> {len(excerpts)} Semaphore jobs failed: " + "; ".join(parts)
        if len(line.encode("utf-8")) <= SUMMARY_BUDGET_BYTES:
            return line
    return line.encode("utf-8")[:SUMMARY_BUDGET_BYTES].decode("utf-8", "ignore")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


def attachment_for(
    pipeline: Pipeline,
    excerpts: Iterable[Excerpt] = (),
    *,
    base_url: str | None = None,
) -> LogAttachment:
    """The standard attachment for a test that waited on ``pipeline``: its excerpts plus id and URL properties."""
    excerpts = tuple(excerpts)
    props: list[tuple[str, str]] = [("semaphore_pipeline_id", pipeline.ppl_id)]
    if pipeline.wf_id:
        props.append(("semaphore_workflow_id", pipeline.wf_id))
    if pipeline.result:
        props.append(("semaphore_pipeline_result", pipeline.result))
    if base_url and pipeline.wf_id:
        props.append(("semaphore_pipeline_url", pipeline_url(base_url, pipeline.wf_id, pipeline.ppl_id)))
    for excerpt in excerpts:
        if excerpt.job_id:
            props.append(("semaphore_job_id", excerpt.job_id))
            if base_url:
                props.append(("semaphore_job_url", job_url(base_url, excerpt.job_id)))
    return LogAttachment(excerpts=excerpts, properties=tuple(props))


@dataclass(frozen=True)
class AttachResult:
    """What :func:`attach_logs` did: the targets it found, those it did not, and the file it wrote."""

    attached: tuple[TestTarget, ...]
    missing: tuple[TestTarget, ...]
    path: Path


def _append_system_out(
    etree: Any, case: Any, text: str, children: Mapping[str, tuple[int, Any]], placeholder: str | None = None
) -> bool:
    """Append ``text`` (or ``placeholder``, standing for it) to the testcase's ``<system-out>``.

    The element is created before ``<system-err>``, as pytest orders them. Attaching the same text twice (a re-run
    of the post-processing) leaves the element as it was. True when something was appended.
    """
    found = children.get("system-out")
    if found is None:
        out = etree.Element("system-out")
        err = children.get("system-err")
        if err is not None:
            case.insert(err[0], out)
        else:
            case.append(out)
        out.text = placeholder or text
        return True
    out = found[1]
    existing = out.text or ""
    if existing.endswith(text):
        return False
    separator = "\n" if existing and not existing.endswith("\n") else ""
    out.text = existing + separator + (placeholder or text)
    return True


@dataclass
class _Prepared:
    """One attachment rendered and cleaned once, however many testcases share it.

    With lxml its text goes into the tree as ``placeholder`` and into the file at serialisation
    (:func:`serialise`); ``uses`` counts the testcases that received it.
    """

    text: str
    properties: list[tuple[str, str]]
    template: Any
    placeholder: str | None
    uses: int = 0

    @classmethod
    def of(cls, etree: Any, attachment: LogAttachment, placeholder: str | None) -> _Prepared:
        properties = clean_properties(attachment.properties)
        template = new_properties(etree, properties) if properties else None
        return cls(attachment.text(), properties, template, placeholder)


#: Whether :func:`attach_logs` writes excerpts through placeholders with lxml (a switch for the test that checks
#: the output is the same either way).
_USE_PLACEHOLDERS = True


def attach_logs(
    report: str | os.PathLike[str],
    attachments: Mapping[TestTarget, LogAttachment]
    | Mapping[str, LogAttachment]
    | Mapping[TestTarget | str, LogAttachment],
    *,
    junit_prefix: str | None = None,
    output: str | os.PathLike[str] | None = None,
) -> AttachResult:
    """Attach log excerpts and properties to testcases of an existing JUnit report, in place (or into ``output``).

    Keys are :class:`TestTarget` or pytest node ids (mangled with ``junit_prefix``). Every testcase matching a key
    gets the attachment (a rerun plugin may write one test twice). The report is parsed once, indexed in one pass,
    and written atomically; on any error the file is left as it was.
    """
    source = Path(report)
    root = parse(source)
    etree = xml_api()
    wanted: dict[tuple[str, str], LogAttachment] = {}
    order: list[TestTarget] = []
    items: Iterable[tuple[TestTarget | str, LogAttachment]] = attachments.items()
    for key, attachment in items:
        target = TestTarget.from_nodeid(key, prefix=junit_prefix) if isinstance(key, str) else key
        wanted[(target.classname, target.name)] = attachment
        order.append(target)
    names = {name for _, name in wanted}
    # The scan is the one per-testcase cost of attaching: one attribute read per testcase, and only the few
    # wanted ones are touched further. (No junitparser object per testcase: building 20,000 proxies cost more
    # than the parse.) The key is ``bytes`` so lxml need not encode it 20,000 times; the stdlib wants ``str``.
    name_key: Any = b"name" if xml_backend() == "lxml" else "name"
    hits = [case for case in root.iter("testcase") if case.get(name_key) in names]
    prepared: dict[int, _Prepared] = {}  # one attachment is often shared by many tests: render and clean it once
    token = secrets.token_hex(16) if _USE_PLACEHOLDERS and xml_backend() == "lxml" else None
    found: set[tuple[str, str]] = set()
    for case in hits:
        case_key = (case.get("classname") or case.get("class") or "", case.get("name") or "")
        wanted_here = wanted.get(case_key)
        if wanted_here is None:
            continue
        found.add(case_key)
        ready = prepared.get(id(wanted_here))
        if ready is None:
            placeholder = f"semaphore-excerpt-{token}-{len(prepared)}." if token else None
            ready = prepared[id(wanted_here)] = _Prepared.of(etree, wanted_here, placeholder)
        children = first_children(case)
        # system-out first: inserting <properties> at position 0 shifts the positions in ``children``.
        if ready.text and _append_system_out(etree, case, ready.text, children, ready.placeholder):
            ready.uses += 1
        add_properties(etree, case, ready.properties, children, ready.template)
    del hits
    placeholders = {r.placeholder: (r.text, r.uses) for r in prepared.values() if r.placeholder}
    write_atomic(root, Path(output) if output is not None else source, placeholders)
    return AttachResult(
        attached=tuple(t for t in order if (t.classname, t.name) in found),
        missing=tuple(t for t in order if (t.classname, t.name) not in found),
        path=Path(output) if output is not None else source,
    )


def failed_testcases(report: str | os.PathLike[str]) -> list[TestTarget]:
    """The testcases of a report that failed or errored (a ``<failure>`` or ``<error>`` child), in report order.

    What ``semaphore-gate attach-logs`` attaches to when no test is named: the tests a reader of the report opens
    first. A testcase reported twice (a rerun plugin) is listed once.
    """
    root = parse(Path(report))
    found: dict[TestTarget, None] = {}
    for case in root.iter("testcase"):
        if any(child.tag in ("failure", "error") for child in case):
            found[TestTarget(case.get("classname") or case.get("class") or "", case.get("name") or "")] = None
    return list(found)
