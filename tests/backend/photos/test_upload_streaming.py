"""The upload limit holds while the body streams in: the app stops pulling bytes once the limit is passed.

The app is driven through raw ASGI with a `receive` that hands out the body in 64 KiB chunks and counts them,
so "before the rest of the body is read" is measured, not assumed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from backend import db
from backend.photos.tables import Photo
from backend.photos.upload import FORM_OVERHEAD
from backend.settings import Settings
from tests.support.factories import Org, new_id, open_session
from tests.support.images import encode, noise
from tests.support.photos import stored_files

pytestmark = pytest.mark.anyio
CHUNK = 64 * 1024
BOUNDARY = "photo-boundary-7d1f"


def multipart_parts(fields: dict[str, str], file_head: bytes, file_size: int) -> Iterator[bytes]:
    """The body as it would arrive: text fields, then a file part of `file_size` bytes, then the closing line."""
    preamble = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    yield preamble + (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
                      "Content-Type: image/jpeg\r\n\r\n").encode()
    yield file_head
    remaining = file_size - len(file_head)
    while remaining > 0:
        size = min(CHUNK, remaining)
        yield bytes(size)
        remaining -= size
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


class CountingBody:
    """An ASGI `receive` over a lazily made body, counting every byte the app pulls."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self.parts, self.pulled, self.finished = parts, 0, False

    async def __call__(self) -> dict[str, Any]:
        if self.finished:
            return {"type": "http.disconnect"}
        chunk = next(self.parts, None)
        if chunk is None:
            self.finished = True
            return {"type": "http.request", "body": b"", "more_body": False}
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}


async def post_raw(settings: Settings, org: Org, body: CountingBody, content_length: int | None) -> tuple[int, bytes]:
    from backend.app import create_litestar

    app = create_litestar(settings, run_migrations=False, engine=db.current_engine())
    token, csrf = await open_session(org.a.users["agent1"])
    headers = [(b"host", b"testserver.local"), (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
               (b"cookie", f"ipms_session={token}".encode()), (b"x-csrf-token", csrf.encode())]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/photos", "raw_path": b"/api/photos", "query_string": b"", "root_path": "",
             "headers": headers, "client": ("203.0.113.7", 4711), "server": ("testserver.local", 80), "state": {}}
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, body, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def fields_for(org: Org) -> dict[str, str]:
    return {"id": new_id(), "visit_id": str(org.a.records["agent1"]["visit"].id)}


async def test_upload_oversize_413_before_rest_of_body_read(database: Settings, org: Org) -> None:
    limit = 1024 * 1024
    settings = dataclasses.replace(database, upload_max_bytes=limit)
    total = 8 * limit
    body = CountingBody(multipart_parts(fields_for(org), encode(noise(64, 48)), total))

    status, content = await post_raw(settings, org, body, content_length=None)  # chunked: no length announced

    assert status == 413, content
    assert b'"too_large"' in content
    assert body.pulled <= limit + FORM_OVERHEAD + CHUNK
    assert body.pulled < total / 4
    assert await Photo.count() == 0
    assert stored_files(database.media_dir) == []
    print(f"\n413 after pulling {body.pulled} of {total} body bytes (limit {limit})")


async def test_upload_announced_oversize_413_without_reading(database: Settings, org: Org) -> None:
    settings = dataclasses.replace(database, upload_max_bytes=1024 * 1024)
    total = 16 * 1024 * 1024
    body = CountingBody(multipart_parts(fields_for(org), b"\xff\xd8\xff", total))

    status, _ = await post_raw(settings, org, body, content_length=total + 500)

    assert status == 413
    assert body.pulled == 0


async def test_upload_default_limit_15mb(database: Settings, org: Org) -> None:
    assert database.upload_max_bytes == 15 * 1024 * 1024
    total = 20 * 1024 * 1024
    body = CountingBody(multipart_parts(fields_for(org), b"\xff\xd8\xff", total))

    status, _ = await post_raw(database, org, body, content_length=None)

    assert status == 413
    assert body.pulled <= database.upload_max_bytes + FORM_OVERHEAD + CHUNK
    print(f"\n413 after pulling {body.pulled} of {total} body bytes (limit {database.upload_max_bytes})")


async def test_upload_file_exactly_at_limit_accepted(database: Settings, org: Org) -> None:
    photo = encode(noise(300, 200))
    at_limit = dataclasses.replace(database, upload_max_bytes=len(photo))
    under_limit = dataclasses.replace(database, upload_max_bytes=len(photo) - 1)

    accepted, _ = await post_raw(at_limit, org, CountingBody(multipart_parts(fields_for(org), photo, len(photo))),
                                 content_length=None)
    refused, _ = await post_raw(under_limit, org, CountingBody(multipart_parts(fields_for(org), photo, len(photo))),
                                content_length=None)

    assert (accepted, refused) == (201, 413)
