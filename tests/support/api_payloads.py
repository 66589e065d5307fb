"""Response bodies in the exact shapes ``docs/semaphore-api.md`` documents (quirks included), for the client tests.

Kept apart from the tests so each test reads as "this body, this answer"; the shapes are copied from the API notes,
never produced by our own models (a parsing bug must not be able to cancel itself out).
"""

from __future__ import annotations

from typing import Any

PROJECT_ID = "c394d20b-b3c6-4c90-b743-a9a65fa95a78"
WF_ID = "b1e7c3a0-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
PPL_ID = "8a97c3a0-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
JOB_ID = "bc88c3a0-1d2e-4f5a-8b9c-0d1e2f3a4b5c"


def project(name: str = "release-train", project_id: str = PROJECT_ID) -> dict[str, Any]:
    return {
        "apiVersion": "v1alpha",
        "kind": "Project",
        "metadata": {"name": name, "id": project_id, "description": ""},
        "spec": {
            "visibility": "private",
            "repository": {
                "url": f"git@github.com:org/{name}.git",
                "run_on": ["branches", "tags"],
                "pipeline_file": ".semaphore/semaphore.yml",
                "status": {"pipeline_files": [{"path": ".semaphore/semaphore.yml", "level": "pipeline"}]},
                "whitelist": {"branches": [], "tags": []},
                "integration_type": "github_app",
            },
            "schedulers": [],
            "tasks": [],
        },
    }


def workflow(
    wf_id: str = WF_ID,
    *,
    triggered_by: object = "HOOK",
    commit: str = "6e45",
    branch: str = "master",
    seconds: int = 1744918825,
) -> dict[str, Any]:
    return {
        "wf_id": wf_id,
        "initial_ppl_id": "ppl-of-" + wf_id,
        "project_id": PROJECT_ID,
        "hook_id": "5826",
        "requester_id": "fae5",
        "branch_id": "61cb",
        "branch_name": branch,
        "commit_sha": commit,
        "created_at": {"seconds": seconds, "nanos": 131742000},
        "triggered_by": triggered_by,
        "rerun_of": "",
        "repository_id": "3d8e",
        "organization_id": "2b4e",
    }


def pipeline_describe(
    state: str = "done",
    result: str | None = "passed",
    *,
    blocks: list[Any] | None = None,
    switch_id: str = "",
    ppl_id: str = PPL_ID,
) -> dict[str, Any]:
    ppl: dict[str, Any] = {
        "ppl_id": ppl_id,
        "wf_id": WF_ID,
        "name": "Pipeline",
        "project_id": PROJECT_ID,
        "branch_name": "master",
        "commit_sha": "a38c",
        "state": state,
        "created_at": "2019-10-14 18:31:17.293456Z",
        "pending_at": "2019-10-14 18:31:18.527207Z",
        "stopping_at": "1970-01-01 00:00:00.000000Z",
        "done_at": "2019-10-14 18:31:32.507034Z" if state == "done" else "1970-01-01 00:00:00.000000Z",
        "yaml_file_name": "semaphore.yml",
        "working_directory": ".semaphore",
        "switch_id": switch_id,
        "terminate_request": "",
        "error_description": "",
        "queue": {"type": 0},
        "triggerer": {"wf_triggered_by": 0, "ppl_triggered_by": 0},
    }
    if result is not None:
        ppl["result"] = result
        ppl["result_reason"] = "test"
    return {"pipeline": ppl, "blocks": blocks or []}


def block(name: str = "RSpec", *, job_status: str = "FINISHED", job_result: str = "FAILED") -> dict[str, Any]:
    return {
        "block_id": "83b7",
        "name": name,
        "build_req_id": "4a45",
        "state": "done",
        "result": "failed",
        "result_reason": "test",
        "error_description": "",
        "jobs": [
            {"name": "Push results - 2/11", "index": 0, "job_id": JOB_ID, "status": job_status, "result": job_result}
        ],
    }


def pipeline_listed(ppl_id: str = PPL_ID, state: str = "DONE", result: str | None = "FAILED") -> dict[str, Any]:
    item: dict[str, Any] = {
        "ppl_id": ppl_id,
        "wf_id": WF_ID,
        "name": "Pipeline",
        "project_id": PROJECT_ID,
        "branch_name": "master",
        "commit_sha": "a38c",
        "state": state,
        "created_at": {"seconds": 1571063401, "nanos": 559492000},
        "stopping_at": {"seconds": 0, "nanos": 0},
        "queue": {"type": "IMPLICIT"},
        "triggerer": {"wf_triggered_by": "HOOK", "ppl_triggered_by": "WORKFLOW"},
    }
    if result is not None:
        item["result"] = result
        item["result_reason"] = "TEST"
    return item


def promotion(
    name: str = "production", *, status: str = "passed", seconds: int = 1571065763, scheduled: str = "d605"
) -> dict[str, Any]:
    return {
        "name": name,
        "triggered_by": "fae5-user",
        "override": False,
        "status": status,
        "triggered_at": {"seconds": seconds, "nanos": 817290000},
        "scheduled_at": {"seconds": seconds + 1, "nanos": 900999000},
        "scheduled_pipeline_id": scheduled,
    }


def job(job_id: str = JOB_ID, *, state: str = "FINISHED", result: str = "STOPPED") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "Job #1",
            "id": job_id,
            "create_time": "1571083003",
            "update_time": "1571083507",
            "start_time": "1571083006",
            "finish_time": "1571083507",
        },
        "spec": {
            "project_id": PROJECT_ID,
            "agent": {
                "machine": {"type": "e1-standard-2", "os_image": "ubuntu2004"},
                "containers": [],
                "image_pull_secrets": [],
            },
            "secrets": [],
            "env_vars": [{"name": "SEMAPHORE_WORKFLOW_ID", "value": WF_ID}],
            "files": [],
            "commands": ["make test"],
            "epilogue_commands": [],
            "epilogue_always_commands": [],
            "epilogue_on_pass_commands": [],
            "epilogue_on_fail_commands": [],
        },
        "status": {
            "result": result,
            "state": state,
            "agent": {"ip": "88.99.26.221", "name": "", "ports": [{"name": "ssh", "number": 30000}]},
        },
    }


LOG_EVENTS: list[dict[str, Any]] = [
    {"event": "job_started", "timestamp": 1719979253},
    {"event": "cmd_started", "timestamp": 1719979253, "directive": "Exporting environment variables"},
    {"event": "cmd_output", "timestamp": 1719979253, "output": "Exporting CI\n"},
    {
        "event": "cmd_finished",
        "timestamp": 1719979255,
        "directive": "Exporting environment variables",
        "exit_code": 0,
        "started_at": 1719979255,
        "finished_at": 1719979255,
    },
    {"event": "cmd_started", "timestamp": 1719979256, "directive": "make test"},
    {"event": "cmd_output", "timestamp": 1719979257, "output": "\x1b[31mFAIL\x1b[0m test_x\r\n"},
    {
        "event": "cmd_finished",
        "timestamp": 1719979258,
        "directive": "make test",
        "exit_code": 2,
        "started_at": 1719979256,
        "finished_at": 1719979258,
    },
    {"event": "job_finished", "timestamp": 1719979258, "result": "failed"},
]
