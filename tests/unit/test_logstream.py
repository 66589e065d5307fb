"""The streaming log parser against ``json.loads`` of the same bytes, whatever the chunking.

The reference for "correct" is always the standard library parsing the whole body at once, followed by
``LogEvent.from_api``: the streaming parser (with its batch fast path and its own event constructor) must give the
same events for every split of the body into chunks, and a clear :class:`LogStreamError` for every body that
``json.loads`` would reject or that was cut short.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_semaphore.client.logstream import LogStreamError, LogStreamParser, iter_events, iter_raw_events
from pytest_semaphore.models import LogEvent, ModelError

AGENT_EVENTS: list[dict[str, Any]] = [
    {"event": "job_started", "timestamp": 1719979253},
    {"event": "cmd_started", "timestamp": 1719979253, "directive": "Exporting environment variables"},
    {"event": "cmd_output", "timestamp": 1719979253, "output": "Exporting CI\n"},
    {"event": "cmd_output", "timestamp": 1719979254, "output": '\x1b[31m{braces} "quotes" ] , } héllo ✓\r\n'},
    {
        "event": "cmd_finished",
        "timestamp": 1719979255,
        "directive": "make test",
        "exit_code": 2,
        "started_at": 1719979254,
        "finished_at": 1719979255,
    },
    {"event": "job_finished", "timestamp": 1719979255, "result": "failed"},
]


def api_body(events: list[dict[str, Any]]) -> bytes:
    """The cloud endpoint's body, built the way the server builds it (raw agent lines joined by commas)."""
    return ('{ "events": [' + ",".join(json.dumps(e, ensure_ascii=False) for e in events) + "] }").encode()


def reference(body: bytes) -> list[LogEvent]:
    return [LogEvent.from_api(e) for e in json.loads(body)["events"]]


def split(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def as_tuples(events: list[LogEvent]) -> list[tuple[object, ...]]:
    """Compare everything including raw (which dataclass equality leaves out)."""
    return [(e, dict(e.raw)) for e in events]


# ------------------------------------------------------------------------------------------------ shapes


def test_api_body_in_one_chunk() -> None:
    body = api_body(AGENT_EVENTS)
    events = list(iter_events([body]))
    assert as_tuples(events) == as_tuples(reference(body))
    assert [e.event for e in events] == [e["event"] for e in AGENT_EVENTS]
    assert events[-1].result == "failed"
    assert events[4].exit_code == 2


def test_every_split_point_gives_the_same_events() -> None:
    body = api_body(AGENT_EVENTS)
    expected = as_tuples(reference(body))
    for cut in range(len(body) + 1):
        assert as_tuples(list(iter_events([body[:cut], body[cut:]]))) == expected, cut


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_small_chunks(size: int) -> None:
    body = api_body(AGENT_EVENTS * 5)
    assert as_tuples(list(iter_events(split(body, size)))) == as_tuples(reference(body))


def test_loghub_body_with_next_fills_the_trailer() -> None:
    body = ('{"events":' + json.dumps(AGENT_EVENTS[:3]) + ',"next": 42}').encode()
    trailer: dict[str, Any] = {}
    events = list(iter_events(split(body, 5), trailer=trailer))
    assert [e.event for e in events] == ["job_started", "cmd_started", "cmd_output"]
    assert trailer == {"next": 42}


def test_loghub_next_before_events_and_null() -> None:
    body = b'{"next": null, "events": []}'
    trailer: dict[str, Any] = {}
    assert list(iter_events([body], trailer=trailer)) == []
    assert trailer == {"next": None}


def test_a_number_at_a_chunk_boundary_is_not_cut() -> None:
    body = b'{"events": [], "next": 12345}'
    trailer: dict[str, Any] = {}
    list(iter_events([body[:-4], body[-4:]], trailer=trailer))
    assert trailer == {"next": 12345}


def test_empty_events_array() -> None:
    assert list(iter_events([b'{ "events": [] }'])) == []


def test_unusual_but_valid_events_are_normalised_like_from_api() -> None:
    odd: list[dict[str, Any]] = [
        {"event": "cmd_finished", "timestamp": "1719979255", "exit_code": "1", "directive": "x"},
        {"event": "job_finished", "timestamp": 1, "result": "PASSED"},
        {"event": "job_finished", "timestamp": 1, "result": " stopped "},
        {"event": "cmd_output", "timestamp": 1.0, "output": "x"},
        {"event": "job_finished", "timestamp": 1, "result": ""},
    ]
    body = api_body(odd)
    events = list(iter_events([body]))
    assert as_tuples(events) == as_tuples(reference(body))
    assert events[0].exit_code == 1
    assert events[1].result == "passed"
    assert events[2].result == "stopped"
    assert events[4].result is None


# ------------------------------------------------------------------------------------------------ encoding


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    body = b'{"events": [{"event": "cmd_output", "timestamp": 1, "output": "bad \xff\xfe byte"}]}'
    (event,) = iter_events([body])
    assert event.output == "bad \ufffd\ufffd byte"


def test_multibyte_character_split_across_chunks() -> None:
    body = api_body([{"event": "cmd_output", "timestamp": 1, "output": "✓ ok"}])
    cut = body.index("✓".encode()) + 1  # inside the 3-byte sequence
    (event,) = iter_events([body[:cut], body[cut:]])
    assert event.output == "✓ ok"


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty"),
        (b"   ", "ended early"),
        (b"<html><body>502 Bad Gateway</body></html>", "expected a JSON object"),
        (b'{"events": {"a": 1}}', "must be a JSON array"),
        (b'{"events": [{"event": "x", "timestamp": 1} 2]}', "expected ',' or ']'"),
        (b'{"events": [{"event": "x", "timestamp": 1},]}', "invalid JSON"),
        (b'{"events": []} trailing', "after the end"),
        (b'{"other": 1}', "no 'events'"),
        (b'{"events": [{"event": "x", "timestamp": 1} }', "expected ',' or ']'"),
        (b'{"events": [{"event": "x", "timestamp": 1, "output": "a\x01b"}]}', "invalid JSON"),
        (b"[]", "expected a JSON object"),
    ],
)
def test_malformed_bodies_raise_a_clear_error(body: bytes, words: str) -> None:
    with pytest.raises(LogStreamError, match="log body") as info:
        list(iter_events(split(body, 4)))
    assert words in str(info.value)
    assert isinstance(info.value, ModelError)  # the client turns ModelError into an APIError


