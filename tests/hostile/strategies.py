"""Hypothesis strategies for hostile log text and events, and for hostile server answers.

The building block is *noise*: characters and sequences cleaning removes entirely (C0 and C1 controls, DEL,
bidirectional controls, complete ANSI sequences). Noise dropped inside a secret is the attack on redaction order:
only once cleaned is the secret whole, and it must be redacted then. ``\\r`` is not noise (it redraws the line), and
neither is a lone ESC (it would swallow the next character as a two-byte escape).
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import string
from typing import Any

from hypothesis import strategies as st

from tests.support import api_payloads as P

#: Characters cleaning removes, each on its own.
REMOVED = [chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x1B), *range(0x1C, 0x20), *range(0x7F, 0xA0))]
REMOVED += list("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufffe\uffff")
#: Complete ANSI sequences: colours, cursor moves, erase, an OSC title and hyperlink, a charset selection.
ANSI = [
    "\x1b[0m",
    "\x1b[1;31m",
    "\x1b[2K",
    "\x1b[?25l",
    "\x1b]0;title\x07",
    "\x1b]8;;http://e\x1b\\",
    "\x1b(B",
    "\x1b=",
]

noise = st.lists(st.one_of(st.sampled_from(REMOVED), st.sampled_from(ANSI)), min_size=1, max_size=4).map("".join)
#: Secrets start with "Zq9": no fixed text of a report contains that, so finding a secret means it leaked.
secrets = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=5, max_size=37).map("Zq9".__add__)
#: Visible text that is not noise: letters, punctuation, @mentions, RTL letters, emoji, tabs.
visible = st.text(alphabet=st.sampled_from([*string.printable[:94], " ", "\t", "@", "\u05d0", "\u0627", "\U0001f600"]))


@st.composite
def interrupted(draw: st.DrawFn, secret: str) -> str:
    """``secret`` with noise dropped at one to three places inside it."""
    cuts = sorted(draw(st.sets(st.integers(1, len(secret) - 1), min_size=1, max_size=3)))
    pieces, start = [], 0
    for cut in cuts:
        pieces += [secret[start:cut], draw(noise)]
        start = cut
    return "".join([*pieces, secret[start:]])


@st.composite
def hostile_line(draw: st.DrawFn, secret: str) -> str:
    """One log line of visible text, noise, the (interrupted) secret and sometimes a long run, ending in ``\\n``."""
    parts = draw(
        st.lists(
            st.one_of(visible, noise, interrupted(secret), st.just(secret), st.integers(100, 5000).map("z".__mul__)),
            max_size=6,
        )
    )
    return "".join(parts).replace("\r", "").replace("\n", " ") + "\n"


@st.composite
def chunked(draw: st.DrawFn, text: str) -> list[str]:
    """``text`` cut at arbitrary places: ``cmd_output`` fragments are not line-aligned, so neither is a secret."""
    cuts = sorted(draw(st.sets(st.integers(1, max(len(text) - 1, 1)), max_size=6)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if a < b]


@st.composite
def hostile_log(draw: st.DrawFn, secret: str) -> list[dict[str, Any]]:
    """A job log whose directives, output and exit codes are hostile, with ``secret`` hidden all through it."""
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        directive = draw(st.one_of(interrupted(secret), hostile_line(secret).map(str.strip)))
        events.append({"event": "cmd_started", "timestamp": 1, "directive": directive})
        text = "".join(draw(st.lists(hostile_line(secret), max_size=4)))
        events += [{"event": "cmd_output", "timestamp": 1, "output": piece} for piece in draw(chunked(text))]
        exit_code = draw(st.integers(-(2**31), 2**31))
        events.append({"event": "cmd_finished", "timestamp": 2, "directive": directive, "exit_code": exit_code})
    return events


#: JSON-ish values of any shape, for fields that should hold a string or an integer.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def malformed_event(draw: st.DrawFn) -> Any:
    """An event with any value in any field (or not an object at all)."""
    kind = draw(st.sampled_from(["cmd_started", "cmd_output", "cmd_finished", "job_finished", "job_started", "x"]))
    fields = draw(
        st.dictionaries(st.sampled_from(["directive", "output", "exit_code", "result", "timestamp"]), json_values)
    )
    return draw(st.one_of(st.just({"event": kind, **fields}), json_values))


# --------------------------------------------------------------------------------------------------- server answers
# What a server (or whatever answers at its address) may send the client: any status, header values with the
# numbers that pass ``str.isdigit()`` but not ``int()``, bodies nested past the recursion limit or with numbers of
# thousands of digits, any encoding, gzip never asked for.

#: Header text as it can travel (latin-1, no line breaks), with the hostile numbers the review found.
header_text = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40),
    st.sampled_from(["\u00b2", "\u00b9\u00b2", "\u00bd", "-1", "0", "1e9", "Infinity", " 7 "]),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.integers(-1, 10**6).map(lambda year: f"Fri, 31 Dec {year} 23:59:59 GMT"),
)
header_names = st.sampled_from(
    ["Retry-After", "total-pages", "page-number", "x-has-more", "link", "Location", "Content-Type", "x-page"]
)


def _nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '{"a": ' if opener == "{" else "["
    return (inner * depth + "0" + closer * depth).encode()


body_shapes = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda v: json.dumps(v).encode(), st.sampled_from([P.pipeline_describe(), [P.pipeline_listed()]])),
    st.builds(_nested, st.integers(1, 200_000), st.sampled_from(["[", "{"])),
    st.integers(1, 8000).map(lambda n: b'{"pipeline": ' + b"7" * n + b"}"),
    st.integers(1, 8000).map(lambda n: b'{"events": [{"event": "x", "timestamp": ' + b"7" * n + b"}]}"),
    st.binary(max_size=300),
    st.just(b"<!DOCTYPE html><html><title>Sign in</title></html>"),
)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "gzip"])


@st.composite
def answers(draw: st.DrawFn) -> tuple[int, dict[str, str], bytes]:
    status = draw(st.sampled_from([200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504]))
    headers = draw(st.dictionaries(header_names, header_text, max_size=4))
    body = draw(body_shapes)
    encoding = draw(encodings)
    if encoding == "gzip":
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    elif encoding not in ("utf-8", "latin-1"):
        with contextlib.suppress(UnicodeDecodeError):
            body = body.decode("utf-8").encode(encoding)
    return status, headers, body
