"""JUnit files read safely and written atomically, with whichever XML backend junitparser picked.

* Input that is not XML, not JUnit, or carries a DTD (the XML-bomb and external-entity vectors; JUnit never needs
  one) raises :class:`~pytest_semaphore.errors.ReportError`, and the file is left untouched.
* junitparser sanitises nothing, and its two backends fail differently (stdlib etree writes invalid XML, lxml
  raises); Semaphore's Go parser rejects the *whole file* for one ESC. Every string written goes through
  :func:`~pytest_semaphore.logs.clean_text` (:func:`attr` for attribute values).
* Writes go through :class:`~pytest_semaphore.atomic.AtomicFile`: a reader sees the old report or the new one.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from ..atomic import AtomicFile
from ..errors import ReportError
from ..logs import clean_text

__all__ = ["attr", "parse", "read_report", "serialise", "write_atomic", "xml_api", "xml_backend"]

#: How far into a file its root element must start; a longer prolog is refused rather than searched.
_PROLOG_LIMIT = 1024 * 1024


def xml_api() -> Any:
    """The ElementTree implementation junitparser picked (lxml if importable, else the stdlib)."""
    from junitparser import junitparser

    return getattr(junitparser, "etree")  # noqa: B009  (not re-exported, hence getattr for the type checker)


def xml_backend() -> str:
    """``"lxml"`` or ``"stdlib"``: which backend junitparser (and so this module) is using."""
    return "lxml" if xml_api().__name__.startswith("lxml") else "stdlib"


def attr(text: str) -> str:
    """A single-line value cleaned for an XML attribute."""
    return " ".join(clean_text(text).split())


#: Byte-order marks and, without one, the first bytes of ``<`` in each wide encoding (the XML 1.0 recommendation's
#: appendix F): what an XML parser reads the document as. UTF-32 before UTF-16, whose marks are their prefixes.
_WIDE_STARTS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", 4),
    (b"\x00\x00\xfe\xff", "utf-32-be", 4),
    (b"\xff\xfe", "utf-16-le", 2),
    (b"\xfe\xff", "utf-16-be", 2),
    (b"\x3c\x00\x00\x00", "utf-32-le", 0),
    (b"\x00\x00\x00\x3c", "utf-32-be", 0),
    (b"\x3c\x00", "utf-16-le", 0),
    (b"\x00\x3c", "utf-16-be", 0),
)
#: Encodings in which the markup (``<``, ``!``, ``?``, letters) is the ASCII bytes, so the prolog read as latin-1
#: shows exactly the declarations a parser sees. Any other declared encoding (UTF-7, EBCDIC, ISO-2022, or UTF-16
#: and UTF-32 in a file whose first bytes say otherwise) could hide a DOCTYPE from this check, so it is refused.
_ASCII_MARKUP = re.compile(
    r"(?:utf-?8|us-ascii|ascii|iso[-_]?8859-\d{1,2}|latin-?1|l1|(?:windows|cp)-?125\d)", re.IGNORECASE
)
_DECLARED = re.compile(r"<\?xml[^>]*?\bencoding\s*=\s*[\"']([^\"']{0,64})[\"']")


class _UnreadableEncoding(Exception):
    """The report's encoding is one the DOCTYPE check cannot read."""


def _prolog_text(head: bytes) -> str:
    """The start of the file as a parser reads it: wide encodings found by their mark or by the bytes of ``<``
    (without a mark too: an XML parser detects them so); anything else is ASCII for markup, or refused."""
    for start, codec, mark in _WIDE_STARTS:
        if head.startswith(start):
            wide = codec.startswith("utf-32")
            usable = len(head) - mark - (len(head) - mark) % (4 if wide else 2)
            return head[mark : mark + usable].decode(codec, "replace")
    if b"\x00" in head[:4]:  # a wide encoding in a byte order no parser is expected to read: do not guess
        raise _UnreadableEncoding("an unrecognised byte order (NUL bytes before the first element)")
    # The UTF-8 byte order mark is not ASCII, so it goes first (else "\xef\xbb\xbf<!DOCTYPE" would not look like one).
    text = head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    declared = _DECLARED.match(text)
    if declared is not None and not _ASCII_MARKUP.fullmatch(declared.group(1).strip()):
        raise _UnreadableEncoding(f"encoding={declared.group(1)!r}")
    return text


