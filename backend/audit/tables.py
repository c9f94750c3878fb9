"""The append-only change log: audit trail, sync cursor source and webhook feed."""

from piccolo.columns import JSON, UUID, BigSerial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class ChangeLog(Table, tablename="change_log"):
    seq = BigSerial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor_id = UUID(null=True, default=None, index=True)
    action = Varchar(length=32)
    table_name = Varchar(length=64, index=True)
    row_id = Varchar(length=64, index=True)
    changes = JSON(default="{}")
    branch_id = UUID(null=True, default=None, index=True)
    owner_id = UUID(null=True, default=None)


class ClaimedId(Table, tablename="claimed_ids"):
    """Ids that clients made for their own creates (offline notes, photos, devices): kept after the record is
    deleted, so a reused id is refused the same way whoever holds it (backend.service.taken_id)."""

    id = UUID(primary_key=True)
    resource = Varchar(length=32)
    creator = UUID(index=True)
    created_at = Timestamptz(default=TimestamptzNow())
