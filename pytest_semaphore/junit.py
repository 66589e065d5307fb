"""JUnit reports with Semaphore job logs in them: attach excerpts to an existing report, or report a pipeline as JUnit.

Two jobs, one set of rules:

* **Attach** (:func:`attach_logs`): a pytest report already lists the failed tests; the ones that waited on a
  pipeline get the failed jobs' excerpts appended to their ``<system-out>``, ``[[ATTACHMENT|path]]`` lines for the
  full logs (the convention Jenkins and GitLab read), and ``<properties>`` with pipeline/job ids and UI links.
  Testcases are found by ``classname``/``name`` or by a pytest node id mangled exactly as pytest's junitxml does.
* **Pipeline as JUnit** (:func:`pipeline_report`): a testsuite per block, a testcase per job; a failed job carries
  its excerpt in ``<failure>``, a job that never ran is ``<skipped>`` (``describe_topology`` names the jobs of
  blocks that never started). Names are unique under Semaphore's test-result ids (an MD5 of
  ``"<id>.<name>.<classname>.<package>.<file>"`` per suite), or its reader would merge two jobs into one.

Rules for every write (``docs/semaphore-api.md`` section 6, and how pytest writes its own reports):

* junitparser sanitises nothing, and its two backends fail differently (stdlib etree writes invalid XML, lxml
  raises); Semaphore's Go parser rejects the *whole file* for one ESC. Every string we write goes through
  :func:`~pytest_semaphore.logs.clean_text`, so the output is valid whichever backend junitparser picked.
* Semaphore keeps the last 1000 characters of an output field: excerpts go last, and end with their summary.
* Input that is not XML, not JUnit, or carries a DTD (the XML-bomb and external-entity vectors; JUnit never needs
  one) raises :class:`~pytest_semaphore.errors.ReportError`, and the file is left untouched. Writes are atomic.
* Big reports are edited through a dict index built in one pass, never with ``add_testcase`` in a loop (each call
  recounts the whole suite: quadratic).
"""

from __future__ import annotations

import copy
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .atomic import AtomicFile
from .errors import ReportError
from .logs import SUMMARY_BUDGET_BYTES, Excerpt, clean_text

if TYPE_CHECKING:
    from .models import Block, BlockJob, Job, Pipeline, TopologyBlock

__all__ = [
    "AttachResult",
    "LogAttachment",
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

#: How far into a file its root element must start; a longer prolog is refused rather than searched.
_PROLOG_LIMIT = 1024 * 1024


def _etree() -> Any:
    """The ElementTree implementation junitparser picked (lxml if importable, else the stdlib)."""
    from junitparser import junitparser

    return getattr(junitparser, "etree")  # noqa: B009  (not re-exported, hence getattr for the type checker)


def xml_backend() -> str:
    """``"lxml"`` or ``"stdlib"``: which backend junitparser (and so this module) is using."""
    return "lxml" if _etree().__name__.startswith("lxml") else "stdlib"


def _attr(text: str) -> str:
    """A single-line value cleaned for an XML attribute."""
    return " ".join(clean_text(text).split())


# --------------------------------------------------------------------------------------------------- URLs


def pipeline_url(base_url: str, wf_id: str, ppl_id: str) -> str:
    """The Semaphore UI page of a pipeline: ``{base}/workflows/{wf_id}?pipeline_id={ppl_id}``."""
    return f"{base_url.rstrip('/')}/workflows/{quote(wf_id, safe='')}?pipeline_id={quote(ppl_id, safe='')}"


def job_url(base_url: str, job_id: str) -> str:
    """The Semaphore UI page of a job: ``{base}/jobs/{job_id}``."""
    return f"{base_url.rstrip('/')}/jobs/{quote(job_id, safe='')}"


# --------------------------------------------------------------------------------------------------- reading safely


def _prolog_text(head: bytes) -> str:
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return head.decode("utf-32", "replace")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "replace")
    if head[:4] == b"<\x00?\x00":
        return head.decode("utf-16-le", "replace")
    if head[:4] == b"\x00<\x00?":
        return head.decode("utf-16-be", "replace")
    # Markup is ASCII in every ASCII-compatible encoding; the UTF-8 byte order mark is not, so it goes first
    # (otherwise "\xef\xbb\xbf<!DOCTYPE" would not look like a DOCTYPE).
    return head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