_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, refused unless it is a regular file.

    Opened without blocking and checked on the open descriptor: a FIFO would otherwise block the open (and the
    gate) until something writes to it, and a device would be read forever.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise ReportError(f"{path}: not a regular file (a pipe, socket or device); give the report file itself")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_prolog(path: Path) -> None:
    """Refuse a DTD before parsing: billion laughs, quadratic blowup and external entities all need one.

    A ``<!DOCTYPE`` can only stand before the root element (anywhere else it is a syntax error the parser reports),
    so reading the prolog is enough, provided it is read in the encoding the parser will use (UTF-16 and UTF-32 are
    recognised with or without a byte order mark; an encoding that could hide markup is refused). What was parsed
    is checked again afterwards (:func:`parse`). The first 64 KiB nearly always hold the prolog; a longer one (a
    huge comment) is read up to :data:`_PROLOG_LIMIT` bytes.
    """
    with _open_regular(path) as handle:
        head = handle.read(64 * 1024)
        while True:
            try:
                text = _prolog_text(head).lstrip("\ufeff")
            except _UnreadableEncoding as exc:
                raise ReportError(
                    f"{path}: the report is in an encoding this check cannot read ({exc}), and a document type "
                    "declaration could hide in it; write the report in UTF-8"
                ) from None
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
        raise _doctype_refused(path)


def _doctype_refused(path: Path) -> ReportError:
    return ReportError(
        f"{path}: the XML has a document type declaration (<!DOCTYPE ...>); JUnit reports never need one and it "
        "can carry entity-expansion bombs or external entities, so the file was not read. Remove the DOCTYPE."
    )


class _DoctypeSeen:
    """A stdlib ``TreeBuilder`` target that also notes a document type declaration, should the parser meet one."""

    def __init__(self, etree: Any) -> None:
        self.builder = etree.TreeBuilder(insert_comments=True, insert_pis=True)
        self.seen = False
        for name in ("start", "end", "data", "comment", "pi", "close"):
            setattr(self, name, getattr(self.builder, name))

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        self.seen = True


def parse(path: Path) -> Any:
    """Check and parse a report; its root element (of whichever backend junitparser uses).

    Parsed by file name, not from a ``bytes`` copy: lxml then reads in small chunks, and allocating (and
    page-faulting) a buffer the size of the report costs more than the parse saves. The decision on a DOCTYPE is
    taken twice: on the prolog before parsing (no bomb is ever expanded) and on what the parser actually parsed
    (whatever encoding trick got past the first look, no DTD reaches a rewritten report).
    """
    etree = xml_api()
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
            has_dtd = bool(tree.docinfo.doctype) or tree.docinfo.internalDTD is not None
        else:  # keep comments and processing instructions inside the root, as lxml does
            target = _DoctypeSeen(etree)
            tree = etree.parse(str(path), etree.XMLParser(target=target))
            has_dtd = target.seen
    except SyntaxError as exc:  # stdlib ParseError and lxml XMLSyntaxError are both SyntaxErrors
        raise ReportError(f"{path}: not well-formed XML ({exc}); is this really a JUnit report?") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read the report ({exc})") from None
    if has_dtd:
        raise _doctype_refused(path)
    root = tree.getroot()
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(
            f"{path}: the root element is <{attr(str(root.tag))[:80]}>, not <testsuites> or <testsuite>: "
            "this is not a JUnit report"
        )
    return root


def read_report(path: str | os.PathLike[str]) -> Any:
    """Parse a JUnit report with the checks above and return it as a junitparser ``JUnitXml``."""
    from junitparser import xunit2

    junit_xml: Any = xunit2.JUnitXml
    return junit_xml.fromroot(parse(Path(path)))


def serialise(etree: Any, root: Any, placeholders: Mapping[str, tuple[str, int]]) -> list[bytes]:
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


def write_atomic(root: Any, path: Path, placeholders: Mapping[str, tuple[str, int]] | None = None) -> None:
    """Serialise ``root`` into an :class:`~pytest_semaphore.atomic.AtomicFile` at ``path``.

    ``placeholders`` (lxml only) are replaced by their texts as the bytes are written (see :func:`serialise`).
    Any failure leaves ``path`` as it was and no temporary file behind.
    """
    etree = xml_api()
    with AtomicFile(path, what="report") as out:
        if xml_backend() == "lxml":
            # Serialised in C in one piece and written with one call per piece: faster than ``tree.write(name)``,
            # which goes through libxml2's small output buffers; the bytes are the same (``"UTF-8"`` keeps the
            # declaration's spelling).
            out.file.writelines(serialise(etree, root, placeholders or {}))
        else:
            etree.ElementTree(root).write(out.file, encoding="utf-8", xml_declaration=True)
