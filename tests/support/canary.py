"""The token canary's world, shared by both faces' canary tests: a pipeline whose failed job runs on a self-hosted
agent (its log is stored on the loghub2 host, a second loopback address, reached through a signed redirect) and
prints the API token, next to a pipeline that passes.

:func:`check_hosts` reads the simulator's request log: the token went to the API host only, in the
``Authorization`` header only (the simulator records that header as ``<redacted>`` whatever it held, so a request
to the loghub host must not carry it at all, and the token must appear in no path, query, header or body).
"""

from __future__ import annotations

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import (
    BlockDef,
    CommandDef,
    JobDef,
    PipelineDef,
    ProjectDef,
    ScenarioDef,
)


def scenario(token: str) -> ScenarioDef:
    """Project ``app``: ``.semaphore/semaphore.yml`` fails on a self-hosted agent (printing ``token``),
    ``green.yml`` passes on a hosted one."""
    leak = CommandDef("./deploy.sh", output=(f"using token {token}\n", "deploy failed\n"), exit_code=3, duration=20)
    red = PipelineDef(
        "Red",
        blocks=(
            BlockDef("Build", jobs=(JobDef("build"),)),
            BlockDef("Deploy", jobs=(JobDef("deploy", commands=(leak,), machine_type="s1-office-agent"),)),
        ),
    )
    green = PipelineDef("Green", blocks=(BlockDef("Build", jobs=(JobDef("build"),)),))
    return ScenarioDef(projects=(ProjectDef("app", {".semaphore/semaphore.yml": red, "green.yml": green}),))


def start_both(sim: SemaphoreSimulator) -> tuple[str, str]:
    """Start the red and the green pipeline and let them finish; their ids (red, green)."""
    _, red = sim.world.start_workflow("app")
    _, green = sim.world.start_workflow("app", pipeline_file="green.yml")
    sim.advance(3600)
    return red, green


def check_hosts(sim: SemaphoreSimulator, token: str) -> int:
    """Assert that no request carried the token anywhere but in the API host's ``Authorization`` header; return
    how many requests went to the loghub host (a test expecting redirects checks that some did)."""
    loghub = 0
    for record in sim.requests:
        seen = " ".join([record.path, repr(record.query_all), repr(record.headers), repr(record.body)])
        assert token not in seen, f"the token in a {record.server} request: {record.method} {record.path}"
        if record.server == "loghub":
            loghub += 1
            assert "authorization" not in record.headers, f"the token sent to loghub: {record.method} {record.path}"
    return loghub
