"""Role × resource × action, through the HTTP API, against two branches with two agents each.

The expected outcomes are written out here from ARCHITECTURE.md's table, independently of
backend/access.py. The routes come from the app's route table: a route that is neither in ROUTES
nor in PUBLIC/SELF fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from backend.app import create_litestar
from backend.settings import Settings
from pwa.routes import APP_PATHS
from tests.factories import Org, caller, make_org

pytestmark = pytest.mark.anyio

RESOURCES = {
    "client": "/api/clients", "opportunity": "/api/opportunities", "project": "/api/projects",
    "visit": "/api/visits", "note": "/api/notes", "user": "/api/users", "region": "/api/regions",
    "branch": "/api/branches", "business_line": "/api/business-lines",
}
# (method, path) → (resource, action) for every route that needs a signed-in user.
ROUTES: dict[tuple[str, str], tuple[str, str]] = {}
for _resource, _path in RESOURCES.items():
    ROUTES |= {
        ("GET", _path): (_resource, "list"), ("POST", _path): (_resource, "create"),
        ("GET", f"{_path}/{{record_id:uuid}}"): (_resource, "read"),
        ("PATCH", f"{_path}/{{record_id:uuid}}"): (_resource, "update"),
    }
    if _resource in ("client", "opportunity", "project", "visit", "note", "region", "branch", "business_line"):
        ROUTES[("DELETE", f"{_path}/{{record_id:uuid}}")] = (_resource, "delete")
    if _resource in ("client", "opportunity", "project", "visit"):
        ROUTES[("POST", f"{_path}/{{record_id:uuid}}/reassign")] = (_resource, "reassign")
ROUTES |= {
    ("POST", "/api/opportunities/{record_id:uuid}/move"): ("opportunity", "update"),
    ("GET", "/api/projects/{record_id:uuid}/members"): ("project", "read"),
    ("POST", "/api/projects/{record_id:uuid}/members"): ("project", "update"),
    ("DELETE", "/api/projects/{record_id:uuid}/members/{user_id:uuid}"): ("project", "update"),
    ("GET", "/api/audit"): ("audit", "list"),
    # Photos need uploaded files: role × visibility is tested in tests/backend/photos/test_photo_access.py.
    ("GET", "/api/photos"): ("photo", "list"), ("POST", "/api/photos"): ("photo", "create"),
    ("GET", "/api/photos/{photo_id:uuid}"): ("photo", "read"),
    ("GET", "/api/photos/{photo_id:uuid}/{variant:str}"): ("photo", "read"),
    ("DELETE", "/api/photos/{photo_id:uuid}"): ("photo", "delete"),
    ("GET", "/api/push/deliveries"): ("push_delivery", "list"),  # admins only: tests/backend/push/test_push_api.py
    # Lifecycle: role × visibility per route in tests/backend/lifecycle/ (test_transitions, test_collections,
    # test_manager_actions, test_templates, test_workhours, test_inbox).
    ("GET", "/api/projects/{record_id:uuid}/lifecycle"): ("project", "read"),
    ("POST", "/api/projects/{record_id:uuid}/advance"): ("project", "update"),
    ("POST", "/api/projects/{record_id:uuid}/send-back"): ("project", "update"),
    ("POST", "/api/projects/{record_id:uuid}/close"): ("project", "update"),
    ("POST", "/api/projects/{record_id:uuid}/nudge"): ("project", "nudge"),
    ("GET", "/api/projects/{record_id:uuid}/collections"): ("collection", "list"),
    ("POST", "/api/projects/{record_id:uuid}/collections"): ("collection", "create"),
    ("GET", "/api/milestones"): ("milestone", "list"),
    ("GET", "/api/milestones/{milestone_id:uuid}"): ("milestone", "read"),
    ("POST", "/api/milestones/{milestone_id:uuid}/complete"): ("milestone", "update"),
    ("POST", "/api/milestones/{milestone_id:uuid}/reassign"): ("milestone", "reassign"),
    ("POST", "/api/milestones/{milestone_id:uuid}/nudge"): ("milestone", "nudge"),
    ("GET", "/api/business-lines/{record_id:uuid}/template"): ("business_line", "read"),
    ("PUT", "/api/business-lines/{record_id:uuid}/template"): ("template_version", "create"),
    ("GET", "/api/business-lines/{record_id:uuid}/template/versions"): ("business_line", "read"),
    ("GET", "/api/template-versions/{version_id:uuid}"): ("template_version", "read"),
    ("GET", "/api/branches/{record_id:uuid}/calendar"): ("branch", "read"),
    ("PUT", "/api/branches/{record_id:uuid}/calendar"): ("calendar", "update"),
    ("DELETE", "/api/branches/{record_id:uuid}/calendar"): ("calendar", "delete"),
}
PUBLIC = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"), ("POST", "/api/auth/login"),
          ("GET", "/sw-push.js"), ("GET", "/sw.js"), ("GET", "/manifest.webmanifest"), ("GET", "/apple-touch-icon.png"),
          ("GET", "/static/{rev:str}/{name:path}")}
# Page shells carry no records: signed out they redirect to /login; the screen's data comes over the websocket,
# whose every query goes through backend/access.py (tests/browser/test_pwa_roles.py checks what each role sees).
PUBLIC |= {("GET", path) for path in APP_PATHS}
# Routes that act only on the caller's own account (sessions, tokens, devices, inbox).
SELF = {("GET", "/api/inbox"), ("GET", "/api/inbox/unread-count"), ("POST", "/api/inbox/{item_id:uuid}/read"),
        ("POST", "/api/inbox/read-all"),
        ("POST", "/api/auth/logout"), ("GET", "/api/auth/me"), ("GET", "/api/auth/tokens"),
        ("POST", "/api/auth/tokens"), ("DELETE", "/api/auth/tokens/{token_id:uuid}"),
        ("PUT", "/api/auth/devices/{device_id:uuid}"), ("GET", "/api/push/key"), ("PUT", "/api/push/subscription"),
        ("DELETE", "/api/push/subscription"), ("GET", "/api/push/devices"),
        ("DELETE", "/api/push/devices/{device_id:uuid}"), ("GET", "/api/push/preferences"),
        ("PUT", "/api/push/preferences"),
        # Sync acts on the caller's own device; what a pull holds is scoped per record: tests/backend/sync/.
        ("POST", "/api/sync/pull"), ("POST", "/api/sync/push")}

ROLE_USERS = ["a.agent1", "a.agent2", "a.branch_manager", "a.project_manager", "a.legal", "a.finance",
              "executive", "admin"]
BUSINESS = ("client", "opportunity", "project", "visit", "note")


def test_every_route_is_in_the_matrix() -> None:
    app = create_litestar(Settings(env="test"), run_migrations=False, engine=object())
    seen = set()
    for route in app.routes:
        for method in getattr(route, "methods", set()) - {"OPTIONS", "HEAD"}:
            seen.add((method, route.path))
    schema = {(m, p) for (m, p) in seen if p.startswith("/schema")}
    unknown = seen - schema - set(ROUTES) - PUBLIC - SELF
    assert not unknown, f"routes missing from the access matrix: {sorted(unknown)}"
    assert set(ROUTES) <= seen, f"matrix lists routes the app lacks: {sorted(set(ROUTES) - seen)}"


def ids(rows: list[Any]) -> set[str]:
    return {str(r.id) for r in rows}


def universe(org: Org) -> dict[str, set[str]]:
    """Every business record of both branches, per resource."""
    out: dict[str, set[str]] = {r: set() for r in BUSINESS}
    for branch in (org.a, org.b):
        for records in branch.records.values():
            for key, row in records.items():
                out["note" if key.startswith("note_") else key].add(str(row.id))
    return out


def expected_visible(org: Org, who: str) -> dict[str, set[str]]:
    """ARCHITECTURE.md's table, spelled out for the factory organisation."""
    a = org.a
    agent1, agent2 = a.records["agent1"], a.records["agent2"]

    def notes(records: dict[str, Any], *parents: str) -> set[str]:
        return {str(records[f"note_{p}"].id) for p in parents}

    everything = universe(org)
    if who in ("a.agent1", "a.agent2"):
        own = agent1 if who == "a.agent1" else agent2
        return ({r: {str(own[r].id)} for r in BUSINESS if r != "note"}
                | {"note": notes(own, "client", "project", "visit")})
    if who == "a.branch_manager":
        return {r: {i for i in everything[r] if i in _branch_ids(org.a)} for r in BUSINESS}
    if who == "a.project_manager":  # manages agent1's project: it, its client, the client's opportunity, its visit
        return {r: {str(agent1[r].id)} for r in BUSINESS if r != "note"} | {
            "note": notes(agent1, "client", "project", "visit")}
    if who == "a.legal":
        return {"client": set(), "opportunity": set(), "project": {str(agent1["project"].id)}, "visit": set(),
                "note": notes(agent1, "project")}
    if who == "a.finance":
        return {"client": set(), "opportunity": set(), "project": {str(agent1["project"].id)}, "visit": set(),
                "note": set()}
    if who == "executive":
        return everything
    return {r: set() for r in BUSINESS}  # admin


