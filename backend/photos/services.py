"""Photos of visits, projects and notes: idempotent ingest, scoped reads, the files to serve, garbage collection.

Order of an upload: authorise the parent → `media.ingest` in a worker thread → variant files into the media
store → row and change-log entry in one write transaction. A crash between the last two leaves only orphan
files, which `collect_media_garbage` removes after its grace period; a rejected file stores nothing.

Location is personal data, kept only with the user's consent: latitude/longitude form fields are sent by the
client only when the user allowed location, so their presence is consent for those values; the file's own EXIF
GPS is used only when the upload also says `location_allowed=true`; `location_allowed=false` stores none at all.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import uuid
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from backend import access, db, records
from backend.access import Actor
from backend.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, UnsupportedMediaType
from backend.photos.schemas import Parent, PhotoOut
from backend.photos.tables import Photo
from backend.service import ListQuery, Page, Resource
from backend.settings import Settings
from media.budget import MemoryBudget
from media.errors import MediaError, UnsupportedMedia
from media.ingest import IngestResult, ingest
from media.store import DEFAULT_GRACE_SECONDS, GcReport, MediaStore

log = logging.getLogger("ipms.photos")

def _urls(row: dict[str, Any]) -> dict[str, Any]:
    base = f"/api/photos/{row['id']}"
    return {"urls": {"display": f"{base}/display", "thumbnail": f"{base}/thumbnail",
                     "original": f"{base}/original" if row.get("original_sha256") else None}}


PHOTO_SPEC = records.Spec(
    resource="photo", table=Photo,
    filters={"visit": uuid.UUID, "project": uuid.UUID, "note": uuid.UUID, "owner": uuid.UUID}, computed=_urls,
)
PHOTOS = Resource(PHOTO_SPEC, PhotoOut)
VARIANT_COLUMNS = {"display": "display_sha256", "thumbnail": "thumb_sha256", "original": "original_sha256"}
EARLIEST_CAPTURE = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
CLOCK_SKEW = dt.timedelta(days=1)
# How many photos decode at once is decided by memory (`image_memory_budget`), not by a count. This only keeps
# uploads waiting for their turn from taking every worker thread of the process (anyio's default pool of 40).
INGEST_THREADS = anyio.CapacityLimiter(16)


@dataclass(frozen=True)
class IngestedPhoto:
    photo: PhotoOut
    created: bool  # False: this id was uploaded before and `photo` is that record


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path


@dataclass(frozen=True)
class MissingFile:
    photo_id: uuid.UUID
    variant: str
    sha256: str


@dataclass(frozen=True)
class MediaGcResult:
    report: GcReport
    missing: list[MissingFile]


def photo_to_api(actor: Actor, row: dict[str, Any]) -> PhotoOut:
    return PHOTOS.output(actor, row)


async def ingest_photo(
    actor: Actor,
    settings: Settings,
    *,
    photo_id: uuid.UUID,
    parent: Parent,
    data: bytes,
    taken_at: dt.datetime | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    location_allowed: bool | None = None,
) -> IngestedPhoto:
    """Store a photo once per `photo_id`: a retry (also a concurrent one) returns the first upload's record."""
    if not access.can(actor, "create", "photo"):
        raise Forbidden("Your role may not add photos")
    _check_location(latitude, longitude)
    existing = await records.fetch(PHOTO_SPEC, photo_id)
    if existing is not None:
        return IngestedPhoto(await _earlier_upload(actor, existing, parent), created=False)
    branch_id, zone = await _authorize_parent(actor, parent)
    taken_at = _capture_time(taken_at, zone)
    result = await _process(settings, data, zone)
    await anyio.to_thread.run_sync(_store_files, settings.media_dir, result)
    if location_allowed is False:
        latitude = longitude = None
    elif latitude is None and location_allowed:
        latitude, longitude = result.latitude, result.longitude
    values = {
        "id": photo_id, "branch": branch_id, "owner": actor.id, parent.kind: parent.id,
        **_variant_columns("display", "display", result), **_variant_columns("thumb", "thumbnail", result),
        "original_sha256": result.original.sha256 if result.original else None,
        "original_bytes": len(result.original.data) if result.original else None,
        "source_sha256": result.source_sha256, "source_format": result.source_format, "source_bytes": len(data),
        "source_width": result.source_width, "source_height": result.source_height,
        "taken_at": taken_at or _plausible(result.taken_at), "latitude": latitude, "longitude": longitude,
    }
    try:
        async with db.write_transaction():
            row = await records.insert_audited(actor, PHOTO_SPEC, values)
    except Conflict:
        existing = await records.fetch(PHOTO_SPEC, photo_id)
        if existing is None:
            raise
        return IngestedPhoto(await _earlier_upload(actor, existing, parent), created=False)  # lost the race
    return IngestedPhoto(photo_to_api(actor, row), created=True)


