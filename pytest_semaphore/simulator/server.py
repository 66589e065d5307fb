"""The HTTP layer: the v1alpha routes on a real socket, answering exactly as the server does.

Built on the standard library's threaded HTTP server with HTTP/1.1 keep-alive and ``TCP_NODELAY`` (without it Nagle's
algorithm and delayed ACKs cost about 40 ms a request). Routing follows the ingress (plumber-public, the jobs
gateway, projecthub, loghub2 on a second loopback host), because each backend answers errors differently: plain
``Not Found``, JSON strings, ``{code, message, details}``, ``oops``. What the objects look like is ``formats.py``'s
business; what happens to them is the world's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import re
import secrets
import selectors
import socket
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote, urlencode, urlsplit

from . import formats
from .definitions import FaultDef
from .faults import FaultInjector
from .world import (
    BadRequest,
    JobRecord,
    NotFound,
    PipelineRecord,
    Refused,
    WorkflowRecord,
    World,
    WorldError,
)

__all__ = ["Api", "RequestRecord", "Response", "SimulatorServer"]

API = "/api/v1alpha"
JSON = "application/json"
#: Plug's ``put_resp_content_type/2`` (and Phoenix's ``json/2``) append the default charset.
PLUG_JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
PLUMBER_RESOURCES = ("plumber-workflows", "pipelines", "yaml", "promotions", "logs")
GATEWAY_RESOURCES = ("workflows", "dashboards", "jobs", "notifications")
_UUID = re.compile(r"\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_SEGMENT = r"([^/]+)"
_PROMOTION_RESERVED = ("switch_id", "name", "user_id", "override", "request_token", "pipeline_id")
_JOB_STATES = ("PENDING", "QUEUED", "RUNNING", "FINISHED")
#: Largest request body accepted (Plug.Parsers' default ``length``); bigger ones get 413 without being read.
MAX_BODY = 8_000_000


@dataclass
class Response:
    """What to send: ``content_type=None`` sends no Content-Type at all, as plumber-public does."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Received:
    """What arrived on the wire, shared by the routed request and its log entry."""

    method: str
    path: str
    query: dict[str, str]
    """The last value of each query key, as Plug keeps it; ``query_all`` has every value (``states=A&states=B``)."""
    query_all: dict[str, list[str]]
    headers: dict[str, str]
    """Lowercase names."""
    body: bytes


@dataclass
class RequestRecord(_Received):
    """One request as the simulator saw it (the request log). The token is never kept: ``authorization`` is
    ``<redacted>``."""

    time: float
    server: str = "api"
    status: int | None = None
    fault: str | None = None
    error: str | None = None
    """A simulator bug met while answering (the client got ``500 Something went wrong``)."""


@dataclass
class Request(_Received):
    """A request being answered: what arrived, plus what routing works out (params, the token's projects)."""

    host: str
    params: dict[str, Any] = field(default_factory=dict)
    visible: frozenset[str] | None = None
    """Project ids the request's token may see; ``None`` for all (the main token)."""


class _BadBody(Exception):
    pass


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def plumber(status: int, value: object) -> Response:
    """plumber-public: JSON body, no Content-Type."""
    return Response(status, _json_bytes(value))


def not_found() -> Response:
    return Response(404, b"Not Found")


def gateway(status: int, value: object) -> Response:
    return Response(status, _json_bytes(value), JSON)


def gateway_error(status: int, code: int, message: str) -> Response:
    return gateway(status, {"code": code, "message": message, "details": []})


_LEADING_INT = re.compile(r"[+-]?\d+")


def _positive_int(raw: object, default: int) -> int:
    """plumber-public's rule: Elixir's ``Integer.parse`` (leading digits: ``"5abc"`` is 5), and anything that is
    not a positive integer silently means the default."""
    if isinstance(raw, bool):
        return default
    if isinstance(raw, int):
        return raw if raw > 0 else default
    match = _LEADING_INT.match(raw) if isinstance(raw, str) else None
    if match is None:
        return default
    value = int(match.group(0))
    return value if value > 0 else default


def _inspect(value: object) -> str:
    """A decoded JSON value as Elixir's ``inspect`` shows it in gofer-client messages (``"x"``, ``nil``, ``true``)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def _strict_int(raw: object, field_name: str) -> int:
    """The promotions list's rule (gofer client): the whole value must be an integer, else a 400."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"[+-]?\d+", raw):
        return int(raw)
    raise BadRequest(f"Invalid value of '{field_name}' param: {_inspect(raw)} - needs to be integer.")


def _strict_bool(raw: object, field_name: str) -> bool:
    """gofer client's ``to_bool``: a JSON boolean or exactly ``"true"``/``"false"``; ``1`` is not ``true``."""
    if raw is True or raw == "true":
        return True
    if raw is False or raw == "false":
        return False
    raise BadRequest(f"Invalid value of '{field_name}' param: {_inspect(raw)} - needs to be boolean.")


