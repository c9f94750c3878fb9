"""Photo gallery with the field kit's capture module (embedded with component_from_url under a revisioned URL)."""

from __future__ import annotations

from typing import Any

from reactpy import html, use_state
from reactpy.reactjs import component_from_url

from backend.photos.schemas import PhotoOut
from backend.photos.services import deletable, delete_photo, list_photos
from pwa import assets
from pwa.live import use_live_query
from pwa.screens import forms
from pwa.ui import App, button, empty, form, guarded

Capture = component_from_url(assets.url("fieldkit/capture.js"), "Capture")


async def load(app: App, parent: str, parent_id: Any) -> tuple[list[PhotoOut], set[Any]]:
    actor = await app.ensure_actor()
    page = await list_photos(actor, filters={parent: parent_id}, limit=100)
    return page.items, await deletable(actor, [p.id for p in page.items])


@guarded
def delete_tool(app: App, photo: PhotoOut, on_deleted: Any) -> Any:
    """Delete a photo its author (or a manager) took by mistake, saying why; its files are left to `media gc`."""
    asking, set_asking = use_state(False)
    errors, set_errors = forms.use_form_errors()
    names = {"reason": app.t("capture.delete_reason")}

    async def remove(actor: Any, data: Any) -> None:
        reason = forms.text(data, "reason")
        if not reason:
            raise forms.FieldProblem("reason", "reason_needed")
        await delete_photo(actor, photo.id, reason[:500])
        app.notify(app.t("capture.deleted"), "ok")
        on_deleted()

    if not asking:
        return button(app.t("capture.delete"), lambda *_: set_asking(True), "secondary",
                      **{"data-action": "delete-photo", "aria-label": app.t("capture.delete")})
    return form(forms.submit(app, names, set_errors, remove),
                forms.field("reason", names["reason"], forms.input_("reason", errors), errors, f"delete-{photo.id}"),
                html.div({"className": "actions"},
                         html.button({"className": "button danger", "type": "submit", "data-action": "confirm-delete"},
                                     app.t("capture.confirm_delete")),
                         button(app.t("common.cancel"), lambda *_: set_asking(False), "secondary")),
                className="stack")


@guarded
def gallery(app: App, parent: str, parent_id: Any, can_add: bool = True) -> Any:
    query = use_live_query(app, lambda: load(app, parent, parent_id), str(parent_id),
                           watch=[("photos", {parent: parent_id})])  # incl. what the field kit uploads
    photos, removable = query.data if query.ready else ([], set())

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
        html.ul({"className": "list", "id": "photo-tools"}, *[
            html.li({"key": str(p.id), "data-id": str(p.id), "className": "spread"},
                    html.img({"src": p.urls.thumbnail, "alt": "", "width": 44, "height": 44,
                              "style": {"objectFit": "cover", "borderRadius": "6px"}}),
                    delete_tool(app, p, query.reload))
            for p in photos if p.id in removable]) if removable else "",
        Capture({"parentKind": parent, "parentId": str(parent_id), "labels": labels, "onUploaded": on_uploaded})
        if can_add else "",
    )
