"""GETs never write: every GET route of the app, as a signed-in user of each role, with ids that exist.

The routes come from the app's route table, so a new GET is walked as soon as it exists (a path parameter this
test does not know how to fill fails it). After all of one user's GETs, the change log and the row count of every
table in the database must be exactly what they were.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from backend import db
from backend.app import create_litestar
from backend.audit.tables import ChangeLog
from backend.lifecycle import calendars
from backend.lifecycle.workhours import CalendarDef
from backend.projects.tables import BusinessLine
from backend.settings import Settings
from notifications import Notice, notify
from pwa import assets
from tests.support.factories import actor, caller
from tests.support.matrix import MatrixOrg, make_matrix_org
from tests.support.photos import small_jpeg, upload

pytestmark = pytest.mark.anyio
WHO = ["a.agent1", "a.project_manager", "a.legal", "a.finance", "a.branch_manager", "a.moved", "executive", "admin"]


def get_routes(app: Any = None) -> list[str]:
    """The app's GET routes (an app built here binds no database, so tests pass the one they run against)."""
    app = app or create_litestar(Settings(env="test"), run_migrations=False, engine=object())
    return sorted({route.path for route in app.routes if "GET" in getattr(route, "methods", set())})


async def table_counts() -> dict[str, int]:
    """Rows per table, for every table the database holds (not only the ones the code names)."""
    if db.is_postgres():
        rows = await ChangeLog.raw("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")
    else:
        rows = await ChangeLog.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    counts = {}
    for row in rows:
        counts[row["name"]] = (await ChangeLog.raw(f'SELECT count(*) AS n FROM "{row["name"]}"'))[0]["n"]
    return counts


async def change_log() -> list[tuple[Any, ...]]:
    return [tuple(row.values()) for row in await ChangeLog.select().order_by(ChangeLog.seq)]


async def fixtures(m: MatrixOrg, api: Any) -> dict[str, Any]:
    """One existing id for each path parameter, by the route's resource (branch A, agent1's records)."""
    a, own = m.a, m.a.records["agent1"]
    uploaded = await upload(await caller(api, a.users["agent1"]), ("visit", own["visit"]), small_jpeg())
    assert uploaded.status_code == 201, uploaded.text
    async with db.write_transaction():
        await calendars.save_calendar(actor(m.org.admin), a.branch.id, CalendarDef(), None)
        for user in m.users().values():
            await notify([Notice(user_id=user.id, kind="test", title="早上好")])
    fresh_line = BusinessLine(key="recruitment", name_zh="招聘安置", name_en="Recruitment placement")
    await BusinessLine.insert(fresh_line)  # no stored template: its read once stored version 1
    inbox = await (await caller(api, a.users["agent1"])).get("/api/inbox")
    project = (await (await caller(api, a.users["branch_manager"])).get(f"/api/projects/{own['project'].id}")).json()
    return {
        "/api/branches": a.branch.id, "/api/business-lines": fresh_line.id, "/api/clients": own["client"].id,
        "/api/notes": own["note_project"].id, "/api/opportunities": own["opportunity"].id,
        "/api/projects": own["project"].id, "/api/regions": m.org.region.id, "/api/users": a.users["agent1"].id,
        "/api/visits": own["visit"].id, "/clients": own["client"].id, "/projects": own["project"].id,
        "/visits": own["visit"].id, "milestone_id": m.milestones["legal"].id, "photo_id": uploaded.json()["id"],
        "variant": "thumb", "version_id": project["template_version_id"], "item_id": inbox.json()["items"][0]["id"],
        "rev": assets.revision(), "name": "app.css", "path": "swagger", "user_id": a.users["agent1"].id,
    }


def fill(path: str, ids: dict[str, Any]) -> str:
    """The route's path with each `{name:type}` replaced by an existing id (by the resource prefix for record_id)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("record_id",):
            prefix = path[:match.start()].rstrip("/")
            return str(ids[prefix])
        if name == "item_id" and not path.startswith("/api/"):
            return str(ids[path[:match.start()].rstrip("/")])
        return str(ids[name])

    return re.sub(r"\{(\w+):\w+\}", value, path)


def test_every_get_route_can_be_filled() -> None:
    """A GET route with a path parameter this test cannot fill would go unwalked: fail instead."""
    known = {"record_id", "item_id", "milestone_id", "photo_id", "variant", "version_id", "rev", "name", "path",
             "user_id"}
    for path in get_routes():
        assert set(re.findall(r"\{(\w+):\w+\}", path)) <= known, path


@pytest.mark.parametrize("who", WHO)
async def test_get_routes_write_nothing(api, who: str) -> None:
    m = await make_matrix_org()
    ids = await fixtures(m, api)
    me = await caller(api, m.users()[who])
    before_counts, before_log = await table_counts(), await change_log()
    answered: dict[str, int] = {}
    for path in get_routes(api._transport.app):
        reply = await me.get(fill(path, ids))
        assert reply.status_code < 500, (who, path, reply.text)
        answered[path] = reply.status_code
    assert await change_log() == before_log, who
    assert await table_counts() == before_counts, who
    # The walk reached the routes that used to write, and they answered.
    assert answered["/api/business-lines/{record_id:uuid}/template"] == 200
    assert sum(status == 200 for status in answered.values()) > len(answered) // 2, answered