def test_an_event_of_the_wrong_shape_is_a_model_error() -> None:
    with pytest.raises(ModelError):
        list(iter_events([b'{"events": [{"timestamp": 1}]}']))
    with pytest.raises(ModelError):
        list(iter_events([b'{"events": ["just a string"]}']))


def test_every_truncation_is_reported_as_truncated() -> None:
    body = api_body(AGENT_EVENTS)
    for cut in range(1, len(body.rstrip(b" }")) + 1):
        with pytest.raises(LogStreamError, match=r"ended early|empty") as info:
            list(iter_events([body[:cut]]))
        assert "truncated" in str(info.value) or "empty" in str(info.value), cut


def test_truncated_error_says_how_far_it_got() -> None:
    body = api_body(AGENT_EVENTS)
    cut = body.index(b'"cmd_output"')
    events: list[LogEvent] = []
    with pytest.raises(LogStreamError, match=r"ended early after \d+ bytes and 2 events") as info:
        events.extend(iter_events(split(body[:cut], 10)))
    assert [e.event for e in events] == ["job_started", "cmd_started"]  # what came before was yielded first
    assert "inside the events array" in str(info.value)


def test_feed_after_close_is_refused() -> None:
    parser = LogStreamParser()
    parser.feed(b'{"events": []}')
    parser.close()
    assert parser.close() == []
    with pytest.raises(LogStreamError, match="after close"):
        parser.feed(b"x")


# ------------------------------------------------------------------------------------------------ memory


def _generated_body(n_events: int, big_every: int, big_size: int) -> Iterator[bytes]:
    """A large body produced lazily, so the test itself never holds it."""
    yield b'{ "events": ['
    for i in range(n_events):
        size = big_size if i % big_every == 0 else 40
        event = {"event": "cmd_output", "timestamp": i, "output": ("}{" * size)[:size]}
        yield (("," if i else "") + json.dumps(event)).encode()
    yield b"] }"


