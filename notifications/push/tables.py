"""Push subscriptions (one per device), delivery rows (one per alert per subscribed device) and preferences.

Deliveries are rows, so they survive restarts: a worker claims due rows with a lease (`claim`, and
`next_attempt_at` moved past the lease); a worker that dies mid-send leaves rows that become due again.
"""

from piccolo.columns import UUID, Array, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from notifications.tables import InboxItem

DELIVERY_STATES = ("pending", "sent", "failed", "gone")


def _accounts(name: str) -> LazyTableReference:
    return LazyTableReference(name, module_path="backend.accounts.tables")


class PushSubscription(Table, tablename="push_subscriptions"):
    """The browser's PushSubscription for one device record; the endpoint is unique (one browser, one row)."""

    id = UUID(primary_key=True)
    device: ForeignKey[Table] = ForeignKey(_accounts("Device"), on_delete=OnDelete.cascade, null=False, unique=True)
    user: ForeignKey[Table] = ForeignKey(_accounts("User"), on_delete=OnDelete.cascade, null=False, index=True)
    endpoint = Varchar(length=2048, unique=True)
    p256dh = Varchar(length=100)
    auth = Varchar(length=50)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class PushDelivery(Table, tablename="push_deliveries"):
    """pending → sent | failed | gone. `payload` is the JSON the service worker receives (under 3 KB)."""

    id = UUID(primary_key=True)
    subscription = ForeignKey(PushSubscription, on_delete=OnDelete.set_null, null=True, index=True)
    user: ForeignKey[Table] = ForeignKey(_accounts("User"), on_delete=OnDelete.cascade, null=False, index=True)
    inbox_item = ForeignKey(InboxItem, on_delete=OnDelete.cascade, null=True, index=True)
    kind = Varchar(length=32)
    status = Varchar(length=8, default="pending")
    urgency = Varchar(length=8, default="normal")
    topic = Varchar(length=32, default="")
    payload = Text(default="{}")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    claim = UUID(null=True, default=None)
    last_error = Varchar(length=500, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class PushPreference(Table, tablename="push_preferences"):
    """Which kinds do not push (new kinds push until muted), and quiet hours: minutes after local midnight in the
    branch's time zone."""

    id = UUID(primary_key=True)
    user: ForeignKey[Table] = ForeignKey(_accounts("User"), on_delete=OnDelete.cascade, null=False, unique=True)
    muted_kinds = Array(base_column=Varchar(length=32), default=list)
    quiet_start = Integer(null=True, default=None)
    quiet_end = Integer(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
