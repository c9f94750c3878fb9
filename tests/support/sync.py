"""Helpers for sync tests (and the audit table's pull and push entries): devices, ops, and draining pulls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support.factories import Caller, Org, register_device


def note_op(body: str, *, visit: Any = None, client: Any = None, project: Any = None,
            note_id: str | None = None, op_id: str | None = None) -> dict[str, Any]:
    parent = {"visit_id": visit, "client_id": client, "project_id": project}
    data = {"body": body, "id": note_id or str(uuid.uuid4()),
            **{key: str(getattr(value, "id", value)) for key, value in parent.items() if value is not None}}
    return {"op_id": op_id or str(uuid.uuid4()), "kind": "note.create", "data": data}


async def push_one_note(org: Org, me: Caller) -> Any:
    """Registering the device is a change of its own (1), then the note (1)."""
    device_id = await register_device(me)
    return await me.post("/api/sync/push", json={"device_id": device_id, "ops": [
        note_op("离线记录", visit=org.a.records["agent1"]["visit"])]})


async def pull_once(me: Caller) -> Any:
    """Registering the device is a change (1); the pull itself changes only the device's manifest, sync
    bookkeeping that the change log does not hold."""
    return await me.post("/api/sync/pull", json={"device_id": await register_device(me)})


@dataclass
class Replica:
    """What a device holds after applying pull answers the way the field kit does."""

    device_id: str
    cursor: int = 0
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    answers: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, answer: dict[str, Any]) -> None:
        self.answers.append(answer)
        if answer["reset"]:
            self.records = {}
        for resource, rows in answer["records"].items():
            for row in rows:
                self.records.setdefault(resource, {})[row["id"]] = row
        for resource, ids in answer["tombstones"].items():
            for record_id in ids:
                self.records.get(resource, {}).pop(record_id, None)
        self.cursor = answer["cursor"]

    def ids(self, resource: str) -> set[str]:
        return set(self.records.get(resource, {}))

    def all_ids(self) -> set[str]:
        return {record_id for rows in self.records.values() for record_id in rows}


async def sync_down(me: Caller, replica: Replica, limit: int | None = None) -> list[dict[str, Any]]:
    """Pull until `more` is false; returns the answers of this round."""
    round_: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"device_id": replica.device_id, "cursor": replica.cursor}
        if limit:
            params["limit"] = limit
        reply = await me.post("/api/sync/pull", json=params)
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        replica.apply(answer)
        round_.append(answer)
        if not answer["more"]:
            return round_


def tombstoned(answers: list[dict[str, Any]]) -> set[str]:
    return {record_id for answer in answers for ids in answer["tombstones"].values() for record_id in ids}


def delivered(answers: list[dict[str, Any]]) -> set[str]:
    return {row["id"] for answer in answers for rows in answer["records"].values() for row in rows}
