"""Photo gallery with the field kit's capture module (embedded with component_from_url under a revisioned URL)."""

from __future__ import annotations

from typing import Any

from reactpy import html
from reactpy.reactjs import component_from_url

from backend.photos.schemas import PhotoOut
from backend.photos.services import list_photos
from pwa import assets
from pwa.ui import App, empty, guarded, use_query

Capture = component_from_url(assets.url("fieldkit/capture.js"), "Capture")


async def load(app: App, parent: str, parent_id: Any) -> list[PhotoOut]:
    actor = await app.ensure_actor()
    page = await list_photos(actor, filters={parent: parent_id}, limit=100)
    return page.items


@guarded
def gallery(app: App, parent: str, parent_id: Any, can_add: bool = True) -> Any:
    query = use_query(lambda: load(app, parent, parent_id), str(parent_id))
    photos = query.data if query.ready else []

    def on_uploaded(_: Any) -> None:
        query.reload()

    labels = {key: app.t(f"capture.{key}") for key in ("take", "choose", "location", "uploading", "failed", "retry")}
    return html.div(
        {"className": "stack", "id": f"{parent}-photos"},
        html.div({"className": "gallery", "id": "gallery"}, *[
            html.a({"href": p.urls.display, "target": "_blank", "key": str(p.id), "data-id": str(p.id),
                    "className": "photo"},
                   html.img({"src": p.urls.thumbnail, "alt": app.t("capture.photo_alt",
                                                                  when=app.fmt.datetime(p.taken_at or p.created_at)),
                             "loading": "lazy", "width": 120, "height": 120}))
            for p in photos]) if photos else empty(app.t("capture.none") if query.ready else app.t("common.loading")),
        Capture({"parentKind": parent, "parentId": str(parent_id), "labels": labels, "onUploaded": on_uploaded})
        if can_add else "",
    )
