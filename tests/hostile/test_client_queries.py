"""URL queries (loghub's signed ``?jwt=``) stay out of messages and urllib3's log lines, in linear work."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from pytest_semaphore.client.logfilter import install, strip_queries


@pytest.mark.parametrize(
    "text",
    [
        '127.0.0.1:80 "GET /logs/x?a=)&jwt=SECRET HTTP/1.1" 200 5',
        '127.0.0.1:80 "GET /logs/x?a=\'&jwt=SECRET HTTP/1.1" 200 5',
        '/logs/x?a="&jwt=SECRET',
        "/logs/x?a=>jwt=SECRET",
        "/logs/x?a=b)jwt=SECRET",
        "(/logs/x?jwt=SECRET)",
    ],
)
def test_a_jwt_after_a_quote_or_bracket_does_not_survive(text: str) -> None:
    assert "SECRET" not in strip_queries(text)


def test_urllib3_debug_lines_lose_their_queries(caplog: pytest.LogCaptureFixture) -> None:
    install()
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        logging.getLogger("urllib3.connectionpool").debug(
            '%s://%s:%s "%s %s %s" %s %s', "https", "loghub", 443, "GET", "/l?x=)'&jwt=SECRET", "HTTP/1.1", 200, 1
        )
    assert caplog.records
    assert "SECRET" not in caplog.text


def test_prose_and_closing_punctuation_are_kept() -> None:
    assert strip_queries("see (https://h/x?a=b), then <https://h/y?c=d>.") == "see (https://h/x), then <https://h/y>."
    assert strip_queries("Why? Because.") == "Why? Because."


WORST_CASES = '["?" * 2_000_000, "?a" * 1_000_000, "=?" * 1_000_000, "x?" + "\'" * 2_000_000 + "=", "?=)" * 700_000]'


def test_stripping_is_linear_over_a_hostile_body() -> None:
    """Two megabytes of the worst patterns, under a CPU-seconds limit (a resource bound, not a measured time): a
    quadratic scan needs hours for them, the linear one well under a second each."""
    script = textwrap.dedent(
        f"""
        import resource
        resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
        from pytest_semaphore.client.logfilter import strip_queries
        for text in {WORST_CASES}:
            strip_queries(text)
        print("done")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "done", done.stderr[-500:]
