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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


def parse(path: Path) -> Any:
    """Check and parse a report; its root element (of whichever backend junitparser uses).

    Parsed by file name, not from a ``bytes`` copy: lxml then reads in small chunks, and allocating (and
    page-faulting) a buffer the size of the report costs more than the parse saves.
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
