"""Role × resource × action, through the HTTP API, against two branches with two agents each.

The expected outcomes are written out here from ARCHITECTURE.md's table (README "Access control"),
independently of backend/access.py. The routes come from the app's route table: a route that is neither in
ROUTES nor in PUBLIC/SELF fails `test_every_route_is_in_the_matrix`.

On top of the factory organisation (`make_matrix_org`): an agent and a project manager of branch A who moved to
branch B, still owning (managing) branch A records and a milestone; legal A on agent2's team; legal B on the team
of a branch A project (which grants nothing across branches); a legal milestone owned by legal A; a payment on
every project of branch A.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from backend import access
from backend.accounts.tables import ApiToken, Device, User
from backend.app import create_litestar
from backend.clients.tables import Client
from backend.lifecycle.tables import Milestone
from backend.settings import Settings
from backend.sync.tables import SyncOperation
from notifications.push.tables import PushPreference, PushSubscription
from pwa.routes import APP_PATHS
from tests.support.factories import actor, caller, make_org
from tests.support.matrix import MatrixOrg, make_matrix_org

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
    ("POST", "/api/opportunities/{record_id:uuid}/reopen"): ("opportunity", "update"),
    ("GET", "/api/clients/{record_id:uuid}/timeline"): ("client", "read"),
    ("GET", "/api/projects/{record_id:uuid}/timeline"): ("project", "read"),
    ("POST", "/api/collections/{collection_id:uuid}/correct"): ("collection", "update"),
    ("POST", "/api/collections/{collection_id:uuid}/void"): ("collection", "update"),
    ("POST", "/api/milestones/{milestone_id:uuid}/reopen"): ("milestone", "update"),
    ("GET", "/api/projects/{record_id:uuid}/members"): ("project", "read"),
    ("POST", "/api/projects/{record_id:uuid}/members"): ("project", "update"),
    ("DELETE", "/api/projects/{record_id:uuid}/members/{user_id:uuid}"): ("project", "update"),
    ("GET", "/api/audit"): ("audit", "list"),
    # Photos need uploaded files: role × visibility is tested in tests/backend/photos/test_endpoints.py.
    ("GET", "/api/photos"): ("photo", "list"), ("POST", "/api/photos"): ("photo", "create"),
    ("GET", "/api/photos/{photo_id:uuid}"): ("photo", "read"),
    ("GET", "/api/photos/{photo_id:uuid}/{variant:str}"): ("photo", "read"),
    ("DELETE", "/api/photos/{photo_id:uuid}"): ("photo", "delete"),
    ("GET", "/api/push/deliveries"): ("push_delivery", "list"),  # admins only: tests/backend/push/test_endpoints.py
    # Lifecycle: role × visibility per route in tests/backend/lifecycle/ (test_stages, test_collections,
    # test_actions_manager, test_templates, test_workhours) and tests/notifications/test_inbox.py.
    ("GET", "/api/projects/{record_id:uuid}/lifecycle"): ("project", "read"),
    ("POST", "/api/projects/{record_id:uuid}/advance"): ("project", "update"),
    ("POST", "/api/projects/{record_id:uuid}/send-back"): ("project", "update"),
    ("POST", "/api/projects/{record_id:uuid}/close"): ("project", "update"),
    ("POST", "/api/projects/{record_id:uuid}/reopen"): ("project", "update"),
    ("POST", "/api/projects/{record_id:uuid}/nudge"): ("project", "nudge"),
    ("GET", "/api/projects/{record_id:uuid}/collections"): ("collection", "list"),
    ("POST", "/api/projects/{record_id:uuid}/collections"): ("collection", "create"),
    ("GET", "/api/milestones"): ("milestone", "list"),
    ("GET", "/api/milestones/{milestone_id:uuid}"): ("milestone", "read"),
    ("POST", "/api/milestones/{milestone_id:uuid}/complete"): ("milestone", "update"),
    ("POST", "/api/milestones/{milestone_id:uuid}/reassign"): ("milestone", "reassign"),
    ("POST", "/api/milestones/{milestone_id:uuid}/nudge"): ("milestone", "nudge"),
    ("POST", "/api/milestones/{milestone_id:uuid}/reject"): ("milestone", "reject"),
    ("GET", "/api/business-lines/{record_id:uuid}/template"): ("business_line", "read"),
    ("PUT", "/api/business-lines/{record_id:uuid}/template"): ("template_version", "create"),
    ("GET", "/api/business-lines/{record_id:uuid}/template/versions"): ("business_line", "read"),
    ("GET", "/api/template-versions/{version_id:uuid}"): ("template_version", "read"),
    ("GET", "/api/branches/{record_id:uuid}/calendar"): ("branch", "read"),
    ("PUT", "/api/branches/{record_id:uuid}/calendar"): ("calendar", "update"),
    ("DELETE", "/api/branches/{record_id:uuid}/calendar"): ("calendar", "delete"),
    # What people who left the branch still own, for whoever may reassign it: test_left_work_* below.
    ("GET", "/api/handover"): ("client", "reassign"),
    # Issue 14, users: admins only; every other role in tests/backend/handover/test_deactivation.py and
    # tests/backend/accounts/test_administer.py.
    ("POST", "/api/users/invite"): ("user", "create"),
    ("POST", "/api/users/{user_id:uuid}/password-reset"): ("user", "update"),
    ("GET", "/api/handover/users/{user_id:uuid}"): ("user", "update"),
    ("POST", "/api/handover/users/{user_id:uuid}/deactivate"): ("user", "update"),
    # Feedback: role × visibility in tests/backend/feedback/test_services.py.
    ("POST", "/api/feedback"): ("feedback", "create"), ("GET", "/api/feedback"): ("feedback", "list"),
    ("GET", "/api/feedback/summary"): ("feedback", "list"),
    ("POST", "/api/feedback/{feedback_id:uuid}/triage"): ("feedback", "update"),
}
PUBLIC = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"), ("POST", "/api/auth/login"),
          ("GET", "/sw-push.js"), ("GET", "/sw.js"), ("GET", "/manifest.webmanifest"), ("GET", "/apple-touch-icon.png"),
          ("GET", "/static/{rev:str}/{name:path}"),
          ("GET", "/app-shell")}  # the field kit's user-neutral offline shell: no user, no token, no records
# Page shells carry no records: signed out they redirect to /login; the screen's data comes over the websocket,
# whose every query goes through backend/access.py (tests/browser/test_pwa_roles.py checks what each role sees).
PUBLIC |= {("GET", path) for path in APP_PATHS}
# Routes that act only on the caller's own account (sessions, tokens, devices, inbox).
SELF = {("GET", "/api/inbox"), ("GET", "/api/inbox/unread-count"), ("POST", "/api/inbox/{item_id:uuid}/read"),
        ("POST", "/api/inbox/read-all"),
        ("POST", "/api/auth/logout"), ("GET", "/api/auth/me"), ("POST", "/api/auth/password"),
        ("GET", "/api/auth/tokens"),
        ("POST", "/api/auth/tokens"), ("DELETE", "/api/auth/tokens/{token_id:uuid}"),
        ("PUT", "/api/auth/devices/{device_id:uuid}"), ("GET", "/api/push/key"), ("PUT", "/api/push/subscription"),
        ("DELETE", "/api/push/subscription"), ("GET", "/api/push/devices"),
        ("DELETE", "/api/push/devices/{device_id:uuid}"), ("GET", "/api/push/preferences"),
        ("PUT", "/api/push/preferences"),
        # Sync acts on the caller's own device; what a pull holds is scoped per record: tests/backend/sync/.
        ("POST", "/api/sync/pull"), ("POST", "/api/sync/push")}

ROLE_USERS = ["a.agent1", "a.agent2", "a.branch_manager", "a.project_manager", "a.legal", "a.finance",
              "a.moved", "a.moved_pm", "b.legal", "executive", "admin"]
MOVED = ("a.moved", "a.moved_pm")
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


def universe(m: MatrixOrg) -> dict[str, set[str]]:
    """Every business record of both branches, per resource."""
    out: dict[str, set[str]] = {r: set() for r in BUSINESS}
    for branch in (m.a, m.b):
        for records in branch.records.values():
            for key, row in records.items():
                out["note" if key.startswith("note_") else key].add(str(row.id))
    return out


def expected_visible(m: MatrixOrg, who: str) -> dict[str, set[str]]:
    """ARCHITECTURE.md's table, spelled out for the matrix organisation."""
    a = m.a
    agent1, agent2, moved = a.records["agent1"], a.records["agent2"], a.records["moved"]

    def notes(records: dict[str, Any], *parents: str) -> set[str]:
        return {str(records[f"note_{p}"].id) for p in parents}

    nothing: dict[str, set[str]] = {r: set() for r in BUSINESS}
    everything = universe(m)
    if who in ("a.agent1", "a.agent2"):
        own = agent1 if who == "a.agent1" else agent2
        return ({r: {str(own[r].id)} for r in BUSINESS if r != "note"}
                | {"note": notes(own, "client", "project", "visit")})
    if who == "a.branch_manager":
        return {r: {i for i in everything[r] if i in _branch_ids(a)} for r in BUSINESS}
    if who == "a.project_manager":  # manages agent1's project: it, its client, the client's opportunity, its visit
        return {r: {str(agent1[r].id)} for r in BUSINESS if r != "note"} | {
            "note": notes(agent1, "client", "project", "visit")}
    if who == "a.legal":  # owns a milestone of agent1's project, on agent2's team; not the moved agent's project
        return nothing | {"project": {str(agent1["project"].id), str(agent2["project"].id)},
                          "note": notes(agent1, "project") | notes(agent2, "project")}
    if who == "a.finance":  # every project of the branch; no clients, visits or notes
        return nothing | {"project": {str(r["project"].id) for r in (agent1, agent2, moved)}}
    if who == "b.legal":  # its own branch's milestone project only: the branch A team seat grants nothing
        own_b = m.b.records["agent1"]
        return nothing | {"project": {str(own_b["project"].id)}, "note": notes(own_b, "project")}
    if who == "executive":
        return everything
    return nothing  # admin; the moved agent and project manager (their branch A records stay behind)


