"""Project settings: today, each project's rate limits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update

from assistantd.store.sql import Conn, Query
from assistantd.store.tables import ProjectLimitsRow, table_of

__all__ = ["ProjectLimits", "ProjectRepository", "projects_repo"]

_limits = table_of(ProjectLimitsRow)
_ALL = Query(
    select(_limits.c.project, _limits.c.requests_per_minute, _limits.c.tokens_per_minute).order_by(
        _limits.c.project
    )
)
_INSERT = Query(insert(_limits))
_UPDATE = Query(
    update(_limits)
    .where(_limits.c.project == bindparam("key_project"))
    .values(
        requests_per_minute=bindparam("requests_per_minute"),
        tokens_per_minute=bindparam("tokens_per_minute"),
        updated_at=bindparam("updated_at"),
    )
)
_DELETE = Query(delete(_limits).where(_limits.c.project == bindparam("project")))


@dataclass(frozen=True, slots=True)
class ProjectLimits:
    project: str
    requests_per_minute: int | None
    tokens_per_minute: int | None


class ProjectRepository:
    def all_limits(self, conn: Conn) -> dict[str, ProjectLimits]:
        return {row[0]: ProjectLimits(*row) for row in conn.all(_ALL, {})}

    def set_limits(self, conn: Conn, limits: ProjectLimits, now: int) -> None:
        if limits.requests_per_minute is None and limits.tokens_per_minute is None:
            conn.execute(_DELETE, {"project": limits.project})
            return
        values = {
            "requests_per_minute": limits.requests_per_minute,
            "tokens_per_minute": limits.tokens_per_minute,
            "updated_at": now,
        }
        if conn.execute(_UPDATE, {"key_project": limits.project, **values}) == 0:
            conn.execute(_INSERT, {"project": limits.project, **values})


# The one instance of each: repositories hold compiled statements and no state.
projects_repo = ProjectRepository()
