"""Page-number lists (workflows, pipelines, promotions) over 3+ pages, with hostile ``link`` headers.

The server builds ``link`` from its own view of scheme and host; behind a proxy that can be plain http or an internal
name. The client must take only the query of ``rel="next"`` and keep talking to the configured base URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import APIError
from tests.support import api_payloads as P

Lister = Callable[[SemaphoreClient], list[Any]]

# resource path, item factory, how to list, id attribute
CASES: dict[str, tuple[str, Callable[[str], dict[str, Any]], Lister, str]] = {
    "workflows": (
        "/api/v1alpha/plumber-workflows",
        lambda i: P.workflow(i),
        lambda c: c.list_workflows(P.PROJECT_ID, page_size=1),
        "wf_id",
    ),
    "pipelines": (
        "/api/v1alpha/pipelines",
        lambda i: P.pipeline_listed(i),
        lambda c: c.list_pipelines(P.PROJECT_ID, page_size=1),
        "ppl_id",
    ),
    "promotions": (
        "/api/v1alpha/promotions",
        lambda i: P.promotion(i),
        lambda c: c.list_promotions(P.PPL_ID),
        "name",
    ),
}

# Where the "next" link claims to be: another host, plain http, another port and path. None of it may be used.
FOREIGN_ORIGINS = ["http://evil.example:1", "https://internal.semaphore.svc", "http://127.0.0.2:9"]


def paging_handler(path: str, make: Callable[[str], dict[str, Any]], pages: int) -> Callable[[Request], Response]:
    def answer(request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        items = [make(f"item-{page}")] if page <= pages else []
        query = sorted((k, v) for k, v in request.args.items(multi=True) if k != "page")
        links = []
        if page < pages:
            origin = FOREIGN_ORIGINS[page % len(FOREIGN_ORIGINS)]
            encoded = "&".join(f"{k}={v}" for k, v in [*query, ("page", str(page + 1))])
            links.append(f'<{origin}/api/v1alpha/elsewhere?{encoded}>; rel="next"')
        links.append('<http://evil.example/api/v1alpha/x?page=1>; rel="first"')
        headers = {
            "link": ", ".join(links),
            "page-number": str(page),
            "per-page": "1",
            "total": str(pages),
            "total-pages": str(pages),
        }
        return Response(json.dumps(items), headers=headers)  # plumber-public sets no Content-Type

    return answer


@pytest.mark.parametrize("kind", sorted(CASES))
def test_three_pages_all_on_the_configured_server(httpserver: HTTPServer, client: SemaphoreClient, kind: str) -> None:
    path, make, lister, attr = CASES[kind]
    httpserver.expect_request(path).respond_with_handler(paging_handler(path, make, 3))
    items = lister(client)
    assert [getattr(i, attr) for i in items] == ["item-1", "item-2", "item-3"]
    requests = [r for r, _ in httpserver.log]
    assert len(requests) == 3
    assert [r.args.get("page", "1") for r in requests] == ["1", "2", "3"]
    # every page went to our server and our path, with the original filters kept
    assert {r.path for r in requests} == {path}
    first_filter = sorted((k, v) for k, v in requests[0].args.items(multi=True) if k != "page")
    for request in requests[1:]:
        assert sorted((k, v) for k, v in request.args.items(multi=True) if k != "page") == first_filter


def test_limit_stops_paging_page_size_and_limit_cost_one_request(
    httpserver: HTTPServer, client: SemaphoreClient
) -> None:
    path, make, _, _ = CASES["pipelines"]
    httpserver.expect_request(path).respond_with_handler(paging_handler(path, make, 5))
    items = client.list_pipelines(P.PROJECT_ID, page_size=1, limit=1)
    assert [i.ppl_id for i in items] == ["item-1"]
    assert len(httpserver.log) == 1
    items = client.list_pipelines(P.PROJECT_ID, page_size=1, limit=2)
    assert len(items) == 2
    assert len(httpserver.log) == 3


def test_without_link_the_page_headers_are_followed(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    def answer(request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        return Response(json.dumps([P.workflow(f"w{page}")]), headers={"page-number": str(page), "total-pages": "3"})

    httpserver.expect_request("/api/v1alpha/plumber-workflows").respond_with_handler(answer)
    assert [w.wf_id for w in client.list_workflows(P.PROJECT_ID)] == ["w1", "w2", "w3"]


def test_no_paging_headers_means_one_page(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/plumber-workflows").respond_with_json([P.workflow("w1")])
    assert [w.wf_id for w in client.list_workflows(P.PROJECT_ID)] == ["w1"]
    assert len(httpserver.log) == 1


def test_a_next_link_pointing_back_is_a_loop_error(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/plumber-workflows").respond_with_json(
        [P.workflow("w1")],
        headers={"link": f'<http://x/api/v1alpha/plumber-workflows?page=1&project_id={P.PROJECT_ID}>; rel="next"'},
    )
    with pytest.raises(APIError, match="pagination loop"):
        client.list_workflows(P.PROJECT_ID)
    assert len(httpserver.log) <= 2


def test_an_empty_page_ends_the_list(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    path, make, _, _ = CASES["workflows"]

    def answer(request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        items = [make(f"w{page}")] if page == 1 else []
        link = f'<http://x{path}?page={page + 1}&project_id={P.PROJECT_ID}>; rel="next"'
        return Response(json.dumps(items), headers={"link": link})

    httpserver.expect_request(path).respond_with_handler(answer)
    assert [w.wf_id for w in client.list_workflows(P.PROJECT_ID)] == ["w1"]
    assert len(httpserver.log) == 2


def test_projects_stop_after_page_100_when_the_server_always_has_more(
    httpserver: HTTPServer, client: SemaphoreClient
) -> None:
    def answer(request: Request) -> Response:
        page = int(request.args["page"])
        uuid = f"00000000-0000-0000-0000-{page:012d}"
        return Response(json.dumps([P.project(f"p{page}", uuid)]), headers={"x-page": str(page), "x-has-more": "true"})

    httpserver.expect_request("/api/v1alpha/projects").respond_with_handler(answer)
    projects = client.list_projects()
    assert [p.name for p in projects] == [f"p{n}" for n in range(1, 101)]
    assert [request.args["page"] for request, _ in httpserver.log] == [str(n) for n in range(1, 101)]


def test_jobs_with_a_repeated_page_token_are_a_loop_error(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    pages = {"": "t2", "t2": "t3", "t3": "t2"}

    def answer(request: Request) -> Response:
        token = request.args.get("page_token", "")
        body = {"jobs": [P.job(f"job-{token or 'first'}")], "next_page_token": pages[token]}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v1alpha/jobs").respond_with_handler(answer)
    with pytest.raises(APIError, match="repeated a page token"):
        client.list_jobs(["RUNNING"])
    assert [request.args.get("page_token", "") for request, _ in httpserver.log] == ["", "t2", "t3"]
