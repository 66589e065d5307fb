"""The route table: which handler answers which method and path, and everything handlers share.

Every request on either host goes through :class:`Router`: it picks the backend the ingress would pass the path to
(plumber-public, the jobs gateway, projecthub, the UI, loghub2), finds the route, parses parameters as that backend's
framework does, takes the world's lock once (so a handler sees one consistent instant), and turns what the world
refuses into that backend's error shape: plain ``Not Found``, JSON strings, ``{code, message, details}``, ``oops``.
Handlers live in one module per backend and register their routes here; they never touch the lock or the socket.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote, urlencode

from .messages import API, HTML, JSON, TEXT, Request, Response, json_bytes
from .world import BadRequest, JobRecord, NotFound, PipelineRecord, Refused, WorkflowRecord, World, WorldError

__all__ = [
    "BODY_PARSERS",
    "Backend",
    "BadBody",
    "Route",
    "Router",
    "Upload",
    "api_route",
    "backend_for",
    "gateway",
    "gateway_error",
    "not_found",
    "paginate",
    "param",
    "parse_params",
    "plumber",
    "positive_int",
    "require_visible",
    "strict_bool",
    "strict_int",
    "visible_job",
    "visible_pipeline",
    "visible_workflow",
]

_SEGMENT = "([^/]+)"
_LEADING_INT = re.compile(r"[+-]?[0-9]+")
#: The backends read ``page`` and ``page_size`` into 32-bit protobuf fields; a longer number is no page at all.
_INT32_MAX = 2**31 - 1

Handler = Callable[..., Response]


# ------------------------------------------------------------------ answer shapes


def plumber(status: int, value: object) -> Response:
    """plumber-public: JSON body, no Content-Type."""
    return Response(status, json_bytes(value))


def not_found() -> Response:
    return Response(404, b"Not Found")


def gateway(status: int, value: object) -> Response:
    return Response(status, json_bytes(value), JSON)


def gateway_error(status: int, code: int, message: str) -> Response:
    return gateway(status, {"code": code, "message": message, "details": []})


# ------------------------------------------------------------------ backends


@dataclass(frozen=True)
class Backend:
    """One service behind the ingress: how it answers a path it has no route for and an object that is missing,
    which headers its framework adds, and whether it decodes path segments and parses parameters (Plug and
    grpc-gateway do; the UI's log routes and loghub2 read the raw path and query)."""

    name: str
    unmatched: Callable[[], Response]
    missing: Callable[[], Response]
    parses: bool = True
    finish: Callable[[Response], None] = lambda response: None


def _plug_headers(response: Response) -> None:
    """Plug's default ``cache-control`` on every plumber-public answer."""
    response.headers.insert(0, ("cache-control", "max-age=0, private, must-revalidate"))


def _grpc_headers(response: Response) -> None:
    """On successful jobs answers, the gRPC response's ``content-type`` that grpc-gateway forwards as
    ``grpc-metadata-content-type`` (public-api-gateway's ``main.go`` sets no outgoing header matcher, so the default
    ``Grpc-Metadata-`` prefix applies; zebra's elixir-grpc server answers ``application/grpc+proto``). Error answers
    leave it out: elixir-grpc sends errors as trailers only, with no content-type to forward."""
    if response.status < 300:
        response.headers.insert(0, ("grpc-metadata-content-type", "application/grpc+proto"))


def _gateway_not_found() -> Response:
    return gateway_error(404, 5, "Not Found")


PLUMBER = Backend("plumber", lambda: Response(404, b"oops"), not_found, finish=_plug_headers)
GATEWAY = Backend("gateway", _gateway_not_found, _gateway_not_found, finish=_grpc_headers)
PROJECTHUB = Backend("projecthub", not_found, not_found)
UI = Backend("ui", lambda: Response(404, b"Not Found", HTML), lambda: Response(404, b"Not Found", HTML), parses=False)
LOGHUB = Backend(
    "loghub",
    lambda: Response(404, b"404 page not found\n", TEXT),
    lambda: Response(404, b"Not Found\n", TEXT),
    parses=False,
)
#: The ingress's path routing on the API host: the first segment after the prefix picks the backend.
RESOURCES = {
    **dict.fromkeys(("plumber-workflows", "pipelines", "yaml", "promotions", "logs"), PLUMBER),
    **dict.fromkeys(("workflows", "dashboards", "jobs", "notifications"), GATEWAY),
}


def backend_for(request: Request) -> Backend:
    if request.server == "loghub":
        return LOGHUB
    path = request.path
    if path.startswith("/jobs/"):
        return UI
    if path.startswith(API + "/"):
        return RESOURCES.get(path[len(API) + 1 :].split("/", 1)[0], PROJECTHUB)
    return PROJECTHUB  # outside the API: the ingress's own plain 404


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Route:
    """``handler(request, *segments)`` answers ``method`` on paths matching ``pattern`` on host ``server``."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    server: str = "api"


def api_route(method: str, template: str, handler: Handler) -> Route:
    """A route under the API prefix; ``{}`` is one path segment, and a trailing slash is accepted (as Plug does)."""
    regex = re.escape(API + template).replace(re.escape("{}"), _SEGMENT) + r"/?\Z"
    return Route(method, re.compile(regex), handler)


class BadBody(Exception):
    """A body the framework cannot parse; the message is its 400 answer."""


class Router:
    """Finds the route, parses parameters, holds the world's lock while the handler runs, shapes refusals.

    What the world refuses as gofer's REFUSED (e.g. a promotion) is answered as newer servers do,
    ``409 {"code": "REFUSED", "message": ...}``; ``refusals_as_409=False`` gives older servers' ``400`` with the
    message.
    """

    def __init__(self, world: World, routes: Iterable[Route], *, refusals_as_409: bool = True) -> None:
        self.world = world
        self.refusals_as_409 = refusals_as_409
        self._routes = tuple(routes)

    def __call__(self, request: Request) -> Response:
        backend = backend_for(request)
        response = self._route(request, backend)
        backend.finish(response)
        return response

    def _route(self, request: Request, backend: Backend) -> Response:
        for route in self._routes:
            if route.server != request.server or route.method != request.method:
                continue
            match = route.pattern.match(request.path)
            if match is None:
                continue
            segments: Iterable[str] = match.groups()
            if backend.parses:
                try:
                    request.params = parse_params(request)
                except BadBody as error:
                    return Response(400, str(error).encode("utf-8"))
                segments = (unquote(segment) for segment in segments)
            try:
                with self.world.lock:
                    self.world.sync()
                    return route.handler(request, *segments)
            except WorldError as error:
                return self.refusal(error, backend)
        return backend.unmatched()

    def refusal(self, error: WorldError, backend: Backend) -> Response:
        """How each backend answers what the world refused (docs/semaphore-api.md section 4)."""
        if isinstance(error, NotFound):
            return backend.missing()
        if isinstance(error, Refused) and self.refusals_as_409:
            return plumber(409, {"code": "REFUSED", "message": error.message})
        if isinstance(error, BadRequest):  # Refused included: gofer's REFUSED is a 400 on the documented server
            return plumber(400, error.message)
        return plumber(500, "Internal error")  # InternalError: gofer's BAD_PARAM and the like


# ------------------------------------------------------------------ parameters


def _json_body(body: bytes, content_type: str) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError) as error:  # RecursionError: "[[[[..." nested too deep
        raise BadBody(f"Malformed request: {error}") from None
    return decoded if isinstance(decoded, dict) else {"_json": decoded}


def _form_body(body: bytes, content_type: str) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadBody(f"Malformed request: {error}") from None
    return dict(parse_qsl(text, keep_blank_values=True))


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart body, as ``Plug.Upload`` stands for one: its name and size, not its bytes (the
    simulator accepts archives without unpacking them)."""

    filename: str
    content_type: str
    size: int


def _multipart_body(body: bytes, content_type: str) -> dict[str, Any]:
    """``multipart/form-data`` (``sem`` uploads snapshot archives so): text fields as strings, files as
    :class:`Upload`, parsed with the standard library's MIME parser."""
    import email.parser
    import email.policy

    if "boundary=" not in content_type.lower():
        raise BadBody("Malformed request: a multipart body needs a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise BadBody("Malformed request: the multipart body does not match its boundary")
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = Upload(filename, part.get_content_type(), len(data))
            continue
        try:
            params[name] = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadBody(f"Malformed request: {error}") from None
    return params


#: Plug.Parsers by media type: ``parser(body, full content-type header) -> params`` (raising :class:`BadBody`);
#: a body of any other type is ignored, as Plug's ``pass: ["*/*"]`` does.
BODY_PARSERS: dict[str, Callable[[bytes, str], dict[str, Any]]] = {
    "application/json": _json_body,
    "application/x-www-form-urlencoded": _form_body,
    "multipart/form-data": _multipart_body,
    "": _form_body,
}


def parse_params(request: Request) -> dict[str, Any]:
    """Plug.Parsers: the query, then the body's parameters merged over it."""
    params: dict[str, Any] = dict(request.query)
    if request.body:
        content_type = request.headers.get("content-type", "")
        parser = BODY_PARSERS.get(content_type.split(";")[0].strip().lower())
        if parser is not None:
            params.update(parser(request.body, content_type))
    return params


def param(request: Request, name: str) -> str:
    """A parameter as text: missing (or an uploaded file) is ``""``, a JSON value other than a string is its JSON."""
    value = request.params.get(name)
    if value is None or isinstance(value, Upload):
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def positive_int(raw: object, default: int) -> int:
    """plumber-public's rule: Elixir's ``Integer.parse`` (leading ASCII digits: ``"5abc"`` is 5), and anything that
    is not a positive integer a 32-bit field holds silently means the default (a 5,000-digit page is page 1)."""
    if isinstance(raw, bool):
        return default
    if isinstance(raw, int):
        return raw if 0 < raw <= _INT32_MAX else default
    match = _LEADING_INT.match(raw) if isinstance(raw, str) else None
    if match is None or len(match.group(0).lstrip("+-").lstrip("0")) > 10:  # past int32 (and never int()ed)
        return default
    value = int(match.group(0))
    return value if 0 < value <= _INT32_MAX else default


def _inspect(value: object) -> str:
    """A decoded JSON value as Elixir's ``inspect`` shows it in gofer-client messages (``"x"``, ``nil``, ``true``)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def strict_int(raw: object, field_name: str) -> int:
    """The promotions list's rule (gofer client): the whole value must be an integer, else a 400."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"[+-]?[0-9]{1,4000}", raw):  # int() refuses past 4,300 digits
        return int(raw)
    raise BadRequest(f"Invalid value of '{field_name}' param: {_inspect(raw)} - needs to be integer.")


def strict_bool(raw: object, field_name: str) -> bool:
    """gofer client's ``to_bool``: a JSON boolean or exactly ``"true"``/``"false"``; ``1`` is not ``true``."""
    if raw is True or raw == "true":
        return True
    if raw is False or raw == "false":
        return False
    raise BadRequest(f"Invalid value of '{field_name}' param: {_inspect(raw)} - needs to be boolean.")


def paginate(
    request: Request, items: list[Any], default_size: int, resource: str
) -> tuple[list[Any], list[tuple[str, str]]]:
    """Scrivener.Headers: ``link`` (next, prev, first, last), ``total``, ``per-page``, ``total-pages``,
    ``page-number``."""
    page = positive_int(request.params.get("page"), 1)
    size = positive_int(request.params.get("page_size"), default_size)
    total = len(items)
    total_pages = max(1, math.ceil(total / size))
    chunk = items[(page - 1) * size : page * size]

    def link(number: int, rel: str) -> str:
        query = dict(request.query)
        query["page"] = str(number)
        encoded = urlencode(sorted(query.items()), quote_via=quote_plus)
        return f'<http://{request.host}{API}/{resource}?{encoded}>; rel="{rel}"'

    links = [link(1, "first"), link(total_pages, "last")]
    if 1 < page <= total_pages:
        links.insert(0, link(page - 1, "prev"))
    if page < total_pages:
        links.insert(0, link(page + 1, "next"))
    headers = [
        ("link", ", ".join(links)),
        ("total", str(total)),
        ("per-page", str(size)),
        ("total-pages", str(total_pages)),
        ("page-number", str(page)),
    ]
    return chunk, headers


# ------------------------------------------------------------------ visibility


def require_visible(request: Request, project_id: str) -> None:
    """Existence is hidden: what the token may not see is simply not found."""
    if request.visible is not None and project_id not in request.visible:
        raise NotFound(project_id)


def visible_pipeline(world: World, request: Request, ppl_id: str) -> PipelineRecord:
    pipeline = world.pipeline(ppl_id)
    require_visible(request, pipeline.project_id)
    return pipeline


def visible_workflow(world: World, request: Request, wf_id: str) -> WorkflowRecord:
    workflow = world.workflow(wf_id)
    require_visible(request, workflow.project_id)
    return workflow


def visible_job(world: World, request: Request, job_id: str) -> JobRecord:
    job = world.job(job_id)
    require_visible(request, job.pipeline.project_id)
    return job