def _check_prolog(path: Path) -> None:
    """Refuse a DTD before parsing: billion laughs, quadratic blowup and external entities all need one.

    A ``<!DOCTYPE`` can only stand before the root element (anywhere else it is a syntax error the parser reports),
    so reading the prolog is enough; no parser option has to be trusted. The first 64 KiB nearly always hold it;
    a longer prolog (a huge comment) is read up to :data:`_PROLOG_LIMIT` bytes.
    """
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
        while True:
            text = _prolog_text(head).lstrip("\ufeff")
            position = 0
            while True:
                match = _PROLOG_ITEM.match(text, position)
                if match is None or match.end() == position:
                    break
                position = match.end()
            remaining = text[position : position + 65]
            if (len(remaining) > 64 and not remaining.startswith(("<!--", "<?"))) or len(head) >= _PROLOG_LIMIT:
                break  # the prolog ended well inside what was read (a comment cut at the end needs a longer look)
            more = handle.read(_PROLOG_LIMIT - len(head))
            if not more:
                break
            head += more
    rest = text[position : position + 16]
    if len(head) >= _PROLOG_LIMIT and (position >= len(text) or rest.startswith(("<!--", "<?"))):
        raise ReportError(f"{path}: no root element in the first {_PROLOG_LIMIT} bytes; this is not a JUnit report")
    if rest.startswith("<!") and not rest.startswith("<!--"):
        raise ReportError(
            f"{path}: the XML has a document type declaration (<!DOCTYPE ...>); JUnit reports never need one and it "
            "can carry entity-expansion bombs or external entities, so the file was not read. Remove the DOCTYPE."
        )


def _parse(path: Path) -> Any:
    """Check and parse a report; its root element (of whichever backend junitparser uses).

    Parsed by file name, not from a ``bytes`` copy: lxml then reads in small chunks, and allocating (and
    page-faulting) a buffer the size of the report costs more than the parse saves.
    """
    etree = _etree()
    try:
        _check_prolog(path)
    except FileNotFoundError:
        raise ReportError(f"{path}: no such JUnit report (expected an XML file written by the test run)") from None
    except IsADirectoryError:
        raise ReportError(f"{path}: is a directory, not a JUnit report file") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read the report ({exc.strerror or exc})") from None
    try:
        if xml_backend() == "lxml":
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
            tree = etree.parse(str(path), parser)
        else:  # keep comments and processing instructions inside the root, as lxml does
            builder = etree.TreeBuilder(insert_comments=True, insert_pis=True)
            tree = etree.parse(str(path), etree.XMLParser(target=builder))
    except SyntaxError as exc:  # stdlib ParseError and lxml XMLSyntaxError are both SyntaxErrors
        raise ReportError(f"{path}: not well-formed XML ({exc}); is this really a JUnit report?") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read the report ({exc})") from None
    root = tree.getroot()
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(
            f"{path}: the root element is <{_attr(str(root.tag))[:80]}>, not <testsuites> or <testsuite>: "
            "this is not a JUnit report"
        )
    return root


def read_report(path: str | os.PathLike[str]) -> Any:
    """Parse a JUnit report with the checks above and return it as a junitparser ``JUnitXml``."""
    from junitparser import xunit2

    junit_xml: Any = xunit2.JUnitXml
    return junit_xml.fromroot(_parse(Path(path)))


def _serialise(etree: Any, root: Any, placeholders: Mapping[str, tuple[str, int]]) -> list[bytes]:
    """The document's bytes (lxml), in pieces, with every placeholder replaced by its text, escaped by lxml itself.

    Why placeholders: libxml2 escapes text byte by byte, and 200 excerpts of 5 KB stored in the tree cost more to
    create, serialise and free than parsing the whole 20,000-testcase report. A placeholder is a short ASCII token
    (with a random part: it cannot occur in the report by chance); its text is escaped once by serialising a
    one-element document, so the output is byte for byte what lxml would have written with the text in the tree
    (a test checks that). ``placeholders`` maps each token to ``(text, uses)``; a count that does not match is an
    internal error, never a corrupt report.
    """
    data: bytes = etree.tostring(etree.ElementTree(root), encoding="UTF-8", xml_declaration=True)
    pieces = [data]
    for token, (text, uses) in placeholders.items():
        holder = etree.Element("x")
        holder.text = text
        escaped: bytes = etree.tostring(holder, encoding="UTF-8")[len(b"<x>") : -len(b"</x>")]
        marker = token.encode("ascii")
        split: list[bytes] = []
        for piece in pieces:
            parts = piece.split(marker)
            split.append(parts[0])
            for part in parts[1:]:
                split += (escaped, part)
        if (len(split) - len(pieces)) // 2 != uses:
            raise AssertionError(f"placeholder {token} found {(len(split) - len(pieces)) // 2} times, not {uses}")
        pieces = split
    return pieces


