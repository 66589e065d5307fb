"""The one rule that keeps URL queries (loghub's signed ``?jwt=``) out of messages and log lines."""

from __future__ import annotations

from pytest_semaphore.client.logfilter import strip_queries


def test_one_query_rule_for_messages_and_log_lines() -> None:
    assert strip_queries('GET /api/v1/logs/x?jwt=SIGNED&a=b HTTP/1.1" 200') == 'GET /api/v1/logs/x HTTP/1.1" 200'
    assert strip_queries("see (https://h/x?a=b) now") == "see (https://h/x) now"
    assert strip_queries("Why? Because the query had no equals sign?") == "Why? Because the query had no equals sign?"
