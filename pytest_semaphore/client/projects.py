"""Projects: listing, describing, and turning a project name into its id (once per name per client)."""

from __future__ import annotations

import re
import threading

from ..models import Project
from .baseurl import API_PREFIX
from .pagination import HasMorePages, paginate
from .params import nonempty, segment
from .resource import Resource

__all__ = ["ProjectEndpoints", "ProjectIds"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


class ProjectIds:
    """The project ids learnt so far, by name; shared by the client's threads."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()
        self.resolving = threading.Lock()
        """Held while a name is looked up, so threads asking at once cost one lookup."""

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._ids.get(name)

    def remember(self, name: str, project_id: str) -> None:
        with self._lock:
            self._ids[name] = project_id

    def remember_listed(self, projects: list[Project]) -> None:
        """Names from a listing, where not known already."""
        with self._lock:
            for project in projects:
                self._ids.setdefault(project.name, project.project_id)


class ProjectEndpoints(Resource):
    _project_ids: ProjectIds

    def list_projects(self) -> list[Project]:
        """Every project of the organisation (``GET /projects``, paged with ``x-page``/``x-has-more``)."""
        out = paginate(self._http, f"{API_PREFIX}/projects", [], Project.from_api, HasMorePages())
        self._project_ids.remember_listed(out)
        return out

    def describe_project(self, name: str) -> Project:
        """One project by name (``GET /projects/:name``); ``NotFoundError`` if missing or not visible."""
        wanted = segment(name, "project name")
        project = self._http.get(f"{API_PREFIX}/projects/{wanted}").decode(Project.from_api)
        self._project_ids.remember(wanted, project.project_id)
        return project

    def resolve_project_id(self, project_id_or_name: str) -> str:
        """A project id for an id or a name; a name is looked up once and remembered for the client's lifetime."""
        value = nonempty(project_id_or_name, "project")
        if _UUID.match(value):
            return value
        with self._project_ids.resolving:  # one lookup per name even when threads ask at once
            known = self._project_ids.get(value)
            if known is not None:
                return known
            return self.describe_project(value).project_id
