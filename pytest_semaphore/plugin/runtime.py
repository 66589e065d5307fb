"""The pytest plugin's work for one session: the client, waits and promotions, session actions, reports.

Imported only when the plugin is used (a fixture, an option, the simulator), so that an unconfigured run never loads
requests, jinja2 or junitparser. Every decision is the core's: waits are :mod:`pytest_semaphore.waiting`, verdicts and
their messages :mod:`pytest_semaphore.verdicts`, excerpts :mod:`pytest_semaphore.logs`, the record of what was done
:mod:`pytest_semaphore.record`, the JUnit attachment :mod:`pytest_semaphore.junit`. This module connects them to
pytest: fixtures call :meth:`Runtime.wait` and friends, and the hooks here run the session actions and write the
reports, once, in the process that owns the session (the xdist controller, or the only process).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Generator, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

from .. import waiting
from ..errors import ConfigurationError, PipelineFailed, PromotionFailed, SemaphoreError
from ..junit import LogAttachment, attach_logs, attachment_for
from ..logs import Excerpt, fetch_failed_excerpts
from ..record import GateRecord, PipelineEntry
from ..settings import Settings, SettingsError
from ..verdicts import error_message, expected_outcomes, verdict_error

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline, WorkflowStarted
    from ..simulator import SemaphoreSimulator

#: Simulated seconds per real second for ``--semaphore-simulate``: a 10-minute pipeline takes about a second.
SIMULATION_SPEED = 600.0
#: The kind a promotion that was not made is reported as, by the verdict that stopped it.
_KINDS = {"failed": "failed", "stopped": "stopped", "canceled": "stopped"}
#: Report attribute carrying the pipelines a test waited on (plain dicts: they cross from xdist workers).
REPORT_ATTRIBUTE = "semaphore_entries"
#: Title of the report section that shows a failed test's job excerpts in the terminal.
SECTION_TITLE = "Semaphore job logs"


class Runtime:
    """Per-session state of the plugin (one per process; under xdist the controller's runs the session actions)."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.record = GateRecord()
        self.worker = hasattr(config, "workerinput")
        self.simulator: SemaphoreSimulator | None = None
        self.url: str | None = None
        self.token: str | None = None
        self.speed: float | None = None
        self.default_pipeline: str | None = None
        self._client: SemaphoreClient | None = None
        self._lock = threading.Lock()
        self.failure: tuple[str, str] | None = None  # (kind, message) of a failed session action
        self.tests_ran = 0
        self.usage_error = False
        self._attachments: dict[str, list[PipelineEntry]] = {}
        self._failed_nodes: set[str] = set()
        self._previous_sigterm: Any = None
        self.notes: list[str] = []
        self.report_problems: list[str] = []
        self.started: list[str] = []  # workflows the fixtures started, for cancel-on-interrupt outside a wait
        self._done: set[str] = set()

    # ------------------------------------------------------------------------------------------- setting up

    def start(self) -> None:
        """Start the simulator (``--semaphore-simulate``, not in a worker) or take the controller's (a worker)."""
        if self.worker:
            given = self.config.workerinput  # type: ignore[attr-defined]
            if given.get("semaphore_url"):
                self.url = given["semaphore_url"]
                self.token = given["semaphore_token"]
                self.speed = given["semaphore_speed"]
                self.default_pipeline = given.get("semaphore_pipeline")
        elif self.settings.flag("simulate"):
            from ..simulator import SemaphoreSimulator

            scenario = self.settings.path("simulate_scenario") or _bundled_scenario()
            try:
                self.simulator = SemaphoreSimulator(scenario, speed=SIMULATION_SPEED).start()
            except (OSError, ValueError) as exc:
                where = self.settings.source("simulate_scenario")
                raise pytest.UsageError(f"--semaphore-simulate: cannot load the scenario ({where}): {exc}") from None
            self.url, self.token, self.speed = self.simulator.url, self.simulator.token, SIMULATION_SPEED
            pipelines = self.simulator.world.pipelines()
            self.default_pipeline = pipelines[0].ppl_id if pipelines else None
        if not self.worker:
            self._install_sigterm()

    def worker_input(self) -> dict[str, Any]:
        """What xdist workers need to reach the controller's simulator (nothing without one)."""
        if self.simulator is None:
            return {}
        return {
            "semaphore_url": self.url,
            "semaphore_token": self.token,
            "semaphore_speed": self.speed,
            "semaphore_pipeline": self.default_pipeline,
        }

    def _install_sigterm(self) -> None:
        """SIGTERM (how CI stops a job) becomes a KeyboardInterrupt, so waits cancel and reports are written."""
        if threading.current_thread() is not threading.main_thread():
            return

        def interrupt(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

        self._previous_sigterm = signal.signal(signal.SIGTERM, interrupt)

    def close(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.simulator is not None:
            self.simulator.close()

    # ------------------------------------------------------------------------------------------- building

    @property
    def base_url(self) -> str | None:
        if self.url is not None:
            return self.url
        try:
            return self.settings.url
        except SettingsError:
            return None

    @property
    def current_pipeline(self) -> str | None:
        return self.settings.pipeline or self.default_pipeline

    def client(self) -> SemaphoreClient:
        """The session's client (one, shared by every thread); :class:`SettingsError` says what is missing."""
        with self._lock:
            if self._client is None:
                if self.url is not None and self.token is not None:
                    from ..client import SemaphoreClient

                    self._client = SemaphoreClient(self.url, self.token)
                else:
                    self._client = self.settings.client()
            return self._client

    def pacing(self) -> waiting.Pacing:
        return self.settings.pacing(speed=self.speed)

    def _redact(self, text: str) -> str:
        changed = self.config.hook.pytest_semaphore_redact(text=text)
        return text if changed is None else str(changed)

    def excerpts(
        self, client: SemaphoreClient, pipeline: Pipeline, pacing: waiting.Pacing
    ) -> tuple[Pipeline, tuple[Excerpt, ...]]:
        """The failed jobs' excerpts of a done (or failed-fast) pipeline, described in detail if it was not."""
        (pipeline,) = waiting.describe_detailed(client, [pipeline], pacing=pacing)
        found = fetch_failed_excerpts(client, pipeline, options=self.settings.excerpt_options(hook=self._redact))
        kept = []
        for excerpt in found.values():
            changed = self.config.hook.pytest_semaphore_log_excerpt(excerpt=excerpt)
            if changed is False:
                continue
            kept.append(changed if isinstance(changed, Excerpt) else excerpt)
        return pipeline, tuple(kept)

    # ------------------------------------------------------------------------------------------- waiting

    def wait(
        self,
        client: SemaphoreClient,
        ppl_id: str,
        *,
        pacing: waiting.Pacing,
        timeout: float | None = None,
        expect: Any = "passed",
        role: str = "test",
        item: pytest.Item | None = None,
    ) -> Pipeline:
        """Wait for ``ppl_id``; record it; raise the core's error when its verdict is not expected."""
        __tracebackhide__ = True
        expected = expected_outcomes(expect)
        try:
            done = waiting.wait_for_pipeline(client, ppl_id, **self._wait_options(timeout), pacing=pacing)
        except PipelineFailed as exc:  # failed fast, while it was still running
            pipeline, found = self.excerpts(client, exc.pipeline, pacing)
            self._remember(PipelineEntry(role, pipeline, found, nodeid=_nodeid(item)), item)
            raise exc.with_traceback(None) from None
        except SemaphoreError as exc:
            raise _plain(exc) from None
        return self.judge(client, done, expected, pacing=pacing, role=role, item=item)

    def judge(
        self,
        client: SemaphoreClient,
        done: Pipeline,
        expected: frozenset[waiting.Outcome] | None,
        *,
        pacing: waiting.Pacing,
        role: str,
        item: pytest.Item | None = None,
        promotion: str | None = None,
    ) -> Pipeline:
        """Record a done pipeline (with excerpts when it did not pass), call the hook, raise if not expected."""
        __tracebackhide__ = True
        self._done.add(done.ppl_id)
        verdict = waiting.outcome(done)
        problem = verdict_error(done, expected)
        found: tuple[Excerpt, ...] = ()
        if verdict is not waiting.Outcome.PASSED and (problem is not None or self.settings.attach == "all"):
            done, found = self.excerpts(client, done, pacing)
            problem = verdict_error(done, expected, found)
        self._remember(PipelineEntry(role, done, found, nodeid=_nodeid(item), promotion=promotion), item)
        self.config.hook.pytest_semaphore_pipeline_done(pipeline=done, outcome=verdict)
        if problem is not None:
            raise problem
        return done

    def _wait_options(self, timeout: float | None) -> dict[str, Any]:
        return {"timeout": self.settings.timeout if timeout is None else timeout, **self.settings.wait_options()}

    def _remember(self, entry: PipelineEntry, item: pytest.Item | None) -> None:
        """A test's pipelines travel on its report (see :func:`report_entries`); the session's go to the record."""
        if item is None:
            self.record.add_pipeline(entry)
        else:
            item.stash.setdefault(ITEM_ENTRIES, []).append(entry)

    # ------------------------------------------------------------------------------------------- promoting

    def promote(
        self,
        client: SemaphoreClient,
        name: str,
        *,
        pacing: waiting.Pacing,
        pipeline: str | None = None,
        parameters: Mapping[str, str] | None = None,
        override: bool = False,
        wait: bool = True,
        timeout: float | None = None,
        force: bool | None = None,
        on_event: Callable[[waiting.PromoteEvent], object] | None = None,
        item: pytest.Item | None = None,
    ) -> waiting.PromoteResult:
        """Promote ``pipeline`` (default: the current one) with the core's gate: the pipeline running this job by
        its rules, any other once done. Promoted pipelines are recorded and must pass; a promotion that was not made
        because something did not pass raises :class:`~pytest_semaphore.errors.PromotionFailed`."""
        __tracebackhide__ = True
        source = pipeline or self.current_pipeline
        if source is None:
            self.settings.require(("pipeline",), f"promoting {name!r}")
        assert source is not None
        options = self._wait_options(timeout)
        try:
            result = waiting.promote(
                client,
                source,
                name,
                parameters=dict(parameters or {}),
                override=override,
                wait=wait,
                force=self.settings.flag("promote_force") if force is None else force,
                job=self.job(),
                on_event=on_event,
                pacing=pacing,
                **options,
            )
        except SemaphoreError as exc:
            raise _plain(exc) from None
        self.record.add_promotion(result.to_dict())
        if result.action in (waiting.PromoteAction.TRIGGERED, waiting.PromoteAction.REUSED):
            self._announce(client, result)
        if result.action is waiting.PromoteAction.NOT_PROMOTED:
            reasons = [str(b) for b in result.blockers] or list(result.notes)
            raise PromotionFailed(source, name, "not promoted: " + "; ".join(reasons))
        if result.promoted is not None:
            for done in result.promoted.pipelines:
                self.judge(
                    client,
                    done,
                    expected_outcomes("passed"),
                    pacing=pacing,
                    role="promoted",
                    item=item,
                    promotion=name,
                )
        return result

    def job(self) -> waiting.JobIdentity | None:
        """The Semaphore job this process runs in (``SEMAPHORE_JOB_ID`` and its shard), read when a promotion needs
        it; a malformed value is a usage error naming the variable."""
        try:
            return waiting.JobIdentity.from_env(os.environ)
        except ConfigurationError as exc:
            raise SettingsError(str(exc)) from None

    def _announce(self, client: SemaphoreClient, result: waiting.PromoteResult) -> None:
        try:
            described = client.describe_pipeline(result.ppl_id)
        except SemaphoreError:
            return
        self.config.hook.pytest_semaphore_promotion_triggered(
            pipeline=described, name=result.name, parameters=dict(result.parameters)
        )

    def run_workflow(
        self,
        client: SemaphoreClient,
        project: str,
        reference: str,
        *,
        pacing: waiting.Pacing,
        commit_sha: str | None = None,
        pipeline_file: str | None = None,
        parameters: Mapping[str, str] | None = None,
        wait: bool = True,
        timeout: float | None = None,
        expect: Any = "passed",
        item: pytest.Item | None = None,
    ) -> Pipeline | WorkflowStarted:
        """Start a workflow (reconciled: a lost answer never starts two); with ``wait``, wait for its pipeline."""
        __tracebackhide__ = True
        started = client.run_workflow(
            project,
            reference,
            commit_sha=commit_sha,
            pipeline_file=pipeline_file,
            parameters=dict(parameters or {}),
            reconcile=True,
        )
        waiting.mark_started(started.ppl_id)
        with self._lock:
            self.started.append(started.ppl_id)
        if not wait:
            return started
        return self.wait(client, started.ppl_id, pacing=pacing, timeout=timeout, expect=expect, item=item)

    def cancel_started(self) -> list[str]:
        """On an interrupt with ``--semaphore-cancel-on-interrupt``: terminate what the fixtures started and nobody
        saw finish. A wait that is interrupted terminates its own pipeline; this covers an interrupt that comes
        between starting a workflow and waiting for it. Best effort, like every cancel."""
        from ..waiting.started import cancel

        if not self.settings.flag("cancel_on_interrupt") or self._client is None:
            return []
        with self._lock:
            pending = [ppl_id for ppl_id in self.started if ppl_id not in self._done]
        return cancel(self._client, pending, cancel_foreign=False)

    # ------------------------------------------------------------------------------------------- session actions

    def fail_session(self, exc: BaseException, *, kind: str | None = None) -> None:
        """A session action failed: the session's exit status becomes 1 (4 for a usage error) and the last line
        names ``kind`` (by default, the kind of ``exc``)."""
        if isinstance(exc, ConfigurationError):
            self.usage_error = True
        failure = self.record.add_failure(exc, kind=kind, base_url=self.base_url)
        self.failure = (failure["kind"], failure["message"])

    def run_wait_for(self, write: Callable[[str], None]) -> None:
        """``--semaphore-wait-for``: wait for every pipeline before any test; the first problem ends the session."""
        ids = self.settings.names("wait_for")
        if not ids:
            return
        write(f"semaphore: waiting for {len(ids)} pipeline(s) before the tests: {', '.join(ids)}")
        client = self.client()
        pacing = self.pacing()
        try:
            for ppl_id in ids:
                self.wait(client, ppl_id, pacing=pacing, role="wait-for")
        except (SemaphoreError, ValueError) as exc:
            self.fail_session(exc)
        except KeyboardInterrupt:
            self.record.add_error("error", "interrupted while waiting for --semaphore-wait-for pipelines")
            raise

    def run_promotions(self, exitstatus: int, write: Callable[[str], None]) -> None:
        """``--semaphore-promote``: only after a green session in which at least one test ran."""
        names = self.settings.names("promote")
        if not names or self.failure is not None:
            return
        if exitstatus != 0 or self.tests_ran == 0:
            why = f"the session exit status is {exitstatus}" if exitstatus != 0 else "no test ran"
            note = f"not promoting {', '.join(repr(n) for n in names)}: {why}"
            self.notes.append(note)
            write(f"semaphore: {note}")
            return
        client = self.client()
        pacing = self.pacing()
        for name in names:
            write(f"semaphore: promoting {name!r} of pipeline {self.current_pipeline}")
            try:
                self.promote(
                    client,
                    name,
                    pacing=pacing,
                    parameters=self.settings.promote_parameters,
                    override=self.settings.flag("promote_override"),
                    wait=not self.settings.flag("promote_no_wait"),
                    on_event=lambda event: write(f"semaphore: {event.message}"),
                )
            except PromotionFailed as exc:
                verdict = self.record.promotions[-1].get("outcome") if self.record.promotions else None
                self.fail_session(exc, kind=_KINDS.get(verdict or "", "error"))
                return
            except (SemaphoreError, ValueError) as exc:
                self.fail_session(exc)
                return

    # ------------------------------------------------------------------------------------------- reports

    def collect(self, report: pytest.TestReport) -> None:
        """Controller side of every test report: count tests run, keep pipelines and failures for the reports."""
        if self.worker:
            return
        if report.when == "call" and not report.skipped:
            self.tests_ran += 1
        if report.failed:
            self._failed_nodes.add(report.nodeid)
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if not data:
            return
        from ..record import entries_from

        for entry in entries_from(data):
            self.record.add_pipeline(entry)
            self._attachments.setdefault(report.nodeid, []).append(entry)

    def attachments(self) -> dict[str, LogAttachment]:
        """What goes into the JUnit report, per test: by ``--semaphore-attach`` (failed tests, all, none)."""
        mode = self.settings.attach
        out: dict[str, LogAttachment] = {}
        if mode == "none":
            return out
        for nodeid, entries in self._attachments.items():
            if mode == "failed" and nodeid not in self._failed_nodes:
                continue
            excerpts = tuple(e for entry in entries for e in entry.excerpts)
            properties: list[tuple[str, str]] = []
            for entry in entries:
                properties += attachment_for(entry.pipeline, entry.excerpts, base_url=self.base_url).properties
            out[nodeid] = LogAttachment(excerpts=excerpts, properties=tuple(dict.fromkeys(properties)))
        return out

    def write_reports(self, exitstatus: int) -> list[str]:
        """Attach to ``--junitxml``, write ``--semaphore-report`` and ``--semaphore-json``; problems as lines."""
        problems = []
        xmlpath = getattr(self.config.option, "xmlpath", None)
        wanted = self.attachments()
        if xmlpath and wanted:
            try:
                attach_logs(xmlpath, wanted, junit_prefix=getattr(self.config.option, "junitprefix", None))
            except SemaphoreError as exc:
                problems.append(f"could not attach job logs to {xmlpath}: {exc}")
        report = self.settings.path("report")
        if report:
            try:
                self.record.write_summary(report, base_url=self.base_url)
            except SemaphoreError as exc:
                problems.append(str(exc))
        result = self.settings.path("json")
        if result:
            extra = {"exitstatus": exitstatus, "outcome": self.failure[0] if self.failure else _status(exitstatus)}
            try:
                self.record.write_json(result, base_url=self.base_url, extra=extra)
            except SemaphoreError as exc:
                problems.append(str(exc))
        return problems


#: Pipelines a test waited on, until its next report carries them.
ITEM_ENTRIES = pytest.StashKey[list[PipelineEntry]]()


def report_entries(item: pytest.Item, report: pytest.TestReport) -> None:
    """Move the pipelines recorded during this phase onto its report (as dicts, so they cross from xdist workers),
    and show a failed phase's excerpts in the terminal."""
    entries = item.stash.get(ITEM_ENTRIES, None)
    if not entries:
        return
    item.stash[ITEM_ENTRIES] = []
    setattr(report, REPORT_ATTRIBUTE, [e.to_dict() for e in entries])
    if report.failed:
        text = LogAttachment(excerpts=tuple(e for entry in entries for e in entry.excerpts)).text()
        if text:
            report.sections.append((SECTION_TITLE, text))


def _plain(exc: SemaphoreError) -> SemaphoreError:
    """The core's error as a test shows it, in the words ``semaphore-gate`` prints (a timeout or an outage says first
    that it is not a verdict, a 404 what it may mean), and without the waiting engine's frames (the message says it
    all; ``--full-trace`` is no use for them)."""
    exc.args = (error_message(exc),)
    return exc.with_traceback(None)


def _nodeid(item: pytest.Item | None) -> str | None:
    return None if item is None else item.nodeid


def _status(exitstatus: int) -> str:
    return "passed" if exitstatus == 0 else f"pytest exit status {exitstatus}"


def _bundled_scenario() -> str:
    from pathlib import Path

    return str(Path(__file__).parents[1] / "simulator" / "examples" / "release-train" / "scenario.yml")


class _Stat:
    """An entry of the terminal's final-line counts (``1 semaphore timeout``)."""

    count_towards_summary = True


class RuntimeHooks:
    """The session hooks of a used plugin: session actions, exit status, reports (controller or single process)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _write(self, config: pytest.Config) -> Callable[[str], None]:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return lambda line: None
        return lambda line: reporter.write_line(line)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> Generator[None, Any, Any]:
        report = yield
        report_entries(item, report)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.runtime.collect(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        runtime = self.runtime
        if runtime.worker:
            return None
        runtime.run_wait_for(self._write(session.config))
        return True if runtime.failure is not None else None  # True: no test runs

    def pytest_keyboard_interrupt(self) -> None:
        self.runtime.cancel_started()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        runtime = self.runtime
        if runtime.worker:
            return
        try:
            runtime.run_promotions(int(exitstatus), self._write(session.config))
        except KeyboardInterrupt:  # pytest's own handling is over: say so, keep the reports whole
            runtime.record.add_error("error", "interrupted while promoting: nothing more is promoted")
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            return
        if runtime.failure is not None:
            failed = pytest.ExitCode.USAGE_ERROR if runtime.usage_error else pytest.ExitCode.TESTS_FAILED
            session.exitstatus = failed

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        runtime = self.runtime
        if runtime.worker:
            return
        session_logs = [e for entry in runtime.record.latest() if entry.nodeid is None for e in entry.excerpts]
        if session_logs:  # a test's excerpts are in its failure section; the session actions' go here
            terminalreporter.section(SECTION_TITLE)
            for excerpt in session_logs:
                terminalreporter.line(excerpt.render())
        lines = runtime.record.summary_lines(runtime.base_url) + runtime.notes + runtime.report_problems
        if lines:
            terminalreporter.section("semaphore")
            for line in lines:
                terminalreporter.line(line)
        if runtime.failure is not None:
            terminalreporter.stats.setdefault(f"semaphore {runtime.failure[0]}", []).append(_Stat())


class ReportWriter:
    """Writes the reports after pytest's own (``--junitxml`` is written in pytest's ``pytest_sessionfinish``)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.runtime.worker:
            return
        try:
            self.runtime.report_problems = self.runtime.write_reports(int(session.exitstatus))
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM mid-write: the atomic writes left each file old or whole
            self.runtime.report_problems = ["interrupted while writing the reports: each is as it was, or whole"]
            session.exitstatus = pytest.ExitCode.INTERRUPTED


class XdistHooks:
    """Registered only when pytest-xdist is loaded: hands the simulator's address to each worker."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput.update(self.runtime.worker_input())