def _variant_columns(prefix: str, name: str, result: IngestResult) -> dict[str, Any]:
    variant = getattr(result, name)
    return {f"{prefix}_sha256": variant.sha256, f"{prefix}_bytes": len(variant.data),
            f"{prefix}_width": variant.width, f"{prefix}_height": variant.height}


def _check_location(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        raise Invalid("Send latitude and longitude together", field=missing)
    if latitude is not None and not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise Invalid("latitude must be between -90 and 90", field="latitude")
    if longitude is not None and not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise Invalid("longitude must be between -180 and 180", field="longitude")


def _capture_time(value: dt.datetime | None, zone: dt.tzinfo) -> dt.datetime | None:
    """The client's capture time (naive = the branch's wall time), in UTC; impossible times are refused."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC form
        value = None
    if _plausible(value) is None:
        raise Invalid("taken_at must lie between 1990 and now", field="taken_at")
    return value


def _plausible(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or not EARLIEST_CAPTURE <= value <= records.now() + CLOCK_SKEW:
        return None
    return value


async def _earlier_upload(actor: Actor, existing: dict[str, Any], parent: Parent) -> PhotoOut:
    """A repeated id is a retry of the same upload, or a client bug we must not paper over."""
    if existing["owner"] != actor.id:
        raise Conflict("That photo id is already taken; make a new one", field="id")
    if existing[parent.kind] != parent.id:
        raise Conflict("That photo id was already used for a photo of another record", field="id")
    await access.authorize(actor, "read", "photo", existing["id"])
    return photo_to_api(actor, existing)


async def _authorize_parent(actor: Actor, parent: Parent) -> tuple[uuid.UUID, dt.tzinfo]:
    """The parent must be visible (a note: editable, since its photos are part of it); returns branch and zone."""
    field = f"{parent.kind}_id"
    try:
        await access.authorize(actor, "update" if parent.kind == "note" else "read", parent.kind, parent.id)
    except NotFound as exc:
        raise NotFound(exc.message, field=field) from None
    except Forbidden:
        raise Forbidden("Only who may edit a note may add photos to it", field=field) from None
    table = access.TABLES[parent.kind]
    row = await table.select(
        table.branch, table.branch.timezone.as_alias("timezone")  # type: ignore[attr-defined]
    ).where(table._meta.primary_key == parent.id).first()
    if row is None:
        raise NotFound(f"No {parent.kind} with id {parent.id}", field=field)
    return row["branch"], _zone(row["timezone"])


def _zone(name: str | None) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


@functools.cache
def image_memory_budget(megabytes: int) -> MemoryBudget:
    """The process-wide decoding budget (one per configured size, so every request of the process shares it)."""
    return MemoryBudget(megabytes * 1024 * 1024)


async def _process(settings: Settings, data: bytes, zone: dt.tzinfo) -> IngestResult:
    work = functools.partial(
        ingest, data, max_pixels=settings.image_max_pixels, keep_original=settings.keep_originals, exif_tz=zone,
        budget=image_memory_budget(settings.image_memory_budget_mb),
    )
    try:
        return await anyio.to_thread.run_sync(work, limiter=INGEST_THREADS)
    except MediaError as exc:
        raise _rejected(exc) from None


def _rejected(exc: MediaError) -> ServiceError:
    """415 for what is not a photo we take; 422 for a photo we cannot use (corrupt, empty, too many pixels)."""
    error: ServiceError
    if isinstance(exc, UnsupportedMedia):
        error = UnsupportedMediaType(exc.message, field="file")
    else:
        error = Invalid(exc.message, field="file")
    error.code = exc.code  # the library's own reason: unsupported_media_type, corrupt_image, image_too_large, …
    return error


def _store_files(media_dir: Path, result: IngestResult) -> None:
    store = MediaStore(media_dir)
    for variant in (result.display, result.thumbnail, result.original):
        if variant is not None:
            store.put(variant.data)


async def get_photo(actor: Actor, photo_id: uuid.UUID) -> PhotoOut:
    return await PHOTOS.get(actor, photo_id)


async def list_photos(
    actor: Actor, *, filters: dict[str, Any] | None = None, limit: int = 50, offset: int = 0
) -> Page[PhotoOut]:
    return await PHOTOS.list(actor, ListQuery(filters=filters or {}, limit=limit, offset=offset))


async def delete_photo(actor: Actor, photo_id: uuid.UUID, reason: str = "") -> None:
    """Removes the row (its author or a branch manager; the reason goes in the change log); the files stay until
    `ipms media gc` (another photo may have the same content)."""
    await records.delete_record(actor, PHOTO_SPEC, photo_id, reason.strip())


async def deletable(actor: Actor, photo_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these photos the actor may delete (its author, or a branch manager): one scoped query."""
    if not photo_ids or not access.can(actor, "delete", "photo"):
        return set()
    rows = await access.scope(Photo.select(Photo.id).where(Photo.id.is_in(photo_ids)), actor, "photo", "write")
    return {row["id"] for row in rows}


async def photo_file(actor: Actor, settings: Settings, photo_id: uuid.UUID, variant: str) -> StoredFile:
    """The stored file of one variant, after `authorize`; the original only while `keep_originals` is on."""
    column = VARIANT_COLUMNS.get(variant)
    if column is None or (variant == "original" and not settings.keep_originals):
        raise NotFound(f"Photos have no {variant!r} copy")
    await access.authorize(actor, "read", "photo", photo_id)
    row = await Photo.select(getattr(Photo, column)).where(Photo.id == photo_id).first()
    sha256 = row[column] if row else None
    if sha256 is None:
        raise NotFound(f"This photo has no {variant} copy")
    path = MediaStore(settings.media_dir).path_for(sha256)
    if not await anyio.to_thread.run_sync(path.is_file):
        log.error("Photo %s: %s file %s is missing (see `ipms media gc`)", photo_id, variant, sha256)
        raise NotFound(f"The {variant} file of this photo is missing")
    return StoredFile(sha256, path)


async def collect_media_garbage(
    settings: Settings, *, dry_run: bool = False, grace_seconds: float = DEFAULT_GRACE_SECONDS,
    now: float | None = None,
) -> MediaGcResult:
    """Remove stored files no photo references (once older than the grace period); list rows whose files are gone.

    Rows are read before the files are scanned: a file whose row commits meanwhile is younger than the grace
    period (storing refreshes its mtime), so it stays.
    """
    rows = await Photo.select(Photo.id, *(getattr(Photo, column) for column in VARIANT_COLUMNS.values()))
    referenced = {row[column] for row in rows for column in VARIANT_COLUMNS.values() if row[column]}
    store = MediaStore(settings.media_dir)
    report = await anyio.to_thread.run_sync(
        functools.partial(store.gc, referenced, dry_run=dry_run, grace_seconds=grace_seconds, now=now)
    )
    missing = [
        MissingFile(row["id"], variant, row[column])
        for row in rows
        for variant, column in VARIANT_COLUMNS.items()
        if row[column] and row[column] in report.missing_files
    ]
    return MediaGcResult(report, missing)


def may(actor: Actor, action: access.Action) -> bool:
    """Whether the actor's role may take `action` on photos at all (screens show or hide the camera)."""
    return access.can(actor, action, "photo")
