"""The upload form's text fields, parsed into typed values (each error names its field), and the photo reply."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from typing import Literal

import msgspec

from backend.errors import Invalid

ParentKind = Literal["visit", "project", "note"]
PARENT_KINDS: tuple[ParentKind, ...] = ("visit", "project", "note")
UPLOAD_FIELDS = frozenset({"id", "visit_id", "project_id", "note_id", "taken_at", "latitude", "longitude",
                           "location_allowed"})


@dataclass(frozen=True)
class Parent:
    """The record a photo belongs to: exactly one visit, project or note."""

    kind: ParentKind
    id: uuid.UUID


@dataclass(frozen=True)
class PhotoUpload:
    id: uuid.UUID
    parent: Parent
    taken_at: dt.datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_allowed: bool | None = None


def parse_uuid(name: str, raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Invalid(f"{name}: {raw!r} is not a UUID", field=name) from None


def parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(f"{name}: {raw!r} is not a number", field=name) from None
    if not math.isfinite(value):
        raise Invalid(f"{name} must be a finite number", field=name)
    return value


def parse_time(name: str, raw: str) -> dt.datetime:
    """ISO 8601; a time without offset is the branch's wall time (the service decides the zone)."""
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name}: {raw!r} is not an ISO 8601 time such as 2026-05-01T14:30:00+08:00",
                      field=name) from None


def parse_bool(name: str, raw: str) -> bool:
    value = {"true": True, "1": True, "on": True, "yes": True, "false": False, "0": False, "off": False,
             "no": False}.get(raw.lower())
    if value is None:
        raise Invalid(f"{name} must be true or false", field=name)
    return value


def parse_upload_fields(fields: dict[str, str]) -> PhotoUpload:
    """Validate the text fields of `POST /api/photos`; empty optional fields count as absent."""
    unknown = sorted(set(fields) - UPLOAD_FIELDS)
    if unknown:
        raise Invalid(f"Unknown form field {unknown[0]!r}", field=unknown[0])
    given = {name: value for name, value in fields.items() if value != ""}
    if "id" not in given:
        raise Invalid("id (the photo's UUID made by the client) is required", field="id")
    parents = [kind for kind in PARENT_KINDS if f"{kind}_id" in given]
    if len(parents) != 1:
        raise Invalid("Send exactly one of visit_id, project_id or note_id", field="visit_id")
    kind = parents[0]
    return PhotoUpload(
        id=parse_uuid("id", given["id"]),
        parent=Parent(kind, parse_uuid(f"{kind}_id", given[f"{kind}_id"])),
        taken_at=parse_time("taken_at", given["taken_at"]) if "taken_at" in given else None,
        latitude=parse_float("latitude", given["latitude"]) if "latitude" in given else None,
        longitude=parse_float("longitude", given["longitude"]) if "longitude" in given else None,
        location_allowed=parse_bool("location_allowed", given["location_allowed"])
        if "location_allowed" in given else None,
    )


class PhotoUrls(msgspec.Struct, kw_only=True):
    """Where to fetch the files; `original` only while originals are kept."""

    display: str
    thumbnail: str
    original: str | None


class PhotoOut(msgspec.Struct, kw_only=True):
    """A photo's metadata: exactly one of `visit_id`, `project_id`, `note_id` is set; sizes in bytes and pixels."""

    id: uuid.UUID
    branch_id: uuid.UUID
    owner_id: uuid.UUID
    visit_id: uuid.UUID | None
    project_id: uuid.UUID | None
    note_id: uuid.UUID | None
    display_sha256: str
    display_bytes: int
    display_width: int
    display_height: int
    thumb_sha256: str
    thumb_bytes: int
    thumb_width: int
    thumb_height: int
    original_sha256: str | None
    original_bytes: int | None
    source_sha256: str
    source_format: str
    source_bytes: int
    source_width: int
    source_height: int
    taken_at: dt.datetime | None
    latitude: float | None
    longitude: float | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    urls: PhotoUrls