def _branch_ids(branch: Any) -> set[str]:
    return {str(row.id) for records in branch.records.values() for row in records.values()}


def expected_writable(m: MatrixOrg, who: str) -> dict[str, set[str]]:
    visible = expected_visible(m, who)
    if who in ("a.agent1", "a.agent2", "a.branch_manager"):
        return visible
    if who == "a.project_manager":
        agent1 = m.a.records["agent1"]
        return {"client": set(), "opportunity": set(), "project": {str(agent1["project"].id)},
                "visit": {str(agent1["visit"].id)}, "note": set()}
    return {r: set() for r in BUSINESS}  # legal, finance, executive, admin change no one else's records


DELETABLE = {  # roles that may delete, per resource (visible records only)
    "client": {"a.branch_manager"}, "opportunity": {"a.branch_manager"}, "project": {"a.branch_manager"},
    "visit": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager"},
    "note": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager", "a.legal"},
}
CREATORS = {
    "client": {"a.agent1", "a.agent2", "a.branch_manager", "a.moved"},
    "opportunity": {"a.agent1", "a.agent2", "a.branch_manager", "a.moved"},
    "project": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager", "a.moved", "a.moved_pm"},
    "visit": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager", "a.moved", "a.moved_pm"},
    "note": {"a.agent1", "a.agent2", "a.branch_manager", "a.project_manager", "a.legal", "b.legal", "a.moved",
             "a.moved_pm"},
}
REFERENCES = {"opportunity", "visit", "note"}  # creates that name a branch A record (404 to whoever cannot see it)
CHANGE = {"client": {"area_preference": "张江"}, "opportunity": {"title": "new title"},
          "project": {"title": "new title"}, "visit": {"summary": "checked"}, "note": {"body": "edited"}}


