"""Uploading photos through `POST /api/photos`: what is stored, what is refused, and idempotency by the client's id."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from PIL import Image

from backend.photos import services
from backend.photos.tables import Photo
from backend.settings import Settings
from tests.support.factories import Org, caller, new_id
from tests.support.images import encode, exif, jpeg_segments, noise, solid_png
from tests.support.photos import (
    COM,
    JPEG_APP1_TO_APP15,
    open_image,
    quadrant_jpeg,
    red_corners,
    small_jpeg,
    stored_files,
    upload,
)

pytestmark = pytest.mark.anyio
SYDNEY = {"latitude": ("S", (33.0, 52.0, 12.0)), "longitude": ("E", (151.0, 12.0, 36.0))}


@pytest.mark.parametrize(("orientation", "red_corner"), [(6, "top-right"), (8, "bottom-left")])
async def test_upload_exif_orientation_stored_upright(api, org: Org, orientation: int, red_corner: str) -> None:
    agent = await caller(api, org.a.users["agent1"])
    visit = org.a.records["agent1"]["visit"]

    response = await upload(agent, ("visit", visit), quadrant_jpeg(exif=exif(orientation=orientation)))

    assert response.status_code == 201, response.text
    photo = response.json()
    assert (photo["display_width"], photo["display_height"]) == (200, 400)
    for variant, size in (("display", (200, 400)), ("thumbnail", (160, 320))):
        served = await agent.get(photo["urls"][variant])
        assert served.status_code == 200
        image = open_image(served.content)
        assert image.size == size
        assert red_corners(image) == [red_corner]


async def test_upload_stored_files_carry_no_exif_or_gps(app_with, database: Settings, org: Org) -> None:
    source = quadrant_jpeg(exif=exif(orientation=6, taken="2026:05:01 14:30:00", **SYDNEY))
    async with app_with(keep_originals=True) as client:
        agent = await caller(client, org.a.users["agent1"])
        response = await upload(agent, ("visit", org.a.records["agent1"]["visit"]), source, location_allowed="true")
    assert response.status_code == 201, response.text

    files = stored_files(database.media_dir)
    assert len(files) == 3  # display, thumbnail, original
    for path in files:
        data = path.read_bytes()
        markers = set(jpeg_segments(data))
        assert not markers & JPEG_APP1_TO_APP15, path  # no EXIF (APP1), XMP, ICC or maker notes
        assert COM not in markers
        assert b"Exif\x00\x00" not in data
        with Image.open(path) as image:
            assert dict(image.getexif()) == {}
            assert image.getexif().get_ifd(0x8825) == {}  # no GPS IFD
    photo = response.json()
    assert photo["latitude"] == pytest.approx(-33.87, abs=0.01)  # kept as a field, with consent
    assert photo["taken_at"].startswith("2026-05-01T06:30:00")  # EXIF wall time in the branch's zone (UTC+8)


async def test_upload_location_kept_only_with_consent(api, org: Org) -> None:
    agent = await caller(api, org.a.users["agent1"])
    visit = ("visit", org.a.records["agent1"]["visit"])
    with_gps = quadrant_jpeg(exif=exif(**SYDNEY))

    silent = (await upload(agent, visit, with_gps)).json()
    allowed = (await upload(agent, visit, with_gps, location_allowed="true")).json()
    from_form = (await upload(agent, visit, with_gps, latitude="31.2304", longitude="121.4737")).json()
    refused = (await upload(agent, visit, with_gps, latitude="31.2", longitude="121.4",
                            location_allowed="false")).json()

    assert (silent["latitude"], silent["longitude"]) == (None, None)
    assert allowed["latitude"] == pytest.approx(-33.87, abs=0.01)
    assert allowed["longitude"] == pytest.approx(151.21, abs=0.01)
    assert (from_form["latitude"], from_form["longitude"]) == (31.2304, 121.4737)
    assert (refused["latitude"], refused["longitude"]) == (None, None)


async def test_upload_form_taken_at_wins_over_exif(api, org: Org) -> None:
    agent = await caller(api, org.a.users["agent1"])
    source = quadrant_jpeg(exif=exif(taken="2026:05:01 14:30:00"))

    response = await upload(agent, ("visit", org.a.records["agent1"]["visit"]), source,
                            taken_at="2026-04-02T09:15:00+08:00")

    assert dt.datetime.fromisoformat(response.json()["taken_at"]) == dt.datetime(2026, 4, 2, 1, 15, tzinfo=dt.UTC)


async def test_upload_jpeg_named_png_accepted_as_jpeg(api, org: Org) -> None:
    agent = await caller(api, org.a.users["agent1"])

    response = await upload(agent, ("project", org.a.records["agent1"]["project"]), small_jpeg(),
                            filename="scan.png", declared_type="image/png")

    assert response.status_code == 201, response.text
    assert response.json()["source_format"] == "jpeg"
    served = await agent.get(response.json()["urls"]["display"])
    assert served.headers["content-type"] == "image/jpeg"
    assert open_image(served.content).format == "JPEG"


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
    ],
    ids=["html", "svg", "pdf", "gif"],
)
async def test_upload_non_image_named_jpg_415(api, database: Settings, org: Org, content: bytes) -> None:
    agent = await caller(api, org.a.users["agent1"])

    response = await upload(agent, ("visit", org.a.records["agent1"]["visit"]), content, filename="photo.jpg")

    assert response.status_code == 415, response.text
    assert response.json()["error"] == "unsupported_media_type"
    assert response.json()["field"] == "file"
    assert stored_files(database.media_dir) == []
    assert await Photo.count() == 0


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (encode(noise(800, 600))[:20_000], "corrupt_image"),
        (b"", "empty_file"),
        (solid_png(30_000, 30_000), "image_too_large"),
        (solid_png(7_000, 7_000), "image_too_large"),
    ],
    ids=["truncated", "empty", "bomb-30000", "bomb-7000"],
)
async def test_upload_unusable_image_422(api, database: Settings, org: Org, content: bytes, code: str) -> None:
    agent = await caller(api, org.a.users["agent1"])

    response = await upload(agent, ("visit", org.a.records["agent1"]["visit"]), content)

    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["error"], body["field"]) == (code, "file")
    assert body["message"]
    assert stored_files(database.media_dir) == []
    assert await Photo.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"id": ""}, "id"),
        ({"latitude": "91", "longitude": "0"}, "latitude"),
        ({"latitude": "nan", "longitude": "0"}, "latitude"),
        ({"latitude": "north", "longitude": "0"}, "latitude"),
        ({"latitude": "10", "longitude": "-180.5"}, "longitude"),
        ({"latitude": "10"}, "longitude"),
        ({"taken_at": "yesterday"}, "taken_at"),
        ({"taken_at": "1970-01-01T00:00:00Z"}, "taken_at"),
        ({"taken_at": "2999-01-01T00:00:00Z"}, "taken_at"),
        ({"location_allowed": "maybe"}, "location_allowed"),
        ({"project_id": "will-be-replaced"}, "visit_id"),
        ({"owner_id": "b9a4a0c8-0000-4000-8000-000000000000"}, "owner_id"),
    ],
)
async def test_upload_bad_field_422_names_it(api, org: Org, fields: dict[str, str], field: str) -> None:
    agent = await caller(api, org.a.users["agent1"])
    if "project_id" in fields:
        fields["project_id"] = str(org.a.records["agent1"]["project"].id)  # a second parent

    response = await upload(agent, ("visit", org.a.records["agent1"]["visit"]), small_jpeg(), **fields)

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_upload_without_parent_or_file_422(api, org: Org) -> None:
    agent = await caller(api, org.a.users["agent1"])
    visit_id = str(org.a.records["agent1"]["visit"].id)

    no_parent = await agent.post("/api/photos", data={"id": new_id()}, files={"file": ("a.jpg", small_jpeg())})
    no_file = await agent.post("/api/photos", data={"id": new_id(), "visit_id": visit_id},
                               files={"other": ("a.jpg", b"x")})
    not_multipart = await agent.post("/api/photos", json={"id": new_id(), "visit_id": visit_id})

    assert (no_parent.status_code, no_parent.json()["field"]) == (422, "visit_id")
    assert (no_file.status_code, no_file.json()["field"]) == (422, "other")  # an unknown part is named
    assert not_multipart.status_code == 415


async def test_upload_same_id_twice_one_row_one_file(api, database: Settings, org: Org) -> None:
    agent = await caller(api, org.a.users["agent1"])
    visit, photo_id = ("visit", org.a.records["agent1"]["visit"]), new_id()

    first = await upload(agent, visit, small_jpeg(), photo_id=photo_id)
    second = await upload(agent, visit, small_jpeg(), photo_id=photo_id)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert await Photo.count() == 1
    assert len(stored_files(database.media_dir)) == 2  # one display, one thumbnail


async def test_upload_same_id_concurrently_one_row_one_file(
    api, database: Settings, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = await caller(api, org.a.users["agent1"])
    visit, photo_id = ("visit", org.a.records["agent1"]["visit"]), new_id()
    data = encode(noise(1200, 900))
    # Hold every upload after its "already there?" check until all three got that far, so all three race to insert.
    arrived, everyone = [], asyncio.Event()
    process = services._process

    async def process_together(*args: object) -> object:
        arrived.append(1)
        if len(arrived) == 3:
            everyone.set()
        await everyone.wait()
        return await process(*args)

    monkeypatch.setattr(services, "_process", process_together)

    responses = await asyncio.gather(*(upload(agent, visit, data, photo_id=photo_id) for _ in range(3)))

    assert sorted(r.status_code for r in responses) == [200, 200, 201]
    assert len({r.json()["display_sha256"] for r in responses}) == 1
    assert await Photo.count() == 1
    assert len(stored_files(database.media_dir)) == 2


async def test_upload_reused_id_conflicts(api, org: Org) -> None:
    agent1, agent2 = [await caller(api, org.a.users[key]) for key in ("agent1", "agent2")]
    photo_id = new_id()
    assert (await upload(agent1, ("visit", org.a.records["agent1"]["visit"]), small_jpeg(),
                         photo_id=photo_id)).status_code == 201

    other_parent = await upload(agent1, ("project", org.a.records["agent1"]["project"]), small_jpeg(),
                                photo_id=photo_id)
    other_user = await upload(agent2, ("visit", org.a.records["agent2"]["visit"]), small_jpeg(), photo_id=photo_id)

    assert (other_parent.status_code, other_parent.json()["field"]) == (409, "id")
    assert (other_user.status_code, other_user.json()["field"]) == (409, "id")
    assert await Photo.count() == 1
