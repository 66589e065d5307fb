"""``SemaphoreSimulator``: one world, its clock, its faults and its servers, as a context manager.

This is the face tests, the pytest fixture and ``semaphore-gate simulate`` use. It owns nothing the world does not:
it wires a clock to the world, loads a scenario (files through the scenario loader, imported only when a path is given),
and starts the HTTP layer on loopback.
"""

from __future__ import annotations

import os
import secrets
import string
import threading
import time
from collections.abc import Iterable
from types import TracebackType

from .clock import Clock, ManualClock, RealClock
from .definitions import FaultDef, ScenarioDef
from .faults import FaultInjector
from .gateway import Gateway
from .ingress import Ingress, LogLinks
from .logroutes import Logs
from .plumber import Plumber
from .projecthub import Projecthub
from .records import Timings
from .requestlog import RequestLog, RequestRecord
from .routing import Router
from .serving import SimulatorServer
from .world import DEFAULT_EPOCH, World

__all__ = ["SemaphoreSimulator", "new_token"]

_TOKEN_ALPHABET = string.ascii_letters + string.digits


def new_token(length: int = 24) -> str:
    """An API token shaped like Semaphore's: letters and digits only. Never a leading ``-``, which command-line tools
    (``sem connect HOST TOKEN``) would read as an option."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def _scenario(
    scenario: ScenarioDef | str | os.PathLike[str] | None,
    branch: str | None,
    tag: str | None,
    pull_request: str | None,
) -> ScenarioDef:
    if scenario is None or isinstance(scenario, ScenarioDef):
        if branch or tag or pull_request:
            raise ValueError(
                "branch, tag and pull_request choose where a .semaphore folder's workflow runs; "
                "a ScenarioDef says it in its runs"
            )
        return scenario if scenario is not None else ScenarioDef(projects=())
    from .scenario import load_scenario  # the scenario loader; imported only for files

    loaded: ScenarioDef = load_scenario(scenario, branch=branch, tag=tag, pull_request=pull_request)
    return loaded


class SemaphoreSimulator:
    """A local Semaphore v1alpha server over a simulated world.

    ``speed=None`` (the default) gives a manual clock: simulated time moves only with :meth:`advance`, so a test
    decides exactly when pipelines progress. A number runs the clock at real time times that factor (the CLI demo).
    ``epoch`` is the Unix time of simulated second 0: by default the fixed :data:`~.world.DEFAULT_EPOCH` with a
    manual clock (reproducible timestamps) and the real now with a real-time one (so that clients asking for "the
    last 90 days" by the wall clock find the workflows).
    ``branch``, ``tag`` or ``pull_request`` choose where a ``.semaphore`` folder's workflow runs (see
    :func:`~.scenario.load_scenario`). ``ui_accepts_api_token=False`` makes UI paths redirect to the login page, as
    for an organisation without the ``can_use_api_token_in_ui`` flag. A refused promotion is answered the way newer
    servers do (``409 {"code": "REFUSED", "message": ...}``); ``refusals_as_409=False`` gives the older servers'
    400. ``request_log_limit`` keeps only that many of the latest requests in :attr:`requests` (long-running
    servers).
    """

    def __init__(
        self,
        scenario: ScenarioDef | str | os.PathLike[str] | None = None,
        *,
        token: str | None = None,
        port: int = 0,
        speed: float | None = None,
        seed: int | None = None,
        epoch: float | None = None,
        timings: Timings | None = None,
        host: str = "127.0.0.1",
        ui_accepts_api_token: bool = True,
        refusals_as_409: bool = True,
        request_log_limit: int | None = None,
        branch: str | None = None,
        tag: str | None = None,
        pull_request: str | None = None,
    ) -> None:
        definition = _scenario(scenario, branch, tag, pull_request)
        self.scenario = definition
        self.seed = definition.seed if seed is None else seed
        self.token = token if token is not None else new_token()
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0 (any free port) to 65535, not {port}")
        self.clock: Clock = ManualClock() if speed is None else RealClock(speed)
        if epoch is None:
            epoch = DEFAULT_EPOCH if speed is None else time.time()
        self.world = World(
            clock=self.clock,
            seed=self.seed,
            epoch=epoch,
            organization=definition.organization,
            timings=timings,
            early_promotions=definition.early_promotions,
        )
        self.faults = FaultInjector(self.seed)
        for project in definition.projects:
            self.world.add_project(project)
        for run in definition.runs:
            self.world.start_workflow(
                run.project,
                branch=run.branch,
                commit_sha=run.commit_sha,
                pipeline_file=run.pipeline_file,
                triggered_by=run.triggered_by,
                tag=run.tag,
                pull_request=run.pull_request,
                changed_files=run.changed_files,
            )
        for fault in definition.faults:
            self.faults.add(fault)
        self.request_log = RequestLog(request_log_limit)
        self._server = SimulatorServer(
            log=self.request_log, faults=self.faults, now=self.world.now, host=host, port=port
        )
        self.url = self._server.url
        self.loghub_url = self._server.loghub_url
        links = LogLinks(self.loghub_url)
        routes = [
            *Plumber(self.world).routes(),
            *Gateway(self.world).routes(),
            *Projecthub(self.world).routes(),
            *Logs(self.world, links, ui_accepts_api_token=ui_accepts_api_token).routes(),
        ]
        self._ingress = Ingress(Router(self.world, routes, refusals_as_409=refusals_as_409), self.token)
        self._started = False
        self._stopped = False
        self._close_lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the token
        return f"<SemaphoreSimulator {self.url} t={self.monotonic():.3f}s>"

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SemaphoreSimulator:
        if not self._started:
            self._server.start(self._ingress)
            self._started = True
        return self

    def close(self) -> None:
        """Stop serving: end every connection, wait for requests in flight, release the sockets. Idempotent and
        safe from any thread."""
        with self._close_lock:
            if self._stopped:
                return
            self._stopped = True
        if self._started:
            self._server.stop()
        else:
            self._server.stop_unstarted()

    def __enter__(self) -> SemaphoreSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---------------------------------------------------------------- time

    def advance(self, seconds: float) -> None:
        """Move simulated time forward, processing every world event on the way (thread-safe)."""
        self.world.advance(seconds)

    def monotonic(self) -> float:
        """Simulated seconds since the world began (thread-safe)."""
        return self.world.now()

    # -------------------------------------------------------------- tokens

    def add_token(self, token: str, *, projects: Iterable[str] | None = None) -> None:
        """Accept a second token that sees only ``projects`` (names or ids; ``None``: all of them).

        What it may not see answers as the real server does for another user's resources: plain ``404 Not Found``
        (``{code: 5}`` on the jobs API), and ``401 Permission denied`` for logs.
        """
        visible = None if projects is None else frozenset(self.world.project(p).project_id for p in projects)
        self._ingress.add_token(token, visible)

    # -------------------------------------------------------------- faults

    def add_fault(self, fault: FaultDef) -> None:
        self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -------------------------------------------------------------- record

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far (both hosts), oldest first; ``Authorization`` values are redacted."""
        return self.request_log.snapshot()

    def clear_requests(self) -> None:
        self.request_log.clear()

    @property
    def api_url(self) -> str:
        return self.url + "/api/v1alpha"