def create_status(m: MatrixOrg, who: str, resource: str) -> int:
    if who not in CREATORS[resource]:
        return 403
    if resource in REFERENCES and who in (*MOVED, "b.legal"):
        return 404
    return 201


def create_body(m: MatrixOrg, who: str, resource: str) -> dict[str, Any]:
    org = m.org
    own = m.a.records["moved" if who in MOVED else "agent2" if who == "a.agent2" else "agent1"]
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
    m = await make_matrix_org()
    user = m.users()[who]
    me = await caller(api, user)
    visible, writable = expected_visible(m, who), expected_writable(m, who)
    everything = universe(m)
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
        created = await me.post(path, json=create_body(m, who, resource))
        assert created.status_code == create_status(m, who, resource), (who, resource, created.text)
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
    m = await make_matrix_org()
    org, users = m.org, m.users()
    me = await caller(api, users[who])
    branch_a = {str(u.id) for u in org.a.users.values()}
    branch_b = {str(u.id) for u in org.b.users.values()} | {str(u.id) for u in m.moved.values()}
    all_users = {str(u.id) for u in users.values()}
    expected_users = {
        "a.branch_manager": branch_a, "a.project_manager": branch_a, "a.moved_pm": branch_b,
        "executive": all_users, "admin": all_users,
    }.get(who, {str(users[who].id)})
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