def _branch_ids(branch: Any) -> set[str]:
    return {str(row.id) for records in branch.records.values() for row in records.values()}


def expected_writable(org: Org, who: str) -> dict[str, set[str]]:
    visible = expected_visible(org, who)
    a = org.a
    if who in ("a.agent1", "a.agent2"):
        return visible
    if who == "a.branch_manager":
        return visible
    if who == "a.project_manager":
        agent1 = a.records["agent1"]
        return {"client": set(), "opportunity": set(), "project": {str(agent1["project"].id)},
                "visit": {str(agent1["visit"].id)}, "note": set()}
    return {r: set() for r in BUSINESS}  # legal, finance, executive, admin change no one else's records


DELETABLE = {  # roles that may delete, per resource (visible records only)
    "client": {"a.branch_manager"}, "opportunity": {"a.branch_manager"}, "project": {"a.branch_manager"},
    "visit": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager"},
    "note": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager", "a.legal"},
}
CREATORS = {
    "client": {"a.agent1", "a.agent2", "a.branch_manager"},
    "opportunity": {"a.agent1", "a.agent2", "a.branch_manager"},
    "project": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager"},
    "visit": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager"},
    "note": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager", "a.legal"},
}
CHANGE = {"client": {"area_preference": "张江"}, "opportunity": {"title": "new title"},
          "project": {"title": "new title"}, "visit": {"summary": "checked"}, "note": {"body": "edited"}}


