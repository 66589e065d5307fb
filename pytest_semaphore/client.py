"""``SemaphoreClient``: one method per Semaphore v1alpha endpoint, returning the typed models of ``models.py``.

Why this module looks the way it does (``docs/client.md`` is the user-facing version):

* **One HTTP path for everything** (:meth:`SemaphoreClient._exchange`): every request goes through the same code that
  adds the token, applies the retry policy, turns transport failures into :mod:`errors` without a URL query or a
  token anywhere in the message *or in a chained exception* (requests' exceptions carry the request, headers
  included, so they are never chained), and reads the body with a clear error for HTML, empty or malformed JSON.
* **Retry policies per kind of request** (``retry.py``): requests' ``HTTPAdapter`` applies one ``Retry`` object to
  everything it sends, so the client keeps one adapter per policy over one shared connection pool and sends through
  the adapter directly. That also means requests' ``Session`` is not used at all: no cookie jar shared between
  threads, no automatic redirects that could carry the token to another host, no environment surprises beyond the
  proxy and CA-bundle variables that are read explicitly.
* **Pages are rebuilt on the configured base URL**: the server builds ``link`` headers from its own view of scheme
  and host (plain http behind a proxy, an internal name); only the query of a ``rel="next"`` link is used, never its
  scheme, host or path.
* **Non-idempotent requests are never resent blindly**: ``run_workflow`` raises :class:`~errors.OutcomeUnknown` after
  an ambiguous failure (optionally reconciling against the workflow list), ``trigger_promotion`` compares the
  promotions list with a snapshot taken before the trigger and resends only when no new record appeared.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qsl, urljoin, urlsplit

import requests
import requests.utils
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from . import __version__
from .baseurl import API_PREFIX, is_loopback, normalise_base_url
from .errors import (
    APIError,
    APIUnavailable,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    OutcomeUnknown,
    SemaphoreError,
)
from .logfilter import install as _install_log_filter
from .logfilter import strip_queries
from .logstream import iter_events, iter_raw_events
from .models import (
    Job,
    LogEvent,
    ModelError,
    Pipeline,
    Project,
    Promotion,
    TopologyBlock,
    Workflow,
    WorkflowStarted,
)
from .retry import BACKOFF_BASE, RETRYABLE_STATUSES, Policy, backoff_delay, parse_retry_after, policy_for

__all__ = ["SemaphoreClient"]

_install_log_filter()  # urllib3 logs request lines, queries (loghub's ?jwt=) included, at DEBUG level

T = TypeVar("T")

#: Chunk size for streamed log bodies.
LOG_CHUNK = 64 * 1024
#: Hard stop for a pager that never says "last page" (a server bug must not become an endless loop).
MAX_PAGES = 10_000
#: Keys ``POST /promotions`` reads itself; a promotion parameter of that name would be eaten by the server.
RESERVED_PROMOTION_KEYS = frozenset({"switch_id", "name", "user_id", "override", "request_token", "pipeline_id"})
#: How many of a branch's newest workflows reconciliation compares (one page).
RECONCILE_WINDOW = 30
#: After an ambiguous failure, how often (and how long apart) to look for the record it may have created.
RECONCILE_LOOKS = 3
RECONCILE_PAUSE = 2.0
#: How many redirects a log request follows (API -> loghub2 is one).
MAX_LOG_REDIRECTS = 3

#: What ``from_env`` reads, and what to tell a user who has not set it.
_ENV_HINTS = {
    "SEMAPHORE_ORGANIZATION_URL": "set in every Semaphore job; elsewhere export it, e.g. https://myorg.semaphoreci.com",
    "SEMAPHORE_API_TOKEN": "store an API token in a secret and export it; jobs have no built-in API token",
}

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_LOGIN_HINTS = ("/login", "/signin", "/sign_in", "/sessions", "/auth", "id.semaphoreci.com")


@dataclass(frozen=True)
class _Reply:
    """A fully read response: what the parsing helpers need, and nothing that holds a connection or the token."""

    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    retries: int
    """How many times the request was retried before this answer."""


class SemaphoreClient:
    """A client for ``https://<org>.semaphoreci.com/api/v1alpha``; safe to share between threads.

    ``base_url`` is ``https://myorg.semaphoreci.com`` (a trailing ``/api/v1alpha`` is dropped) or just ``myorg``;
    plain http is accepted only for loopback. ``timeout`` bounds each attempt (connect and each read); ``retries``
    is the retry budget of each call (every kind of failure draws on it); ``sleep`` (default ``time.sleep``) is
    used for every wait inside the client, retries included, so tests can run an hour of backoff in milliseconds;
    ``monotonic`` is accepted for symmetry with the waiting engine. ``rng`` makes the retry jitter reproducible.
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
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        if not isinstance(token, str) or not token.strip():
            raise ConfigurationError(
                "no Semaphore API token: set SEMAPHORE_API_TOKEN (create one at https://me.semaphoreci.com/account)"
            )
        if not _clean_token(token):
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
        self.timeout = float(timeout)
        self.retries = retries
        self._sleep: Callable[[float], None] = sleep if sleep is not None else time.sleep
        self._monotonic: Callable[[], float] = monotonic if monotonic is not None else time.monotonic
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not cryptography
        self._auth = f"Token {token}"
        self._token_text = token
        self._user_agent = user_agent or f"pytest-semaphore/{__version__} python-requests/{requests.__version__}"
        self._verify = _ca_bundle(os.environ)
        self._backoff_base = BACKOFF_BASE if backoff_base is None else backoff_base
        options: dict[str, Any] = {"backoff_base": self._backoff_base}
        if max_retry_after is not None:
            options["max_retry_after"] = max_retry_after
        self._adapters: dict[Policy, HTTPAdapter] = {}
        shared: HTTPAdapter | None = None
        for policy in Policy:
            adapter = HTTPAdapter(
                pool_connections=4,
                pool_maxsize=16,
                max_retries=policy_for(policy, retries=retries, sleep=self._sleep, rng=self._rng, **options),
            )
            if shared is None:
                shared = adapter
            else:  # one pool of connections for every policy
                adapter.poolmanager.clear()
                adapter.poolmanager = shared.poolmanager
            self._adapters[policy] = adapter
        self._projects: dict[str, str] = {}
        self._lock = threading.Lock()
        self._resolving = threading.Lock()
        self._closed = False

    def redaction_values(self) -> tuple[str, ...]:
        """Values a log redactor must hide (the API token): for ``logs.Redactor``, never to be printed or sent.

        Job logs can echo the token (a ``curl -H "Authorization: Token ..."`` in a job); this is the public way for
        code that cleans logs to learn what to hide, without reading the client's private state.
        """
        return (self._token_text,)

    # ------------------------------------------------------------------------------------------------ lifecycle

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
        if not _clean_token(token):
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
        self._closed = True
        for adapter in self._adapters.values():
            adapter.close()

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

    # ------------------------------------------------------------------------------------------------ projects

    def list_projects(self) -> list[Project]:
        """Every project of the organisation (``GET /projects``, paged with ``x-page``/``x-has-more``)."""
        path = f"{API_PREFIX}/projects"
        out: list[Project] = []
        page = 1
        while page <= 100:
            reply = self._get(path, params=[("page", str(page))])
            items = self._json_list(reply, "GET", path)
            out.extend(self._model(Project.from_api, item, "GET", path, reply.status) for item in items)
            if reply.headers.get("x-has-more", "").strip().lower() != "true" or not items:
                break
            page += 1
        with self._lock:
            for project in out:
                self._projects.setdefault(project.name, project.project_id)
        return out

    def describe_project(self, name: str) -> Project:
        """One project by name (``GET /projects/:name``); ``NotFoundError`` if missing or not visible."""
        wanted = _segment(name, "project name")
        path = f"{API_PREFIX}/projects/{wanted}"
        project = self._decode(self._get(path), Project.from_api, "GET", path)
        with self._lock:
            self._projects[wanted] = project.project_id
        return project

    def resolve_project_id(self, project_id_or_name: str) -> str:
        """A project id for an id or a name; a name is looked up once and remembered for the client's lifetime."""
        value = _nonempty(project_id_or_name, "project")
        if _UUID.match(value):
            return value
        with self._resolving:  # one lookup per name even when threads ask at once
            with self._lock:
                known = self._projects.get(value)
            if known is not None:
                return known
            return self.describe_project(value).project_id

    # ------------------------------------------------------------------------------------------------ workflows

    def describe_workflow(self, wf_id: str) -> Workflow:
        path = f"{API_PREFIX}/plumber-workflows/{_segment(wf_id, 'workflow id')}"
        return self._decode(self._get(path), Workflow.from_api, "GET", path)

    def list_workflows(
        self,
        project: str,
        *,
        branch_name: str | None = None,
        created_after: _dt.datetime | float | None = None,
        created_before: _dt.datetime | float | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> list[Workflow]:
        """Workflows of a project, newest first, every page (or until ``limit`` were read)."""
        filters: list[tuple[str, str]] = []  # checked before the project name costs a request
        _add(filters, "branch_name", branch_name)
        _add(filters, "created_after", _unix(created_after, "created_after"))
        _add(filters, "created_before", _unix(created_before, "created_before"))
        _add(filters, "page_size", _page_size(page_size))
        cap = _limit(limit)
        params = [("project_id", self.resolve_project_id(project)), *filters]
        return self._paged(f"{API_PREFIX}/plumber-workflows", params, Workflow.from_api, limit=cap)

    def run_workflow(
        self,
        project: str,
        reference: str,
        *,
        commit_sha: str | None = None,
        pipeline_file: str | None = None,
        parameters: Mapping[str, str] | None = None,
        reconcile: bool = False,
    ) -> WorkflowStarted:
        """Start a workflow (``POST /plumber-workflows``). Never resent once it may have reached the server.

        After an ambiguous failure (dropped connection after sending, read timeout, 5xx) this raises
        :class:`~errors.OutcomeUnknown`; with ``reconcile=True`` it first looks for the workflow the request may
        have created (same project, branch, commit, triggered by the API, not present before the request) and
        returns it when exactly one is found.
        """
        reference = _nonempty(reference, "reference")  # arguments are checked before any request
        body: dict[str, Any] = {"project_id": "", "reference": reference}
        if commit_sha:
            body["commit_sha"] = commit_sha
        if pipeline_file:
            body["pipeline_file"] = pipeline_file
        if parameters:
            body["parameters"] = {str(k): _param_value(v, str(k)) for k, v in parameters.items()}
        project_id = body["project_id"] = self.resolve_project_id(project)
        path = f"{API_PREFIX}/plumber-workflows"
        branch = _branch_of(reference)
        before: set[str] = set()
        if reconcile:
            before = {wf.wf_id for wf in self._recent_workflows(project_id, branch)}
        ambiguous: OutcomeUnknown | None = None
        reply: _Reply | None = None
        accepted = False  # a 2xx whose body could not be read: the workflow exists, only its ids are unknown
        try:
            reply = self._exchange("POST", path, body=body, policy=Policy.NOT_IDEMPOTENT)
        except OutcomeUnknown as exc:
            ambiguous = exc
        if reply is not None and reply.status in (500, 502, 503, 504):
            ambiguous = OutcomeUnknown("POST", path, f"HTTP {reply.status}{self._said(reply)}")
        if reply is not None and ambiguous is None:
            self._check(reply, "POST", path, Policy.NOT_IDEMPOTENT)
            detail = ""
            try:
                return self._decode(reply, WorkflowStarted.from_api, "POST", path)
            except APIError as exc:
                detail = exc.detail or str(exc)
            # 2xx: the workflow exists, but its ids could not be read.
            accepted = True
            ambiguous = OutcomeUnknown(
                "POST", path, f"HTTP {reply.status}: the server accepted it, but the answer could not be read: {detail}"
            )
        assert ambiguous is not None
        if not reconcile:
            raise ambiguous
        return self._reconcile_run(project_id, branch, commit_sha, before, ambiguous, accepted=accepted)

    def _recent_workflows(self, project_id: str, branch: str) -> list[Workflow]:
        """The newest workflows of a branch, one page: the before/after snapshots of a reconciliation.

        Both snapshots have the same size and the list is newest first, so anything in the second that is not in
        the first is new. No ``created_after`` is used: our clock and the server's need not agree.
        """
        return self.list_workflows(project_id, branch_name=branch, page_size=RECONCILE_WINDOW, limit=RECONCILE_WINDOW)

    def _reconcile_run(
        self,
        project_id: str,
        branch: str,
        commit_sha: str | None,
        before: set[str],
        unknown: OutcomeUnknown,
        *,
        accepted: bool = False,
    ) -> WorkflowStarted:
        unreadable: SemaphoreError | None = None
        read_once = False
        for attempt in range(RECONCILE_LOOKS):
            if attempt:
                self._sleep(RECONCILE_PAUSE * attempt)
            try:
                found = self._recent_workflows(project_id, branch)
            except SemaphoreError as exc:
                unreadable = exc
                continue
            read_once = True
            candidates = [
                wf
                for wf in found
                if wf.wf_id not in before
                and (wf.triggered_by in (None, "api"))
                and (not commit_sha or wf.commit_sha == commit_sha)
            ]
            if len(candidates) == 1:
                wf = candidates[0]
                return WorkflowStarted(wf_id=wf.wf_id, ppl_id=wf.initial_ppl_id, raw=dict(wf.raw))
            if len(candidates) > 1:
                ids = ", ".join(wf.wf_id for wf in candidates[:5])
                raise OutcomeUnknown(
                    unknown.method, unknown.path, f"{unknown.reason}; {len(candidates)} new workflows match: {ids}"
                )
        if not read_once:
            # Never "probably not created" when nothing was seen: a user reading that would run it again.
            raise OutcomeUnknown(
                unknown.method,
                unknown.path,
                f"{unknown.reason}; the workflow list could not be read to find out: {unreadable}",
            )
        # After a 2xx the workflow was created: not finding it must not read as "probably not created".
        verdict = "yet it was accepted: look for it in the UI" if accepted else "so it was probably not created"
        raise OutcomeUnknown(
            unknown.method,
            unknown.path,
            f"{unknown.reason}; no new workflow for branch {branch!r} was found after {RECONCILE_LOOKS} looks, "
            + verdict,
        )

    def reschedule_workflow(self, wf_id: str, request_token: str | None = None) -> WorkflowStarted:
        """Rerun a workflow (``POST /plumber-workflows/:id/reschedule``); idempotent per ``request_token``."""
        path = f"{API_PREFIX}/plumber-workflows/{_segment(wf_id, 'workflow id')}/reschedule"
        token = request_token or str(uuid.uuid4())
        reply = self._exchange("POST", path, params=[("request_token", token)], body={"request_token": token})
        self._check(reply, "POST", path, Policy.IDEMPOTENT)
        return self._decode(reply, WorkflowStarted.from_api, "POST", path)

    def terminate_workflow(self, wf_id: str) -> None:
        """Stop every pipeline of a workflow. Repeating it is harmless, so it is retried like a GET."""
        path = f"{API_PREFIX}/plumber-workflows/{_segment(wf_id, 'workflow id')}/terminate"
        reply = self._exchange("POST", path)
        self._check(reply, "POST", path, Policy.IDEMPOTENT)

    # ------------------------------------------------------------------------------------------------ pipelines

    def describe_pipeline(self, ppl_id: str, detailed: bool = False) -> Pipeline:
        """``GET /pipelines/:id``; ``detailed=True`` adds blocks and jobs (more expensive for the server)."""
        path = f"{API_PREFIX}/pipelines/{_segment(ppl_id, 'pipeline id')}"
        reply = self._get(path, params=[("detailed", "true" if detailed else "false")])
        return self._decode(reply, Pipeline.from_api, "GET", path)

    def list_pipelines(
        self,
        project: str | None = None,
        *,
        wf_id: str | None = None,
        branch_name: str | None = None,
        yml_file_path: str | None = None,
        created_after: _dt.datetime | float | None = None,
        created_before: _dt.datetime | float | None = None,
        done_after: _dt.datetime | float | None = None,
        done_before: _dt.datetime | float | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> list[Pipeline]:
        """Pipelines of a project or a workflow (one is required), newest first, every page (or ``limit``)."""
        if not project and not wf_id:
            raise ConfigurationError("list_pipelines needs a project (id or name) or a wf_id")
        params: list[tuple[str, str]] = []  # filters are checked before the project name costs a request
        _add(params, "wf_id", wf_id)
        _add(params, "branch_name", branch_name)
        _add(params, "yml_file_path", yml_file_path)
        _add(params, "created_after", _unix(created_after, "created_after"))
        _add(params, "created_before", _unix(created_before, "created_before"))
        _add(params, "done_after", _unix(done_after, "done_after"))
        _add(params, "done_before", _unix(done_before, "done_before"))
        _add(params, "page_size", _page_size(page_size))
        cap = _limit(limit)
        if project:
            params.insert(0, ("project_id", self.resolve_project_id(project)))
        return self._paged(f"{API_PREFIX}/pipelines", params, Pipeline.from_api, limit=cap)

    def terminate_pipeline(self, ppl_id: str) -> None:
        """``PATCH /pipelines/:id`` with the JSON boolean the server insists on (form encoding gives 400)."""
        path = f"{API_PREFIX}/pipelines/{_segment(ppl_id, 'pipeline id')}"
        reply = self._exchange("PATCH", path, body={"terminate_request": True})
        self._check(reply, "PATCH", path, Policy.IDEMPOTENT)

    def partial_rebuild(self, ppl_id: str, request_token: str | None = None) -> str:
        """Rerun a done, not-passed pipeline's failed parts; return the new pipeline's id. Idempotent per token."""
        path = f"{API_PREFIX}/pipelines/{_segment(ppl_id, 'pipeline id')}/partial_rebuild"
        token = request_token or str(uuid.uuid4())
        reply = self._exchange("POST", path, params=[("request_token", token)], body={"request_token": token})
        self._check(reply, "POST", path, Policy.IDEMPOTENT)
        data = self._json_obj(reply, "POST", path)
        new_id = data.get("pipeline_id") or data.get("ppl_id")
        if not isinstance(new_id, str) or not new_id:
            raise APIError(
                "POST", path, 0, str(data.get("message") or ""), detail=f"HTTP {reply.status} without a pipeline_id"
            )
        return new_id

    def describe_topology(self, ppl_id: str) -> list[TopologyBlock]:
        path = f"{API_PREFIX}/pipelines/{_segment(ppl_id, 'pipeline id')}/describe_topology"
        reply = self._get(path)
        return [
            self._model(TopologyBlock.from_api, item, "GET", path, reply.status)
            for item in self._json_list(reply, "GET", path)
        ]

    # ------------------------------------------------------------------------------------------------ promotions

    def list_promotions(self, ppl_id: str, *, name: str | None = None) -> list[Promotion]:
        """Promotion records of a pipeline, newest first, every page.

        The server answers 500 both for "this pipeline has no promotions" and for a real failure. The two are told
        apart by describing the pipeline: one without a ``switch_id`` has no promotions, and gives ``[]``; for any
        other pipeline the 500 is raised as an ``APIError``.
        """
        ppl = _segment(ppl_id, "pipeline id")
        params = [("pipeline_id", ppl)]
        _add(params, "name", name)
        path = f"{API_PREFIX}/promotions"
        try:
            return self._paged(path, params, Promotion.from_api, policy=Policy.PROMOTIONS_LIST)
        except APIError as exc:
            if exc.status != 500 or isinstance(exc, (AuthenticationError, NotFoundError)):
                raise
            failure = exc
        if not self.describe_pipeline(ppl).switch_id:
            return []
        raise failure

    def trigger_promotion(
        self,
        ppl_id: str,
        name: str,
        *,
        override: bool = False,
        parameters: Mapping[str, str] | None = None,
        request_token: str | None = None,
    ) -> None:
        """Trigger promotion ``name`` of a pipeline (``POST /promotions``); parameters go as top-level keys.

        A trigger is not blindly resent: after an ambiguous failure the promotions list is compared with a
        snapshot taken just before the first attempt, and the trigger is resent only when no new record of that
        name appeared. A 500 (the server's answer to a bad parameter value) is never resent.
        """
        ppl = _segment(ppl_id, "pipeline id")
        target = _nonempty(name, "promotion name")
        body: dict[str, Any] = {
            "pipeline_id": ppl,
            "name": target,
            "override": bool(override),
            "request_token": request_token or str(uuid.uuid4()),
        }
        for key, value in (parameters or {}).items():
            if key in RESERVED_PROMOTION_KEYS:
                raise ConfigurationError(
                    f"promotion parameter {key!r} clashes with a field of the promotion request itself; rename it"
                )
            body[str(key)] = _param_value(value, str(key))
        path = f"{API_PREFIX}/promotions"
        snapshot = _promotion_keys(self.list_promotions(ppl, name=target))
        last: OutcomeUnknown | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(backoff_delay(attempt, self._rng, base=self._backoff_base))
            try:
                reply = self._exchange("POST", path, body=body, policy=Policy.NOT_IDEMPOTENT)
            except OutcomeUnknown as unknown:
                last = unknown
            else:
                if reply.status not in (502, 503, 504):
                    self._check(reply, "POST", path, Policy.NOT_IDEMPOTENT)
                    return
                last = OutcomeUnknown("POST", path, f"HTTP {reply.status}{self._said(reply)}")
            # Ambiguous: did it land? Only a new record of this name says so.
            try:
                now = _promotion_keys(self.list_promotions(ppl, name=target))
            except SemaphoreError as exc:
                raise OutcomeUnknown(
                    "POST", path, f"{last.reason}; the promotions list could not be read: {exc}", sent=attempt + 1
                ) from None
            if now - snapshot:
                return
        assert last is not None
        raise OutcomeUnknown(
            "POST",
            path,
            f"{last.reason}; no new {target!r} promotion appeared after any attempt",
            sent=self.retries + 1,
        )

    # ------------------------------------------------------------------------------------------------ jobs

    def describe_job(self, job_id: str) -> Job:
        path = f"{API_PREFIX}/jobs/{_segment(job_id, 'job id')}"
        return self._decode(self._get(path), Job.from_api, "GET", path)

    def stop_job(self, job_id: str) -> None:
        """``POST /jobs/:id/stop``; asynchronous, and harmless to repeat (a finished job answers 200 too)."""
        path = f"{API_PREFIX}/jobs/{_segment(job_id, 'job id')}/stop"
        reply = self._exchange("POST", path, body={})
        self._check(reply, "POST", path, Policy.IDEMPOTENT)

    def list_jobs(self, states: Iterable[str], *, limit: int | None = None) -> list[Job]:
        """Jobs in the given states (``RUNNING``, ``QUEUED``, ``PENDING``, ``FINISHED``), newest first.

        ``states`` is required: without it the server returns an empty list, which would read as "nothing runs".
        """
        wanted = [s.strip().upper() for s in ([states] if isinstance(states, str) else list(states)) if s.strip()]
        if not wanted:
            raise ConfigurationError("list_jobs needs at least one state, e.g. ['RUNNING', 'QUEUED']")
        cap = _limit(limit)
        path = f"{API_PREFIX}/jobs"
        out: list[Job] = []
        token = ""
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params = [("states", s) for s in wanted] + [("page_size", "30")]
            _add(params, "page_token", token or None)
            reply = self._get(path, params=params)
            data = self._json_obj(reply, "GET", path)
            items = data.get("jobs") or []
            if not isinstance(items, list):
                raise APIError("GET", path, 0, detail=f"HTTP {reply.status} with 'jobs' that is not a JSON array")
            for item in items:
                out.append(self._model(Job.from_api, item, "GET", path, reply.status))
                if cap is not None and len(out) >= cap:
                    return out
            token = data.get("next_page_token") or ""
            if not isinstance(token, str):
                raise APIError(
                    "GET", path, 0, detail=f"HTTP {reply.status} with a 'next_page_token' that is not a string"
                )
            if not token or not items:
                return out
            if token in seen:
                raise APIError("GET", path, 0, detail="the server repeated a page token (a pagination loop)")
            seen.add(token)
        return out

    # ------------------------------------------------------------------------------------------------ logs

    def job_log(self, job_id: str) -> Iterator[LogEvent]:
        """The job's log events, streamed from ``GET /logs/:id`` (the request starts when iteration starts).

        A self-hosted job's log answers with a redirect to loghub2 carrying a signed ``?jwt=``: it is followed
        without our token. Memory stays bounded by one chunk plus the largest event, whatever the log's size.
        """
        path = f"{API_PREFIX}/logs/{_segment(job_id, 'job id')}"
        return self._stream_log(path, iter_events)

    def job_log_events_raw(self, job_id: str) -> Iterator[dict[str, Any]]:
        """:meth:`job_log` without the models: each event as the plain ``dict`` the JSON decoder built.

        Same request, redirects, retries, streaming and errors as :meth:`job_log`; every item is a JSON object, but
        its fields are not validated (``LogEvent.from_api(event)`` does that). It exists for consumers of millions
        of ``cmd_output`` events, for which a model per event cost more than parsing the log:
        ``logs.fetch_excerpt`` uses it, and ``logs.excerpt_from_events`` validates what it reads.
        """
        path = f"{API_PREFIX}/logs/{_segment(job_id, 'job id')}"
        return self._stream_log(path, iter_raw_events)

    def _stream_log(self, path: str, parse: Callable[[Iterable[bytes]], Iterator[T]]) -> Iterator[T]:
        response = self._open_following(path, policy=Policy.LOGS, what="log")
        failure: SemaphoreError | None = None
        try:
            try:
                yield from parse(response.iter_content(LOG_CHUNK))
            except ModelError as exc:
                failure = APIError("GET", path, 0, detail=f"the log could not be read: {self._redact(str(exc))}")
            except (requests.RequestException, ProtocolError, ReadTimeoutError, OSError) as exc:
                failure = APIUnavailable("GET", path, f"the log download broke off: {self._describe(exc)}")
        finally:
            response.close()
        if failure is not None:
            raise failure

    def job_log_text(self, job_id: str) -> str:
        """The log as the UI's plain text: each command's directive on its own line, then its raw output."""
        parts: list[str] = []
        for event in self.job_log(job_id):
            if event.event == "cmd_started" and event.directive is not None:
                parts.append(event.directive + "\n")
            elif event.event == "cmd_output" and event.output:
                parts.append(event.output)
        return "".join(parts)

    def job_log_plain(self, job_id: str) -> str:
        """The reference's ``/jobs/:id/plain_logs.json`` (a UI path, plain text despite its name).

        UI paths refuse API tokens unless the organisation enabled it, and answer with a redirect to a login page:
        that is raised as :class:`~errors.AuthenticationError`, never returned as if it were the log.
        """
        path = f"/jobs/{_segment(job_id, 'job id')}/plain_logs.json"
        response = self._open_following(path, policy=Policy.IDEMPOTENT, what="plain log", accept="text/plain")
        failure: SemaphoreError | None = None
        text = ""
        try:
            text = response.content.decode("utf-8", errors="replace")
        except requests.RequestException as exc:
            failure = APIUnavailable("GET", path, f"the log download broke off: {self._describe(exc)}")
        finally:
            response.close()
        if failure is not None:
            raise failure
        if _looks_like_html(text) or "text/html" in response.headers.get("content-type", "").lower():
            raise AuthenticationError(
                "GET",
                path,
                response.status_code,
                self._redact(_html_title(text)),
                detail="got an HTML page instead of the log (UI paths refuse API tokens unless the organisation "
                "allows them; use job_log_text())",
            )
        return text

    def _open_following(self, path: str, *, policy: Policy, what: str, accept: str | None = None) -> requests.Response:
        """GET with streaming, following redirects to other hosts WITHOUT the token (loghub2's signed URLs)."""
        url = self.base_url + path
        send_token = True
        for _hop in range(MAX_LOG_REDIRECTS + 1):
            response = self._send(
                "GET", path, url=url, policy=policy, stream=True, send_token=send_token, accept=accept
            )
            if response.status_code in (301, 302, 303, 307, 308):
                location = response.headers.get("location", "")
                response.close()
                target = self._redirect_target(path, response.status_code, url, location, what)
                # The token goes only to the configured base URL; a signed URL elsewhere carries its own credential.
                send_token = _same_origin(target, self.base_url)
                url = target
                continue
            if response.status_code >= 300:
                reply = self._drain(response, "GET", path, _retries_used(response))
                if not send_token and reply.status in (401, 403):
                    # Our token was not sent there: blaming it would send the user after the wrong problem.
                    raise AuthenticationError(
                        "GET",
                        path,
                        reply.status,
                        self._redact(_server_message(reply.body)),
                        detail=f"the signed {what} URL the server redirected to was refused (it is valid for a few "
                        "minutes only; ask again)",
                    )
                self._check(reply, "GET", path, policy)
            return response
        raise APIError("GET", path, 0, detail=f"more than {MAX_LOG_REDIRECTS} redirects for the {what}")

    def _redirect_target(self, path: str, status: int, current: str, location: str, what: str) -> str:
        if not location:
            raise APIError("GET", path, status, detail="a redirect without a Location header")
        parsed = _parse_location(current, location)
        if parsed is None:
            raise APIError("GET", path, status, detail=f"a redirect to a malformed location instead of the {what}")
        target, parts = parsed
        lowered = (parts.netloc + parts.path).lower()
        if any(hint in lowered for hint in _LOGIN_HINTS):
            login = self._redact((parts.hostname or "") + parts.path)
            raise AuthenticationError(
                "GET",
                path,
                status,
                detail=f"redirected to a login page ({login}) instead of the {what}: "
                "UI paths refuse API tokens unless the organisation allows them; use job_log()/job_log_text()",
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise APIError("GET", path, status, detail=f"a redirect to an unusable location ({parts.scheme}:)")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise APIError("GET", path, status, detail=f"refusing a redirect to plain http://{parts.hostname}")
        return target

    # ------------------------------------------------------------------------------------------------ machinery

    def _get(
        self, path: str, *, params: Sequence[tuple[str, str]] | None = None, policy: Policy = Policy.IDEMPOTENT
    ) -> _Reply:
        reply = self._exchange("GET", path, params=params, policy=policy)
        self._check(reply, "GET", path, policy)
        return reply

    def _send(
        self,
        method: str,
        path: str,
        *,
        url: str | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        body: object = None,
        policy: Policy = Policy.IDEMPOTENT,
        stream: bool = False,
        send_token: bool = True,
        accept: str | None = None,
    ) -> requests.Response:
        """One request (retried by urllib3 per ``policy``); transport failures become our errors, never chained."""
        if self._closed:
            raise SemaphoreError("this SemaphoreClient was closed")
        target = url or self.base_url + path
        headers = {"User-Agent": self._user_agent, "Accept": accept or "application/json"}
        if send_token:
            headers["Authorization"] = self._auth
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        prepared = requests.Request(method, target, params=list(params or ()), data=data, headers=headers).prepare()
        # Plain http is only ever loopback (baseurl.py, _redirect_target): never through a proxy, which would carry
        # the token in clear text over the network to wherever HTTP_PROXY points.
        proxies = {} if target.startswith("http://") else requests.utils.get_environ_proxies(target)
        reason: str | None = None
        not_sent = False
        local: str | None = None
        try:
            return self._adapters[policy].send(
                prepared,
                stream=stream,
                timeout=(min(self.timeout, 10.0), self.timeout),
                verify=self._verify,
                proxies=proxies,
            )
        except requests.RequestException as exc:
            reason = self._describe(exc)
            not_sent = _not_sent(exc)
        except OSError as exc:  # not a RequestException: local TLS setup (a CA bundle that vanished), nothing sent
            local = self._redact(str(exc))
        # Raised outside the except block: requests' exception (which holds the request and its headers) must not
        # become the __context__ of ours.
        if local is not None:
            raise ConfigurationError(f"cannot set up the connection to {self.base_url}: {local}")
        if policy is Policy.NOT_IDEMPOTENT and not not_sent:
            raise OutcomeUnknown(method, path, reason or "transport failure")
        raise APIUnavailable(method, path, reason or "transport failure")

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: object = None,
        policy: Policy = Policy.IDEMPOTENT,
    ) -> _Reply:
        """Send and read the whole body. A body cut off mid-way is retried for requests that may be repeated.

        urllib3 retries statuses and connection failures inside ``_send``; a body cut off after the headers is
        past urllib3, so it is retried here. Both draw on one budget of ``retries`` per call (what urllib3 used is
        counted too), so the documented bound holds: not ``retries`` cut-offs times ``retries`` 503s each.
        """
        spent = 0
        while True:
            response = self._send(method, path, params=params, body=body, policy=policy)
            spent += _retries_used(response)
            try:
                return self._drain(response, method, path, spent)
            except APIUnavailable as broken:
                if policy is Policy.NOT_IDEMPOTENT:
                    raise OutcomeUnknown(method, path, broken.reason) from None
                if spent >= self.retries:
                    raise
            spent += 1
            self._sleep(backoff_delay(spent, self._rng, base=self._backoff_base))

    def _drain(self, response: requests.Response, method: str, path: str, retried: int = 0) -> _Reply:
        """Read the whole body; ``retried`` is how many retries the call has used, reported in error messages."""
        reason: str | None = None
        try:
            body = response.content
        except requests.RequestException as exc:
            reason = self._describe(exc)
        finally:
            response.close()
        if reason is not None:
            raise APIUnavailable(method, path, f"the answer was cut off: {reason}", last_status=response.status_code)
        return _Reply(status=response.status_code, headers=response.headers, body=body, retries=retried)

    def _check(self, reply: _Reply, method: str, path: str, policy: Policy) -> None:
        """Raise the error class that an error status means (the retries are already spent)."""
        status = reply.status
        if 200 <= status < 300:
            return
        said = self._redact(_server_message(reply.body))
        tries = f" after {reply.retries} retries" if reply.retries else ""
        if 300 <= status < 400:
            parsed = _parse_location(self.base_url + path, reply.headers.get("location", ""))
            target = self._redact(f"{parsed[1].hostname or ''}{parsed[1].path}") if parsed else "a malformed location"
            raise APIError(method, path, status, said, detail=f"unexpected redirect to {target}")
        if status == 401:
            raise AuthenticationError(
                method, path, status, said, detail="the API token was refused (wrong, revoked, or lacking permission)"
            )
        if status == 403:
            raise AuthenticationError(
                method,
                path,
                status,
                said,
                detail=f"forbidden{tries}: the token lacks a permission, or the auth service kept failing",
            )
        if status == 404:
            raise NotFoundError(
                method, path, status, said, detail="not found, or not visible to this token (the server hides which)"
            )
        retried = policy is not Policy.NOT_IDEMPOTENT and status in RETRYABLE_STATUSES
        if policy is Policy.PROMOTIONS_LIST and status == 500:
            retried = False
        if retried or status == 429:
            wait = parse_retry_after(reply.headers.get("retry-after"))
            reason = f"HTTP {status}{tries}" + (f" (server said: {said!r})" if said else "")
            raise APIUnavailable(method, path, reason, last_status=status, retry_after=wait)
        raise APIError(method, path, status, said)

    def _json(self, reply: _Reply, method: str, path: str) -> Any:
        text = reply.body.decode("utf-8", errors="replace")
        stripped = text.strip().lstrip("\ufeff")  # a byte-order mark (some proxies add one) is not an error
        where = f"HTTP {reply.status} with "
        if not stripped:
            raise APIError(method, path, 0, detail=where + "an empty body where JSON was expected")
        if _looks_like_html(stripped):
            raise APIError(
                method,
                path,
                0,
                self._redact(_html_title(stripped)),
                detail=where + "an HTML page instead of JSON (a proxy or login page? check the Semaphore URL)",
            )
        try:
            return json.loads(stripped)
        except ValueError:
            pass
        raise APIError(
            method, path, 0, self._redact(stripped), detail=where + "a body that is not valid JSON (cut off?)"
        )

    def _json_obj(self, reply: _Reply, method: str, path: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json_typed(reply, method, path, dict)
        return data

    def _json_list(self, reply: _Reply, method: str, path: str) -> list[Any]:
        data: list[Any] = self._json_typed(reply, method, path, list)
        return data

    def _json_typed(self, reply: _Reply, method: str, path: str, kind: type[T]) -> T:
        """The JSON body if it is of ``kind`` (an object or an array), else an ``APIError`` saying what it was."""
        data = self._json(reply, method, path)
        if isinstance(data, kind):
            return data
        raise APIError(
            method,
            path,
            0,
            detail=f"HTTP {reply.status} with a JSON value of the wrong type: "
            f"expected {_json_type(kind())}, got {_json_type(data)}",
        )

    def _decode(self, reply: _Reply, build: Callable[[object], T], method: str, path: str) -> T:
        """The model of a JSON-object answer, or an ``APIError`` naming the request and what was wrong with it."""
        return self._model(build, self._json_obj(reply, method, path), method, path, reply.status)

    def _model(self, build: Callable[[object], T], data: object, method: str, path: str, status: int) -> T:
        try:
            return build(data)
        except ModelError as exc:
            message = self._redact(str(exc))
        # Raised outside the except block: the ModelError (which may quote the body) is not chained.
        raise APIError(method, path, 0, detail=f"HTTP {status} with an unexpected answer: {message}")

    def _paged(
        self,
        path: str,
        params: list[tuple[str, str]],
        build: Callable[[object], T],
        *,
        limit: int | None = None,
        policy: Policy = Policy.IDEMPOTENT,
    ) -> list[T]:
        """Follow page-number pages (``link: rel="next"``, else ``page-number``/``total-pages``) on our base URL."""
        out: list[T] = []
        query = list(params)
        seen: set[tuple[tuple[str, str], ...]] = set()
        for _ in range(MAX_PAGES):
            reply = self._get(path, params=query, policy=policy)
            items = self._json_list(reply, "GET", path)
            for item in items:
                out.append(self._model(build, item, "GET", path, reply.status))
                if limit is not None and len(out) >= limit:
                    return out
            if not items:
                return out
            following = _next_query(reply.headers, query)
            if following is None:
                return out
            key = tuple(sorted(following))
            if key in seen or key == tuple(sorted(query)):
                raise APIError("GET", path, 0, detail="the server's next-page link points back (a pagination loop)")
            seen.add(tuple(sorted(query)))
            query = following
        raise APIError("GET", path, 0, detail=f"more than {MAX_PAGES} pages")

    def _said(self, reply: _Reply) -> str:
        said = self._redact(_server_message(reply.body))
        return f" (server said: {said[:200]!r})" if said else ""

    def _redact(self, text: str) -> str:
        """The server may echo what it was sent (a token, a signed URL): drop URL queries and the token."""
        if not text:
            return text
        text = strip_queries(text)
        return text.replace(self._token_text, "***") if self._token_text else text

    def _describe(self, exc: BaseException) -> str:
        """Words for a transport failure, without any URL query and without the token."""
        text = _transport_words(exc)
        return self._redact(text)


# ---------------------------------------------------------------------------------------------------- helpers


def _ca_bundle(environ: Mapping[str, str]) -> bool | str:
    """``verify`` for requests: the CA bundle named by ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``), else True.

    A bundle that does not exist is refused here, naming the variable: requests would raise a bare ``OSError`` at
    the first request, far from the cause.
    """
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        path = environ.get(name, "").strip()
        if path:
            if not os.path.exists(path):
                raise ConfigurationError(f"{name} is {path!r}, which does not exist: fix or unset it")
            return path
    return True


def _clean_token(token: str) -> bool:
    """A token must be one printable ASCII word: anything else would corrupt (or split) the Authorization header."""
    return token.isascii() and token.isprintable() and token == token.strip() and " " not in token


def _segment(value: str, what: str) -> str:
    """An id or name used as one path segment: non-empty and unable to change the path."""
    text = _nonempty(value, what)
    if any(c in text for c in "/?#%\\") or text in (".", "..") or any(ord(c) < 33 for c in text):
        raise ConfigurationError(
            f"{what} {text!r} is not a valid id or name (it contains '/', '?', '#', '%' or spaces)"
        )
    return text


def _nonempty(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def _add(params: list[tuple[str, str]], key: str, value: str | None) -> None:
    if value is not None and value != "":
        params.append((key, value))


def _unix(value: _dt.datetime | float | None, what: str) -> str | None:
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


def _page_size(value: int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"page_size must be a positive integer, got {value!r}")
    return str(value)


def _limit(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"limit must be a positive integer, got {value!r}")
    return value


def _param_value(value: object, key: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise ConfigurationError(f"parameter {key!r} must be a string (Semaphore parameters are strings), got {value!r}")


def _branch_of(reference: str) -> str:
    """The ``branch_name`` the server records for a run-workflow ``reference``."""
    if reference.startswith("refs/heads/"):
        return reference[len("refs/heads/") :]
    if reference.startswith("refs/pull/"):
        return "pull-request-" + reference[len("refs/pull/") :].split("/", 1)[0]
    return reference  # refs/tags/X keeps the whole ref; a bare name is a branch


def _promotion_keys(records: Iterable[Promotion]) -> set[tuple[object, ...]]:
    """What identifies a promotion record over time (status and scheduled pipeline change; these do not)."""
    return {(p.name, p.triggered_at, p.triggered_by, p.override) for p in records}


def _next_query(headers: Mapping[str, str], current: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The query of the next page: from ``link: rel="next"`` (its query only), else from the page headers."""
    link = headers.get("link")
    if link:
        for entry in requests.utils.parse_header_links(link):
            if entry.get("rel", "").strip().lower() == "next" and entry.get("url"):
                return parse_qsl(urlsplit(entry["url"]).query, keep_blank_values=True)
        return None
    number = _header_int(headers, "page-number")
    total = _header_int(headers, "total-pages")
    if number is None or total is None or number >= total:
        return None
    return [(k, v) for k, v in current if k != "page"] + [("page", str(number + 1))]


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _parse_location(current: str, location: str) -> tuple[str, SplitResult] | None:
    """A ``Location`` resolved against the URL that answered, or ``None`` if malformed (``http://[x``, a port that
    is not a number): urllib raises a ValueError quoting the URL for those, which must not reach the user."""
    try:
        target = urljoin(current, location)
        parts = urlsplit(target)
        _ = parts.port  # validates the port
    except ValueError:
        return None
    return target, parts


def _retries_used(response: requests.Response) -> int:
    """How many times urllib3 retried before this response (its ``Retry.history``)."""
    retries = getattr(response.raw, "retries", None)
    return len(getattr(retries, "history", ()) or ())


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _json_type(data: object) -> str:
    if isinstance(data, list):
        return "a JSON array"
    if isinstance(data, dict):
        return "a JSON object"
    if isinstance(data, str):
        return "a string"
    if data is None:
        return "null"
    return type(data).__name__


def _looks_like_html(text: str) -> bool:
    # Only the start counts: a log may well print HTML somewhere in its first lines.
    return text.lstrip()[:20].lower().startswith(("<!doctype html", "<html", "<head", "<body"))


def _html_title(text: str) -> str:
    match = _HTML_TITLE.search(text[:4096])
    return " ".join(match.group(1).split()) if match else "an HTML page"


def _server_message(body: bytes) -> str:
    """The server's own words: a JSON string, a JSON object's ``message``/``error``, or the plain text."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    if _looks_like_html(text):
        return _html_title(text)
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    return text


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps, outermost first: requests and urllib3 nest the real failure in ``MaxRetryError
    .reason``, in ``args`` or in ``__cause__``, depending on where it happened."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, MaxRetryError) and current.reason is not None:
            current = current.reason
            continue
        nested = next((a for a in getattr(current, "args", ()) if isinstance(a, BaseException)), None)
        current = nested if nested is not None else current.__cause__


def _not_sent(exc: BaseException) -> bool:
    """True only when the request provably never left: no connection could be made."""
    for cause in _causes(exc):
        if isinstance(cause, (NewConnectionError, requests.exceptions.ConnectTimeout)):
            return True
        if isinstance(cause, ConnectTimeoutError) and not isinstance(cause, ReadTimeoutError):
            return True
    return False


def _transport_words(exc: BaseException) -> str:
    """A short description of what went wrong on the wire, from the innermost cause."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "could not connect within the connect timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failure (certificate not trusted? set REQUESTS_CA_BUNDLE for a private CA)"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused or failed the connection"
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, NewConnectionError):
            return "could not connect (connection refused or host unreachable)"
        if isinstance(cause, ReadTimeoutError):
            return "no answer within the read timeout"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset by the server"
        if type(cause).__name__ in ("RemoteDisconnected", "IncompleteRead", "InvalidChunkLength"):
            return f"the server closed the connection early ({type(cause).__name__})"
    if any(isinstance(cause, ProtocolError) for cause in causes):
        return f"the server closed the connection early ({type(causes[-1]).__name__})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the server closed the connection before the answer was complete"
    return f"{type(exc).__name__}: {causes[-1]}"
