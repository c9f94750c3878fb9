"""Who sees, adds and deletes photos, and how the files are served (ETag, 304, headers)."""

from __future__ import annotations

import hashlib

import pytest

from backend.photos.tables import Photo
from tests.support.factories import Caller, Org, caller
from tests.support.photos import small_jpeg, upload

pytestmark = pytest.mark.anyio
VARIANTS = ("display", "thumbnail", "original")


async def photo_by_agent1(client, org: Org, parent: str = "visit") -> dict:
    owner = await caller(client, org.a.users["agent1"])
    response = await upload(owner, (parent, org.a.records["agent1"][parent]), small_jpeg())
    assert response.status_code == 201, response.text
    return response.json()


async def statuses(who: Caller, photo: dict) -> dict[str, int]:
    paths = {"metadata": f"/api/photos/{photo['id']}"} | {v: f"/api/photos/{photo['id']}/{v}" for v in VARIANTS}
    return {name: (await who.get(path)).status_code for name, path in paths.items()}


async def listed(who: Caller, photo: dict) -> bool:
    response = await who.get("/api/photos", params={"visit_id": photo["visit_id"]})
    assert response.status_code == 200
    return photo["id"] in {item["id"] for item in response.json()["items"]}


@pytest.mark.parametrize(
    ("user", "sees"),
    [
        ("a.agent1", True),  # the uploader
        ("a.branch_manager", True),
        ("a.project_manager", True),  # manages the visit's project
        ("executive", True),
        ("b.agent1", False),  # another branch
        ("b.branch_manager", False),
        ("a.agent2", False),  # same branch, not on the project
        ("a.finance", False),  # finance sees amounts, not photos
        ("a.legal", False),  # takes part in the project, but visits are not legal's
        ("admin", False),
    ],
)
async def test_photo_visible_exactly_with_its_visit(app_with, org: Org, user: str, sees: bool) -> None:
    async with app_with(keep_originals=True) as client:
        photo = await photo_by_agent1(client, org)
        who = await caller(client, org.all_users()[user])

        expected = 200 if sees else 404
        assert await statuses(who, photo) == {name: expected for name in ("metadata", *VARIANTS)}
        assert await listed(who, photo) is sees


async def test_project_photo_visible_to_legal_not_finance(api, org: Org) -> None:
    photo = await photo_by_agent1(api, org, parent="project")
    legal, finance = [await caller(api, org.a.users[role]) for role in ("legal", "finance")]

    assert (await legal.get(f"/api/photos/{photo['id']}/display")).status_code == 200
    assert (await finance.get(f"/api/photos/{photo['id']}/display")).status_code == 404


async def test_original_only_when_kept(api, org: Org) -> None:
    photo = await photo_by_agent1(api, org)
    owner = await caller(api, org.a.users["agent1"])

    assert photo["urls"]["original"] is None
    assert (await owner.get(f"/api/photos/{photo['id']}/original")).status_code == 404
    assert (await owner.get(f"/api/photos/{photo['id']}/raw")).status_code == 404


async def test_upload_to_invisible_parent_404(api, org: Org) -> None:
    outsider = await caller(api, org.b.users["agent1"])

    for kind, key in (("visit", "visit"), ("project", "project"), ("note", "note_visit")):
        response = await upload(outsider, (kind, org.a.records["agent1"][key]), small_jpeg())
        assert (response.status_code, response.json()["field"]) == (404, f"{kind}_id")
    assert await Photo.count() == 0


