"""pytest glue: options, header, fixtures and report hooks. Thin by design: every decision lives in the core modules.

Unconfigured, the plugin registers its options and hooks and does nothing else: this module imports only pytest and
:mod:`pytest_semaphore.settings` (no requests, jinja2, junitparser or yaml). The work is in
:mod:`pytest_semaphore.plugin.runtime`, imported the first time a fixture or an option needs it. ``docs/plugin.md`` is
the user's guide.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from ..settings import Face, Settings, SettingsError, add_options

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline, WorkflowStarted
    from ..simulator import SemaphoreSimulator
    from ..waiting import Pacing, PromoteResult
    from .runtime import Runtime

#: How the plugin spells the settings: ``--semaphore-NAME`` options and ``semaphore_NAME`` ini keys.
FACE = Face.prefixed(
    "--semaphore-",
    [
        "url",
        "token",
        "token_file",
        "pipeline",
        "timeout",
        "patience",
        "fail_fast",
        "cancel_on_timeout",
        "cancel_on_interrupt",
        "log_lines",
        "log_dir",
        "attach",
        "report",
        "json",
        "wait_for",
        "promote",
        "promote_parameters",
        "promote_override",
        "promote_no_wait",
        "promote_force",
        "simulate",
        "simulate_scenario",
    ],
    ini_prefix="semaphore_",
    ini_names=["url", "timeout", "patience", "fail_fast", "log_lines", "log_dir", "attach"],
    spelled={"promote_parameters": "promote-param"},
)

SETTINGS_KEY = pytest.StashKey[Settings]()
RUNTIME_KEY = pytest.StashKey["Runtime"]()
#: Settings that make the plugin act on the session by themselves (rather than only when a fixture is used).
_SESSION_FIELDS = ("simulate", "wait_for", "promote", "report", "json")


# --- options and configuration -----------------------------------------------------------------------------------


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from .. import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("semaphore", "Semaphore CI gates (pytest-semaphore; see docs/plugin.md)")
    add_options(group.addoption, FACE)
    from ..settings import FIELDS

    for name, key in FACE.ini.items():
        parser.addini(key, FIELDS[name].help + f" (like {FACE.options[name]})", type="string", default="")


def _settings(config: pytest.Config) -> Settings:
    ini = {name: str(config.getini(key)) for name, key in FACE.ini.items()}
    ini_file = config.inipath.name if config.inipath is not None else "ini"
    try:
        return Settings.resolve(FACE, cli=config.option, environ=os.environ, ini=ini, ini_file=ini_file)
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None


def _check_session_actions(settings: Settings) -> None:
    """A session action without what it needs is a usage error now, not a failure after the tests ran."""
    if settings.flag("simulate"):
        return
    try:
        for name in ("wait_for", "promote"):
            if settings.names(name):
                settings.require(("url", "token"), FACE.options[name])
        if settings.names("promote"):
            settings.require(("pipeline",), FACE.options["promote"])
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    settings = _settings(config)
    config.stash[SETTINGS_KEY] = settings
    worker_has_simulator = bool(getattr(config, "workerinput", {}).get("semaphore_url"))
    if any(settings.given(n) for n in _SESSION_FIELDS) or worker_has_simulator:
        _check_session_actions(settings)
        _runtime(config)
    elif getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Collector(config), "semaphore-collector")


def _runtime(config: pytest.Config) -> Runtime:
    """The session's runtime, created (and its hooks registered) the first time something needs it."""
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is None:
        from .runtime import ReportWriter, Runtime, RuntimeHooks

        runtime = Runtime(config, config.stash[SETTINGS_KEY])
        config.stash[RUNTIME_KEY] = runtime
        runtime.start()
        config.pluginmanager.register(RuntimeHooks(runtime), "semaphore-runtime")
        config.pluginmanager.register(ReportWriter(runtime), "semaphore-reports")
        if config.pluginmanager.hasplugin("xdist") and not runtime.worker:
            from .runtime import XdistHooks

            config.pluginmanager.register(XdistHooks(runtime), "semaphore-xdist")
    return runtime


def pytest_unconfigure(config: pytest.Config) -> None:
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is not None:
        runtime.close()


