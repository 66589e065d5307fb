"""Excerpts from job log events: the failing command, its tail, cleaning, redaction, full logs and file names."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_semaphore.client.logstream import iter_events, iter_raw_events
from pytest_semaphore.errors import ConfigurationError
from pytest_semaphore.logs import (
    DEFAULT_TAIL_LINES,
    REDACTED,
    Excerpt,
    ExcerptBuilder,
    ExcerptOptions,
    FullLogWriter,
    Redactor,
    clean_text,
    events_to_text,
    excerpt_from_events,
    excerpt_from_text,
    looks_secret,
    safe_log_filename,
)
from pytest_semaphore.models import EnvVar, Job, LogEvent, ModelError

_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def cmd(directive: str, *outputs: str, exit_code: int | None = 0) -> list[LogEvent]:
    events = [LogEvent("cmd_started", 1, directive=directive)]
    events += [LogEvent("cmd_output", 1, output=o) for o in outputs]
    if exit_code is not None:
        events.append(LogEvent("cmd_finished", 2, directive=directive, exit_code=exit_code))
    return events


def job(*commands: list[LogEvent], result: str | None = "failed") -> list[LogEvent]:
    events = [LogEvent("job_started", 0)]
    for c in commands:
        events += c
    if result is not None:
        events.append(LogEvent("job_finished", 3, result=result))
    return events


def raw(events: list[LogEvent]) -> list[dict[str, Any]]:
    """The events as the agent sends them and ``logstream.iter_raw_events`` yields them: plain dicts."""
    return [{k: v for k, v in dataclasses.asdict(e).items() if k != "raw" and v is not None} for e in events]


# --------------------------------------------------------------------------------------------- choosing the command


def test_first_non_zero_exit_code_is_the_failing_command() -> None:
    events = job(
        cmd("checkout", "cloning\n"),
        cmd("make test", "test_a ok\n", "test_b FAILED\n", exit_code=2),
        cmd("cache store", "stored\n", exit_code=1),  # an epilogue failing later must not win
    )
    excerpt = excerpt_from_events(events, job_name="unit", job_id="j1")
    assert (excerpt.directive, excerpt.exit_code, excerpt.job_result) == ("make test", 2, "failed")
    assert excerpt.lines == ("test_a ok", "test_b FAILED")
    assert excerpt.reason == "non-zero exit code"
    assert excerpt.failed


def test_a_failed_job_without_a_failing_command_shows_its_last_command() -> None:
    # Killed by the execution time limit: the running command never finished.
    events = job(cmd("setup", "ok\n"), cmd("sleep 9999", "waiting...\n", exit_code=None), result="stopped")
    excerpt = excerpt_from_events(events, job_name="slow")
    assert (excerpt.directive, excerpt.exit_code) == ("sleep 9999", None)
    assert excerpt.reason == "last command of a failed job"
    assert "did not finish" in excerpt.summary()


def test_job_result_from_the_caller_is_used_when_the_log_has_no_job_finished() -> None:
    events = job(cmd("a", "x\n"), cmd("b", "y\n", exit_code=None), result=None)
    excerpt = excerpt_from_events(events, job_result="failed")
    assert excerpt.directive == "b"
    assert excerpt.reason == "last command of a failed job"


def test_a_passed_job_gives_its_last_command() -> None:
    excerpt = excerpt_from_events(job(cmd("a", "x\n"), cmd("b", "y\n"), result="passed"))
    assert (excerpt.directive, excerpt.exit_code, excerpt.reason) == ("b", 0, "last command")
    assert not excerpt.failed


def test_an_empty_log_says_so() -> None:
    excerpt = excerpt_from_events([], job_name="never", job_result="failed")
    assert excerpt.directive is None
    assert excerpt.lines == ()
    assert "no command output" in excerpt.render()


def test_only_the_last_n_lines_are_kept_and_counted() -> None:
    lines = [f"line {i}\n" for i in range(1000)]
    # Fragments deliberately not line-aligned.
    blob = "".join(lines)
    fragments = [blob[i : i + 37] for i in range(0, len(blob), 37)]
    excerpt = excerpt_from_events(job(cmd("gen", *fragments, exit_code=1)), options=ExcerptOptions(tail_lines=10))
    assert excerpt.lines == tuple(f"line {i}" for i in range(990, 1000))
    assert excerpt.total_lines == 1000
    assert DEFAULT_TAIL_LINES == 100


def test_output_without_a_trailing_newline_is_still_a_line() -> None:
    excerpt = excerpt_from_events(job(cmd("x", "partial", exit_code=3)))
    assert excerpt.lines == ("partial",)


def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(ConfigurationError, match="tail_lines"):
        ExcerptOptions(tail_lines=0)
    with pytest.raises(ConfigurationError, match="size cap"):
        FullLogWriter("/nonexistent/x.log", max_bytes=0)


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ({"tail_lines": -1}, "tail_lines=-1"),
        ({"max_line_chars": 79}, "at least 80"),
        ({"max_log_bytes": 0}, "size cap"),
    ],
)
def test_excerpt_options_are_checked_when_made(setting: dict[str, Any], words: str) -> None:
    # Before any log is fetched: a gate learns of a bad setting at start, not after a pipeline failed.
    with pytest.raises(ConfigurationError, match=words):
        ExcerptOptions(**setting)


def test_excerpt_options_are_frozen_and_shareable() -> None:
    patterns = [r"AKIA\w+"]
    options = ExcerptOptions(patterns=patterns)
    patterns.append("later")  # the caller's list changing later does not change the options
    assert options.patterns == (r"AKIA\w+",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.tail_lines = 5  # type: ignore[misc]
    assert hash(options) == hash(ExcerptOptions(patterns=(r"AKIA\w+",)))


def test_the_options_patterns_and_hook_redact_when_no_redactor_is_given() -> None:
    events = job(cmd("deploy AKIA0123", "key AKIA0123 for pii\n", exit_code=1))
    options = ExcerptOptions(patterns=[r"AKIA\d+"], hook=lambda s: s.replace("pii", "<x>"))
    excerpt = excerpt_from_events(events, options=options)
    assert excerpt.directive == f"deploy {REDACTED}"
    assert excerpt.lines == (f"key {REDACTED} for <x>",)
    # A redactor given explicitly is the whole redaction: the caller built it (fetch_excerpt adds the options' to it).
    assert excerpt_from_events(events, redactor=Redactor(["for"]), options=options).lines == (
        f"key AKIA0123 {REDACTED} pii",
    )


# --------------------------------------------------------------------------------------------- the last 1000 characters


@pytest.mark.parametrize(
    ("name", "directive"),
    [
        ("unit tests", "make test"),
        ("n" * 5000, "c" * 20000),
        ("тесты 😀" * 300, "ユニット" * 3000),
    ],
)
def test_last_1000_characters_name_job_command_and_exit_code(name: str, directive: str) -> None:
    events = job(cmd(directive, *[f"noise {i} " + "x" * 200 + "\n" for i in range(300)], exit_code=42))
    excerpt = excerpt_from_events(events, job_name=name, job_id="0f3e-id")
    text = excerpt.render()
    last = text[-1000:]
    last_bytes = text.encode("utf-8")[-1000:].decode("utf-8", "ignore")
    for window in (last, last_bytes):
        assert "exited with code 42" in window
        assert name[:10] in window
        assert directive[:10] in window
        assert "0f3e-id" in window
    assert len(excerpt.summary().encode("utf-8")) <= 900


# --------------------------------------------------------------------------------------------- cleaning


def test_clean_text_removes_ansi_and_control_characters() -> None:
    raw = "\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok\x1b(B \x00nul\x07bel\x0bvt\x1b \ufffe\uffff\x7f\x85 tab\tend\n"
    assert clean_text(raw) == "red ok nulbelvt  tab\tend\n"


def test_progress_lines_collapse_to_their_final_state() -> None:
    assert clean_text("10%\r50%\r100%\n") == "100%\n"
    assert clean_text("done\r\n") == "done\n"
    assert clean_text("100%\r\r\nnext\n") == "100%\nnext\n"
    assert clean_text("a\r\rb\n") == "b\n"


def test_progress_bar_split_across_fragments_collapses() -> None:
    frags = [f"\r{p}%" for p in range(0, 101, 10)]
    excerpt = excerpt_from_events(job(cmd("dl", "start\n", *frags, "\r\n", "after\n", exit_code=1)))
    assert excerpt.lines == ("start", "100%", "after")


def test_huge_progress_bar_without_newlines_stays_bounded() -> None:
    frags = [f"\rdownloading {i} of 200000" for i in range(200_000)]
    excerpt = excerpt_from_events(job(cmd("dl", *frags, "\n", exit_code=1)), options=ExcerptOptions(max_line_chars=200))
    assert excerpt.lines == ("downloading 199999 of 200000",)


def test_a_giant_line_is_cut() -> None:
    excerpt = excerpt_from_events(
        job(cmd("x", "y" * 500_000, "z" * 500_000, "\nlast\n", exit_code=1)), options=ExcerptOptions(max_line_chars=100)
    )
    assert excerpt.lines[-1] == "last"
    assert excerpt.lines[0].startswith("y" * 100)
    assert "cut" in excerpt.lines[0]
    assert len(excerpt.lines[0]) < 200


@given(st.text())
def test_cleaned_text_is_always_valid_xml(text: str) -> None:
    cleaned = clean_text(text)
    assert _FORBIDDEN.search(cleaned) is None
    assert "\x1b" not in cleaned
    assert "\r" not in cleaned
    element = ElementTree.Element("x")
    element.text = cleaned
    element.set("a", cleaned)
    ElementTree.fromstring(ElementTree.tostring(element))  # strict (expat) re-parse


@given(st.lists(st.text(), max_size=8))
def test_excerpt_text_is_valid_xml_whatever_the_output(fragments: list[str]) -> None:
    excerpt = excerpt_from_events(job(cmd("c\x1b[0m\x00md", *fragments, exit_code=1)), job_name="j\x00ob\x1b")
    rendered = excerpt.render()
    assert _FORBIDDEN.search(rendered) is None
    assert "\x1b" not in rendered


# --------------------------------------------------------------------------------------------- redaction


def test_secret_names() -> None:
    for name in ("GITHUB_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "SSH_KEY", "NPM_APIKEY", "MY_PASS", "api_key"):
        assert looks_secret(name), name
    for name in ("PWD", "HOME", "MONKEY_COUNT", "SEMAPHORE_GIT_CACHE_KEEP", "KEYBOARD_LAYOUT", "PATH"):
        assert not looks_secret(name), name


def test_token_and_secret_environment_values_are_redacted() -> None:
    redactor = Redactor.for_job(
        token="tok-123456789",
        env={"DEPLOY_TOKEN": "s3cr3t-deploy", "SHORT_KEY": "abc", "HOME": "/home/runner-home"},
        job_env_vars=(EnvVar("DB_PASSWORD", "hunter2-hunter2"), EnvVar("LANG", "en_US.UTF-8")),
    )
    events = job(
        cmd(
            "deploy --token tok-123456789",
            "using s3cr3t-deploy and hunter2-hunter2 in /home/runner-home, abc ok, en_US.UTF-8\n",
            exit_code=1,
        )
    )
    excerpt = excerpt_from_events(events, redactor=redactor)
    text = excerpt.render()
    for secret in ("tok-123456789", "s3cr3t-deploy", "hunter2-hunter2"):
        assert secret not in text
    assert "/home/runner-home" in text  # HOME is not a secret name
    assert "abc ok" in text  # too short to redact by name
    assert "en_US.UTF-8" in text
    assert excerpt.directive == f"deploy --token {REDACTED}"
    assert "tok-123456789" not in repr(redactor)
    assert "s3cr3t" not in repr(redactor)


def test_job_env_vars_from_a_job_model_are_used() -> None:
    job_model = Job.from_api(
        {
            "metadata": {"id": "j1", "name": "deploy"},
            "spec": {"env_vars": [{"name": "SERVICE_SECRET", "value": "verysecretvalue"}]},
            "status": {"state": "FINISHED", "result": "FAILED"},
        }
    )
    redactor = Redactor.for_job(job=job_model, env={})
    excerpt = excerpt_from_events(job(cmd("x", "leak verysecretvalue\n", exit_code=1)), redactor=redactor)
    assert excerpt.lines == (f"leak {REDACTED}",)


@pytest.mark.parametrize("as_raw", [False, True], ids=["models", "raw"])
@pytest.mark.parametrize("cut", [1, 3, 7, 11])
def test_a_secret_split_across_two_fragments_is_still_redacted(cut: int, as_raw: bool) -> None:
    secret = "abcdef-secret-12"
    line = f"token={secret} end\n"
    position = line.index(secret) + cut
    redactor = Redactor([secret])
    events = job(cmd("x", line[:position], line[position:], exit_code=1))
    excerpt = excerpt_from_events(raw(events) if as_raw else events, redactor=redactor)
    assert excerpt.lines == (f"token={REDACTED} end",)


def test_a_secret_hidden_by_ansi_or_nul_is_still_redacted() -> None:
    redactor = Redactor(["topsecret99"])
    excerpt = excerpt_from_events(job(cmd("x", "a top\x1b[0msec\x00ret99 b\n", exit_code=1)), redactor=redactor)
    assert excerpt.lines == (f"a {REDACTED} b",)


def test_a_secret_straddling_a_line_cut_does_not_leak_its_start() -> None:
    secret = "SECRETVALUE-0123456789"
    redactor = Redactor([secret])
    text = "x" * 90 + secret + "y" * 1000 + "\n"
    excerpt = excerpt_from_events(
        job(cmd("x", text, exit_code=1)), redactor=redactor, options=ExcerptOptions(max_line_chars=100)
    )
    assert "SECRET" not in excerpt.render()


def test_longest_secret_wins_and_multiline_secrets_are_matched_per_line() -> None:
    redactor = Redactor(["abcdef", "abcdefghij", "-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA\n-----END KEY-----"])
    assert redactor("x abcdefghij y abcdef") == f"x {REDACTED} y {REDACTED}"
    assert "MIIEpAIBAAKCAQEA" not in redactor("MIIEpAIBAAKCAQEA\n")


def test_user_patterns_and_hook() -> None:
    redactor = Redactor(patterns=[r"AKIA[0-9A-Z]{16}", re.compile(r"ghp_\w+")], hook=lambda s: s.replace("pii", "<x>"))
    assert redactor("AKIAABCDEFGHIJKLMNOP ghp_abc pii") == f"{REDACTED} {REDACTED} <x>"
    with pytest.raises(ConfigurationError, match=r"redaction pattern '\[' is not a valid"):
        Redactor(patterns=["["])


def test_a_hook_cannot_reintroduce_forbidden_characters() -> None:
    redactor = Redactor(hook=lambda s: s.replace("x", "\x1b[31m\x00"))
    excerpt = excerpt_from_events(job(cmd("c", "axb\n", exit_code=1)), redactor=redactor)
    assert excerpt.lines == ("ab",)


# --------------------------------------------------------------------------------------------- full logs and file names


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "a/b\\c", "nul\x00byte", "x" * 5000, "ユニットテスト 😀", "", ".", "..", "CON", " -- "],
)
def test_log_file_names_are_safe(tmp_path: Path, name: str) -> None:
    filename = safe_log_filename(name, "4c9e7f4e-0b7b-4f9a-9a57-2e1a0a7c7b11")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.log", filename), filename
    assert len(filename) <= 120
    assert ".." not in filename
    excerpt = excerpt_from_events(
        job(cmd("c", "out\n", exit_code=1)), job_name=name, job_id="j", options=ExcerptOptions(log_dir=tmp_path)
    )
    assert excerpt.log_path is not None
    assert Path(excerpt.log_path).parent == tmp_path
    assert Path(excerpt.log_path).read_text(encoding="utf-8").startswith("$ c\nout\n")


def test_log_file_names_are_unique_per_job() -> None:
    ids = ["a/b", "a_b", "a b", "a\x00b", "A-B", "a-b", "4c9e7f4e-0b7b-4f9a-9a57-2e1a0a7c7b11"]
    names = {safe_log_filename("same job", job_id) for job_id in ids}
    assert len(names) == len(ids)
    # Names differing only in case stay distinct on a case-insensitive file system too.
    assert len({n.lower() for n in names}) == len(ids)
    assert safe_log_filename("x", "a/b") == safe_log_filename("x", "a/b")  # stable


def test_full_log_is_cleaned_redacted_and_atomic(tmp_path: Path) -> None:
    redactor = Redactor(["hidden-value"])
    events = job(cmd("build", "\x1b[32mok\x1b[0m hidden-value\n"), cmd("test", "boom\n", exit_code=2))
    excerpt = excerpt_from_events(
        events, job_name="j", job_id="id1", redactor=redactor, options=ExcerptOptions(log_dir=tmp_path)
    )
    assert excerpt.log_path is not None
    text = Path(excerpt.log_path).read_text(encoding="utf-8")
    assert text == f"$ build\nok {REDACTED}\n$ test\nboom\n[exit code 2]\n[job failed]\n"
    assert [p.name for p in tmp_path.iterdir()] == [Path(excerpt.log_path).name]  # no temp files left


def test_full_log_size_cap(tmp_path: Path) -> None:
    events = job(cmd("gen", *[f"{i:09d}\n" for i in range(100_000)], exit_code=1))
    excerpt = excerpt_from_events(
        events, job_id="capped", options=ExcerptOptions(log_dir=tmp_path, max_log_bytes=10_000)
    )
    assert excerpt.log_truncated
    assert excerpt.log_path is not None
    data = Path(excerpt.log_path).read_bytes()
    assert 10_000 < len(data) < 10_400
    assert b"size limit of 10000 bytes" in data
    assert excerpt.lines[-1] == "000099999"  # the excerpt still has the end
    assert "cut at the size limit" in excerpt.render()


def test_a_failed_download_leaves_no_file(tmp_path: Path) -> None:
    def broken() -> Iterator[LogEvent]:
        yield from cmd("x", "partial\n")
        raise ConnectionError("dropped")

    with pytest.raises(ConnectionError):
        excerpt_from_events(broken(), job_id="j", options=ExcerptOptions(log_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_events_to_text_streams_the_whole_log() -> None:
    events = job(cmd("a", "1\n2"), cmd("b", "\x1b[1m3\x1b[0m\n", exit_code=4))
    assert "".join(events_to_text(events)) == "$ a\n1\n2\n$ b\n3\n[exit code 4]\n[job failed]\n"


# --------------------------------------------------------------------------------------------- plain text and raw bytes


def test_plain_text_log_with_invalid_utf8_split_across_chunks() -> None:
    data = "first\nsecond é ✓\n".encode() + b"bad \xff\xfe byte\n" + "last ✓".encode()
    chunks = [data[i : i + 3] for i in range(0, len(data), 3)]  # splits multi-byte characters
    excerpt = excerpt_from_text(chunks, job_name="plain", job_result="failed")
    assert excerpt.lines == ("first", "second é ✓", "bad \ufffd\ufffd byte", "last ✓")
    assert excerpt.directive is None
    assert excerpt.reason == "last command of a failed job"


def test_raw_event_bytes_through_logstream() -> None:
    body = (
        b'{ "events": ['
        b'{"event":"cmd_started","timestamp":1,"directive":"make"},'
        b'{"event":"cmd_output","timestamp":1,"output":"\\u001b[31mer"},'
        b'{"event":"cmd_output","timestamp":1,"output":"ror \\u0000 \\r\\n"},'
        b'{"event":"cmd_finished","timestamp":2,"directive":"make","exit_code":2},'
        b'{"event":"job_finished","timestamp":2,"result":"failed"}] }'
    )
    excerpt = excerpt_from_events(iter_events([body[:50], body[50:]]), job_name="raw")
    assert excerpt.lines == ("error  ",)
    assert excerpt.exit_code == 2


# --------------------------------------------------------------------------------------------- memory


def _big_log(total_bytes: int) -> Iterator[bytes]:
    yield b'{ "events": [{"event":"job_started","timestamp":1},'
    yield b'{"event":"cmd_started","timestamp":1,"directive":"make test"}'
    line = "2026-01-01 \u001b[32mINFO\u001b[0m processing item with a reasonably long line of text 0123456789\r\n"
    fragment = json.dumps({"event": "cmd_output", "timestamp": 1, "output": line * 40}).encode()
    written = 0
    while written < total_bytes:
        yield b"," + fragment
        written += len(fragment) + 1
    yield b',{"event":"cmd_finished","timestamp":2,"directive":"make test","exit_code":1}'
    yield b',{"event":"job_finished","timestamp":2,"result":"failed"}] }'


@pytest.mark.parametrize("parse", [iter_raw_events, iter_events], ids=["raw", "models"])
def test_streaming_excerpt_memory_is_bounded(
    tmp_path: Path, parse: Callable[[Iterable[bytes]], Iterator[LogEvent | dict[str, Any]]]
) -> None:
    redactor = Redactor([f"secret-number-{i}" for i in range(20)])
    tracemalloc.start()
    try:
        excerpt = excerpt_from_events(
            parse(_big_log(50 * 1024 * 1024)),
            job_name="big",
            job_id="big",
            redactor=redactor,
            options=ExcerptOptions(log_dir=tmp_path),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert excerpt.total_lines > 400_000
    assert excerpt.lines[-1].startswith("2026-01-01 INFO processing")
    assert excerpt.log_path is not None
    assert os.path.getsize(excerpt.log_path) > 30 * 1024 * 1024
    print(f"peak traced memory: {peak / 1e6:.2f} MB")
    assert peak < 4 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB for a 50 MB log"


def test_excerpt_is_a_plain_value() -> None:
    excerpt = Excerpt("j", "id", "cmd", 1, "failed", ("a",), 1, "non-zero exit code")
    assert excerpt.render().splitlines()[-1] == '>>> Semaphore job "j" (id) failed: command `cmd` exited with code 1'


# --------------------------------------------------------------------------------------------- streaming = whole-text


_LINE_TEXT = st.text(alphabet=st.sampled_from("ab \x1b[31m\x00\r\tX-é😀"), max_size=30)


@given(
    lines=st.lists(_LINE_TEXT, min_size=1, max_size=30),
    cuts=st.lists(st.integers(min_value=1, max_value=400), max_size=20),
    block=st.integers(min_value=1, max_value=50),
    tail=st.integers(min_value=1, max_value=10),
)
def test_streaming_in_any_fragments_and_blocks_equals_cleaning_the_whole_text(
    lines: list[str], cuts: list[int], block: int, tail: int
) -> None:
    secret = "X-secret-X"
    text = "".join(line + "\n" for line in lines).replace("XX", secret)
    fragments, position = [], 0
    for cut in sorted(set(cuts)):
        fragments.append(text[position:cut])
        position = cut
    fragments.append(text[position:])
    redactor = Redactor([secret])
    builder = ExcerptBuilder(redactor=redactor, options=ExcerptOptions(tail_lines=tail), block_chars=block)
    builder.feed_many(cmd("c", *[f for f in fragments if f], exit_code=1))
    excerpt = builder.finish()
    expected = redactor(clean_text(text)).split("\n")[:-1]
    assert list(excerpt.lines) == expected[-tail:]
    assert excerpt.total_lines == len(expected)
    assert secret not in "\n".join(excerpt.lines)


def test_our_own_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMAPHORE_API_TOKEN", "from-the-environment-1")
    monkeypatch.setenv("SOME_PASSWORD", "envpass-123456")
    monkeypatch.setenv("NOT_SENSITIVE", "visible-value-1")
    redactor = Redactor.for_job()
    assert redactor("a from-the-environment-1 b envpass-123456 c visible-value-1") == (
        f"a {REDACTED} b {REDACTED} c visible-value-1"
    )


def test_an_unusable_log_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError, match="cannot save full job logs in"):
        excerpt_from_events(job(cmd("c", "x\n", exit_code=1)), options=ExcerptOptions(log_dir=blocker / "logs"))


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_the_ascii_fast_path_removes_exactly_what_the_general_rule_removes(text: str) -> None:
    from pytest_semaphore.logs.clean import _ILLEGAL_RE, _remove_illegal

    assert _remove_illegal(text) == _ILLEGAL_RE.sub("", text)
    assert _remove_illegal(text + "é") == _ILLEGAL_RE.sub("", text + "é")


@given(st.text(), st.text(max_size=80))
def test_any_job_name_and_id_give_a_safe_file_name(name: str, job_id: str) -> None:
    filename = safe_log_filename(name, job_id)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.log", filename), filename
    assert ".." not in filename
    assert len(filename) <= 140


# --------------------------------------------------------------------------------------------- review: edge cases


def test_secret_length_boundary_and_padded_values() -> None:
    redactor = Redactor.for_job(
        env={"A_TOKEN": "Qw7#zX", "B_TOKEN": "Qw7#z", "C_SECRET": "  padded-value  ", "KEYBOARD_LAYOUT": "us-intl"}
    )
    # Six characters is a secret, five is not (too likely to be an ordinary word); the padded value is found bare.
    assert redactor("Qw7#zX | Qw7#z | padded-value | us-intl") == f"{REDACTED} | Qw7#z | {REDACTED} | us-intl"


@pytest.mark.parametrize("prefix", ["", "tok-"])
def test_both_literal_strategies_hide_secrets_whole(prefix: str) -> None:
    # No shared prefix: one substring search per secret; a shared prefix: one regular expression. Same results.
    long, inner, other = prefix + "Zq81xkP0vB-long", prefix + "Zq81xkP0vB", prefix + "m4Rn9w"
    redactor = Redactor([inner, long, other])
    assert redactor._scan is (prefix == "")  # the strategy under test is the one in use
    text = f"a {long} b {inner} c {other}{other} d {inner[:-1]}"
    assert redactor(text) == f"a {REDACTED} b {REDACTED} c {REDACTED}{REDACTED} d {inner[:-1]}"
    line = f"token={long} end\n"
    for cut in range(1, len(line)):
        excerpt = excerpt_from_events(job(cmd("x", line[:cut], line[cut:], exit_code=1)), redactor=redactor)
        assert excerpt.lines == (f"token={REDACTED} end",), cut


def test_a_log_of_carriage_returns_only() -> None:
    assert excerpt_from_text("10%\r50%\r100%").lines == ("100%",)
    assert excerpt_from_text(["a\r", "b\r", "\r"]).lines == ("b",)
    assert excerpt_from_text("\r\r\r").total_lines == 1


# --------------------------------------------------------------------------------------------- raw event mappings

_FRAGMENT = st.text(alphabet=st.sampled_from("ab \n\r\x1b[m\x00S3"), max_size=12)
_SCALAR = st.one_of(
    st.none(), st.integers(-3, 3), st.text(alphabet="0123 aB", max_size=3), st.booleans(), st.floats(0, 2)
)
_RAW_EVENT = st.one_of(
    # The ordinary shapes, which take the fast path most of the time...
    st.builds(lambda o, t: {"event": "cmd_output", "timestamp": t, "output": o}, _FRAGMENT, st.integers(0, 9)),
    st.builds(lambda d: {"event": "cmd_started", "timestamp": 1, "directive": d}, _FRAGMENT),
    st.builds(
        lambda d, c: {"event": "cmd_finished", "timestamp": 2, "directive": d, "exit_code": c},
        _FRAGMENT,
        st.integers(0, 3),
    ),
    st.builds(lambda r: {"event": "job_finished", "timestamp": 3, "result": r}, st.sampled_from(["failed", "PASSED"])),
    # ...and anything else a server might send, valid or not, which must be treated exactly as the model treats it.
    st.dictionaries(
        st.sampled_from(["event", "timestamp", "output", "directive", "exit_code", "result", "extra"]),
        st.one_of(_SCALAR, _FRAGMENT, st.just("cmd_output"), st.lists(st.integers(), max_size=1)),
        max_size=5,
    ),
)


def _raw_vs_model(events: list[dict[str, Any]], *, block: int = 8, tail: int = 3) -> None:
    """Feed the same events as raw dicts and as models: the excerpt, the full log and any error must be identical."""
    secret = "S3S3S3"
    events = [{"event": "cmd_started", "timestamp": 0, "directive": "first"}, *events]  # output takes the fast path

    def build(source: Iterable[LogEvent | dict[str, Any]]) -> tuple[object, list[str]]:
        blocks: list[str] = []

        class Sink:
            def write(self, text: str) -> None:
                blocks.append(text)

        builder = ExcerptBuilder(
            redactor=Redactor([secret]), sink=Sink(), options=ExcerptOptions(tail_lines=tail), block_chars=block
        )
        try:
            builder.feed_many(source)
        except ModelError as exc:
            return f"ModelError: {exc}", blocks
        return builder.finish(), blocks

    def models() -> Iterator[LogEvent]:
        for event in events:
            yield LogEvent.from_api(event)  # raises where the model refuses the event

    assert build(events) == build(models()), events


@given(events=st.lists(_RAW_EVENT, max_size=25), block=st.integers(1, 40), tail=st.integers(1, 5))
def test_raw_event_mappings_give_exactly_what_the_models_give(
    events: list[dict[str, Any]], block: int, tail: int
) -> None:
    _raw_vs_model(events, block=block, tail=tail)


def test_every_near_miss_of_the_ordinary_output_event_is_treated_like_the_model() -> None:
    """Each field of ``{"event": "cmd_output", "timestamp": 1, "output": "..."}`` off in every way, alone or
    together: only the exact ordinary shape may skip the model, everything else must behave as the model does."""
    import itertools

    kinds = ["cmd_output", "cmd_started", "cmd_finished", "job_finished", ""]
    stamps: list[object] = [1, "5", 1.0, [1], None, True]
    outputs: list[object] = ["S3S\n", "", 12, None, [1], True]
    extras: list[dict[str, object]] = [{}, {"exit_code": 1}, {"exit_code": [1]}, {"result": [1]}, {"extra": 1}]
    for kind, stamp, output, extra in itertools.product(kinds, stamps, outputs, extras):
        event = {"event": kind, "timestamp": stamp, "output": output, **extra}
        _raw_vs_model(
            [
                {"event": "cmd_output", "timestamp": 1, "output": "a"},
                event,
                {"event": "cmd_output", "timestamp": 2, "output": "3S3\n"},
            ]
        )


def test_a_malformed_raw_event_raises_the_models_error() -> None:
    bad = {"event": "cmd_output", "timestamp": [1], "output": "x\n"}
    with pytest.raises(ModelError) as from_model:
        LogEvent.from_api(bad)
    events = [*raw(cmd("make", "a\n", exit_code=None)), bad]
    with pytest.raises(ModelError) as from_builder:
        excerpt_from_events(events)
    assert str(from_builder.value) == str(from_model.value)
    with pytest.raises(ModelError, match="missing 'event'"):
        excerpt_from_events([{"timestamp": 1, "output": "x"}])


def test_unusual_raw_events_are_normalised_like_the_model() -> None:
    events: list[dict[str, Any]] = [
        {"event": "cmd_started", "timestamp": "5", "directive": 42},
        {"event": "cmd_output", "timestamp": 1.0, "output": 12345},  # a number as output: the model makes it text
        {"event": "cmd_output", "timestamp": 1, "output": "\n", "extra": "kept by the model, ignored here"},
        {"event": "cmd_output", "timestamp": 1},  # no output at all
        {"event": "cmd_output", "timestamp": 1, "output": None},
        {"event": "cmd_finished", "timestamp": "6", "exit_code": "3"},
        {"event": "job_finished", "timestamp": 7, "result": " FAILED "},
    ]
    excerpt = excerpt_from_events(events, job_name="odd")
    assert excerpt == excerpt_from_events([LogEvent.from_api(e) for e in events], job_name="odd")
    assert (excerpt.directive, excerpt.exit_code, excerpt.job_result, excerpt.lines) == ("42", 3, "failed", ("12345",))


def test_events_to_text_takes_raw_events_too() -> None:
    events = job(cmd("make", "\x1b[1mbuilt\x1b[0m\n", exit_code=2))
    assert (
        "".join(events_to_text(raw(events)))
        == "".join(events_to_text(events))
        == "$ make\nbuilt\n[exit code 2]\n[job failed]\n"
    )


class _MemorySource:
    """A log source that is not a ``SemaphoreClient``: the three methods ``LogSource`` names are all it has."""

    def __init__(self, job: Job, events: list[dict[str, Any]]) -> None:
        self.job, self.events, self.closed = job, events, False

    def describe_job(self, job_id: str) -> Job:
        assert job_id == self.job.job_id
        return self.job

    def job_log_events_raw(self, job_id: str) -> Iterator[dict[str, Any]]:
        try:
            yield from self.events
        finally:
            self.closed = True

    def redaction_values(self) -> tuple[str, ...]:
        return ("api-token-0123456789",)


def test_any_log_source_serves_fetch_excerpt() -> None:
    from pytest_semaphore.logs import LogSource, fetch_excerpt, fetch_failed_excerpts
    from pytest_semaphore.models import Pipeline
    from tests.support import api_payloads as P

    payload = P.job(result="FAILED")
    payload["spec"]["env_vars"].append({"name": "DEPLOY_PASSWORD", "value": "hunter2-hunter2"})
    events = [
        {"event": "cmd_started", "timestamp": 1, "directive": "deploy"},
        {"event": "cmd_output", "timestamp": 1, "output": "auth api-token-0123456789 hunter2-hunter2\n"},
        {"event": "cmd_finished", "timestamp": 2, "directive": "deploy", "exit_code": 4},
    ]
    memory = _MemorySource(Job.from_api(payload), events)
    source: LogSource = memory  # the type checker holds the class to the protocol
    excerpt = fetch_excerpt(source, P.JOB_ID, options=ExcerptOptions(tail_lines=5))
    assert (excerpt.job_name, excerpt.directive, excerpt.exit_code) == ("Job #1", "deploy", 4)
    assert excerpt.lines == (f"auth {REDACTED} {REDACTED}",)
    assert memory.closed  # the stream is closed as soon as the excerpt is built
    pipeline = Pipeline.from_api(P.pipeline_describe("done", "failed", blocks=[P.block()]))
    (failed,) = fetch_failed_excerpts(source, pipeline).values()
    assert (failed.job_id, failed.exit_code, failed.reason) == (P.JOB_ID, 4, "non-zero exit code")
