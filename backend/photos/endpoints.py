"""`/api/photos`: multipart upload (streamed, size-limited), metadata, scoped list, delete, and the image files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, Router, delete, get, post
from litestar.datastructures import ETag
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter
from litestar.response import File

from backend.crud import Limit, Offset, parse_filters, record_opt
from backend.errors import Invalid
from backend.photos import services
from backend.photos.schemas import PhotoOut, parse_upload_fields
from backend.photos.upload import FILE_FIELD, MAX_TEXT_FIELD, read_upload
from backend.schemas import NO_NUL
from backend.service import Page
from backend.web import settings_of

CACHE_CONTROL = "private, max-age=86400"
"""Files never change under a photo id; `private` keeps them out of shared caches (they are access-controlled)."""
FILE_HEADERS = {
    "Cache-Control": CACHE_CONTROL,
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def _uuid() -> Schema:
    return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID)


UPLOAD_FORM = Schema(type=OpenAPIType.OBJECT, required=["id", FILE_FIELD], properties={
    "id": _uuid(), "visit_id": _uuid(), "project_id": _uuid(), "note_id": _uuid(),
    "taken_at": Schema(type=OpenAPIType.STRING, max_length=64, description="ISO 8601; without offset: branch time"),
    "latitude": Schema(type=OpenAPIType.NUMBER, minimum=-90, maximum=90),
    "longitude": Schema(type=OpenAPIType.NUMBER, minimum=-180, maximum=180),
    "location_allowed": Schema(type=OpenAPIType.STRING, enum=["true", "false"]),
    FILE_FIELD: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY,
                       description="JPEG, PNG, WebP or HEIC; 413 above the upload limit"),
}, description=f"Each text part at most {MAX_TEXT_FIELD} bytes; no other parts.")


@dataclass
class UploadOperation(Operation):
    """The form is read from the stream (`read_upload`), so Litestar sees no body to describe: this states it."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, content={
            "multipart/form-data": OpenAPIMediaType(schema=UPLOAD_FORM),
        })


@post("/", operation_id="upload_photo", operation_class=UploadOperation, summary="Upload a photo (multipart/form-data)",
      description="Form fields: `id` (the client's UUID: repeating it returns the first upload's record with 200), "
                  "exactly one of `visit_id`, `project_id`, `note_id`; optional `taken_at` (ISO 8601), `latitude` "
                  "and `longitude` (sent only when the user allowed location), `location_allowed` (true: use the "
                  "file's EXIF GPS when no coordinates are sent; false: store no location); and the `file` part. "
                  "413 above the upload limit, 415 for files that are not JPEG/PNG/WebP/HEIC, 422 for corrupt, "
                  "empty or too-many-pixel images.")
async def upload_photo(request: Request[Any, Any, Any]) -> Response[PhotoOut]:
    settings = settings_of(request)
    form = await read_upload(request.stream(), content_type=request.headers.get("content-type", ""),
                             content_length=request.content_length, max_file_bytes=settings.upload_max_bytes)
    upload = parse_upload_fields(form.fields)
    if form.file is None:
        raise Invalid("Attach the photo as the form part named 'file'", field=FILE_FIELD)
    result = await services.ingest_photo(
        request.user, settings, photo_id=upload.id, parent=upload.parent, data=form.file, taken_at=upload.taken_at,
        latitude=upload.latitude, longitude=upload.longitude, location_allowed=upload.location_allowed,
    )
    return Response(result.photo, status_code=201 if result.created else 200)


@get("/", operation_id="list_photo", summary="List photos visible to you (filter by visit_id, project_id, note_id)")
async def list_photos(request: Request[Any, Any, Any], limit: int = Limit, offset: int = Offset) -> Page[PhotoOut]:
    filters = parse_filters(services.PHOTO_SPEC, request.query_params)
    return await services.list_photos(request.user, filters=filters, limit=limit, offset=offset)


@get("/{photo_id:uuid}", opt=record_opt("photo", "photo_id"),
     operation_id="read_photo", summary="A photo's metadata and file URLs")
async def read_photo(request: Request[Any, Any, Any], photo_id: uuid.UUID) -> PhotoOut:
    return await services.get_photo(request.user, photo_id)


@delete("/{photo_id:uuid}", opt=record_opt("photo", "photo_id"),
        operation_id="delete_photo", summary="Delete a photo (its uploader or branch manager); say why in `reason`")
async def delete_photo(
    request: Request[Any, Any, Any], photo_id: uuid.UUID,
    reason: str = Parameter(default="", max_length=500, pattern=NO_NUL, description="Why (kept in the change log)"),
) -> None:
    await services.delete_photo(request.user, photo_id, reason)


def etag_matches(if_none_match: str | None, sha256: str) -> bool:
    """RFC 9110 If-None-Match: `*` or any listed tag, compared weakly."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == f'"{sha256}"' for tag in if_none_match.split(","))


@get("/{photo_id:uuid}/{variant:str}", operation_id="photo_file",
     opt={**record_opt("photo", "photo_id"), "skip_compression": True},
     summary="The image: display (≤1600 px), thumbnail (≤320 px) or original (when kept); JPEG, ETag = sha256")
async def photo_file(
    request: Request[Any, Any, Any], photo_id: uuid.UUID, variant: Annotated[str, Parameter(max_length=16)]
) -> Response[bytes] | File:
    stored = await services.photo_file(request.user, settings_of(request), photo_id, variant)
    etag = f'"{stored.sha256}"'
    if etag_matches(request.headers.get("if-none-match"), stored.sha256):
        return Response(b"", status_code=304, headers={"ETag": etag, **FILE_HEADERS})
    return File(stored.path, filename=f"{photo_id}-{variant}.jpg", content_disposition_type="inline",
                media_type="image/jpeg", etag=ETag(value=stored.sha256), headers=FILE_HEADERS)


photos_router = Router(
    path="/api/photos",
    route_handlers=[upload_photo, list_photos, read_photo, delete_photo, photo_file],
    tags=["photo"],
)