def create_body(org: Org, who: str, resource: str) -> dict[str, Any]:
    own = org.a.records["agent2" if who == "a.agent2" else "agent1"]
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    return {
        "client": {"name": "新客户", "tags": ["首套"]},
        "opportunity": {"client_id": str(own["client"].id), "title": "新商机"},
        "project": {"title": "新项目", "business_line_id": str(org.line.id)},
        "visit": {"client_id": str(own["client"].id), "project_id": str(own["project"].id), "address": "世纪大道2号",
                  "scheduled_at": when},
        "note": {"body": "新笔记", "project_id": str(own["project"].id)},
    }[resource]


@pytest.mark.parametrize("who", ROLE_USERS)
async def test_access_matrix_business_records(api, who: str) -> None:
    org = await make_org()
    user = org.all_users()[who]
    me = await caller(api, user)
    visible, writable = expected_visible(org, who), expected_writable(org, who)
    everything = universe(org)
    for resource in BUSINESS:
        path = RESOURCES[resource]
        listed = await me.get(f"{path}?limit=200")
        assert listed.status_code == 200, listed.text
        got = {row["id"] for row in listed.json()["items"]}
        assert got == visible[resource], f"{who} lists {resource}"
        for record_id in sorted(everything[resource]):
            read = await me.get(f"{path}/{record_id}")
            assert read.status_code == (200 if record_id in visible[resource] else 404), (who, resource, read.text)
            if read.status_code != 200:
                update = await me.patch(f"{path}/{record_id}", json={"version": 1, **CHANGE[resource]})
                assert update.status_code == 404, (who, resource, update.text)
                continue
            version = read.json()["version"]
            update = await me.patch(f"{path}/{record_id}", json={"version": version, **CHANGE[resource]})
            expected = 200 if record_id in writable[resource] else 403
            assert update.status_code == expected, (who, resource, "update", update.text)
        created = await me.post(path, json=create_body(org, who, resource))
        assert created.status_code == (201 if who in CREATORS[resource] else 403), (who, resource, created.text)
    # Deletes last (they remove rows the checks above use). Notes first: other records still have children.
    for resource in ("note", "visit", "opportunity", "project", "client"):
        for record_id in sorted(everything[resource]):
            gone = await me.delete(f"{RESOURCES[resource]}/{record_id}")
            if record_id not in visible[resource]:
                assert gone.status_code == 404, (who, resource, gone.text)
            elif who in DELETABLE[resource] and record_id in writable[resource]:
                assert gone.status_code in (204, 409), (who, resource, gone.text)  # 409: still has children
            else:
                assert gone.status_code == 403, (who, resource, "delete", gone.text)