def _configured(settings: Settings) -> bool:
    """Whether the user set the plugin up (``SEMAPHORE_ORGANIZATION_URL`` alone is in every Semaphore job)."""
    names = ("token", "token_file", *_SESSION_FIELDS)
    return any(settings.given(n) for n in names) or settings.origin("url") in ("command line", "ini")


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or not _configured(settings):
        return None
    lines = settings.describe()
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is not None and runtime.simulator is not None:
        lines[0] = f"url: {runtime.url} (--semaphore-simulate: the embedded simulator at {runtime.speed:g}x)"
        lines[1] = "token: set (the simulator's)"
        if runtime.current_pipeline and not settings.given("pipeline"):
            lines.append(f"pipeline: {runtime.current_pipeline} (the scenario's first run)")
    return ["semaphore: " + lines[0], *("  " + line for line in lines[1:])]


# --- reports: every test's pipelines and excerpts ride on its reports (through xdist too) -------------------------
# The per-test hooks (``pytest_runtest_makereport``, ``pytest_runtest_logreport``) belong to the runtime and are
# registered with it: a run that never uses the plugin pays nothing per test.


class _Collector:
    """An xdist controller's lookout while the plugin is unused there: the first report carrying pipelines a worker's
    test waited on creates the runtime (whose hooks take every later report), so they reach the controller's
    reports. Registered only on a distributing controller without a runtime; it leaves once it has done its job."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if RUNTIME_KEY not in self.config.stash:
            if not getattr(report, "semaphore_entries", None):
                return
            _runtime(self.config).collect(report)
        self.config.pluginmanager.unregister(self)


# --- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def semaphore_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved settings (command line > environment > ini > default); override to configure in code."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def semaphore_pacing(pytestconfig: pytest.Config) -> Pacing:
    """The waiting engine's :class:`~pytest_semaphore.waiting.Pacing` for every wait of the fixtures.

    Override it (e.g. ``Pacing(sleep=sim.advance, monotonic=sim.monotonic)``) to wait in simulated time.
    """
    return _runtime(pytestconfig).pacing()


@pytest.fixture(scope="session")
def semaphore_ppl_id(pytestconfig: pytest.Config) -> str | None:
    """The current pipeline's id (what promotions start from): ``--semaphore-pipeline``, ``SEMAPHORE_PIPELINE_ID``,
    or under ``--semaphore-simulate`` the pipeline the scenario's first run started; ``None`` when unknown."""
    runtime = pytestconfig.stash.get(RUNTIME_KEY, None)
    if runtime is not None:
        return runtime.current_pipeline
    return pytestconfig.stash[SETTINGS_KEY].pipeline


@pytest.fixture(scope="session")
def semaphore_client(pytestconfig: pytest.Config, semaphore_settings: Settings) -> SemaphoreClient:
    """A :class:`~pytest_semaphore.client.SemaphoreClient` for the configured organisation (shared by the session).

    Without a URL and token this errors the test, naming what to set: a release test must never pass or skip
    because the token is missing.
    """
    runtime = _runtime(pytestconfig)
    try:
        return runtime.client()
    except SettingsError as exc:
        problem = str(exc)
    pytest.fail(f"{problem}; or rehearse against the embedded simulator with --semaphore-simulate", pytrace=False)


@pytest.fixture
def wait_for_pipeline(
    request: pytest.FixtureRequest, semaphore_client: SemaphoreClient, semaphore_pacing: Pacing
) -> Callable[..., Pipeline]:
    """``wait_for_pipeline(ppl_id, *, timeout=None, expect="passed")``: the done pipeline, or a failed test.

    ``expect`` is an outcome name (``passed``, ``failed``, ``stopped``, ``canceled``, ``error``), a set of them, or
    ``None`` for any verdict. An unexpected verdict raises :class:`~pytest_semaphore.errors.PipelineFailed` naming
    each failed job, its failing command and exit code; the excerpts go to the terminal and the JUnit report.
    """
    runtime = _runtime(request.config)

    def wait(ppl_id: str, *, timeout: float | None = None, expect: Any = "passed") -> Pipeline:
        __tracebackhide__ = True
        return runtime.wait(
            semaphore_client, ppl_id, pacing=semaphore_pacing, timeout=timeout, expect=expect, item=request.node
        )

    return wait