MILESTONE_VISIBLE = {  # of the two milestones: "moved" (moved agent's project), "legal" (agent1's project)
    "a.agent1": {"legal"}, "a.agent2": set(), "a.branch_manager": {"moved", "legal"},
    "a.project_manager": {"legal"}, "a.legal": {"legal"}, "a.finance": {"moved", "legal"},
    "a.moved": set(), "a.moved_pm": set(), "b.legal": set(), "executive": {"moved", "legal"}, "admin": set(),
}
COLLECTIONS_SEEN = {"a.branch_manager", "a.finance", "a.agent1", "a.agent2", "a.project_manager", "executive"}


@pytest.mark.parametrize("who", ROLE_USERS)
async def test_access_matrix_milestones_and_collections(api, who: str) -> None:
    """Milestones follow the projects a role sees, plus the ones it owns in its current branch; payments of every
    visible project for the roles that see money (legal does not)."""
    m = await make_matrix_org()
    me = await caller(api, m.users()[who])
    listed = await me.get("/api/milestones?limit=200")
    assert listed.status_code == 200, listed.text
    wanted = {str(m.milestones[k].id) for k in MILESTONE_VISIBLE[who]}
    assert {row["id"] for row in listed.json()["items"]} & {str(x.id) for x in m.milestones.values()} == wanted
    for key, milestone in m.milestones.items():
        read = await me.get(f"/api/milestones/{milestone.id}")
        assert read.status_code == (200 if key in MILESTONE_VISIBLE[who] else 404), (who, key, read.text)
    visible_projects = expected_visible(m, who)["project"]
    for key in ("agent1", "agent2", "moved"):
        project = m.a.records[key]["project"]
        reply = await me.get(f"/api/projects/{project.id}/collections")
        if str(project.id) not in visible_projects:
            assert reply.status_code == 404, (who, key, reply.text)
        elif who in COLLECTIONS_SEEN:
            assert reply.status_code == 200 and len(reply.json()) == 1, (who, key, reply.text)
        else:
            assert reply.status_code == 403, (who, key, reply.text)


async def test_finance_sees_every_project_of_its_branch_but_no_client_note_or_photo(api) -> None:
    m = await make_matrix_org()
    finance = await caller(api, m.a.users["finance"])
    unrelated = m.a.records["agent2"]["project"]  # finance takes no part in it
    seen = await finance.get(f"/api/projects/{unrelated.id}")
    assert seen.status_code == 200 and seen.json()["contract_value"] == "100000.00"
    assert "description" not in seen.json()
    assert (await finance.get(f"/api/clients/{m.a.records['agent2']['client'].id}")).status_code == 404
    assert (await finance.get(f"/api/notes/{m.a.records['agent2']['note_project'].id}")).status_code == 404
    assert (await finance.get("/api/photos")).json()["items"] == []
    other_branch = m.b.records["agent1"]["project"]
    assert (await finance.get(f"/api/projects/{other_branch.id}")).status_code == 404


