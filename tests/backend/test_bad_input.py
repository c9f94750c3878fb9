"""Bad input gets a clear 4xx naming the field, and nothing is written."""

from __future__ import annotations

import pytest

from backend.audit.tables import ChangeLog
from tests.support.factories import caller, make_org

pytestmark = pytest.mark.anyio

CLIENT = "/api/clients"
LONG = "名" * 101

# (method, path or "{client}" placeholder, JSON body or raw bytes, expected status, expected field)
CASES = [
    ("POST", CLIENT, {"name": 42}, 422, "name"),  # wrong type
    ("POST", CLIENT, {}, 422, "name"),  # missing field
    ("POST", CLIENT, {"name": LONG}, 422, "name"),  # oversize string
    ("POST", CLIENT, {"name": "x", "intent": "steal"}, 422, "intent"),  # unknown enum value
    ("POST", CLIENT, {"name": "x", "owner_id": "not-a-uuid"}, 422, "owner_id"),  # malformed UUID
    ("POST", CLIENT, {"name": "x", "tags": ["a" * 33]}, 422, "tags[0]"),
    ("POST", CLIENT, {"name": "x", "budget_min": -1}, 422, "budget_min"),
    ("POST", CLIENT, {"name": "x", "budget_min": 500, "budget_max": 100}, 422, "budget_min"),
    ("POST", CLIENT, {"name": "x", "is_admin": True}, 422, "is_admin"),  # unknown field
    ("POST", CLIENT, b'{"name": "x",', 400, None),  # invalid JSON: not a validation failure but a broken body
    ("PATCH", "{client}", {"name": "x"}, 422, "version"),  # no version
    ("PATCH", "{client}", {"version": "one"}, 422, "version"),
    ("PATCH", "/api/clients/not-a-uuid", {"version": 1}, 404, None),  # a malformed id in the URL names no record
    ("POST", "/api/opportunities", {"client_id": "00000000-0000-0000-0000-000000000001", "title": "x"}, 404,
     "client_id"),  # guessed id
    ("POST", "/api/opportunities", {"client_id": "{client}", "title": "x", "value": "-5"}, 422, "value"),
    ("POST", "/api/opportunities", {"client_id": "{client}", "title": "x", "value": "1.234"}, 422, "value"),
    ("POST", "/api/opportunities", {"client_id": "{client}", "title": "x", "value": "lots"}, 422, "value"),
    ("POST", "/api/visits", {"client_id": "{client}", "address": "a", "scheduled_at": "tomorrow"}, 422,
     "scheduled_at"),
    ("POST", "/api/visits", {"client_id": "{client}", "address": "a", "scheduled_at": "2026-12-01T10:00:00"}, 422,
     "scheduled_at"),  # no time zone
    ("POST", "/api/notes", {"body": "x"}, 422, "client_id"),  # no parent
    ("POST", "/api/notes", {"body": ""}, 422, "body"),
    ("GET", "/api/clients?limit=1000", None, 422, None),
    ("GET", "/api/clients?owner_id=zzz", None, 422, "owner_id"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} {c[1]} {c[4]}" for c in CASES])
async def test_bad_input_is_rejected_and_nothing_written(api, case) -> None:
    org = await make_org()
    client_id = str(org.a.records["agent1"]["client"].id)
    method, path, body, status, field = case
    path = path.replace("{client}", f"{CLIENT}/{client_id}")
    me = await caller(api, org.a.users["agent1"])
    if isinstance(body, dict):
        body = {k: (v.replace("{client}", client_id) if isinstance(v, str) else v) for k, v in body.items()}
    log_before = await ChangeLog.count()
    if isinstance(body, bytes):
        reply = await me.request(method, path, content=body, headers={"content-type": "application/json"})
    else:
        reply = await me.request(method, path, json=body)
    assert reply.status_code == status, reply.text
    payload = reply.json()
    assert set(payload) >= {"error", "message", "field"} and payload["message"]
    if field:
        assert payload["field"] == field, payload
        assert field.split("[")[0] in payload["message"] or status in (404, 422), payload
    assert await ChangeLog.count() == log_before
