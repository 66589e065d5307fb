"""One client shared by many threads (the waiting engine and the xdist controller do this)."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_semaphore.client import SemaphoreClient
from tests.support import api_payloads as P


def test_concurrent_calls_and_one_name_lookup(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    lookups: list[str] = []
    gate = threading.Barrier(8, timeout=10)

    def project(request: Request) -> Response:
        lookups.append(request.path)
        return Response(json.dumps(P.project()))

    def pipelines(request: Request) -> Response:
        ppl_id = request.args["wf_id"]
        return Response(json.dumps([P.pipeline_listed(ppl_id)]))

    httpserver.expect_request("/api/v1alpha/projects/release-train").respond_with_handler(project)
    httpserver.expect_request("/api/v1alpha/pipelines").respond_with_handler(pipelines)

    def work(n: int) -> tuple[str, str]:
        gate.wait()
        resolved = client.resolve_project_id("release-train")
        (ppl,) = client.list_pipelines("release-train", wf_id=f"wf-{n}")
        return resolved, ppl.ppl_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [(P.PROJECT_ID, f"wf-{n}") for n in range(8)]
    assert lookups == ["/api/v1alpha/projects/release-train"]  # resolved once, remembered
    assert len(httpserver.log) == 9


def test_many_threads_with_retries_get_their_own_answers(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    """More threads than the pool holds, each retried after a 503: no answer crosses to another thread's call."""
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def answer(request: Request) -> Response:
        ppl_id = request.path.rsplit("/", 1)[1]
        with lock:
            seen[ppl_id] = seen.get(ppl_id, 0) + 1
            first = seen[ppl_id] == 1
        if first:
            return Response("upstream connect error", status=503)
        return Response(json.dumps(P.pipeline_describe(ppl_id=ppl_id)))

    httpserver.expect_request(re.compile(r"/api/v1alpha/pipelines/[^/]+")).respond_with_handler(answer)
    ids = [f"ppl-{n}" for n in range(24)]
    gate = threading.Barrier(len(ids), timeout=10)

    def work(ppl_id: str) -> str:
        gate.wait()
        return client.describe_pipeline(ppl_id).ppl_id

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        results = list(pool.map(work, ids))
    assert results == ids
    assert seen == dict.fromkeys(ids, 2)  # each retried exactly once