def _sign(secret: bytes, claims: dict[str, Any]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    header = b64(_json_bytes({"alg": "HS256", "typ": "JWT"}))
    payload = b64(_json_bytes(claims))
    signature = hmac.new(secret, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def _verify(secret: bytes, token: str) -> dict[str, Any] | None:
    try:
        header, payload, signature = token.split(".")
        expected = _sign(secret, {}).split(".")[0]
        if header != expected:
            return None
        mac = hmac.new(secret, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        if not hmac.compare_digest(mac, given):
            return None
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


class Api:
    """Routes requests to the world and formats the answers. Shared by the API server and the loghub2 server."""

    def __init__(
        self,
        world: World,
        token: str,
        faults: FaultInjector,
        *,
        ui_accepts_api_token: bool = True,
        refusals_as_409: bool = False,
        request_log_limit: int | None = None,
    ) -> None:
        self.refusals_as_409 = refusals_as_409
        self._format_cache: dict[tuple[str, str], tuple[tuple[object, ...], bytes]] = {}
        self.world = world
        self._tokens: dict[str, frozenset[str] | None] = {token: None}
        self.faults = faults
        self.ui_accepts_api_token = ui_accepts_api_token
        self.requests: deque[RequestRecord] = deque(maxlen=request_log_limit)
        self._log_lock = threading.Lock()
        self._jwt_secret = secrets.token_bytes(32)
        self.loghub_url = ""
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = []
        for method, pattern, handler in (
            ("GET", "/plumber-workflows", self.list_workflows),
            ("POST", "/plumber-workflows", self.run_workflow),
            ("GET", "/plumber-workflows/{}", self.describe_workflow),
            ("POST", "/plumber-workflows/{}/reschedule", self.reschedule_workflow),
            ("POST", "/plumber-workflows/{}/terminate", self.terminate_workflow),
            ("GET", "/pipelines", self.list_pipelines),
            ("GET", "/pipelines/{}", self.describe_pipeline),
            ("PATCH", "/pipelines/{}", self.terminate_pipeline),
            ("POST", "/pipelines/{}/partial_rebuild", self.partial_rebuild),
            ("GET", "/pipelines/{}/describe_topology", self.describe_topology),
            ("POST", "/yaml", self.validate_yaml),
            ("GET", "/promotions", self.list_promotions),
            ("POST", "/promotions", self.trigger_promotion),
            ("GET", "/logs/{}", self.job_logs),
            ("GET", "/jobs", self.list_jobs),
            ("GET", "/jobs/{}", self.describe_job),
            ("POST", "/jobs/{}/stop", self.stop_job),
            ("GET", "/jobs/{}/debug_ssh_key", self.debug_ssh_key),
            ("GET", "/projects", self.list_projects),
            ("GET", "/projects/{}", self.describe_project),
        ):
            regex = re.compile(re.escape(API + pattern).replace(re.escape("{}"), _SEGMENT) + r"/?\Z")
            self._routes.append((method, regex, handler))

    # ------------------------------------------------------------ plumbing

    def record(self, entry: RequestRecord) -> None:
        with self._log_lock:
            self.requests.append(entry)

    def add_token(self, token: str, projects: frozenset[str] | None) -> None:
        """Accept another token, seeing only ``projects`` (ids) or everything (``None``)."""
        self._tokens[token] = projects

    def access(self, headers: dict[str, str]) -> tuple[bool, frozenset[str] | None]:
        """(authenticated, visible project ids or ``None`` for all) for the request's ``Authorization``."""
        # The auth service splits on the first space and knows exactly "Token" and "Bearer" (case matters).
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme not in ("Token", "Bearer") or not given:
            return False, None
        presented = given.encode("utf-8", "replace")
        for token, projects in tuple(self._tokens.items()):
            if hmac.compare_digest(presented, token.encode("utf-8")):
                return True, projects
        return False, None

    def _visible(self, request: Request, project_id: str) -> None:
        """Existence is hidden: what the token may not see is simply not found."""
        if request.visible is not None and project_id not in request.visible:
            raise NotFound(project_id)

    def _pipeline(self, request: Request, ppl_id: str) -> PipelineRecord:
        pipeline = self.world.pipeline(ppl_id)
        self._visible(request, pipeline.project_id)
        return pipeline

    def _workflow(self, request: Request, wf_id: str) -> WorkflowRecord:
        workflow = self.world.workflow(wf_id)
        self._visible(request, workflow.project_id)
        return workflow

    def _job(self, request: Request, job_id: str) -> JobRecord:
        job = self.world.job(job_id)
        self._visible(request, job.pipeline.project_id)
        return job

    def parse_params(self, request: Request) -> None:
        """Plug.Parsers: query, then the body (JSON object or form) merged over it."""
        params: dict[str, Any] = dict(request.query)
        if request.body:
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind == "application/json":
                try:
                    decoded = json.loads(request.body)
                except (ValueError, RecursionError) as error:  # RecursionError: "[[[[..." nested too deep
                    raise _BadBody(f"Malformed request: {error}") from None
                if isinstance(decoded, dict):
                    params.update(decoded)
                else:
                    params["_json"] = decoded
            elif kind in ("application/x-www-form-urlencoded", ""):
                try:
                    text = request.body.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise _BadBody(f"Malformed request: {error}") from None
                params.update(dict(parse_qsl(text, keep_blank_values=True)))
        request.params = params

    def dispatch(self, request: Request) -> Response:
        """Answer a request that got past faults, the header check and authentication.

        Each backend adds its own framework's headers: Plug's default ``cache-control`` on plumber-public answers;
        on successful jobs answers, the gRPC response's ``content-type`` that grpc-gateway forwards as
        ``grpc-metadata-content-type`` (public-api-gateway's ``main.go`` sets no outgoing header matcher, so the
        default ``Grpc-Metadata-`` prefix applies; zebra's elixir-grpc server answers ``application/grpc+proto``).
        Error answers leave it out: elixir-grpc sends errors as trailers only, with no content-type to forward.
        """
        response = self._dispatch(request)
        resource = request.path[len(API) + 1 :].split("/", 1)[0] if request.path.startswith(API + "/") else ""
        if resource in PLUMBER_RESOURCES:
            response.headers.insert(0, ("cache-control", "max-age=0, private, must-revalidate"))
        elif resource in GATEWAY_RESOURCES and response.status < 300:
            response.headers.insert(0, ("grpc-metadata-content-type", "application/grpc+proto"))
        return response

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/jobs/"):
            return self.ui_route(request)
        if not path.startswith(API + "/"):
            return not_found()
        resource = path[len(API) + 1 :].split("/", 1)[0]
        for method, regex, handler in self._routes:
            match = regex.match(path)
            if match and method == request.method:
                try:
                    self.parse_params(request)
                except _BadBody as error:
                    return Response(400, str(error).encode("utf-8"))
                try:
                    with self.world.lock:
                        self.world.sync()
                        return handler(request, *(unquote(segment) for segment in match.groups()))
                except WorldError as error:
                    return self._refusal(error, resource)
        if resource in PLUMBER_RESOURCES:
            return Response(404, b"oops")
        if resource in GATEWAY_RESOURCES:
            return gateway_error(404, 5, "Not Found")
        return not_found()

    def _refusal(self, error: WorldError, resource: str) -> Response:
        """How each backend answers what the world refused (docs/semaphore-api.md section 4)."""
        if isinstance(error, NotFound):
            return gateway_error(404, 5, "Not Found") if resource in GATEWAY_RESOURCES else not_found()
        if isinstance(error, Refused) and self.refusals_as_409:
            return plumber(409, {"code": "REFUSED", "message": error.message})
        if isinstance(error, BadRequest):  # Refused included: gofer's REFUSED is a 400 on the documented server
            return plumber(400, error.message)
        return plumber(500, "Internal error")  # InternalError: gofer's BAD_PARAM and the like

    def paginate(
        self, request: Request, items: list[Any], default_size: int, resource: str
    ) -> tuple[list[Any], list[tuple[str, str]]]:
        """Scrivener.Headers: ``link`` (next, prev, first, last), ``total``, ``per-page``, ``total-pages``,
        ``page-number``."""
        page = _positive_int(request.params.get("page"), 1)
        size = _positive_int(request.params.get("page_size"), default_size)
        total = len(items)
        total_pages = max(1, math.ceil(total / size))
        chunk = items[(page - 1) * size : page * size]
        host = request.host

        def link(number: int, rel: str) -> str:
            query = dict(request.query)
            query["page"] = str(number)
            encoded = urlencode(sorted(query.items()), quote_via=quote_plus)
            return f'<http://{host}{API}/{resource}?{encoded}>; rel="{rel}"'

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

    def _param(self, request: Request, name: str) -> str:
        value = request.params.get(name)
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value)

    # ---------------------------------------------------------- workflows

    def list_workflows(self, request: Request) -> Response:
        project_id = self._param(request, "project_id")
        if not project_id:
            return not_found()
        try:
            project = self.world.project(project_id)
        except NotFound:
            return not_found()
        self._visible(request, project.project_id)
        items = self.world.workflows(project.project_id)
        branch = self._param(request, "branch_name")
        if branch:
            items = [w for w in items if w.branch_name == branch]
        items = self._filter_time(request, items, "created", lambda w: w.created_at)
        chunk, headers = self.paginate(request, items, 30, "plumber-workflows")
        body = [formats.list_workflow(self.world, w) for w in chunk]
        return Response(200, _json_bytes(body), None, headers)

    def _filter_time(self, request: Request, items: list[Any], name: str, when: Callable[[Any], float | None]) -> Any:
        after = self._param(request, f"{name}_after")
        before = self._param(request, f"{name}_before")
        if not after and not before:
            return items
        kept = []
        for item in items:
            moment = when(item)
            if moment is None:
                continue
            stamp = self.world.timestamp(moment)
            if after and _is_number(after) and stamp < float(after):
                continue
            if before and _is_number(before) and stamp > float(before):
                continue
            kept.append(item)
        return kept

    def run_workflow(self, request: Request) -> Response:
        project_id = self._param(request, "project_id")
        if not project_id:
            return plumber(400, "Missing required post parameter project_id.")
        raw_parameters = request.params.get("parameters")
        if isinstance(raw_parameters, str) and raw_parameters:
            try:
                raw_parameters = json.loads(raw_parameters)
            except ValueError:
                return plumber(400, "Invalid value of 'parameters' param: it must be a JSON object.")
        if raw_parameters is not None and not isinstance(raw_parameters, dict):
            return plumber(400, "Invalid value of 'parameters' param: it must be a JSON object.")
        parameters = {str(k): str(v) for k, v in (raw_parameters or {}).items()}
        self._visible(request, self.world.project(project_id).project_id)
        wf_id, ppl_id = self.world.run_workflow(
            project_id,
            self._param(request, "reference") or "master",
            commit_sha=self._param(request, "commit_sha") or None,
            pipeline_file=self._param(request, "pipeline_file") or None,
            parameters=parameters,
        )
        return plumber(200, {"workflow_id": wf_id, "pipeline_id": ppl_id})

    def describe_workflow(self, request: Request, wf_id: str) -> Response:
        return plumber(200, formats.describe_workflow(self.world, self._workflow(request, wf_id)))

    def reschedule_workflow(self, request: Request, wf_id: str) -> Response:
        self._workflow(request, wf_id)
        token = self._param(request, "request_token")
        new_wf, new_ppl = self.world.reschedule_workflow(wf_id, token)
        return plumber(200, {"wf_id": new_wf, "ppl_id": new_ppl})

    def terminate_workflow(self, request: Request, wf_id: str) -> Response:
        self._workflow(request, wf_id)
        count = self.world.terminate_workflow(wf_id)
        return plumber(200, f"Termination started for {count} pipelines.")

    # ---------------------------------------------------------- pipelines

    def list_pipelines(self, request: Request) -> Response:
        project_id = self._param(request, "project_id") or None
        wf_id = self._param(request, "wf_id") or None
        if project_id is None and wf_id is None:
            return not_found()
        if project_id is not None:
            self._visible(request, project_id)
        if wf_id is not None:
            self._workflow(request, wf_id)
        items = self.world.pipelines(project_id=project_id, wf_id=wf_id)
        for name, attribute in (("branch_name", "branch_name"), ("yml_file_path", "yaml_file")):
            wanted = self._param(request, name)
            if wanted:
                items = [p for p in items if getattr(p, attribute) == wanted]
        items = self._filter_time(request, items, "created", lambda p: p.created_at)
        items = self._filter_time(request, items, "done", lambda p: p.done_at)
        chunk, headers = self.paginate(request, items, 30, "pipelines")
        body = b"[" + b",".join(self._formatted(p, "list") for p in chunk) + b"]"
        return Response(200, body, None, headers)

    def _formatted(self, pipeline: PipelineRecord, shape: str) -> bytes:
        """A pipeline's JSON, cached until something it shows changes.

        Formatting dominates the cost of a pipeline list (30 objects of ~45 fields), and waiting loops ask for the
        same pipelines again and again while they rarely change: every timestamp is set together with a state, so
        the states, results and the few fields set later identify what the JSON shows.
        """
        key = (pipeline.ppl_id, shape)
        version: tuple[object, ...] = (
            pipeline.state,
            pipeline.result,
            pipeline.result_reason,
            pipeline.partially_rerun_by,
            pipeline.terminate_request,
            pipeline.terminated_by,
            pipeline.error_description,
        )
        if shape == "detailed":
            version += tuple(
                (b.state, b.block_id, b.result, b.result_reason, tuple((j.state, j.result) for j in b.jobs))
                for b in pipeline.blocks
            )
        cached = self._format_cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        if shape == "list":
            value: object = formats.list_pipeline(self.world, pipeline)
        else:
            value = formats.describe_pipeline(self.world, pipeline, detailed=shape == "detailed")
        encoded = _json_bytes(value)
        self._format_cache[key] = (version, encoded)
        return encoded

    def describe_pipeline(self, request: Request, ppl_id: str) -> Response:
        detailed = request.params.get("detailed") == "true"  # only this exact string counts
        pipeline = self._pipeline(request, ppl_id)
        return Response(200, self._formatted(pipeline, "detailed" if detailed else "describe"))

    def terminate_pipeline(self, request: Request, ppl_id: str) -> Response:
        self._pipeline(request, ppl_id)
        if request.params.get("terminate_request") is not True:
            return plumber(400, "Value of 'terminate_request' field must be boolean value 'true'.")
        self.world.terminate_pipeline(ppl_id)
        return plumber(200, "Pipeline termination started.")

    def partial_rebuild(self, request: Request, ppl_id: str) -> Response:
        self._pipeline(request, ppl_id)
        new_id = self.world.partial_rebuild(ppl_id, self._param(request, "request_token") or None)
        return plumber(200, {"message": "", "pipeline_id": new_id})

    def describe_topology(self, request: Request, ppl_id: str) -> Response:
        return plumber(200, formats.topology(self._pipeline(request, ppl_id)))

    def validate_yaml(self, request: Request) -> Response:
        definition = self._param(request, "yaml_definition")
        if not definition:
            return plumber(400, "Missing required post parameter yaml_definition.")
        import yaml  # only this route needs it

        try:
            document = yaml.safe_load(definition)
        except yaml.YAMLError as error:
            return plumber(400, f"Invalid YAML: {error}")
        if not isinstance(document, dict) or "blocks" not in document:
            return plumber(400, "Invalid pipeline definition: 'version', 'agent' and 'blocks' are required.")
        return plumber(
            200, {"message": "YAML definition is valid.", "pipeline_id": self._param(request, "pipeline_id")}
        )

    # --------------------------------------------------------- promotions

    def list_promotions(self, request: Request) -> Response:
        ppl_id = self._param(request, "pipeline_id")
        if not ppl_id:
            return not_found()
        pipeline = self._pipeline(request, ppl_id)
        page = _strict_int(request.params.get("page", 1), "page")
        size = _strict_int(request.params.get("page_size", 10), "page_size")
        if not pipeline.switch_id or not 1 <= size < 100 or page < 1:  # gofer's BAD_PARAM
            return plumber(500, "Internal error")
        items = self.world.promotions(ppl_id)
        name = self._param(request, "name")
        if name:
            items = [p for p in items if p.name == name]
        chunk, headers = self.paginate(request, items, 10, "promotions")
        body = [formats.list_promotion(self.world, p) for p in chunk]
        return Response(200, _json_bytes(body), None, headers)

    def trigger_promotion(self, request: Request) -> Response:
        ppl_id = self._param(request, "pipeline_id")
        name = self._param(request, "name")
        if not ppl_id:
            return plumber(400, "Missing required post parameter pipeline_id.")
        if not name:
            return plumber(400, "Missing required post parameter name.")
        override = _strict_bool(request.params.get("override", False), "override")
        parameters = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in request.params.items()
            if key not in _PROMOTION_RESERVED
        }
        self._pipeline(request, ppl_id)
        self.world.trigger_promotion(
            ppl_id,
            name,
            override=override,
            parameters=parameters,
            request_token=self._param(request, "request_token") or None,
        )
        return plumber(200, "Promotion successfully triggered.")

    # --------------------------------------------------------------- logs

    def job_logs(self, request: Request, job_id: str) -> Response:
        job = self.world.job(job_id)
        try:
            self._visible(request, job.pipeline.project_id)
        except NotFound:
            return Response(401, b"Permission denied")
        if self._param(request, "artifact_job_logs").lower() in ("true", "1", "yes"):
            return Response(403, b"Fetching job logs from artifacts is not enabled for this organization.")
        if job.self_hosted:
            return Response(302, headers=[("location", self._loghub_location(job))])
        if job.started_at is None:
            if job.stopped_before_start:
                return plumber(404, "This job was stopped before it started, so no logs were produced.")
            return plumber(404, "This job never started, so no logs were produced.")
        lines = self.world.visible_log(job)
        body = b'{ "events": [' + b",".join(line.raw for line in lines) + b"] }"
        return Response(200, body, PLUG_JSON)  # logs/get.ex: put_resp_content_type("application/json")

    def _loghub_location(self, job: JobRecord, *, raw: bool = False) -> str:
        expires = int(self.world.timestamp(self.world.now()) + 300)
        token = _sign(self._jwt_secret, {"sub": job.job_id, "exp": expires})
        suffix = "&raw=true" if raw else ""
        return f"{self.loghub_url}/api/v1/logs/{job.job_id}?jwt={token}{suffix}"

    def loghub(self, request: Request) -> Response:
        """loghub2 on the second host: ``{"events": [...], "next": N|null}``; ``?token=N`` resumes,
        ``?raw=true`` gives text."""
        match = re.fullmatch(r"/api/v1/logs/([^/]+)", request.path)
        if request.method != "GET" or match is None:
            return Response(404, b"404 page not found\n", TEXT)
        claims = _verify(self._jwt_secret, request.query.get("jwt", ""))
        with self.world.lock:
            now = self.world.timestamp(self.world.now())
            if claims is None or claims.get("sub") != match.group(1) or float(claims.get("exp", 0)) < now:
                return Response(401, b"Unauthorized\n", TEXT)
            try:
                job = self.world.job(match.group(1))
            except NotFound:
                return Response(404, b"Not Found\n", TEXT)
            lines = self.world.visible_log(job)
            finished = job.state == "finished"
        if request.query.get("raw") == "true":
            return Response(200, b"".join(line.plain for line in lines), TEXT)
        start = _positive_int(request.query.get("token"), 0) if request.query.get("token") != "0" else 0
        chunk = lines[start:]
        next_token = b"null" if finished else str(len(lines)).encode("ascii")
        body = b'{"events":[' + b",".join(line.raw for line in chunk) + b'],"next":' + next_token + b"}"
        return Response(200, body, JSON)

    def ui_route(self, request: Request) -> Response:
        """The UI's ``/jobs/:id/plain_logs.json`` (plain text despite the name) and ``events.json``."""
        match = re.fullmatch(
            r"/jobs/([^/]+)/(plain_logs\.json|plain_logs\.txt|events\.json|raw_logs\.json)", request.path
        )
        if match is None or request.method != "GET":
            return Response(404, b"Not Found", "text/html; charset=utf-8")
        if not self.ui_accepts_api_token:
            return Response(302, b"", "text/html; charset=utf-8", [("location", "/login")])
        job_id, kind = match.groups()
        with self.world.lock:
            try:
                job = self._job(request, job_id)
            except NotFound:
                return Response(404, b"Not Found", "text/html; charset=utf-8")
            if job.self_hosted and kind.startswith("plain_logs"):
                return Response(307, b"", None, [("location", self._loghub_location(job, raw=True))])
            lines = self.world.visible_log(job)
        if job.started_at is None:
            if kind.startswith("plain_logs"):
                return Response(302, b"", "text/html; charset=utf-8", [("location", f"/jobs/{job_id}")])
            return Response(409, _json_bytes({"error": "This job never started, so no logs were produced."}), PLUG_JSON)
        if kind.startswith("plain_logs"):
            start = _positive_int(request.query.get("starting_event"), 0)
            take = _positive_int(request.query.get("take"), len(lines) or 1)
            chunk = lines[start : start + take]
            return Response(200, b"".join(line.plain for line in chunk), TEXT)
        return Response(200, b'{ "events": [' + b",".join(line.raw for line in lines) + b"] }", PLUG_JSON)

    # --------------------------------------------------------------- jobs

    def describe_job(self, request: Request, job_id: str) -> Response:
        if not _UUID.match(job_id):
            return gateway_error(400, 3, f"Job id {job_id} is invalid")
        try:
            job = self._job(request, job_id)
        except NotFound:
            return gateway_error(404, 5, f"Job {job_id} not found")
        return gateway(200, formats.describe_job(self.world, job))

    def list_jobs(self, request: Request) -> Response:
        states = request.query_all.get("states", [])
        for state in states:
            if state not in _JOB_STATES:
                return gateway_error(
                    400, 3, f'type mismatch, parameter: states, error: "{state}" is not valid for enum Job.Status.State'
                )
        raw_size = request.query.get("page_size", "")
        try:
            size = int(raw_size) if raw_size else 0
        except ValueError:
            return gateway_error(
                400,
                3,
                f'type mismatch, parameter: page_size, error: strconv.ParseInt: parsing "{raw_size}": invalid syntax',
            )
        if size > 30:
            return gateway_error(400, 9, "Page size can't exceed 30")  # zebra's FAILED_PRECONDITION
        size = size if size > 0 else 30
        raw_token = request.query.get("page_token", "")
        offset = 0
        if raw_token:
            try:
                offset = int(base64.urlsafe_b64decode(raw_token.encode("ascii")).decode("ascii"))
            except (ValueError, UnicodeError):
                return gateway_error(400, 3, "Invalid page token")
        wanted = {s.lower() for s in states}
        jobs = [
            j
            for j in self.world.jobs()
            if formats.JOB_API_STATES[j.state].lower() in wanted
            and (request.visible is None or j.pipeline.project_id in request.visible)
        ]
        chunk = jobs[offset : offset + size]
        more = offset + size < len(jobs)
        token = base64.urlsafe_b64encode(str(offset + size).encode("ascii")).decode("ascii") if more else ""
        body = {"jobs": [formats.describe_job(self.world, j) for j in chunk], "next_page_token": token}
        return gateway(200, body)

    def stop_job(self, request: Request, job_id: str) -> Response:
        if not _UUID.match(job_id):
            return gateway_error(400, 3, f"Job id {job_id} is invalid")
        try:
            self._job(request, job_id)
            self.world.stop_job(job_id)
        except NotFound:
            return gateway_error(404, 5, f"Job {job_id} not found")
        return gateway(200, {})

    def debug_ssh_key(self, request: Request, job_id: str) -> Response:
        try:
            job = self._job(request, job_id)
        except NotFound:
            return gateway_error(404, 5, f"Job {job_id} not found")
        if job.state != "running":
            return gateway_error(400, 9, "Job's debug SSH is only available while the job is running")
        return gateway(
            200, {"key": "-----BEGIN OPENSSH PRIVATE KEY-----\nsimulated\n-----END OPENSSH PRIVATE KEY-----\n"}
        )

    # ----------------------------------------------------------- projects

    def list_projects(self, request: Request) -> Response:
        raw_page = request.query.get("page", "1")
        page = _positive_int(raw_page, 1)
        if page > 100:
            return Response(400, b"page must be between 1 and 100", TEXT)
        projects = [p for p in self.world.projects() if request.visible is None or p.project_id in request.visible]
        chunk = projects[(page - 1) * 500 : page * 500]
        more = page * 500 < len(projects)
        body = [formats.project(self.world, p) for p in chunk]
        return Response(200, _json_bytes(body), JSON, [("x-page", str(page)), ("x-has-more", str(more).lower())])

    def describe_project(self, request: Request, name: str) -> Response:
        project = self.world.project(name)
        self._visible(request, project.project_id)
        return gateway(200, formats.project(self.world, project))


_OUTDATED_CLI = (
    b'{"message": "Call rejected because the client is outdated. To continue, upgrade Semaphore CLI with '
    b"'curl https://storage.googleapis.com/sem-cli-releases/get.sh | bash'.\"}"
)


def _deprecated_cli(user_agent: str) -> bool:
    """Auth.Cli: a ``SemaphoreCLI/vX.Y.Z (...)`` agent below 0.30.0 is refused, comparing each part on its own
    (so v1.0.0 counts as outdated too: ``minor < 30``), exactly as the auth service does."""
    agent = re.match(r"SemaphoreCLI/(.*) \(.*\)", user_agent)
    if agent is None or agent.group(1) == "dev":
        return False
    version = re.match(r"v(.*)\.(.*)\.(.*)", agent.group(1))
    if version is None:
        return False
    parts = [_LEADING_INT.match(part) for part in version.groups()]
    if any(part is None for part in parts):
        return False
    major, minor, patch = (int(part.group(0)) for part in parts if part is not None)
    return major < 0 or minor < 30 or patch < 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "envoy"
    sys_version = ""
    timeout = 120
    server: _Server

    def version_string(self) -> str:
        return "envoy"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # flushing to a client that hung up
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log is the record."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        api = self.server.api
        split = urlsplit(self.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query_all: dict[str, list[str]] = {}
        for key, value in pairs:
            query_all.setdefault(key, []).append(value)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._read_body(headers)
        except _BodyRefused as refused:
            # The edge refuses the request before any backend sees it; the connection cannot be reused because
            # the unread body (or the unparsable framing) is still on it.
            self.close_connection = True
            self._send_quietly(refused.response, truncate=False, entry=None)
            return
        address = f"{self.server.server_address[0]!s}:{self.server.server_address[1]}"
        host = headers.get("host") or address
        if ":" not in host:
            host = f"{host}:{self.server.server_address[1]!s}"
        request = Request(self.command, split.path, dict(pairs), query_all, headers, body, host)
        logged = {k: ("<redacted>" if k == "authorization" else v) for k, v in headers.items()}
        entry = RequestRecord(
            self.command, split.path, dict(pairs), query_all, logged, body, api.world.now(), self.server.kind
        )
        api.record(entry)
        fired = api.faults.pick_all(self.command, split.path) if self.server.kind == "api" else []
        fault: FaultDef | None = None
        if fired:
            entry.fault = "+".join(f.kind for f in fired)
            delay = sum(f.latency for f in fired if f.kind == "latency")
            if delay > 0:
                self.server.stopping.wait(delay)  # a real-time delay that ``close()`` cuts short
            fault = fired[-1] if fired[-1].kind != "latency" else None
            if fault is not None and self._inject_before(fault, entry):
                return
        try:
            response = self._answer(request)
        except Exception as error:  # a simulator bug: answer as a crashed Elixir process does, keep serving
            entry.error = f"{type(error).__name__}: {error}"
            response = Response(500, b"Something went wrong")
        if fault is not None and fault.kind == "reset_after":
            self._reset()
            return
        entry.status = response.status
        self._send_quietly(response, truncate=fault is not None and fault.kind == "truncate", entry=entry)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        """The request body, framed by ``Content-Length`` or ``Transfer-Encoding: chunked``, at most ``MAX_BODY``.

        A client that sends a bad length or a body too big gets an answer (400, 413) instead of a dropped
        connection, and the simulator never allocates what a header merely claims.
        """
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        raw = headers.get("content-length", "").strip()
        if not raw:
            return b""
        if not raw.isdigit():
            raise _BodyRefused(Response(400, b"Bad Request", TEXT))
        length = int(raw)
        if length > MAX_BODY:
            raise _BodyRefused(_too_large())
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _BodyRefused(Response(400, b"Bad Request", TEXT)) from None
            if size < 0:
                raise _BodyRefused(Response(400, b"Bad Request", TEXT))
            total += size
            if total > MAX_BODY:
                raise _BodyRefused(_too_large())
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers, ignored
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send_quietly(self, response: Response, *, truncate: bool, entry: RequestRecord | None) -> None:
        """Send, accepting that the client may have gone: a disconnect is the client's business, not a crash."""
        try:
            self._send(response, truncate=truncate)
        except OSError as error:
            self.close_connection = True
            if entry is not None:
                entry.error = f"client disconnected while the answer was sent ({type(error).__name__})"

    def _answer(self, request: Request) -> Response:
        api = self.server.api
        if self.server.kind == "loghub":
            return api.loghub(request)
        # The auth service (Plug, no content type, Plug's default cache-control) answers before any backend:
        # Auth.RefuseXSemaphoreHeaders refuses every header that merely starts with "x-semaphore".
        auth_headers = [("cache-control", "max-age=0, private, must-revalidate")]
        if any(name.startswith("x-semaphore") for name in request.headers):
            return Response(404, b"Not Found", None, auth_headers)
        if request.path.startswith("/api") and _deprecated_cli(request.headers.get("user-agent", "")):
            return Response(400, _OUTDATED_CLI, None, auth_headers)
        authenticated, request.visible = api.access(request.headers)
        if not authenticated:
            return Response(401, b"Unauthorized", None, auth_headers)
        return api.dispatch(request)

    def _inject_before(self, fault: FaultDef, entry: RequestRecord) -> bool:
        """Apply a fault that acts before the request takes effect; True when the answer has been given."""
        if fault.kind == "reset_before":
            self._reset()
            return True
        if fault.kind == "status":
            response = _fault_response(fault.status)
        elif fault.kind == "rate_limit":
            response = Response(429, b"Too Many Requests", TEXT)
            if fault.retry_after is not None:
                seconds = fault.retry_after
                shown = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
                response.headers.append(("retry-after", shown))
        else:
            return False
        entry.status = response.status
        self._send_quietly(response, truncate=False, entry=entry)
        return True

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send(self, response: Response, *, truncate: bool) -> None:
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("content-type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if truncate:
            self.send_header("connection", "close")
        self.end_headers()
        body = response.body[: len(response.body) // 2] if truncate else response.body
        self.wfile.write(body)
        if truncate:
            self.close_connection = True


class _BodyRefused(Exception):
    """The request's body framing is refused before routing; ``response`` is the edge's answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _too_large() -> Response:
    return Response(413, b"Payload Too Large", TEXT)


def _fault_response(status: int) -> Response:
    """What the edge sends for each injected status (Envoy texts, the auth service's empty 403)."""
    if status == 403:
        return Response(403, b"")
    if status == 500:
        return plumber(500, "Internal error")
    if status == 502:
        return Response(
            502, b"upstream connect error or disconnect/reset before headers. reset reason: connection failure", TEXT
        )
    if status == 503:
        return Response(503, b"no healthy upstream", TEXT)
    if status == 504:
        return Response(504, b"upstream request timeout", TEXT)
    return Response(status, _json_bytes("Internal error"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: Api, kind: str) -> None:
        self.api = api
        self.kind = kind
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Condition()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Count the connection in the accepting thread, before its handler thread exists, so that ``close()``
        can never miss one (registering in the handler's ``setup`` would race with the shutdown)."""
        with self._open_lock:
            if self.stopping.is_set():
                self.shutdown_request(request)
                return
            self._open.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
            self._open_lock.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (reset, broken pipe) is normal traffic, not a traceback on stderr."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)  # pragma: no cover - _serve answers every other error

    def close_connections(self, timeout: float = 5.0) -> bool:
        """End every connection (idle keep-alive or mid-answer) and wait for their handlers to finish.

        Returns False if some handler was still running after ``timeout`` seconds.
        """
        self.stopping.set()
        with self._open_lock:
            for connection in list(self._open):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            return self._open_lock.wait_for(lambda: not self._open, timeout)


class SimulatorServer:
    """The API server on ``host`` and the loghub2 server on ``loghub_host``, accepting on one thread.

    One selector watches both listening sockets and a wake-up pipe, so that ``stop`` returns at once instead of
    waiting for ``serve_forever``'s polling interval (which would add a fraction of a second to every test).
    """

    def __init__(self, api: Api, *, host: str = "127.0.0.1", port: int = 0, loghub_host: str = "127.0.0.2") -> None:
        self.api = api
        self._api_server = _Server((host, port), api, "api")
        try:
            try:
                self._loghub_server = _Server((loghub_host, 0), api, "loghub")
            except OSError:  # some systems only route 127.0.0.1; the redirect still goes to another port
                self._loghub_server = _Server((host, 0), api, "loghub")
        except BaseException:
            self._api_server.server_close()  # do not leak the socket already bound
            raise
        api_host, api_port = self._api_server.server_address[:2]
        log_host, log_port = self._loghub_server.server_address[:2]
        self.url = f"http://{api_host!s}:{api_port}"
        self.loghub_url = f"http://{log_host!s}:{log_port}"
        api.loghub_url = self.loghub_url
        self._wake_read, self._wake_write = socket.socketpair()
        self._thread = threading.Thread(target=self._accept_loop, name="semaphore-simulator", daemon=True)

    @property
    def port(self) -> int:
        return int(self._api_server.server_address[1])

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_read, selectors.EVENT_READ)
            for server in (self._api_server, self._loghub_server):
                selector.register(server, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_read:
                        return
                    ready = key.fileobj
                    assert isinstance(ready, _Server)
                    ready.handle_request()

    def start(self) -> None:
        self._thread.start()

    def _close_sockets(self) -> None:
        for server in (self._api_server, self._loghub_server):
            server.close_connections()
            server.server_close()
        self._wake_read.close()
        self._wake_write.close()

    def stop_unstarted(self) -> None:
        """Release the sockets of servers that were never started."""
        self._close_sockets()

    def stop(self) -> None:
        """Stop accepting first (so no connection arrives unseen), then end the open ones and wait for their
        handlers, then close the listening sockets: nothing of the simulator runs or holds a socket afterwards."""
        self._wake_write.send(b"x")
        self._thread.join(timeout=5)
        self._close_sockets()
