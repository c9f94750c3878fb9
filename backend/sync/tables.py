"""Sync bookkeeping: what each device was last given (its manifest) and which client operations were applied."""

from piccolo.columns import JSON, UUID, BigInt, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import Device, User


class SyncDevice(Table, tablename="sync_devices"):
    """Per device: the manifest generation last handed out (`generation`) and the one it was built on (`base`).

    A client that never received the last pull's answer comes back with `base`; that generation's changes are
    undone and the pull is answered again. Any other cursor starts over (`reset`).
    """

    id = UUID(primary_key=True)  # the device's id
    device = ForeignKey(Device, on_delete=OnDelete.cascade, null=False, unique=True)
    generation = BigInt(default=0)
    base = BigInt(default=0)
    pulled_at = Timestamptz(null=True, default=None)


class SyncManifest(Table, tablename="sync_manifest"):
    """One record a device holds: a digest of the exact copy it was sent ("" once a tombstone was sent).

    `id` is uuid5(device, "resource:record"), so an upsert needs no composite key. `previous` is what the device
    held before generation `generation` touched the row ("" for nothing): enough to undo one lost answer.
    """

    id = UUID(primary_key=True)
    device = ForeignKey(Device, on_delete=OnDelete.cascade, null=False, index=True)
    resource = Varchar(length=32)
    record_id = UUID()
    digest = Varchar(length=16, default="")
    previous = Varchar(length=16, default="")
    generation = BigInt(default=0)


class SyncOperation(Table, tablename="sync_operations"):
    """A pushed operation that took effect, keyed by the client's op id and written in the same transaction as
    its effect: a replay finds it and is answered `duplicate` with the stored `result`. Rejected and conflicting
    operations leave no row (nothing happened; the client may send them again)."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    device_id = UUID(null=True, default=None)  # not a foreign key: forgetting a device must not forget its ops
    kind = Varchar(length=32)
    result = JSON(default="{}")
    applied_at = Timestamptz(default=TimestamptzNow())