async def test_who_may_be_told_of_a_project() -> None:
    """`access.can_be_told`: executives anywhere; others in the project's branch, never admins; a project manager
    only of the projects they run."""
    here, there = uuid.uuid4(), uuid.uuid4()
    me, someone = uuid.uuid4(), uuid.uuid4()
    project = {"owner": someone, "manager": me}
    for role in access.ROLES:
        assert access.can_be_told(role, me, here, there) is (role == "executive"), role
        assert access.can_be_told(role, me, here, here, project) is (role != "admin"), role
        assert access.can_be_told(role, me, here, here, {"owner": someone, "manager": None}) is (
            role not in ("admin", "project_manager")), role


async def test_assignable_users_follow_the_kind_of_work(api) -> None:
    """Active users of the record's branch whose role may own that kind of work: a legal milestone goes to legal or
    the branch manager, never finance; a client to an agent or the branch manager. The reassign services check the
    same rule."""
    m = await make_matrix_org()
    a = m.a
    names = {u.id: key for key, u in a.users.items()}
    bm = actor(a.users["branch_manager"])
    legal_milestone, moved_milestone = (await Milestone.select().where(Milestone.id.is_in(
        [m.milestones["legal"].id, m.milestones["moved"].id])).order_by(Milestone.owner_rule))
    moved_client = (await Client.select().where(Client.id == a.records["moved"]["client"].id))[0]
    offered = await access.assignable_users(bm, "milestone", [legal_milestone, moved_milestone])
    assert {names[u["id"]] for u in offered[legal_milestone["id"]]} == {"branch_manager"}  # legal A owns it
    assert {names[u["id"]] for u in offered[moved_milestone["id"]]} == {
        "agent1", "agent2", "project_manager", "branch_manager"}
    clients = await access.assignable_users(bm, "client", [moved_client])
    assert {names[u["id"]] for u in clients[moved_client["id"]]} == {"agent1", "agent2", "branch_manager"}
    assert await access.assignable_users(actor(a.users["agent1"]), "client", [moved_client]) == {}
    manager = await caller(api, a.users["branch_manager"])
    url = f"/api/milestones/{legal_milestone['id']}/reassign"
    refused = await manager.post(url, json={"owner_id": str(a.users["finance"].id), "version": 1})
    assert refused.status_code == 422 and refused.json()["field"] == "owner_id", refused.text
    moved_away = await manager.post(url, json={"owner_id": str(m.moved["a.moved"].id), "version": 1})
    assert moved_away.status_code == 404 and moved_away.json()["field"] == "owner_id"
    taken = await manager.post(url, json={"owner_id": str(a.users["branch_manager"].id), "version": 1})
    assert taken.status_code == 200, taken.text
    url = f"/api/clients/{moved_client['id']}/reassign"
    refused = await manager.post(url, json={"owner_id": str(a.users["legal"].id), "version": 1})
    assert refused.status_code == 422 and refused.json()["field"] == "owner_id"
    assert (await manager.post(url, json={"owner_id": str(a.users["agent2"].id), "version": 1})).status_code == 200


