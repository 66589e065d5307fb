"""The simulator's inner seams, used directly: the route table, the ingress, signed log links, the request log.

The golden tests pin what goes over the wire; these pin what the modules promise each other, so that a new route, a
new body parser or a new refusal shape can be added without reading the socket code.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from pytest_semaphore.simulator.ingress import Ingress, LogLinks
from pytest_semaphore.simulator.messages import API, Request, Response
from pytest_semaphore.simulator.requestlog import RequestLog, RequestRecord
from pytest_semaphore.simulator.routing import BODY_PARSERS, Route, Router, api_route, plumber
from pytest_semaphore.simulator.world import BadRequest, NotFound, Refused, World


def _request(method: str, path: str, *, body: bytes = b"", content_type: str = "", server: str = "api") -> Request:
    headers = {"content-type": content_type} if content_type else {}
    return Request(method, path, {}, {}, headers, body, "sim.test:80", server)


def _held_elsewhere(lock: threading.RLock) -> bool:
    """True when another thread holds ``lock`` (this thread cannot take it)."""
    result: list[bool] = []

    def probe() -> None:
        taken = lock.acquire(blocking=False)
        if taken:
            lock.release()
        result.append(not taken)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return result[0]


def test_the_router_holds_the_world_lock_while_a_handler_runs_and_decodes_segments() -> None:
    world = World(seed=1)
    seen: list[tuple[str, bool]] = []

    def handler(request: Request, name: str) -> Response:
        seen.append((name, _held_elsewhere(world.lock)))
        return plumber(200, name)

    router = Router(world, [api_route("GET", "/pipelines/{}", handler)])
    response = router(_request("GET", API + "/pipelines/a%20b/"))
    assert response.status == 200
    assert seen == [("a b", True)]
    assert not _held_elsewhere(world.lock)  # released afterwards
    assert ("cache-control", "max-age=0, private, must-revalidate") in response.headers  # plumber's framing


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (API + "/pipelines/x/unknown", 404, b"oops"),
        (API + "/jobs/x/unknown", 404, b'{"code":5,"message":"Not Found","details":[]}'),
        (API + "/nothing", 404, b"Not Found"),
        ("/jobs/x/unknown", 404, b"Not Found"),
    ],
)
def test_a_path_without_a_route_gets_its_backends_answer(path: str, status: int, body: bytes) -> None:
    response = Router(World(seed=1), [])(_request("GET", path))
    assert (response.status, response.body) == (status, body)


def test_the_loghub_host_has_its_own_routes_and_404() -> None:
    world = World(seed=1)
    route = Route("GET", re.compile(r"/api/v1/logs/([^/]+)\Z"), lambda r, j: Response(200, j.encode()), "loghub")
    router = Router(world, [route])
    assert router(_request("GET", "/api/v1/logs/a%20b", server="loghub")).body == b"a%20b"  # raw, not decoded
    assert router(_request("GET", "/api/v1/logs/a", server="api")).body == b"Not Found"  # not on the API host
    assert router(_request("GET", "/other", server="loghub")).body == b"404 page not found\n"


@pytest.mark.parametrize(
    ("error", "as_409", "status", "body"),
    [
        (Refused("no"), False, 400, b'"no"'),
        (Refused("no"), True, 409, b'{"code":"REFUSED","message":"no"}'),
        (BadRequest("bad"), True, 400, b'"bad"'),
        (NotFound("x"), False, 404, b"Not Found"),
    ],
)
def test_what_the_world_refuses_takes_the_shape_the_router_is_configured_for(
    error: Exception, as_409: bool, status: int, body: bytes
) -> None:
    def handler(request: Request) -> Response:
        raise error

    router = Router(World(seed=1), [api_route("POST", "/promotions", handler)], refusals_as_409=as_409)
    response = router(_request("POST", API + "/promotions"))
    assert (response.status, response.body) == (status, body)


def test_a_registered_body_parser_feeds_the_handlers_params(monkeypatch: pytest.MonkeyPatch) -> None:
    def lines(body: bytes, content_type: str) -> dict[str, Any]:
        return dict(line.split("=", 1) for line in body.decode().splitlines()) | {"type": content_type}

    monkeypatch.setitem(BODY_PARSERS, "text/x-lines", lines)
    router = Router(World(seed=1), [api_route("POST", "/yaml", lambda r: plumber(200, r.params))])
    response = router(_request("POST", API + "/yaml", body=b"a=1\nb=2", content_type="text/x-lines; q=1"))
    assert response.body == b'{"a":"1","b":"2","type":"text/x-lines; q=1"}'
    ignored = router(_request("POST", API + "/yaml", body=b"a=1", content_type="text/other"))
    assert ignored.body == b"{}"  # an unknown media type is passed through unparsed, as Plug does


def test_the_ingress_checks_tokens_on_the_api_host_only() -> None:
    answered: list[frozenset[str] | None] = []

    def app(request: Request) -> Response:
        answered.append(request.visible)
        return Response(200)

    ingress = Ingress(app, "main")
    ingress.add_token("narrow", frozenset({"p1"}))
    assert ingress(_request("GET", API + "/projects")).status == 401
    for token in ("main", "narrow"):
        request = _request("GET", API + "/projects")
        request.headers["authorization"] = f"Token {token}"
        assert ingress(request).status == 200
    assert ingress(_request("GET", "/api/v1/logs/x", server="loghub")).status == 200  # links carry their own JWT
    assert answered == [None, frozenset({"p1"}), None]


def test_a_log_link_admits_its_job_until_it_expires() -> None:
    links = LogLinks("http://127.0.0.2:9")
    location = links.location("job-1", 1000.0)
    assert location.startswith("http://127.0.0.2:9/api/v1/logs/job-1?jwt=")
    token = location.split("jwt=", 1)[1]
    assert links.admits(token, "job-1", 1300.0)
    assert not links.admits(token, "job-1", 1301.0)  # expired
    assert not links.admits(token, "job-2", 1000.0)  # another job
    assert not LogLinks("http://127.0.0.2:9").admits(token, "job-1", 1000.0)  # another secret
    assert not links.admits(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "job-1", 1000.0)  # altered
    assert links.location("job-1", 1000.0, raw=True).endswith("&raw=true")


def test_the_request_log_keeps_the_latest_and_hands_out_copies() -> None:
    log = RequestLog(limit=2)
    for number in range(3):
        log.append(RequestRecord("GET", f"/{number}", {}, {}, {}, b"", float(number)))
    snapshot = log.snapshot()
    assert [r.path for r in snapshot] == ["/1", "/2"]
    log.clear()
    assert log.snapshot() == []
    assert [r.path for r in snapshot] == ["/1", "/2"]  # a copy, untouched by clear()
