"""Job logs on every path they are served: the API's ``/logs/:id``, the UI's log routes, and loghub2.

Hosted jobs' logs come from the world's visible log; self-hosted jobs' logs live in loghub2 on the second host, and
the API and UI redirect there with a signed, expiring link (``ingress.LogLinks``).
"""

from __future__ import annotations

import re

from .ingress import LogLinks
from .messages import HTML, JSON, PLUG_JSON, TEXT, Request, Response, json_bytes
from .records import NotFound
from .routing import Route, api_route, param, plumber, positive_int, require_visible, visible_job
from .world import World

__all__ = ["Logs"]

_UI_KINDS = ("plain_logs.json", "plain_logs.txt", "events.json", "raw_logs.json")


class Logs:
    """The handlers; :meth:`routes` registers them with the route table.

    ``ui_accepts_api_token=False`` makes the UI routes redirect to the login page, as for an organisation without the
    ``can_use_api_token_in_ui`` flag.
    """

    def __init__(self, world: World, links: LogLinks, *, ui_accepts_api_token: bool = True) -> None:
        self.world = world
        self.links = links
        self.ui_accepts_api_token = ui_accepts_api_token

    def routes(self) -> list[Route]:
        ui = [Route("GET", re.compile(rf"/jobs/([^/]+)/({re.escape(kind)})\Z"), self.ui_logs) for kind in _UI_KINDS]
        loghub = Route("GET", re.compile(r"/api/v1/logs/([^/]+)\Z"), self.loghub, server="loghub")
        return [api_route("GET", "/logs/{}", self.job_logs), *ui, loghub]

    def _now(self) -> float:
        return self.world.timestamp(self.world.now())

    def job_logs(self, request: Request, job_id: str) -> Response:
        """plumber-public's ``GET /logs/:id``: the events, or a redirect to loghub2 for a self-hosted job."""
        job = self.world.job(job_id)
        try:
            require_visible(request, job.pipeline.project_id)
        except NotFound:
            return Response(401, b"Permission denied")
        if param(request, "artifact_job_logs").lower() in ("true", "1", "yes"):
            return Response(403, b"Fetching job logs from artifacts is not enabled for this organization.")
        if job.self_hosted:
            return Response(302, headers=[("location", self.links.location(job.job_id, self._now()))])
        if job.started_at is None:
            if job.stopped_before_start:
                return plumber(404, "This job was stopped before it started, so no logs were produced.")
            return plumber(404, "This job never started, so no logs were produced.")
        lines = self.world.visible_log(job)
        body = b'{ "events": [' + b",".join(line.raw for line in lines) + b"] }"
        return Response(200, body, PLUG_JSON)  # logs/get.ex: put_resp_content_type("application/json")

    def loghub(self, request: Request, job_id: str) -> Response:
        """loghub2 on the second host: ``{"events": [...], "next": N|null}``; ``?token=N`` resumes,
        ``?raw=true`` gives text."""
        if not self.links.admits(request.query.get("jwt", ""), job_id, self._now()):
            return Response(401, b"Unauthorized\n", TEXT)
        job = self.world.job(job_id)
        lines = self.world.visible_log(job)
        if request.query.get("raw") == "true":
            return Response(200, b"".join(line.plain for line in lines), TEXT)
        start = positive_int(request.query.get("token"), 0) if request.query.get("token") != "0" else 0
        next_token = b"null" if job.state == "finished" else str(len(lines)).encode("ascii")
        body = b'{"events":[' + b",".join(line.raw for line in lines[start:]) + b'],"next":' + next_token + b"}"
        return Response(200, body, JSON)

    def ui_logs(self, request: Request, job_id: str, kind: str) -> Response:
        """The UI's ``/jobs/:id/plain_logs.json`` (plain text despite the name) and ``events.json``."""
        if not self.ui_accepts_api_token:
            return Response(302, b"", HTML, [("location", "/login")])
        job = visible_job(self.world, request, job_id)
        plain = kind.startswith("plain_logs")
        if job.self_hosted and plain:
            location = self.links.location(job.job_id, self._now(), raw=True)
            return Response(307, b"", None, [("location", location)])
        lines = self.world.visible_log(job)
        if job.started_at is None:
            if plain:
                return Response(302, b"", HTML, [("location", f"/jobs/{job_id}")])
            return Response(409, json_bytes({"error": "This job never started, so no logs were produced."}), PLUG_JSON)
        if plain:
            start = positive_int(request.query.get("starting_event"), 0)
            take = positive_int(request.query.get("take"), len(lines) or 1)
            return Response(200, b"".join(line.plain for line in lines[start : start + take]), TEXT)
        return Response(200, b'{ "events": [' + b",".join(line.raw for line in lines) + b"] }", PLUG_JSON)
