"""Per-device manifests: which copy of which record each device holds, one generation of undo deep.

Only `backend.sync.services` calls these, inside its write transaction (they lock and change the device's rows).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from backend import db, records
from backend.sync.tables import SyncDevice, SyncManifest

Key = tuple[str, uuid.UUID]
ROWS_PER_INSERT = 100  # 7 values each, well under SQLite's parameter limit


@dataclass
class DeviceState:
    generation: int
    base: int


def manifest_id(device_id: uuid.UUID, key: Key) -> uuid.UUID:
    return uuid.uuid5(device_id, f"{key[0]}:{key[1]}")


async def lock_device(device_id: uuid.UUID) -> DeviceState:
    """The device's sync state, created on first use and locked until commit (PostgreSQL; SQLite's write lock
    already serialises writers), so one device's pulls and pushes run one at a time."""
    await SyncDevice.insert(SyncDevice(id=device_id, device=device_id)).on_conflict(action="DO NOTHING")
    query = SyncDevice.select(SyncDevice.generation, SyncDevice.base).where(SyncDevice.id == device_id)
    if db.is_postgres():
        query = query.lock_rows("UPDATE")
    row = (await query)[0]
    return DeviceState(generation=row["generation"], base=row["base"])


async def forget(device_id: uuid.UUID) -> None:
    await SyncManifest.delete().where(SyncManifest.device == device_id)


async def settle(device_id: uuid.UUID) -> None:
    """The device confirmed the last generation: rows kept only to undo it (tombstones sent) can go."""
    await SyncManifest.delete().where((SyncManifest.device == device_id) & (SyncManifest.digest == ""))


async def undo(device_id: uuid.UUID, state: DeviceState) -> None:
    """The device never received generation `state.generation`: put back what it held before."""
    await SyncManifest.update({SyncManifest.digest: SyncManifest.previous, SyncManifest.previous: "",
                               SyncManifest.generation: state.base}).where(
        (SyncManifest.device == device_id) & (SyncManifest.generation == state.generation))
    await settle(device_id)


async def held(device_id: uuid.UUID) -> dict[Key, str]:
    rows = await SyncManifest.select(SyncManifest.resource, SyncManifest.record_id, SyncManifest.digest).where(
        (SyncManifest.device == device_id) & (SyncManifest.digest != ""))
    return {(row["resource"], _uuid(row["record_id"])): row["digest"] for row in rows}


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def record_sent(device_id: uuid.UUID, generation: int, sent: dict[Key, str], before: dict[Key, str]) -> None:
    """Store what the device holds after this answer: `sent` maps each record sent to its digest ("" for a
    tombstone); `before` is what it held, kept in `previous` for `undo`."""
    rows = [(manifest_id(device_id, key), device_id, key[0], key[1], digest, before.get(key, ""), generation)
            for key, digest in sent.items()]
    table = SyncManifest._meta.tablename
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start:start + ROWS_PER_INSERT]
        values = ", ".join("({}, {}, {}, {}, {}, {}, {})" for _ in chunk)
        await SyncManifest.raw(
            f"INSERT INTO {table} (id, device, resource, record_id, digest, previous, generation) VALUES {values} "
            "ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, previous = excluded.previous, "
            "generation = excluded.generation",
            *(value for row in chunk for value in row))


async def advance(device_id: uuid.UUID, generation: int, base: int) -> None:
    await SyncDevice.update({SyncDevice.generation: generation, SyncDevice.base: base,
                             SyncDevice.pulled_at: records.now()}).where(SyncDevice.id == device_id)