def _rechunk(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    pending = b""
    for piece in pieces:
        pending += piece
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def test_memory_is_bounded_by_a_chunk_plus_the_largest_event() -> None:
    chunk = 4096
    big = 50_000
    parser = LogStreamParser()
    peak = 0
    count = 0
    for data in _rechunk(_generated_body(3000, 500, big), chunk):
        count += len(parser.feed(data))
        peak = max(peak, parser.buffered)
    count += len(parser.close())
    assert count == 3000
    # The whole body is ~300 KB; what is held never exceeds a chunk plus twice the largest event (the doubling rule).
    largest_event = big + 60
    assert peak <= chunk + 2 * largest_event
    assert peak < 3000 * 60  # and far less than the body


def test_event_much_larger_than_a_chunk() -> None:
    event = {"event": "cmd_output", "timestamp": 1, "output": "{x}" * 200_000}
    body = api_body([event, AGENT_EVENTS[0]])
    events = list(iter_events(split(body, 1000)))
    assert events[0].output == event["output"]
    assert events[1].event == "job_started"


# ------------------------------------------------------------------------------------------------ properties

_text = st.text(alphabet=st.sampled_from([*list('ab{}[]",:\\ \n\r\x1b✓é\u2028'), "\ud7ff"]), max_size=30)
_event = st.fixed_dictionaries(
    {"event": st.sampled_from(["cmd_output", "cmd_started", "job_finished"]), "timestamp": st.integers(0, 2**40)},
    optional={
        "output": _text,
        "directive": _text,
        "exit_code": st.integers(-1, 255),
        "result": st.sampled_from(["passed", "failed", "stopped", "PASSED"]),
        "extra": st.dictionaries(st.text(max_size=3), st.lists(st.integers(), max_size=3), max_size=2),
    },
)


@given(events=st.lists(_event, max_size=12), cuts=st.lists(st.integers(1, 40), max_size=30), ascii_only=st.booleans())
def test_any_chunking_matches_json_loads(events: list[dict[str, Any]], cuts: list[int], ascii_only: bool) -> None:
    body = (
        '{"events": [' + ", ".join(json.dumps(e, ensure_ascii=ascii_only) for e in events) + '], "next": 7}'
    ).encode()
    chunks: list[bytes] = []
    rest = body
    for cut in cuts:
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    trailer: dict[str, Any] = {}
    got = list(iter_events(chunks, trailer=trailer))
    assert as_tuples(got) == as_tuples(reference(body))
    assert trailer == {"next": 7}
    raw_trailer: dict[str, Any] = {}
    assert list(iter_raw_events(chunks, trailer=raw_trailer)) == json.loads(body)["events"]
    assert raw_trailer == {"next": 7}


def test_the_fast_constructor_is_in_use_and_agrees_with_the_model() -> None:
    from pytest_semaphore.client import logstream

    assert logstream._FAST_OK, "LogEvent changed shape: review logstream._to_event (its fast path is now off)"
    for raw in AGENT_EVENTS:
        fast = logstream._to_event(dict(raw))
        slow = LogEvent.from_api(dict(raw))
        assert fast == slow
        assert repr(fast) == repr(slow)
        assert dict(fast.raw) == raw
        with pytest.raises(AttributeError):
            fast.event = "changed"  # type: ignore[misc]  # still frozen


# ------------------------------------------------------------------------------------------------ raw events


def test_raw_events_at_every_split_point_are_what_json_loads_builds() -> None:
    body = api_body(AGENT_EVENTS)
    expected = json.loads(body)["events"]
    for cut in range(1, len(body)):
        got = list(iter_raw_events([body[:cut], body[cut:]]))
        assert got == expected, cut
        assert {type(e) for e in got} == {dict}


def test_raw_events_are_not_validated_beyond_being_objects() -> None:
    odd: list[dict[str, Any]] = [{"event": "cmd_output", "timestamp": [1], "output": {"x": 1}}, {"no event key": True}]
    assert list(iter_raw_events([api_body(odd)])) == odd
    with pytest.raises(ModelError):  # the model path refuses the same events
        list(iter_events([api_body(odd)]))


@pytest.mark.parametrize("size", [1, 5, 10_000])
@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b'{"events": [5]}', "int 5"),
        (b'{"events": [{"event": "job_started", "timestamp": 1}, "a string", {"event": "x"}]}', "str 'a string'"),
        (b'{"events": [{"event": "job_started", "timestamp": 1}, [1, 2]]}', "list [1, 2]"),
        (b'{"events": [null]}', "NoneType None"),
    ],
)
def test_an_event_that_is_not_an_object_is_a_clear_error(body: bytes, found: str, size: int) -> None:
    for parse in (iter_raw_events, iter_events):
        with pytest.raises(LogStreamError, match="each event must be a JSON object") as info:
            list(parse(split(body, size)))
        assert found in str(info.value)


def test_the_raw_parser_keeps_the_memory_bound() -> None:
    parser = LogStreamParser()
    peak = count = 0
    for data in _rechunk(_generated_body(3000, 500, 50_000), 4096):
        count += len(parser.feed_raw(data))
        peak = max(peak, parser.buffered)
    count += len(parser.close_raw())
    assert count == 3000
    assert peak <= 4096 + 2 * (50_000 + 60)
