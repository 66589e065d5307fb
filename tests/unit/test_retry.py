"""The retry policy object on its own: Retry-After parsing, backoff with jitter, what each policy retries."""

from __future__ import annotations

import email.utils
import random

import pytest

from pytest_semaphore.client.retry import Backoff, Policy, SemaphoreRetry, backoff_delay, parse_retry_after, policy_for


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("12", 12.0), (" 7 ", 7.0), (None, None), ("soon", None)])
def test_parse_retry_after_delta(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_parse_retry_after_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now=lambda: now) == 90.0
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now=lambda: now) == 0.0


def test_new_keeps_the_injected_sleep_and_caps() -> None:
    slept: list[float] = []
    retry = policy_for(Policy.LOGS, retries=3, sleep=slept.append, rng=random.Random(3))
    later = retry.new(total=1)
    assert isinstance(later, SemaphoreRetry)
    assert later.sleep_function is retry.sleep_function
    assert later.status_caps == {504: 1}
    assert later.rng is retry.rng


def test_policies_retry_what_they_should() -> None:
    idempotent = policy_for(Policy.IDEMPOTENT, retries=3, sleep=None)
    promotions = policy_for(Policy.PROMOTIONS_LIST, retries=3, sleep=None)
    once = policy_for(Policy.NOT_IDEMPOTENT, retries=3, sleep=None)
    for status in (403, 429, 500, 502, 503, 504):
        assert idempotent.is_retry("GET", status)
        assert idempotent.is_retry("POST", status)
    assert not idempotent.is_retry("GET", 404)
    assert not idempotent.is_retry("GET", 501)
    assert not promotions.is_retry("GET", 500)
    assert promotions.is_retry("GET", 502)
    assert once.is_retry("POST", 429)
    assert once.is_retry("POST", 403)
    for status in (500, 502, 503, 504):
        assert not once.is_retry("POST", status)
    # not even a 503 with Retry-After, which stock urllib3 would resend
    assert not once.is_retry("POST", 503, has_retry_after=True)
    assert once.read is False


def test_backoff_sequence_and_jitter_bounds() -> None:
    retry = policy_for(Policy.IDEMPOTENT, retries=10, sleep=None, rng=random.Random(0))
    assert retry.get_backoff_time() == 0.0
    for n in range(1, 9):
        retry = retry.new(history=(*retry.history, object()))
        nominal = min(16.0, 2.0 ** (n - 1))
        assert nominal / 2 <= retry.get_backoff_time() <= nominal


def test_the_clients_own_retries_wait_between_attempts_never_before_the_first() -> None:
    slept: list[float] = []
    backoff = Backoff(sleep=slept.append, rng=random.Random(5), base=0.5)
    seen: list[tuple[int, int]] = []
    for attempt in backoff.attempts(4):
        seen.append((attempt, len(slept)))
    assert seen == [(0, 0), (1, 1), (2, 2), (3, 3)]
    twin = random.Random(5)
    assert slept == [backoff_delay(n, twin, base=0.5) for n in (1, 2, 3)]
    assert 0.25 <= slept[0] <= 0.5
    assert 1.0 <= slept[2] <= 2.0