@pytest.fixture
def semaphore_promote(
    request: pytest.FixtureRequest, semaphore_client: SemaphoreClient, semaphore_pacing: Pacing
) -> Callable[..., PromoteResult]:
    """``semaphore_promote(name, *, pipeline=None, parameters=None, override=False, wait=True, timeout=None)``.

    Promotes ``pipeline`` (default: the current one, ``--semaphore-pipeline`` / ``SEMAPHORE_PIPELINE_ID``) with the
    core's gate and returns its :class:`~pytest_semaphore.waiting.PromoteResult`: ``.promotion`` is the record
    triggered (or reused), ``.pipeline`` the promoted pipeline, done, when ``wait``. The pipeline running this job
    is promoted by its own rules (see docs/plugin.md). A promoted pipeline that does not pass, or a promotion that
    was not made because something did not pass, fails the test.
    """
    runtime = _runtime(request.config)

    def promote(
        name: str,
        *,
        pipeline: str | None = None,
        parameters: Mapping[str, str] | None = None,
        override: bool = False,
        wait: bool = True,
        timeout: float | None = None,
    ) -> PromoteResult:
        __tracebackhide__ = True
        return runtime.promote(
            semaphore_client,
            name,
            pacing=semaphore_pacing,
            pipeline=pipeline,
            parameters=parameters,
            override=override,
            wait=wait,
            timeout=timeout,
            item=request.node,
        )

    return promote


@pytest.fixture
def semaphore_run_workflow(
    request: pytest.FixtureRequest, semaphore_client: SemaphoreClient, semaphore_pacing: Pacing
) -> Callable[..., Pipeline | WorkflowStarted]:
    """``semaphore_run_workflow(project, reference, *, commit_sha=None, pipeline_file=None, parameters=None,
    wait=True, timeout=None, expect="passed")``: start a workflow; with ``wait``, its pipeline done (as
    ``wait_for_pipeline``), else the started workflow's ids."""
    runtime = _runtime(request.config)

    def run(
        project: str,
        reference: str,
        *,
        commit_sha: str | None = None,
        pipeline_file: str | None = None,
        parameters: Mapping[str, str] | None = None,
        wait: bool = True,
        timeout: float | None = None,
        expect: Any = "passed",
    ) -> Pipeline | WorkflowStarted:
        __tracebackhide__ = True
        return runtime.run_workflow(
            semaphore_client,
            project,
            reference,
            pacing=semaphore_pacing,
            commit_sha=commit_sha,
            pipeline_file=pipeline_file,
            parameters=parameters,
            wait=wait,
            timeout=timeout,
            expect=expect,
            item=request.node,
        )

    return run


# --- the local simulator ----------------------------------------------------------------------------------------


@pytest.fixture
def semaphore_simulator_scenario() -> object:
    """The world ``semaphore_simulator`` starts with: ``None`` (empty), a ``ScenarioDef``, or a scenario path.

    Override this fixture in a ``conftest.py`` (or parametrize it) to give your tests their own projects and jobs.
    """
    return None


@pytest.fixture
def semaphore_simulator(
    request: pytest.FixtureRequest, semaphore_simulator_scenario: object
) -> Iterator[SemaphoreSimulator]:
    """A running local Semaphore simulator with a manual clock, new for each test.

    Point a client at ``semaphore_simulator.url`` with ``semaphore_simulator.token``; move time with
    ``semaphore_simulator.advance(seconds)`` (or pass ``Pacing(sleep=semaphore_simulator.advance,
    monotonic=semaphore_simulator.monotonic)`` to waiting functions); read the truth from ``.world``.

    Under ``--semaphore-simulate`` it is instead the session's simulator (a real clock at high speed), the one
    the other fixtures talk to; under xdist that one lives in the controller, so workers cannot have it.
    """
    from pytest_semaphore.simulator import SemaphoreSimulator
    from pytest_semaphore.simulator.definitions import ScenarioDef

    settings = request.config.stash[SETTINGS_KEY]
    if settings.flag("simulate"):
        runtime = _runtime(request.config)
        if runtime.simulator is None:
            pytest.fail(
                "semaphore_simulator: under --semaphore-simulate with xdist the simulator runs in the controller; "
                "use semaphore_client (it talks to it) or run without -n",
                pytrace=False,
            )
        yield runtime.simulator
        return
    scenario = semaphore_simulator_scenario
    if scenario is not None and not isinstance(scenario, (ScenarioDef, str, os.PathLike)):
        raise pytest.UsageError(
            "semaphore_simulator_scenario must return None, a ScenarioDef or a scenario file path, "
            f"not {type(scenario).__name__}"
        )
    with SemaphoreSimulator(scenario) as simulator:
        yield simulator
