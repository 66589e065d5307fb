"""The ``SemaphoreSimulator`` face itself: clocks, scenario paths, lifecycle, seeds."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import RunDef, ScenarioDef
from pytest_semaphore.simulator.runner import new_token
from pytest_semaphore.simulator.world import DEFAULT_EPOCH, Timings

from .helpers import Raw, standard_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "pytest_semaphore" / "simulator" / "examples" / "release-train"


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0])
def test_advance_refuses_steps_that_are_not_finite_and_forward(seconds: float) -> None:
    with SemaphoreSimulator() as sim:
        with pytest.raises(ValueError, match="advance"):
            sim.advance(seconds)
        assert sim.monotonic() == 0.0


def test_a_port_out_of_range_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="port must be 0"):
        SemaphoreSimulator(port=70000)


def test_speed_runs_the_clock_without_advance() -> None:
    scenario = standard_scenario()
    scenario = ScenarioDef(scenario.projects, runs=(RunDef("demo"),), seed=3)
    with SemaphoreSimulator(scenario, token="t", speed=1000.0) as sim:
        pipeline = sim.world.pipelines()[-1]  # the run at time zero (newest first)
        conn = Raw(sim.url, "t")
        try:
            for _ in range(10_000):  # bounded: 10 simulated seconds are 10 ms of real time
                state = conn.get(f"/api/v1alpha/pipelines/{pipeline.ppl_id}").json()["pipeline"]["state"]
                if state == "done":
                    break
        finally:
            conn.close()
        assert state == "done"
        assert sim.monotonic() > 10.0


def test_manual_clock_only_moves_with_advance(sim: SemaphoreSimulator, raw: Raw) -> None:
    for _ in range(3):
        raw.get("/api/v1alpha/projects")
    assert sim.monotonic() == 0.0
    sim.advance(2.5)
    assert sim.monotonic() == 2.5
    assert [r.time for r in sim.requests] == [0.0, 0.0, 0.0]


def test_a_scenario_path_is_loaded_with_its_runs() -> None:
    with SemaphoreSimulator(EXAMPLE / "scenario.yml") as sim:
        assert [p.name for p in sim.world.projects()]
        assert sim.world.pipelines(), "the example starts a workflow at time zero"


def test_timings_and_epoch_are_configurable() -> None:
    with SemaphoreSimulator(standard_scenario(), epoch=0.0, timings=Timings(initializing=10.0)) as sim:
        _, ppl_id = sim.world.start_workflow("demo")
        sim.advance(9.9)
        assert sim.world.pipeline(ppl_id).state == "initializing"
        sim.advance(0.1)
        assert sim.world.pipeline(ppl_id).state == "pending"
        assert sim.world.timestamp(sim.world.pipeline(ppl_id).pending_at or 0.0) == 10.0


def test_generated_token_is_random_and_not_in_repr() -> None:
    with SemaphoreSimulator() as first, SemaphoreSimulator() as second:
        assert first.token != second.token
        assert len(first.token) >= 24
        assert first.token not in repr(first)


def test_close_without_start_releases_the_sockets() -> None:
    sim = SemaphoreSimulator()
    port = int(sim.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # bound and listening from construction on
    sim.close()
    sim.close()  # idempotent
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_same_seed_same_ids_over_http() -> None:
    ids = []
    for _ in range(2):
        with SemaphoreSimulator(standard_scenario(), seed=5) as sim:
            ids.append((sim.world.project("demo").project_id, sim.world.start_workflow("demo")))
    assert ids[0] == ids[1]


def test_clearing_the_request_log(sim: SemaphoreSimulator, raw: Raw) -> None:
    raw.get("/api/v1alpha/projects")
    sim.clear_requests()
    assert sim.requests == []


def test_a_second_project_with_the_same_name_is_refused(sim: SemaphoreSimulator) -> None:
    with pytest.raises(ValueError, match="already exists"):
        sim.world.add_project(standard_scenario().projects[0])


def test_connections_are_kept_alive_with_nagle_off(sim: SemaphoreSimulator, raw: Raw) -> None:
    import socket

    raw.get("/api/v1alpha/projects")
    first_socket = raw.conn.sock
    assert first_socket is not None
    for _ in range(5):
        response = raw.get("/api/v1alpha/projects")
        assert response.header("connection") != "close"
    assert raw.conn.sock is first_socket  # HTTP/1.1 keep-alive: one connection for every request
    server_side = list(sim._server._api_server._open)
    assert len(server_side) == 1
    assert server_side[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_request_log_limit_keeps_the_latest() -> None:
    with SemaphoreSimulator(token="t", request_log_limit=3) as sim:
        conn = Raw(sim.url, "t")
        try:
            for page in range(1, 6):
                conn.get(f"/api/v1alpha/projects?page={page}")
        finally:
            conn.close()
        assert [r.query["page"] for r in sim.requests] == ["3", "4", "5"]


def test_the_simulator_never_imports_the_client_its_models_or_errors() -> None:
    """It must stay an independent witness of the server: a shared parser would hide shared bugs."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import pytest_semaphore.simulator as package\n"
        "from pytest_semaphore.simulator import SemaphoreSimulator\n"
        "modules = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + '.')]\n"
        "for name in modules:\n"
        "    importlib.import_module(name)\n"
        "with SemaphoreSimulator(token='t') as sim:\n"
        "    sim.advance(1)\n"
        "banned = ('pytest_semaphore.client', 'pytest_semaphore.models', 'pytest_semaphore.errors', 'requests')\n"
        "print(len(modules), sorted(n for n in sys.modules if any(n == b or n.startswith(b + '.') for b in banned)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    count, imported = done.stdout.strip().split(" ", 1)
    assert int(count) >= 15  # every module of the package was imported, not an empty walk
    assert imported == "[]"


def test_generated_tokens_are_letters_and_digits_so_no_tool_reads_one_as_an_option() -> None:
    tokens = [new_token() for _ in range(1000)]
    assert len(set(tokens)) == 1000
    assert not [token for token in tokens if not (token.isascii() and token.isalnum())]
    assert not [token for token in tokens if token.startswith("-")]
    with SemaphoreSimulator() as sim:
        assert sim.token.isascii()
        assert sim.token.isalnum()


def test_a_real_time_simulator_starts_at_the_real_now_so_recent_workflow_queries_find_it() -> None:
    before = int(time.time())
    with SemaphoreSimulator(standard_scenario(), token="t", speed=1) as sim:
        wf_id, _ = sim.world.start_workflow("demo")
        created = sim.world.timestamp(sim.world.workflow(wf_id).created_at)
        assert before <= created <= time.time() + 1
        project_id = sim.world.project("demo").project_id
        conn = Raw(sim.url, "t")
        try:
            # what `sem get wf` asks: created in the last 90 days by the wall clock
            query = f"/api/v1alpha/plumber-workflows?project_id={project_id}&created_after={before - 90 * 86400}"
            recent = conn.get(query).json()
            older = conn.get(f"/api/v1alpha/plumber-workflows?project_id={project_id}&created_before={before - 60}")
        finally:
            conn.close()
    assert [w["wf_id"] for w in recent] == [wf_id]
    assert older.json() == []


def test_the_manual_clock_keeps_its_fixed_epoch_and_a_real_time_one_can_have_one_too() -> None:
    with SemaphoreSimulator() as manual:
        assert manual.world.epoch == DEFAULT_EPOCH
    with SemaphoreSimulator(speed=1, epoch=1_000_000.0) as fixed:
        assert fixed.world.epoch == 1_000_000.0
