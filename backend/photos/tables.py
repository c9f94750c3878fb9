"""Photos of visits, projects and notes. The files live in the media store, named by these hashes."""

from piccolo.columns import UUID, DoublePrecision, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import Branch, User
from backend.projects.tables import Project
from backend.visits.tables import Note, Visit


class Photo(Table, tablename="photos"):
    """One uploaded photo on exactly one of visit, project or note (the service enforces "exactly one").

    `id` is the UUID the client made before uploading, so a retried upload finds its row instead of adding one.
    `branch` is the parent's branch; `latitude`/`longitude` are set only when the user allowed location.
    """

    id = UUID(primary_key=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    visit = ForeignKey(Visit, on_delete=OnDelete.restrict, null=True, index=True)
    project = ForeignKey(Project, on_delete=OnDelete.restrict, null=True, index=True)
    note = ForeignKey(Note, on_delete=OnDelete.restrict, null=True, index=True)
    display_sha256 = Varchar(length=64)
    display_bytes = Integer()
    display_width = Integer()
    display_height = Integer()
    thumb_sha256 = Varchar(length=64)
    thumb_bytes = Integer()
    thumb_width = Integer()
    thumb_height = Integer()
    original_sha256 = Varchar(length=64, null=True, default=None)
    original_bytes = Integer(null=True, default=None)
    source_sha256 = Varchar(length=64)
    source_format = Varchar(length=8)
    source_bytes = Integer()
    source_width = Integer()
    source_height = Integer()
    taken_at = Timestamptz(null=True, default=None)
    latitude = DoublePrecision(null=True, default=None)
    longitude = DoublePrecision(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