def _write_atomic(root: Any, path: Path, placeholders: Mapping[str, tuple[str, int]] | None = None) -> None:
    """Serialise ``root`` into an :class:`~pytest_semaphore.atomic.AtomicFile` at ``path``.

    ``placeholders`` (lxml only) are replaced by their texts as the bytes are written (see :func:`_serialise`).
    Any failure leaves ``path`` as it was and no temporary file behind.
    """
    etree = _etree()
    with AtomicFile(path, what="report") as out:
        if xml_backend() == "lxml":
            # Serialised in C in one piece and written with one call per piece: faster than ``tree.write(name)``,
            # which goes through libxml2's small output buffers; the bytes are the same (``"UTF-8"`` keeps the
            # declaration's spelling).
            out.file.writelines(_serialise(etree, root, placeholders or {}))
        else:
            etree.ElementTree(root).write(out.file, encoding="utf-8", xml_declaration=True)


# --------------------------------------------------------------------------------------------------- attaching


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


def _first_children(case: Any) -> dict[str, tuple[int, Any]]:
    """The position and element of the first child of each tag, in one pass over the (few) children.

    Cheaper than ``find`` per tag: lxml's ``find`` goes through its Python ``ElementPath`` machinery, which costs
    more than the whole loop, and this runs for every edited testcase.
    """
    first: dict[str, tuple[int, Any]] = {}
    for index, child in enumerate(case):
        tag = child.tag
        if isinstance(tag, str) and tag not in first:  # comments and processing instructions have no str tag
            first[tag] = (index, child)
    return first


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


def _clean_properties(properties: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(_attr(name), _attr(value)) for name, value in properties]


def _new_properties(etree: Any, properties: Sequence[tuple[str, str]]) -> Any:
    """A ``<properties>`` element with one ``<property>`` per distinct already-cleaned pair, in order."""
    props = etree.Element("properties")
    for name, value in dict.fromkeys(properties):
        etree.SubElement(props, "property", {"name": name, "value": value})
    return props


def _add_properties(
    etree: Any,
    case: Any,
    properties: Sequence[tuple[str, str]],
    children: Mapping[str, tuple[int, Any]] | None = None,
    template: Any = None,
) -> None:
    """Add already-cleaned ``(name, value)`` pairs to the testcase's ``<properties>`` (its first child).

    Pairs already present are not added again, so attaching twice changes nothing. ``template`` (the
    :func:`_new_properties` of these pairs) is copied when the testcase has no ``<properties>`` yet: one copy in C
    instead of building three elements per testcase.
    """
    if not properties:
        return
    found = (children if children is not None else _first_children(case)).get("properties")
    if found is None:
        case.insert(0, copy.deepcopy(template) if template is not None else _new_properties(etree, properties))
        return
    props = found[1]
    present = {(p.get("name"), p.get("value")) for p in props.iterfind("property")}
    for pair in properties:
        if pair not in present:
            present.add(pair)
            etree.SubElement(props, "property", {"name": pair[0], "value": pair[1]})


@dataclass
class _Prepared:
    """One attachment rendered and cleaned once, however many testcases share it.

    With lxml its text goes into the tree as ``placeholder`` and into the file at serialisation
    (:func:`_serialise`); ``uses`` counts the testcases that received it.
    """

    text: str
    properties: list[tuple[str, str]]
    template: Any
    placeholder: str | None
    uses: int = 0

    @classmethod
    def of(cls, etree: Any, attachment: LogAttachment, placeholder: str | None) -> _Prepared:
        properties = _clean_properties(attachment.properties)
        template = _new_properties(etree, properties) if properties else None
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
    root = _parse(source)
    etree = _etree()
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
        children = _first_children(case)
        # system-out first: inserting <properties> at position 0 shifts the positions in ``children``.
        if ready.text and _append_system_out(etree, case, ready.text, children, ready.placeholder):
            ready.uses += 1
        _add_properties(etree, case, ready.properties, children, ready.template)
    del hits
    placeholders = {r.placeholder: (r.text, r.uses) for r in prepared.values() if r.placeholder}
    _write_atomic(root, Path(output) if output is not None else source, placeholders)
    return AttachResult(
        attached=tuple(t for t in order if (t.classname, t.name) in found),
        missing=tuple(t for t in order if (t.classname, t.name) not in found),
        path=Path(output) if output is not None else source,
    )


def failed_testcases(report: str | os.PathLike[str]) -> list[TestTarget]:
    """The testcases of a report that failed or errored (a ``<failure>`` or ``<error>`` child), in report order.

    What ``semaphore-gate attach-logs`` attaches to when no test is named: the tests a reader of the report will
    open first. A testcase reported twice (a rerun plugin) is listed once.
    """
    root = _parse(Path(report))
    found: dict[TestTarget, None] = {}
    for case in root.iter("testcase"):
        if any(child.tag in ("failure", "error") for child in case):
            found[TestTarget(case.get("classname") or case.get("class") or "", case.get("name") or "")] = None
    return list(found)


