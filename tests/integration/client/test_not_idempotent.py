"""``run_workflow`` and ``trigger_promotion``: never a duplicate, and an honest "we do not know" when that is the truth.

These use the raw-socket scripted server, because the failures that matter (a reset after the request was read, a
server that never answers) cannot be produced by an ordinary HTTP server.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_semaphore.errors import APIError, APIUnavailable, OutcomeUnknown
from tests.support import api_payloads as P
from tests.support.scripted_server import Hang, RecordedRequest, Reply, Reset, ScriptedServer, Truncated

from .conftest import ClientFactory, RecordedSleeps


def js(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode())


def posts(server: ScriptedServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.method == "POST"]


# ------------------------------------------------------------------------------------------------ run_workflow


@pytest.mark.parametrize(
    "failure",
    [
        Reset(),
        Reply(502, b"bad gateway"),
        Reply(504, b"upstream request timeout"),
        Reply(500, b'"Internal error"'),
        Truncated(200, b'{"workflow_id": "w', declared=200),
        Reset(after=b"HTTP/1.1 200 OK\r\n"),
    ],
    ids=["reset", "502", "504", "500", "truncated-200", "reset-mid-headers"],
)
def test_run_workflow_ambiguous_failure_is_outcome_unknown_after_one_request(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps, failure: Any
) -> None:
    scripted.add(failure)
    client = make_client(scripted.url)
    with pytest.raises(OutcomeUnknown, match="may or may not have taken effect") as info:
        client.run_workflow(P.PROJECT_ID, "main")
    assert len(scripted.requests) == 1
    assert info.value.path == "/api/v1alpha/plumber-workflows"
    assert sleeps == []


def test_run_workflow_read_timeout_is_outcome_unknown(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    scripted.add(Hang())
    client = make_client(scripted.url, timeout=0.3)
    with pytest.raises(OutcomeUnknown, match="read timeout"):
        client.run_workflow(P.PROJECT_ID, "main")
    assert len(scripted.requests) == 1


def test_run_workflow_429_and_403_are_retried_because_nothing_was_created(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps
) -> None:
    scripted.add(
        Reply(429, b"slow down", {"Retry-After": "3"}),
        Reply(403, b"auth service timeout"),
        js({"workflow_id": "w", "pipeline_id": "p"}),
    )
    started = make_client(scripted.url).run_workflow(P.PROJECT_ID, "main")
    assert (started.wf_id, started.ppl_id) == ("w", "p")
    assert len(posts(scripted)) == 3
    assert sleeps[0] == 3.0


def test_run_workflow_connection_refused_is_unavailable_not_unknown(make_client: ClientFactory) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(APIUnavailable, match="could not connect"):
        make_client(f"http://127.0.0.1:{port}", retries=1).run_workflow(P.PROJECT_ID, "main")


def test_run_workflow_reconciles_to_the_workflow_it_created(
    scripted: ScriptedServer, make_client: ClientFactory
) -> None:
    old = P.workflow("old-wf", triggered_by=2, commit="abc", branch="main")
    mine = P.workflow("new-wf", triggered_by=2, commit="abc", branch="main")
    hook = P.workflow("hook-wf", triggered_by=0, commit="abc", branch="main")
    other_commit = P.workflow("other-wf", triggered_by=2, commit="zzz", branch="main")
    scripted.add(js([old]), Reset(), js([hook, other_commit, mine, old]))
    started = make_client(scripted.url).run_workflow(P.PROJECT_ID, "refs/heads/main", commit_sha="abc", reconcile=True)
    assert (started.wf_id, started.ppl_id) == ("new-wf", "ppl-of-new-wf")
    assert len(posts(scripted)) == 1
    lists = [r for r in scripted.requests if r.method == "GET"]
    assert len(lists) == 2
    for request in lists:
        query = dict(request.query)
        assert query["branch_name"] == "main"
        assert query["project_id"] == P.PROJECT_ID
        assert query["page_size"] == "30"  # same-size snapshots, newest first: no clock involved


def test_run_workflow_reconcile_finding_nothing_is_still_unknown(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps
) -> None:
    scripted.add(js([]), Reply(502, b"bad gateway"), js([]), js([]), js([]))
    with pytest.raises(OutcomeUnknown, match="probably not created"):
        make_client(scripted.url).run_workflow(P.PROJECT_ID, "main", reconcile=True)
    assert len(posts(scripted)) == 1
    assert len(sleeps) == 2  # pauses between the three looks, through the injected sleep


def test_run_workflow_reconcile_that_cannot_read_the_list_does_not_say_probably_not_created(
    scripted: ScriptedServer, make_client: ClientFactory
) -> None:
    scripted.add(js([]), Reset())
    scripted.fallback = Reply(401, b"Unauthorized")  # every later look fails
    with pytest.raises(OutcomeUnknown) as info:
        make_client(scripted.url).run_workflow(P.PROJECT_ID, "main", reconcile=True)
    message = str(info.value)
    assert "could not be read" in message
    assert "Unauthorized" in message
    assert "probably not created" not in message  # nothing was seen: no reassurance that would invite a rerun
    assert len(posts(scripted)) == 1


def test_run_workflow_accepted_but_unreadable_and_not_found_never_says_probably_not_created(
    scripted: ScriptedServer, make_client: ClientFactory
) -> None:
    scripted.add(js([]), Reply(200, b"<html><title>proxy</title></html>"), js([]), js([]), js([]))
    with pytest.raises(OutcomeUnknown) as info:
        make_client(scripted.url).run_workflow(P.PROJECT_ID, "main", reconcile=True)
    message = str(info.value)
    assert "HTTP 200" in message
    assert "accepted" in message
    assert "probably not created" not in message  # a 2xx means it was created: never invite a rerun
    assert len(posts(scripted)) == 1


def test_run_workflow_reconcile_with_two_candidates_refuses_to_guess(
    scripted: ScriptedServer, make_client: ClientFactory
) -> None:
    a = P.workflow("a", triggered_by=2, branch="main")
    b = P.workflow("b", triggered_by=2, branch="main")
    scripted.add(js([]), Reset(), js([a, b]))
    with pytest.raises(OutcomeUnknown, match="2 new workflows match: a, b"):
        make_client(scripted.url).run_workflow(P.PROJECT_ID, "main", reconcile=True)
    assert len(posts(scripted)) == 1


def test_pull_request_reference_reconciles_on_its_branch_name(
    scripted: ScriptedServer, make_client: ClientFactory
) -> None:
    scripted.add(js([]), Reset(), js([P.workflow("pr", triggered_by="API", branch="pull-request-12")]))
    started = make_client(scripted.url).run_workflow(P.PROJECT_ID, "refs/pull/12/head", reconcile=True)
    assert started.wf_id == "pr"
    assert dict(scripted.requests[0].query)["branch_name"] == "pull-request-12"


def test_run_workflow_400_is_a_plain_error(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    scripted.add(Reply(400, b'"Missing required post parameter project_id."'))
    with pytest.raises(APIError, match="Missing required post parameter") as info:
        make_client(scripted.url).run_workflow(P.PROJECT_ID, "main")
    assert not isinstance(info.value, OutcomeUnknown)


# ------------------------------------------------------------------------------------------------ promotions


def test_promotion_reset_not_landed_is_resent_once(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps
) -> None:
    earlier = P.promotion(seconds=1000)
    scripted.add(js([earlier]), Reset(), js([earlier]), Reply(200, b'"Promotion successfully triggered."'))
    make_client(scripted.url).trigger_promotion(P.PPL_ID, "production")
    sent = posts(scripted)
    assert len(sent) == 2
    assert json.loads(sent[0].body)["request_token"] == json.loads(sent[1].body)["request_token"]
    assert len(sleeps) == 1


def test_promotion_that_landed_is_not_resent(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    earlier = P.promotion(seconds=1000)
    landed = P.promotion(status="processing", seconds=2000, scheduled="")
    scripted.add(js([earlier]), Reply(504, b"upstream request timeout"), js([landed, earlier]))
    make_client(scripted.url).trigger_promotion(P.PPL_ID, "production")
    assert len(posts(scripted)) == 1
    assert len(scripted.requests) == 3


def test_promotion_read_timeout_then_landed(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    scripted.add(js([]), Hang(), js([P.promotion(status="processing", scheduled="")]))
    make_client(scripted.url, timeout=0.3).trigger_promotion(P.PPL_ID, "production")
    assert len(posts(scripted)) == 1


def test_promotion_500_is_never_resent(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    scripted.add(js([]), Reply(500, b'"Internal error"'))
    with pytest.raises(APIError, match="Internal error") as info:
        make_client(scripted.url).trigger_promotion(P.PPL_ID, "production", parameters={"ENV": "bogus"})
    assert info.value.status == 500
    assert len(posts(scripted)) == 1
    assert len(scripted.requests) == 2


def test_promotion_refused_400_is_an_error(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    scripted.add(js([]), Reply(400, b'"Triggering target when pipeline is not passed requires override confirmation."'))
    with pytest.raises(APIError, match="requires override confirmation"):
        make_client(scripted.url).trigger_promotion(P.PPL_ID, "production")
    assert len(posts(scripted)) == 1


def test_promotion_unverifiable_is_unknown(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    scripted.add(js([]), Reset())
    scripted.fallback = Reply(401, b"Unauthorized")  # the promotions list can no longer be read
    with pytest.raises(OutcomeUnknown, match="could not be read"):
        make_client(scripted.url).trigger_promotion(P.PPL_ID, "production")
    assert len(posts(scripted)) == 1


def test_promotion_that_never_lands_gives_up_after_the_budget(
    scripted: ScriptedServer, make_client: ClientFactory
) -> None:
    scripted.add(js([]))
    for _ in range(3):
        scripted.add(Reply(502, b"bad gateway"), js([]))
    with pytest.raises(OutcomeUnknown, match="HTTP 502") as info:
        make_client(scripted.url, retries=2).trigger_promotion(P.PPL_ID, "production")
    assert len(posts(scripted)) == 3
    assert info.value.sent == 3
    assert "sent 3 times" in str(info.value)
    assert "not resent" not in str(info.value)  # the message must not contradict what happened
