"""``SemaphoreClient``: one method per Semaphore v1alpha endpoint, returning the typed models of ``models.py``.

The class itself only checks its configuration and owns the :class:`~.transport.Transport`; its endpoints come from
one class per resource (``projects.py``, ``workflows.py``, ``pipelines.py``, ``promotions.py``, ``jobs.py``).
``docs/client.md`` is the user-facing contract.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from .. import __version__
from ..errors import ConfigurationError
from .baseurl import normalise_base_url
from .jobs import JobEndpoints
from .params import clean_token
from .projects import ProjectIds
from .promotions import PromotionEndpoints
from .retry import BACKOFF_BASE, Backoff
from .transport import Limits, Transport
from .workflows import WorkflowEndpoints

__all__ = ["SemaphoreClient"]

#: What ``from_env`` reads, and what to tell a user who has not set it.
_ENV_HINTS = {
    "SEMAPHORE_ORGANIZATION_URL": "set in every Semaphore job; elsewhere export it, e.g. https://myorg.semaphoreci.com",
    "SEMAPHORE_API_TOKEN": "store an API token in a secret and export it; jobs have no built-in API token",
}


class SemaphoreClient(WorkflowEndpoints, PromotionEndpoints, JobEndpoints):
    """A client for ``https://<org>.semaphoreci.com/api/v1alpha``; safe to share between threads.

    ``base_url`` is ``https://myorg.semaphoreci.com`` (a trailing ``/api/v1alpha`` is dropped) or just ``myorg``;
    plain http is accepted only for loopback. ``timeout`` bounds each attempt (connect and each read); ``retries``
    is the retry budget of each call (every kind of failure draws on it); ``sleep`` (default ``time.sleep``) is
    used for every wait inside the client, retries included, so tests can run an hour of backoff in milliseconds;
    ``monotonic`` (default ``time.monotonic``) is the clock of the deadlines. ``rng`` makes the retry jitter
    reproducible. ``deadline`` bounds one call in all (attempts, waits, the whole answer), ``log_deadline`` a
    streamed log; ``max_answer_bytes`` and ``max_log_bytes`` cap what is read (``docs/client.md``, "Limits").
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] | None = None,
        retries: int = 5,
        rng: random.Random | None = None,
        backoff_base: float | None = None,
        max_retry_after: float | None = None,
        user_agent: str | None = None,
        deadline: float = Limits.deadline,
        log_deadline: float = Limits.log_deadline,
        max_answer_bytes: int = Limits.max_answer_bytes,
        max_log_bytes: int = Limits.max_log_bytes,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        if not isinstance(token, str) or not token.strip():
            raise ConfigurationError(
                "no Semaphore API token: set SEMAPHORE_API_TOKEN (create one at https://me.semaphoreci.com/account)"
            )
        if not clean_token(token):
            raise ConfigurationError(
                "the Semaphore API token contains whitespace, control or non-ASCII characters (a stray newline?)"
            )
        if not (isinstance(timeout, (int, float)) and 0 < timeout < float("inf")):
            raise ConfigurationError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise ConfigurationError(f"retries must be an integer >= 0, got {retries!r}")
        for name, value in (("backoff_base", backoff_base), ("max_retry_after", max_retry_after)):
            if value is not None and not (isinstance(value, (int, float)) and 0 <= value < float("inf")):
                raise ConfigurationError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        for name, value in (("deadline", deadline), ("log_deadline", log_deadline)):
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 < value < float("inf")):
                raise ConfigurationError(f"{name} must be a finite number of seconds > 0, got {value!r}")
        for name, size in (("max_answer_bytes", max_answer_bytes), ("max_log_bytes", max_log_bytes)):
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                raise ConfigurationError(f"{name} must be a number of bytes > 0, got {size!r}")
        self.timeout = float(timeout)
        self.retries = retries
        self._token_text = token
        backoff = Backoff(
            sleep=sleep if sleep is not None else time.sleep,
            rng=rng if rng is not None else random.Random(),  # noqa: S311 - jitter, not cryptography
            base=BACKOFF_BASE if backoff_base is None else backoff_base,
        )
        self._http = Transport(
            self.base_url,
            token,
            timeout=self.timeout,
            retries=retries,
            backoff=backoff,
            user_agent=user_agent or f"pytest-semaphore/{__version__} python-requests/{requests.__version__}",
            max_retry_after=max_retry_after,
            limits=Limits(
                deadline=float(deadline),
                log_deadline=float(log_deadline),
                max_answer_bytes=max_answer_bytes,
                max_log_bytes=max_log_bytes,
                monotonic=monotonic if monotonic is not None else time.monotonic,
            ),
        )
        self._project_ids = ProjectIds()

    def redaction_values(self) -> tuple[str, ...]:
        """Values a log redactor must hide (the API token): for ``logs.Redactor``, never to be printed or sent.

        Job logs can echo the token (a ``curl -H "Authorization: Token ..."`` in a job); this is the public way for
        code that cleans logs to learn what to hide, without reading the client's private state.
        """
        return (self._token_text,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> SemaphoreClient:
        """Build a client from ``SEMAPHORE_ORGANIZATION_URL`` and ``SEMAPHORE_API_TOKEN`` (set in Semaphore jobs).

        Every error names the variable at fault, because the user fixes the environment, not a call: a missing or
        blank variable, or a value the constructor refuses (plain http to a remote host, a token with a newline).
        """
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        problems: list[str] = []
        for name, hint in _ENV_HINTS.items():
            raw = env.get(name)
            values[name] = (raw or "").strip()
            if not values[name]:
                problems.append(f"{name} is {'not set' if raw is None else 'empty'} ({hint})")
        if problems:
            raise ConfigurationError("; ".join(problems))
        url, token = values["SEMAPHORE_ORGANIZATION_URL"], values["SEMAPHORE_API_TOKEN"]
        if not clean_token(token):
            raise ConfigurationError(
                "SEMAPHORE_API_TOKEN contains whitespace, control or non-ASCII characters "
                "(two tokens, or a quoting mistake in the secret?)"
            )
        try:
            base_url = normalise_base_url(url)
        except ConfigurationError as exc:
            message = f"SEMAPHORE_ORGANIZATION_URL: {exc}"
        else:
            return cls(base_url, token, **kwargs)
        raise ConfigurationError(message)  # outside the except block: nothing chained

    def close(self) -> None:
        """Close every pooled connection. The client can no longer be used afterwards."""
        self._http.close()

    def __enter__(self) -> SemaphoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SemaphoreClient({self.base_url!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # A pickled client would carry the token to wherever the bytes go (a worker, a cache, a log): refused with
        # a message saying what to do instead, rather than "cannot pickle '_thread.lock' object".
        raise TypeError(
            "a SemaphoreClient cannot be pickled (it holds the API token and open connections): "
            "build one in each process, e.g. with SemaphoreClient.from_env()"
        )