@pytest.mark.parametrize("who", ROLE_USERS)
async def test_access_matrix_organisation(api, who: str) -> None:
    org = await make_org()
    users = org.all_users()
    me = await caller(api, users[who])
    branch_a = {str(u.id) for u in org.a.users.values()}
    all_users = {str(u.id) for u in users.values()}
    expected_users = {
        "a.agent1": {str(users["a.agent1"].id)}, "a.agent2": {str(users["a.agent2"].id)},
        "a.legal": {str(users["a.legal"].id)}, "a.finance": {str(users["a.finance"].id)},
        "a.branch_manager": branch_a, "a.project_manager": branch_a, "executive": all_users, "admin": all_users,
    }[who]
    listed = await me.get("/api/users?limit=200")
    assert {u["id"] for u in listed.json()["items"]} == expected_users
    assert all("password_hash" not in u for u in listed.json()["items"])
    other = users["b.agent1"]
    read = await me.get(f"/api/users/{other.id}")
    assert read.status_code == (200 if str(other.id) in expected_users else 404)
    created = await me.post("/api/users", json={"username": f"new_{who.replace('.', '_')}", "display_name": "新人",
                                                "password": "long enough 1", "role": "agent",
                                                "branch_id": str(org.a.branch.id)})
    assert created.status_code == (201 if who == "admin" else 403), created.text
    for path in ("/api/regions", "/api/branches", "/api/business-lines"):
        listed = await me.get(path)
        assert listed.status_code == 200 and listed.json()["total"] >= 1
    region = await me.post("/api/regions", json={"code": f"r{len(who)}", "name": "华南"})
    assert region.status_code == (201 if who == "admin" else 403), region.text
    audit = await me.get("/api/audit")
    assert audit.status_code == (200 if who in ("a.branch_manager", "executive", "admin") else 403), audit.text


async def test_field_mask_finance_sees_amounts_not_descriptions(api) -> None:
    org = await make_org()
    project = org.a.records["agent1"]["project"]
    finance = await caller(api, org.a.users["finance"])
    seen = (await finance.get(f"/api/projects/{project.id}")).json()
    assert seen["contract_value"] == "100000.00" and "description" not in seen
    manager = await caller(api, org.a.users["branch_manager"])
    assert (await manager.get(f"/api/projects/{project.id}")).json()["description"] == "confidential terms"


async def test_reassign_only_branch_manager_within_branch(api) -> None:
    org = await make_org()
    client = org.a.records["agent1"]["client"]
    target = org.a.users["agent2"]
    for who in ("a.agent1", "a.project_manager", "executive"):
        me = await caller(api, org.all_users()[who])
        reply = await me.post(f"/api/clients/{client.id}/reassign", json={"owner_id": str(target.id), "version": 1})
        assert reply.status_code == 403, (who, reply.text)
    manager_b = await caller(api, org.b.users["branch_manager"])
    reply = await manager_b.post(f"/api/clients/{client.id}/reassign", json={"owner_id": str(target.id), "version": 1})
    assert reply.status_code == 404
    manager = await caller(api, org.a.users["branch_manager"])
    outsider = org.b.users["agent1"]
    reply = await manager.post(f"/api/clients/{client.id}/reassign", json={"owner_id": str(outsider.id), "version": 1})
    assert reply.status_code == 404 and reply.json()["field"] == "owner_id"
    reply = await manager.post(f"/api/clients/{client.id}/reassign", json={"owner_id": str(target.id), "version": 1})
    assert reply.status_code == 200 and reply.json()["owner_id"] == str(target.id)
    # The client's open opportunity and planned visit went with it.
    agent2 = await caller(api, target)
    assert str(org.a.records["agent1"]["opportunity"].id) in {
        o["id"] for o in (await agent2.get("/api/opportunities")).json()["items"]}
    agent1 = await caller(api, org.a.users["agent1"])
    assert (await agent1.get(f"/api/clients/{client.id}")).status_code == 404