# --------------------------------------------------------------------------------------------------- pipeline report


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
    etree = _etree()
    props: list[tuple[str, str]] = []
    if job is not None and job.job_id:
        props.append(("semaphore_job_id", job.job_id))
        if base_url:
            props.append(("semaphore_job_url", job_url(base_url, job.job_id)))
    _add_properties(etree, case._elem, _clean_properties(props))
    if skipped_reason is not None:
        case.result = [Skipped(_attr(skipped_reason))]
    elif job is not None and job.result == "failed":
        message = excerpt.summary() if excerpt is not None else f"job {job_name} failed (no log excerpt)"
        failure = Failure(_attr(message)[:1000], "semaphore.job_failed")
        if excerpt is not None:
            failure.text = clean_text(excerpt.render())
        case.result = [failure]
    elif job is not None and job.result == "stopped":
        error = Error(_attr(f"job {job_name} was stopped before it finished"), "semaphore.job_stopped")
        if excerpt is not None:
            error.text = clean_text(excerpt.render())
        case.result = [error]
    if excerpt is not None and excerpt.log_path:
        case.system_out = clean_text(f"[[ATTACHMENT|{excerpt.log_path}]]")
    return case


def _pipeline_error_suite(ppl: Pipeline, suite_name: str, base_url: str | None) -> Any:
    import junitparser
    from junitparser import xunit2

    new_suite: Any = xunit2.TestSuite
    suite = new_suite(suite_name)
    suite.add_property("semaphore_pipeline_id", _attr(ppl.ppl_id))
    if base_url and ppl.wf_id:
        suite.add_property("semaphore_pipeline_url", _attr(pipeline_url(base_url, ppl.wf_id, ppl.ppl_id)))
    new_case: Any = xunit2.TestCase
    case = new_case("pipeline", suite_name)
    reason = ppl.result_reason or "unknown reason"
    message = f"pipeline {ppl.result} ({reason})" + (f": {ppl.error_description}" if ppl.error_description else "")
    new_error: Any = junitparser.Error
    error = new_error(_attr(message)[:1000], f"semaphore.pipeline_{ppl.result}")
    error.text = clean_text(ppl.error_description or message)
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
            job_name = case_names.take(_attr(job.name) or "job", key=key, disambiguator=job.job_id[:8])
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
        unique = case_names.take(_attr(job_name) or "job", key=key)
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
    xml = JUnitXml(_attr(report_name or "Semaphore pipeline"))
    suite_names = _UniqueNames()
    for ppl in ppl_list:
        known = {block.name for block in ppl.blocks}
        entries: list[tuple[str, Block | None]] = [(block.name, block) for block in ppl.blocks]
        entries += [(t.name, None) for t in topologies.get(ppl.ppl_id, ()) if t.name not in known]
        topo_jobs = {t.name: t.jobs for t in topologies.get(ppl.ppl_id, ())}
        if not entries and ppl.result not in (None, "passed"):
            # No block ran at all (a malformed YAML, a pipeline canceled in the queue): say so, or the report
            # would be empty and read as "nothing failed".
            xml.append(_pipeline_error_suite(ppl, suite_names.take(_attr(ppl.name) or "pipeline"), base_url))
            continue
        for block_name, block in entries:
            label = _attr(block_name) or "block"
            if len(ppl_list) > 1:
                label = f"{_attr(ppl.name) or ppl.ppl_id} / {label}"
            suite = TestSuite(suite_names.take(label))
            suite.add_property("semaphore_pipeline_id", _attr(ppl.ppl_id))
            if ppl.wf_id:
                suite.add_property("semaphore_workflow_id", _attr(ppl.wf_id))
                if base_url:
                    suite.add_property("semaphore_pipeline_url", _attr(pipeline_url(base_url, ppl.wf_id, ppl.ppl_id)))
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
    _write_atomic(xml._elem, target)
    return target


def write_pipeline_report_from_client(
    client: Any,
    ppl_id: str,
    path: str | os.PathLike[str],
    *,
    log_dir: str | os.PathLike[str] | None = None,
    **excerpt_options: Any,
) -> Path:
    """The thin convenience for the CLI and the plugin: describe the pipeline and its topology, fetch the excerpts
    of its failed jobs (see :func:`~pytest_semaphore.logs.fetch_failed_excerpts`), and write the report."""
    from .logs import fetch_failed_excerpts

    pipeline = client.describe_pipeline(ppl_id, detailed=True)
    topology = client.describe_topology(ppl_id)
    excerpts = fetch_failed_excerpts(client, pipeline, log_dir=log_dir, **excerpt_options)
    return write_pipeline_report(path, pipeline, topology=topology, excerpts=excerpts, base_url=client.base_url)
