"""Base URL rules: where the token may be sent is decided here, so every rule has a test."""

from __future__ import annotations

import pytest

from pytest_semaphore.client.baseurl import is_loopback, normalise_base_url
from pytest_semaphore.errors import ConfigurationError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("myorg", "https://myorg.semaphoreci.com"),
        ("MyOrg", "https://myorg.semaphoreci.com"),
        ("  my-org  ", "https://my-org.semaphoreci.com"),
        ("myorg.semaphoreci.com", "https://myorg.semaphoreci.com"),
        ("https://myorg.semaphoreci.com", "https://myorg.semaphoreci.com"),
        ("https://myorg.semaphoreci.com/", "https://myorg.semaphoreci.com"),
        ("https://myorg.semaphoreci.com/api/v1alpha", "https://myorg.semaphoreci.com"),
        ("https://myorg.semaphoreci.com/api/v1alpha/", "https://myorg.semaphoreci.com"),
        ("HTTPS://MyOrg.SemaphoreCI.com:443", "https://myorg.semaphoreci.com"),
        ("https://semaphore.internal:8443", "https://semaphore.internal:8443"),
        ("http://127.0.0.1:4004", "http://127.0.0.1:4004"),
        ("http://127.0.0.2:80/api/v1alpha", "http://127.0.0.2"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("https://[2001:db8::1]", "https://[2001:db8::1]"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://semaphore_ci.internal", "https://semaphore_ci.internal"),
    ],
)
def test_accepted(given: str, expected: str) -> None:
    assert normalise_base_url(given) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("http://myorg.semaphoreci.com", "refusing plain http:// to myorg.semaphoreci.com"),
        ("http://10.0.0.1:8080", "plain http"),
        ("http://128.0.0.1", "plain http"),
        ("http://localhost.evil.com", "plain http"),
        ("ftp://myorg.semaphoreci.com", "scheme 'ftp'"),
        ("https://user:pw@myorg.semaphoreci.com", "user name or password"),
        ("https://myorg.semaphoreci.com/?x=1", "query string"),
        ("https://myorg.semaphoreci.com/#frag", "fragment"),
        ("https://myorg.semaphoreci.com/proxy/prefix", "without the path '/proxy/prefix'"),
        ("https://myorg.semaphoreci.com:notaport", "invalid port"),
        ("https://[myorg.semaphoreci.com", "malformed"),
        ("https://[::1", "malformed"),
        ("https://", "no host"),
        ("my org", "a space, a tab"),
        ("user@myorg", "not a URL"),
        # What requests or urllib3 would refuse only at the first request, with an exception that is not ours.
        ("https://my%zzorg.semaphoreci.com", "host name is not valid"),
        ("https://*.semaphoreci.com", "host name is not valid"),
        ("https://a..b.semaphoreci.com", "host name is not valid"),
        ("https://.semaphoreci.com", "host name is not valid"),
        ("https://-a.semaphoreci.com", "host name is not valid"),
        ("https://" + "a" * 64 + ".com", "host name is not valid"),
        ("https://my org.semaphoreci.com", "a space, a tab"),
        ("https://my\torg.semaphoreci.com", "a space, a tab"),  # urllib.parse drops the tab: another host
        ("https://myorg.semaphoreci.com\x00", "control character"),
        ("https://evil.example\\@myorg.semaphoreci.com", "backslash"),
    ],
)
def test_refused_with_a_reason(given: str, words: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        normalise_base_url(given)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://u:SECRET@h.example",
        "https://h.example/?t=SECRET",
        "https://h.example/#SECRET",
        "https://h.example:SECRET",  # urllib's ValueError quotes the port text
        "https://[SECRET",  # and this one the whole URL
    ],
)
def test_secret_parts_are_not_echoed_or_chained(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        normalise_base_url(url)
    assert "SECRET" not in str(info.value)
    assert info.value.__context__ is None
    assert info.value.__cause__ is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("a.localhost", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("128.0.0.1", False),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("::2", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
