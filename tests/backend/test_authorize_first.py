"""Authorize first, everywhere: a record the caller may not see answers the plain 404 whatever the body says.

Walks the route table, so a new route that names a record in its path cannot skip the check: every such route
declares `opt["authorize"]` (the resource its path names, checked by `backend.web.authorize_path_record` before
the body is decoded) or a reason it needs none. Then every one of them is called on an invisible record with a
body that fails validation, and must answer exactly what an unknown id answers. The same for every sync op kind
that changes an existing record.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest

from backend.accounts.tables import Device
from backend.app import create_litestar
from backend.lifecycle.tables import Milestone, StageEntry
from backend.photos.tables import Photo
from backend.settings import Settings
from backend.sync.schemas import OPERATIONS
from notifications.tables import InboxItem
from tests.support.factories import Org, caller, make_org

pytestmark = pytest.mark.anyio

UUID_PARAM = re.compile(r"\{(\w+):uuid\}")
INVALID_BODY = {"version": "not a number", "no_such_field": [1, 2, 3], "amount": {"x": 1}}


def _routes() -> list[tuple[str, str, Any]]:
    app = create_litestar(Settings(env="test"), run_migrations=False)
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", ())):
                if method != "OPTIONS" and UUID_PARAM.search(route.path):
                    found.append((method, route.path, handler))
    return found


ROUTES = _routes()


def test_every_route_naming_a_record_declares_its_check() -> None:
    missing = [f"{m} {p}" for m, p, h in ROUTES if "authorize" not in h.opt]
    assert not missing, f"routes with a record in the path but no opt['authorize']: {missing}"
    for method, path, handler in ROUTES:
        target = handler.opt["authorize"]
        if isinstance(target, tuple):
            assert f"{{{target[1]}:uuid}}" in path, (method, path, target)
        else:
            assert isinstance(target, str) and target, f"{method} {path}: give the reason it needs no check"


async def _invisible_records(org: Org) -> dict[str, uuid.UUID]:
    """One record of each resource in branch A, owned by A's agent1: invisible to B's agents and to the admin."""
    mine = org.a.records["agent1"]
    agent = org.a.users["agent1"]
    stage = StageEntry(project=mine["project"].id, branch=org.a.branch.id, stage_key="intake", owner=agent.id)
    await StageEntry.insert(stage)
    milestone = Milestone(project=mine["project"].id, branch=org.a.branch.id, stage=stage.id, stage_key="intake",
                          key="needs_recorded", title_zh="需求登记", title_en="Needs recorded", owner=agent.id)
    await Milestone.insert(milestone)
    photo = Photo(branch=org.a.branch.id, owner=agent.id, visit=mine["visit"].id, display_sha256="0" * 64,
                  display_bytes=1, display_width=1, display_height=1, thumb_sha256="0" * 64, thumb_bytes=1,
                  thumb_width=1, thumb_height=1, source_sha256="0" * 64, source_format="JPEG", source_bytes=1,
                  source_width=1, source_height=1, taken_at=dt.datetime.now(dt.UTC))
    await Photo.insert(photo)
    item = InboxItem(user=agent.id, kind="reminder", title="提醒")
    await InboxItem.insert(item)
    device = Device(user=agent.id, label="Android Chrome")
    await Device.insert(device)
    return {
        "client": mine["client"].id, "opportunity": mine["opportunity"].id, "project": mine["project"].id,
        "visit": mine["visit"].id, "note": mine["note_visit"].id, "milestone": milestone.id, "photo": photo.id,
        "notification": item.id, "device": device.id,
    }


def _same_answer(invisible: Any, unknown: Any, hidden: uuid.UUID, made_up: uuid.UUID) -> None:
    assert invisible.status_code == unknown.status_code == 404, (invisible.text, unknown.text)
    a, b = invisible.json(), unknown.json()
    assert a["message"].replace(str(hidden), "<id>") == b["message"].replace(str(made_up), "<id>")
    assert (a["error"], a["field"]) == (b["error"], b["field"])


@pytest.mark.parametrize("who", ["b.agent1", "b.branch_manager", "admin"])
async def test_invalid_body_on_invisible_record_is_the_plain_404(api: Any, who: str) -> None:
    org = await make_org()
    hidden = await _invisible_records(org)
    user = org.admin if who == "admin" else org.b.users[who.split(".")[1]]
    me = await caller(api, user)
    checked = 0
    for method, path, handler in ROUTES:
        target = handler.opt["authorize"]
        if not isinstance(target, tuple) or target[0] not in hidden:
            continue
        resource, parameter = target
        made_up = uuid.uuid4()
        other = {name: str(uuid.uuid4()) for name in UUID_PARAM.findall(path) if name != parameter}

        def url(record_id: uuid.UUID, path: str = path, parameter: str = parameter,
                other: dict[str, str] = other) -> str:
            filled = path.replace(f"{{{parameter}:uuid}}", str(record_id))
            for name, value in other.items():
                filled = filled.replace(f"{{{name}:uuid}}", value)
            return re.sub(r"\{\w+:(str|path)\}", "display", filled)

        body = {} if method in ("GET", "DELETE") else {"json": INVALID_BODY}
        invisible = await me.request(method, url(hidden[resource]), **body)
        unknown = await me.request(method, url(made_up), **body)
        _same_answer(invisible, unknown, hidden[resource], made_up)
        checked += 1
    assert checked >= 30  # every record route of the API, not a handful


async def test_sync_ops_on_invisible_records_answer_like_unknown_ones(api: Any) -> None:
    org = await make_org()
    hidden = await _invisible_records(org)
    me = await caller(api, org.b.users["agent1"])
    device_id = str(uuid.uuid4())
    await me.request("PUT", f"/api/auth/devices/{device_id}", json={"label": "Android Chrome"})
    kinds = {"visit.update": "visit", "client.update": "client", "opportunity.move": "opportunity"}
    assert set(kinds) == set(OPERATIONS) - {"note.create"}  # a new op kind on a record must be listed here
    for kind, resource in kinds.items():
        answers = []
        for record_id in (hidden[resource], uuid.uuid4()):
            op = {"op_id": str(uuid.uuid4()), "kind": kind, "data": {**INVALID_BODY, "id": str(record_id)}}
            reply = await me.post("/api/sync/push", json={"device_id": device_id, "ops": [op]})
            assert reply.status_code == 200, reply.text
            [result] = reply.json()["results"]
            answers.append((result["status"], result["error"]["error"], result["error"]["field"],
                            result["error"]["message"].replace(str(record_id), "<id>")))
        assert answers[0] == answers[1] and answers[0][:2] == ("rejected", "not_found"), answers
    # A note on an invisible parent is refused as one on a parent that does not exist.
    answers = []
    for parent in (hidden["visit"], uuid.uuid4()):
        op = {"op_id": str(uuid.uuid4()), "kind": "note.create", "data": {"body": "看房", "visit_id": str(parent)}}
        [result] = (await me.post("/api/sync/push", json={"device_id": device_id, "ops": [op]})).json()["results"]
        answers.append((result["status"], result["error"]["error"], result["error"]["field"],
                        result["error"]["message"].replace(str(parent), "<id>")))
    assert answers[0] == answers[1] and answers[0][:2] == ("rejected", "not_found"), answers


async def test_a_taken_id_is_the_same_conflict_whoever_holds_it(api: Any) -> None:
    org = await make_org()
    mine = org.a.records["agent1"]
    author = await caller(api, org.a.users["agent1"])
    stranger = await caller(api, org.b.users["agent1"])
    note_id = str(uuid.uuid4())
    first = await author.post("/api/notes", json={"id": note_id, "body": "第一次", "visit_id": str(mine["visit"].id)})
    assert first.status_code == 201, first.text
    again = await author.post("/api/notes", json={"id": note_id, "body": "第一次", "visit_id": str(mine["visit"].id)})
    assert again.status_code in (200, 201) and again.json()["id"] == note_id and again.json()["body"] == "第一次"
    own_visit = str(org.b.records["agent1"]["visit"].id)
    answers = []
    for taken in (note_id, str(mine["client"].id)):  # another user's note; another kind of record entirely
        reply = await stranger.post("/api/notes", json={"id": taken, "body": "x", "visit_id": own_visit})
        answers.append((reply.status_code, reply.json()["error"], reply.json()["field"], reply.json()["message"]))
    assert answers[0] == answers[1] == (409, "conflict", "id", answers[0][3])
    # Deleted: the author removes the note; the id stays taken, for everyone else too.
    assert (await author.delete(f"/api/notes/{note_id}")).status_code == 204
    reply = await stranger.post("/api/notes", json={"id": note_id, "body": "x", "visit_id": own_visit})
    assert (reply.status_code, reply.json()["field"]) == (409, "id")
