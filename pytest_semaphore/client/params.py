"""Checking what callers pass before it becomes a path or a query, so a mistake is a ``ConfigurationError`` raised
before any request, naming the argument, and never a request the server would misread (an id with a ``/`` in it
changes the path; a naive ``datetime`` means a different instant on every machine).
"""

from __future__ import annotations

import datetime as _dt
import re

from ..errors import ConfigurationError

__all__ = ["add", "clean_token", "limit_value", "nonempty", "page_size_value", "param_value", "segment", "unix"]

Query = list[tuple[str, str]]


def clean_token(token: str) -> bool:
    """A token must be one printable ASCII word: anything else would corrupt (or split) the Authorization header."""
    return token.isascii() and token.isprintable() and token == token.strip() and " " not in token


#: What could change a path when inside one segment: separators, a query, a fragment, escapes, spaces, controls.
_UNSAFE = re.compile(r"[/?#%\\\x00-\x20]")


def segment(value: str, what: str) -> str:
    """An id or name used as one path segment: non-empty and unable to change the path."""
    text = nonempty(value, what)
    if _UNSAFE.search(text) or text in (".", ".."):
        raise ConfigurationError(
            f"{what} {text!r} is not a valid id or name (it contains '/', '?', '#', '%' or spaces)"
        )
    return text


def nonempty(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def add(params: Query, key: str, value: str | None) -> None:
    """Append ``key=value`` unless the value is absent (``None`` or empty)."""
    if value is not None and value != "":
        params.append((key, value))


def unix(value: _dt.datetime | float | None, what: str) -> str | None:
    """Unix seconds as the API wants them, from an aware datetime or a number."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ConfigurationError(
                f"{what} must be a timezone-aware datetime (e.g. datetime.now(timezone.utc)) or unix seconds"
            )
        return str(int(value.timestamp()))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{what} must be an aware datetime or unix seconds, got {value!r}")
    return str(int(value))


def page_size_value(value: int | None) -> str | None:
    return None if value is None else str(_positive(value, "page_size"))


def limit_value(value: int | None) -> int | None:
    return None if value is None else _positive(value, "limit")


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{what} must be a positive integer, got {value!r}")
    return value


def param_value(value: object, key: str) -> str:
    """A workflow or promotion parameter as the string the server wants (numbers and booleans converted)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise ConfigurationError(f"parameter {key!r} must be a string (Semaphore parameters are strings), got {value!r}")
