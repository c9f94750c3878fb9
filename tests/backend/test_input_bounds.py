"""Every input is bounded: the OpenAPI document states a bound for every request property, and values past
a bound (integers past 64 bits, `1e20`, negative limits, oversize lists, NUL characters) answer 422 naming the
field on SQLite and PostgreSQL alike, never 500."""

from __future__ import annotations

import io
import uuid
from typing import Any

import msgspec
import pytest
from piccolo.columns import BigInt, Integer, Varchar
from piccolo.table import Table
from PIL import Image

from backend.accounts.schemas import (
    BranchCreate,
    BranchUpdate,
    DeviceTouch,
    RegionCreate,
    RegionUpdate,
    TokenCreate,
    UserCreate,
    UserUpdate,
)
from backend.accounts.tables import ApiToken, Branch, Device, Region, User
from backend.audit.tables import ChangeLog
from backend.clients.schemas import (
    ClientCreate,
    ClientUpdate,
    OpportunityCreate,
    OpportunityMove,
    OpportunityUpdate,
)
from backend.clients.tables import Client, Opportunity
from backend.lifecycle.definitions import MilestoneDef
from backend.lifecycle.schemas import CollectionCreate, TemplateSave
from backend.lifecycle.tables import Collection, Milestone
from backend.projects.schemas import BusinessLineCreate, BusinessLineUpdate, ProjectCreate, ProjectUpdate
from backend.projects.tables import BusinessLine, Project, TemplateVersion
from backend.push.schemas import SubscriptionIn, SubscriptionKeys
from backend.visits.schemas import NoteCreate, NoteUpdate, VisitCreate, VisitUpdate
from backend.visits.tables import Note, Visit
from notifications.push.tables import PushSubscription
from tests.support.factories import caller, make_org

pytestmark = pytest.mark.anyio

BIG = 2**63  # one past the largest 64-bit integer the databases hold
HUGE = 2**64 + 1
BOUNDED_FORMATS = {"uuid", "date-time", "date", "binary"}  # a binary part: the upload limit (413) bounds it