async def test_left_work_is_offered_to_the_old_branch_manager(api) -> None:
    """The moved agent's open work stays in branch A, where its manager (only) finds it, each record with the users
    it may go to; handing everything over empties the list."""
    m = await make_matrix_org()
    a, moved = m.a, m.moved["a.moved"]
    expected = {"client": {a.records["moved"]["client"].id}, "opportunity": {a.records["moved"]["opportunity"].id},
                "project": {a.records["moved"]["project"].id}, "visit": {a.records["moved"]["visit"].id},
                "milestone": {m.milestones["moved"].id}}
    manager = await caller(api, a.users["branch_manager"])
    reply = await manager.get("/api/handover")
    assert reply.status_code == 200, reply.text
    [person] = reply.json()["people"]
    assert person["user_id"] == str(moved.id) and person["reason"] == "moved"
    assert person["branch_name"] == "Branch B" and reply.json()["total"] == person["count"] == 5
    assert {r: {uuid.UUID(i["id"]) for i in items} for r, items in person["work"].items()} == expected
    roles = {r: {u["role"] for i in items for u in i["assignable"]} for r, items in person["work"].items()}
    assert roles["client"] == {"agent", "branch_manager"} and "finance" not in roles["milestone"]
    for who in ("a.agent1", "a.finance", "a.moved", "executive", "admin"):
        other = await caller(api, m.users()[who])
        assert (await other.get("/api/handover")).json() == {"people": [], "total": 0}, who
    b_manager = await caller(api, m.b.users["branch_manager"])
    assert (await b_manager.get("/api/handover")).json()["total"] == 0
    to = str(a.users["agent2"].id)
    # The client first: its open opportunity and planned visit go with it (reassign_client).
    client = person["work"]["client"][0]
    assert (await manager.post(f"/api/clients/{client['id']}/reassign",
                               json={"owner_id": to, "version": client["version"]})).status_code == 200
    left = (await manager.get("/api/handover")).json()["people"][0]["work"]
    assert not left["client"] and not left["opportunity"] and not left["visit"]
    project = left["project"][0]
    assert (await manager.post(f"/api/projects/{project['id']}/reassign",
                               json={"owner_id": to, "version": project["version"]})).status_code == 200
    assert (await manager.get("/api/handover")).json() == {"people": [], "total": 0}  # the milestone went along


async def test_left_work_lists_disabled_accounts_too(api) -> None:
    m = await make_matrix_org()
    a = m.a
    await User.update({User.is_active: False}).where(User.id == a.users["agent2"].id)
    manager = await caller(api, a.users["branch_manager"])
    people = {p["user_id"]: p for p in (await manager.get("/api/handover")).json()["people"]}
    gone = people[str(a.users["agent2"].id)]
    assert gone["reason"] == "disabled" and gone["count"] == 4  # client, opportunity, project, visit
    assert all(u["id"] != str(a.users["agent2"].id) for items in gone["work"].values() for i in items
               for u in i["assignable"])


async def test_own_records_are_only_their_owners(api) -> None:
    """Tokens, devices, push subscriptions and preferences, sync operations: each user's own, whatever the role."""
    m = await make_matrix_org()
    users = [m.a.users["agent1"], m.a.users["branch_manager"], m.org.executive, m.org.admin]
    for user in users:
        device = Device(user=user.id, label="phone")
        await Device.insert(device)
        await ApiToken.insert(ApiToken(user=user.id, name="t", prefix="ipms_x", token_hash=uuid.uuid4().hex))
        await PushSubscription.insert(PushSubscription(device=device.id, user=user.id,
                                                       endpoint=f"https://push.example/{user.id}", p256dh="k",
                                                       auth="a"))
        await PushPreference.insert(PushPreference(user=user.id))
        await SyncOperation.insert(SyncOperation(user=user.id, device_id=device.id, kind="note.create", result="{}"))
    for user in users:
        me = actor(user)
        for resource in ("device", *access.OWN_RESOURCES):
            table = access.table_of(resource)
            for mode in ("read", "write"):
                rows = await access.scope(table.select(table.user), me, resource, mode)  # type: ignore[attr-defined]
                assert [r["user"] for r in rows] == [user.id], (user.role, resource, mode)


REJECT_STATUS = {  # rejecting each milestone (only "legal" is a review): 404 unseen, 403 not theirs, 409 not a review
    "a.agent1": {"legal": 403}, "a.branch_manager": {"moved": 409, "legal": 200}, "a.project_manager": {"legal": 403},
    "a.legal": {"legal": 200}, "a.finance": {"moved": 403, "legal": 403}, "executive": {"moved": 403, "legal": 403},
}


@pytest.mark.parametrize("who", ROLE_USERS)
async def test_access_matrix_reject_review(api, who: str) -> None:
    """Only the legal owner of a review (or the branch manager) rejects it; other milestones are not reviews."""
    m = await make_matrix_org()
    me = await caller(api, m.users()[who])
    for key, milestone in m.milestones.items():
        reply = await me.post(f"/api/milestones/{milestone.id}/reject",
                              json={"comment": "条款需修改", "version": milestone.version})
        assert reply.status_code == REJECT_STATUS.get(who, {}).get(key, 404), (who, key, reply.text)
