"""Raw HTTP against the simulator with ``http.client``: never our client, which normalises by design and would hide
an unfaithful simulator. Also the standard world the simulator tests share."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pytest_semaphore.simulator.definitions import (
    BlockDef,
    CommandDef,
    JobDef,
    ParameterDef,
    PipelineDef,
    ProjectDef,
    PromotionDef,
    ScenarioDef,
    simple_rule,
)

MAIN = ".semaphore/semaphore.yml"


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[0] if found else None

    def header_names(self) -> list[str]:
        return [key.lower() for key, _ in self.headers]

    def json(self) -> Any:
        return json.loads(self.body)


class Raw:
    """One keep-alive connection to a simulator host."""

    def __init__(self, url: str, token: str | None) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        self.host = parts.hostname
        self.port = parts.port
        self.token = token
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        *,
        auth: bool = True,
    ) -> RawResponse:
        all_headers = {}
        if auth and self.token is not None:
            all_headers["Authorization"] = f"Token {self.token}"
        all_headers.update(headers or {})
        payload = body.encode() if isinstance(body, str) else body
        self.conn.request(method, path, body=payload, headers=all_headers)
        response = self.conn.getresponse()
        data = response.read()
        return RawResponse(response.status, response.reason, response.getheaders(), data)

    def get(self, path: str, **kwargs: Any) -> RawResponse:
        return self.request("GET", path, **kwargs)

    def post_json(self, path: str, value: object) -> RawResponse:
        return self.request("POST", path, json.dumps(value), {"Content-Type": "application/json"})

    def post_form(self, path: str, form: str) -> RawResponse:
        return self.request("POST", path, form, {"Content-Type": "application/x-www-form-urlencoded"})

    def close(self) -> None:
        self.conn.close()


def main_pipeline() -> PipelineDef:
    return PipelineDef(
        "Build and test",
        (
            BlockDef(
                "Test",
                (
                    JobDef(
                        "unit",
                        (
                            CommandDef("checkout", output=("Cloning...\n",), duration=1.0),
                            CommandDef("make test", output=("ok 1\n", "ok 2\n"), duration=4.0),
                        ),
                    ),
                    JobDef("integration", (CommandDef("make it", output=("fine\n",), duration=2.0),)),
                ),
            ),
            BlockDef("Package", (JobDef("build", (CommandDef("make dist", duration=1.0),)),)),
        ),
        promotions=(
            PromotionDef(
                "production",
                "prod.yml",
                parameters=(
                    ParameterDef("ENVIRONMENT", required=True, options=("eu", "us")),
                    ParameterDef("REASON", default="release"),
                ),
            ),
            PromotionDef("staging", "staging.yml", auto_promote=simple_rule("passed", branches=("master",))),
        ),
    )


def failing_pipeline() -> PipelineDef:
    return PipelineDef(
        "Failing",
        (
            BlockDef(
                "Test",
                (
                    JobDef("bad", (CommandDef("pytest", output=("E assert 1 == 2\n",), exit_code=1, duration=2.0),)),
                    JobDef("good", (CommandDef("true", duration=1.0),)),
                ),
            ),
            BlockDef("Deploy", (JobDef("deploy"),)),
        ),
        promotions=(PromotionDef("production", "prod.yml", parameters=(ParameterDef("ENVIRONMENT", default="eu"),)),),
    )


def standard_scenario() -> ScenarioDef:
    deploy = PipelineDef("Deploy", (BlockDef("Deploy", (JobDef("deploy", (CommandDef("./deploy", duration=2.0),)),)),))
    plain = PipelineDef("Plain", (BlockDef("Only", (JobDef("one"),)),))
    return ScenarioDef(
        projects=(
            ProjectDef(
                "demo",
                {
                    MAIN: main_pipeline(),
                    ".semaphore/failing.yml": failing_pipeline(),
                    ".semaphore/plain.yml": plain,
                    "prod.yml": deploy,
                    "staging.yml": deploy,
                    ".semaphore/selfhosted.yml": PipelineDef(
                        "Self-hosted",
                        (
                            BlockDef(
                                "Run",
                                (
                                    JobDef(
                                        "on my agent",
                                        (CommandDef("echo hi", output=("hi\n",), duration=2.0),),
                                        machine_type="s1-my-agent",
                                    ),
                                ),
                            ),
                        ),
                    ),
                },
            ),
            ProjectDef("other", {MAIN: plain}),
        ),
        seed=7,
    )


#: What the agent prints before the user's commands in a job of these projects: the job's variables exported (names
#: only; these are the world's own) and its files injected, as at the start of every real log.
PREAMBLE_NAMES = (
    "CI",
    "SEMAPHORE",
    "SEMAPHORE_WORKFLOW_ID",
    "SEMAPHORE_WORKFLOW_NUMBER",
    "SEMAPHORE_PIPELINE_ID",
    "SEMAPHORE_PIPELINE_ARTEFACT_ID",
    "SEMAPHORE_GIT_BRANCH",
    "SEMAPHORE_GIT_SHA",
    "SEMAPHORE_JOB_ID",
)
PREAMBLE_TEXT = (
    b"Exporting environment variables\n"
    + b"".join(b"Exporting %s\n" % name.encode() for name in PREAMBLE_NAMES)
    + b"Injecting Files\n"
)
#: cmd_started, one cmd_output per name, cmd_finished; then cmd_started, cmd_finished.
PREAMBLE_EVENTS = 2 + len(PREAMBLE_NAMES) + 2


def preamble_events(stamp: int) -> bytes:
    """The preamble's events as the agent writes them, comma-joined, all at ``stamp`` (it takes no time)."""
    exporting = b'"directive":"Exporting environment variables"'
    injecting = b'"directive":"Injecting Files"'
    finished = b',"exit_code":0,"started_at":%d,"finished_at":%d}' % (stamp, stamp)
    events = [
        b'{"event":"cmd_started","timestamp":%d,%s}' % (stamp, exporting),
        *(
            b'{"event":"cmd_output","timestamp":%d,"output":"Exporting %s\\n"}' % (stamp, n.encode())
            for n in PREAMBLE_NAMES
        ),
        b'{"event":"cmd_finished","timestamp":%d,%s%s' % (stamp, exporting, finished),
        b'{"event":"cmd_started","timestamp":%d,%s}' % (stamp, injecting),
        b'{"event":"cmd_finished","timestamp":%d,%s%s' % (stamp, injecting, finished),
    ]
    return b",".join(events)