def _unbounded(schema: dict[str, Any], components: dict[str, Any], where: str, seen: frozenset[str],
               inherited: dict[str, Any]) -> list[str]:
    """The places under `schema` that a client could fill without limit. Bounds written beside a `oneOf` apply
    to each of its arms, so they are passed down (`inherited`)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen, schema = seen | {name}, {**components[name], **{k: v for k, v in schema.items() if k != "$ref"}}
    here = {**inherited, **{k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "allOf")}}
    problems: list[str] = []
    for combinator in ("oneOf", "anyOf", "allOf"):
        for arm in schema.get(combinator, []):
            problems += _unbounded(arm, components, where, seen, here if combinator != "allOf" else {})
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "enum" in here or "const" in here:
        return problems
    if "string" in kinds and "maxLength" not in here and here.get("format") not in BOUNDED_FORMATS:
        problems.append(f"{where}: string without maxLength")
    if kinds & {"integer", "number"} and "maximum" not in here and "exclusiveMaximum" not in here:
        problems.append(f"{where}: {kind} without maximum")
    if "array" in kinds:
        if "maxItems" not in here:
            problems.append(f"{where}: array without maxItems")
        if "items" in schema:
            problems += _unbounded(schema["items"], components, f"{where}[]", seen, {})
        for i, item in enumerate(schema.get("prefixItems", [])):
            problems += _unbounded(item, components, f"{where}[{i}]", seen, {})
    for name, sub in schema.get("properties", {}).items():
        problems += _unbounded(sub, components, f"{where}.{name}", seen, {})
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        if "maxProperties" not in here:
            problems.append(f"{where}: object without maxProperties")
        keys = schema.get("propertyNames")
        if keys is None:
            problems.append(f"{where}: object keys without propertyNames")
        else:
            problems += _unbounded(keys, components, f"{where}{{key}}", seen, {})
        problems += _unbounded(extra, components, f"{where}{{}}", seen, {})
    return problems


def unbounded_request_properties(document: dict[str, Any]) -> list[str]:
    components = document.get("components", {}).get("schemas", {})
    problems: list[str] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                where = f"{label} {parameter['in']} {parameter['name']}"
                problems += _unbounded(parameter.get("schema", {}), components, where, frozenset(), {})
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                problems += _unbounded(content.get("schema", {}), components, f"{label} body ({media_type})",
                                       frozenset(), {})
    return problems


def test_unbounded_walker_finds_missing_bounds() -> None:
    document = {"paths": {"/x": {"post": {
        "parameters": [{"in": "query", "name": "n", "schema": {"type": "integer", "minimum": 0}}],
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}},
    }}}, "components": {"schemas": {"B": {"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string"}},
        "name": {"oneOf": [{"type": "string"}, {"type": "null"}], "maxLength": 5},
        "kinds": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "self": {"$ref": "#/components/schemas/B"},
    }}}}}
    assert unbounded_request_properties(document) == [
        "POST /x query n: integer without maximum",
        "POST /x body (application/json).tags: array without maxItems",
        "POST /x body (application/json).tags[]: string without maxLength",
        "POST /x body (application/json).kinds: object without maxProperties",
        "POST /x body (application/json).kinds: object keys without propertyNames",
    ]


async def test_openapi_every_request_property_is_bounded(api) -> None:
    reply = await api.get("/schema/openapi.json")
    assert reply.status_code == 200
    document = reply.json()
    assert len(document["paths"]) > 40
    assert unbounded_request_properties(document) == []


def _max_length(kind: Any) -> int | None:
    """The longest string a msgspec field type admits (None: no string, or unbounded)."""
    if isinstance(kind, msgspec.inspect.Metadata):
        kind = kind.type
    if isinstance(kind, msgspec.inspect.UnionType):
        lengths = [_max_length(arm) for arm in kind.types]
        return max((n for n in lengths if n is not None), default=None)
    if isinstance(kind, msgspec.inspect.StrType):
        return kind.max_length if kind.max_length is not None else 10**9
    return None


def _maximum(kind: Any) -> int | None:
    """The largest integer a msgspec field type admits (None: no integer)."""
    if isinstance(kind, msgspec.inspect.Metadata):
        kind = kind.type
    if isinstance(kind, msgspec.inspect.UnionType):
        highs = [_maximum(arm) for arm in kind.types]
        return max((n for n in highs if n is not None), default=None)
    if isinstance(kind, msgspec.inspect.IntType):
        return kind.le if kind.le is not None else 2**64
    return None


COLUMN_MAXIMUM = {Integer: 2**31 - 1, BigInt: 2**63 - 1}


# Request bodies and the tables their fields are written to (a field of the same name, or `<name>` for `<name>_id`).
WRITES: list[tuple[type[msgspec.Struct], type[Table]]] = [
    (ClientCreate, Client), (ClientUpdate, Client), (OpportunityCreate, Opportunity),
    (OpportunityUpdate, Opportunity), (OpportunityMove, Opportunity), (UserCreate, User), (UserUpdate, User),
    (RegionCreate, Region), (RegionUpdate, Region), (BranchCreate, Branch), (BranchUpdate, Branch),
    (TokenCreate, ApiToken), (DeviceTouch, Device), (ProjectCreate, Project), (ProjectUpdate, Project),
    (BusinessLineCreate, BusinessLine), (BusinessLineUpdate, BusinessLine), (VisitCreate, Visit),
    (VisitUpdate, Visit), (NoteCreate, Note), (NoteUpdate, Note), (CollectionCreate, Collection),
    (TemplateSave, TemplateVersion), (SubscriptionIn, PushSubscription), (SubscriptionKeys, PushSubscription),
    (MilestoneDef, Milestone),
]


@pytest.mark.parametrize(("body", "table"), WRITES, ids=[b.__name__ for b, _ in WRITES])
def test_request_values_fit_their_columns(body: type[msgspec.Struct], table: type[Table]) -> None:
    """A string longer than its column, or an integer past it, passes SQLite and is a 500 on PostgreSQL: the body
    must refuse it first."""
    columns = {c._meta.name: c for c in table._meta.columns}
    info = msgspec.inspect.type_info(body)
    assert isinstance(info, msgspec.inspect.StructType)
    checked = 0
    for field in info.fields:
        column = columns.get(field.name)
        if column is None:
            continue
        longest, highest = _max_length(field.type), _maximum(field.type)
        checked += longest is not None or highest is not None
        if isinstance(column, Varchar) and longest is not None:
            assert longest <= column.length, f"{body.__name__}.{field.name}: {longest} > {column.length}"
        if type(column) in COLUMN_MAXIMUM and highest is not None:
            limit = COLUMN_MAXIMUM[type(column)]
            assert highest <= limit, f"{body.__name__}.{field.name}: {highest} > {limit}"
    assert checked, f"no field of {body.__name__} matched a column of {table.__name__}"


DEVICE = str(uuid.uuid4())
# (method, path, JSON body, the field the 422 names)
CASES: list[tuple[str, str, Any, str]] = [
    ("GET", f"/api/clients?offset={BIG}", None, "offset"),
    ("GET", "/api/clients?offset=1e20", None, "offset"),
    ("GET", "/api/clients?limit=-1", None, "limit"),
    ("GET", f"/api/clients?limit={BIG}", None, "limit"),
    ("GET", f"/api/projects?offset={HUGE}", None, "offset"),
    ("GET", f"/api/visits?offset={BIG}", None, "offset"),
    ("GET", f"/api/users?offset={BIG}", None, "offset"),
    ("GET", "/api/milestones?offset=1e20", None, "offset"),
    ("GET", f"/api/milestones?offset={BIG}", None, "offset"),
    ("GET", "/api/milestones?limit=-1", None, "limit"),
    ("GET", "/api/audit?after_seq=1e20", None, "after_seq"),
    ("GET", f"/api/audit?after_seq={BIG}", None, "after_seq"),
    ("GET", "/api/audit?limit=-1", None, "limit"),
    ("GET", f"/api/inbox?offset={BIG}", None, "offset"),
    ("GET", "/api/inbox?offset=1e20", None, "offset"),
    ("GET", f"/api/photos?offset={BIG}", None, "offset"),
    ("POST", "/api/sync/pull", {"device_id": DEVICE, "cursor": BIG}, "cursor"),
    ("POST", "/api/sync/pull", {"device_id": DEVICE, "cursor": 1e20}, "cursor"),
    ("POST", "/api/sync/pull", {"device_id": DEVICE, "limit": -1}, "limit"),
    ("GET", "/api/clients?q=a%00b", None, "q"),
    ("GET", "/api/audit?table=a%00b", None, "table"),
    ("POST", "/api/clients", {"name": "x", "budget_min": HUGE}, "budget_min"),
    ("POST", "/api/clients", {"name": "x", "budget_max": 2**31}, "budget_max"),  # an `integer` column
    ("POST", "/api/clients", {"name": "a\x00b"}, "name"),
    ("POST", "/api/clients", {"name": "x", "tags": [f"t{i}" for i in range(21)]}, "tags"),
    ("PATCH", "{client}", {"version": BIG}, "version"),
    ("PATCH", "{client}", {"version": 1, "private_notes": "\x00"}, "private_notes"),
    ("POST", "{client}/reassign", {"owner_id": str(uuid.uuid4()), "version": HUGE}, "version"),
    ("POST", "{project}/collections", {"amount": "1e20", "received_on": "2026-01-05"}, "amount"),
    ("POST", "{project}/collections", {"amount": "1e30", "received_on": "2026-01-05"}, "amount"),
    ("POST", "{project}/advance", {"version": BIG}, "version"),
    ("POST", "{project}/nudge", {"message": "\x00"}, "message"),
    ("PUT", "/api/push/preferences", {"kinds": {f"kind{i}": True for i in range(51)}}, "kinds"),
    ("PUT", "/api/push/preferences", {"kinds": {"k" * 65: True}}, "kinds"),
    ("POST", "/api/sync/push", {"device_id": DEVICE, "ops": [
        {"op_id": str(uuid.uuid4()), "kind": "note.create", "data": {}} for _ in range(251)]}, "ops"),
    # times whose UTC form Python cannot make, or that deadline arithmetic would run off the calendar with
    ("GET", "/api/audit?since=0001-01-01T00:00:00%2B01:00", None, "since"),
    ("GET", "/api/audit?until=9999-12-31T23:59:59-01:00", None, "until"),
    ("POST", "/api/visits", {"client_id": "{client_id}", "address": "a", "scheduled_at": "0001-01-01T00:00:00+01:00"},
     "scheduled_at"),
    ("PATCH", "{visit}", {"version": 1, "scheduled_at": "9999-12-31T23:59:59-01:00"}, "scheduled_at"),
    ("PATCH", "{visit}", {"version": 1, "scheduled_at": "9999-12-31T23:59:59Z"}, "scheduled_at"),
    ("POST", "/api/inbox/read-all", {"up_to": "0001-01-01T00:00:00+14:00"}, "up_to"),
    ("POST", "/api/sync/push", {"device_id": DEVICE, "ops": [
        {"op_id": str(uuid.uuid4()), "kind": "note.create", "data": {f"k{i}": 1 for i in range(51)}}]}, "ops[0].data"),
]
ADMIN_CASES: list[tuple[str, str, Any, str]] = [
    ("PUT", "{line}/template", {"based_on": BIG, "definition": {"stages": []}}, "based_on"),
    ("PUT", "{line}/template", {"based_on": 1, "definition": {"stages": [{}] * 21}}, "definition.stages"),
    ("PUT", "{branch}/calendar", {"version": BIG}, "version"),
    ("PUT", "{branch}/calendar", {"holidays": ["2026-01-01"] * 1001}, "holidays"),
    ("PUT", "{branch}/calendar", {"working_days": [1] * 8}, "working_days"),
]


def _fill(value: Any, places: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, path in places.items():
            value = value.replace(key, path)
    if isinstance(value, dict):
        return {k: _fill(v, places) for k, v in value.items()}
    return value


async def _expect_422(me: Any, method: str, path: str, body: Any, field: str, places: dict[str, str]) -> None:
    before = await ChangeLog.count()
    reply = await me.request(method, _fill(path, places), json=_fill(body, places))
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field, reply.json()
    assert "regex" not in reply.json()["message"], reply.json()  # a NUL is named as such, not by a pattern
    assert await ChangeLog.count() == before


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} {c[1][:48]} {c[3]}" for c in CASES])
async def test_value_past_its_bound_is_422_naming_the_field(api, case) -> None:
    org = await make_org()
    mine = org.a.records["agent1"]
    places = {"{client}": f"/api/clients/{mine['client'].id}", "{project}": f"/api/projects/{mine['project'].id}",
              "{visit}": f"/api/visits/{mine['visit'].id}", "{client_id}": str(mine["client"].id)}
    me = await caller(api, org.a.users["branch_manager"])
    await _expect_422(me, *case, places)


@pytest.mark.parametrize("case", ADMIN_CASES, ids=[f"{c[0]} {c[1]} {c[3]}" for c in ADMIN_CASES])
async def test_admin_value_past_its_bound_is_422_naming_the_field(api, case) -> None:
    org = await make_org()
    places = {"{line}": f"/api/business-lines/{org.line.id}", "{branch}": f"/api/branches/{org.a.branch.id}"}
    me = await caller(api, org.admin)
    await _expect_422(me, *case, places)


@pytest.mark.parametrize("taken_at", ["0001-01-01T00:00:00", "9999-12-31T23:59:59-01:00"])
async def test_photo_capture_time_without_utc_form_is_422(api, taken_at: str) -> None:
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG")
    form = {"id": str(uuid.uuid4()), "visit_id": str(org.a.records["agent1"]["visit"].id), "taken_at": taken_at}
    reply = await me.post("/api/photos", data=form, files={"file": ("p.jpg", buffer.getvalue(), "image/jpeg")})
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == "taken_at"
