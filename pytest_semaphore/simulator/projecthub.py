"""projecthub's routes: the project list (``x-page``/``x-has-more`` paging, 500 a page) and one project."""

from __future__ import annotations

from . import formats
from .messages import JSON, TEXT, Request, Response, json_bytes
from .routing import Route, api_route, gateway, positive_int, require_visible
from .world import World

__all__ = ["Projecthub"]

_PAGE = 500
_LAST_PAGE = 100


class Projecthub:
    """The handlers; :meth:`routes` registers them with the route table."""

    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> list[Route]:
        return [
            api_route("GET", "/projects", self.list_projects),
            api_route("GET", "/projects/{}", self.describe_project),
        ]

    def list_projects(self, request: Request) -> Response:
        page = positive_int(request.query.get("page", "1"), 1)
        if page > _LAST_PAGE:
            return Response(400, b"page must be between 1 and 100", TEXT)
        projects = [p for p in self.world.projects() if request.visible is None or p.project_id in request.visible]
        chunk = projects[(page - 1) * _PAGE : page * _PAGE]
        more = page * _PAGE < len(projects)
        body = [formats.project(self.world, p) for p in chunk]
        return Response(200, json_bytes(body), JSON, [("x-page", str(page)), ("x-has-more", str(more).lower())])

    def describe_project(self, request: Request, name: str) -> Response:
        project = self.world.project(name)
        require_visible(request, project.project_id)
        return gateway(200, formats.project(self.world, project))