async def test_upload_role_and_note_rules(api, org: Org) -> None:
    note = org.a.records["agent1"]["note_visit"]
    finance = await caller(api, org.a.users["finance"])
    manager = await caller(api, org.a.users["project_manager"])
    branch_manager = await caller(api, org.a.users["branch_manager"])
    executive = await caller(api, org.executive)

    refused_role = await upload(finance, ("project", org.a.records["agent1"]["project"]), small_jpeg())
    read_only = await upload(executive, ("visit", org.a.records["agent1"]["visit"]), small_jpeg())
    not_author = await upload(manager, ("note", note), small_jpeg())  # sees the note, may not edit it
    on_visit = await upload(manager, ("visit", org.a.records["agent1"]["visit"]), small_jpeg())
    by_branch_manager = await upload(branch_manager, ("note", note), small_jpeg())

    assert (refused_role.status_code, read_only.status_code) == (403, 403)
    assert (not_author.status_code, not_author.json()["field"]) == (403, "note_id")
    assert (on_visit.status_code, by_branch_manager.status_code) == (201, 201)
    assert by_branch_manager.json()["branch_id"] == str(org.a.branch.id)


async def test_delete_by_uploader_or_branch_manager(api, org: Org) -> None:
    first, second = await photo_by_agent1(api, org), await photo_by_agent1(api, org)
    owner = await caller(api, org.a.users["agent1"])
    manager = await caller(api, org.a.users["project_manager"])
    branch_manager = await caller(api, org.a.users["branch_manager"])
    outsider = await caller(api, org.b.users["branch_manager"])

    assert (await outsider.delete(f"/api/photos/{first['id']}")).status_code == 404
    assert (await manager.delete(f"/api/photos/{first['id']}")).status_code == 403  # sees it, did not upload it
    assert (await owner.delete(f"/api/photos/{first['id']}")).status_code == 204
    assert (await branch_manager.delete(f"/api/photos/{second['id']}")).status_code == 204
    assert await Photo.count() == 0
    assert (await owner.get(f"/api/photos/{first['id']}/display")).status_code == 404


async def test_file_etag_304_and_headers(api, org: Org) -> None:
    photo = await photo_by_agent1(api, org)
    owner = await caller(api, org.a.users["agent1"])
    url = photo["urls"]["display"]

    first = await owner.get(url, headers={"accept-encoding": "gzip"})
    etag = first.headers["etag"]
    not_modified = await owner.get(url, headers={"if-none-match": etag})
    weak = await owner.get(url, headers={"if-none-match": f'"other", W/{etag}'})
    changed = await owner.get(url, headers={"if-none-match": '"something-else"'})

    assert first.status_code == 200
    assert etag == f'"{hashlib.sha256(first.content).hexdigest()}"' == f'"{photo["display_sha256"]}"'
    assert first.headers["content-type"] == "image/jpeg"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["cache-control"].startswith("private")
    assert "max-age=" in first.headers["cache-control"]
    assert "content-encoding" not in first.headers  # JPEG goes out as stored, so the strong ETag holds
    assert first.content[:3] == b"\xff\xd8\xff"
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == first.headers["cache-control"]
    assert weak.status_code == 304
    assert changed.status_code == 200


async def test_conditional_request_still_authorized(api, org: Org) -> None:
    photo = await photo_by_agent1(api, org)
    outsider = await caller(api, org.b.users["agent1"])

    response = await outsider.get(photo["urls"]["display"], headers={"if-none-match": f'"{photo["display_sha256"]}"'})

    assert response.status_code == 404


async def test_photo_list_filters_by_parent(api, org: Org) -> None:
    on_visit = await photo_by_agent1(api, org, parent="visit")
    on_project = await photo_by_agent1(api, org, parent="project")
    owner = await caller(api, org.a.users["agent1"])

    by_visit = (await owner.get("/api/photos", params={"visit_id": on_visit["visit_id"]})).json()
    by_project = (await owner.get("/api/photos", params={"project_id": on_project["project_id"]})).json()
    everything = (await owner.get("/api/photos")).json()
    bad_filter = await owner.get("/api/photos", params={"visit_id": "nope"})

    assert [item["id"] for item in by_visit["items"]] == [on_visit["id"]]
    assert [item["id"] for item in by_project["items"]] == [on_project["id"]]
    assert everything["total"] == 2
    assert (bad_filter.status_code, bad_filter.json()["field"]) == (422, "visit_id")
