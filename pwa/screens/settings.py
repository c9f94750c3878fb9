"""Settings: interface language, push notifications on this device, and sign-out."""

from __future__ import annotations

from typing import Any

from reactpy import html
from reactpy.reactjs import component_from_url

from backend.accounts import services as accounts
from pwa import assets
from pwa.ui import App, action, button, card, facts, guarded

CHOICES = (("zh", "settings.lang_zh"), ("en", "settings.lang_en"), ("", "settings.lang_auto"))
# Push notifications on this device and the user's device list (the field kit's module; permission only on click).
PushSettings = component_from_url(assets.url("fieldkit/push.js"), "PushSettings")
# Sign-out syncs the outbox first, asks before discarding, and wipes this user's local data (field kit's module).
SignOut = component_from_url(assets.url("fieldkit/outbox.js"), "SignOut")
# The outbox on this phone: pending items, last sync, errors with retry, and whether storage is persistent.
Outbox = component_from_url(assets.url("fieldkit/outbox.js"), "Outbox")
OUTBOX_LABELS = ("outbox", "pending", "all_sent", "last_sync", "never_synced", "sync_now", "syncing", "retry",
                 "discard", "rejected", "conflict", "mine", "theirs", "my_version", "server_version", "note_item",
                 "photo_item", "error_network", "error_server", "error_expired", "error_failed", "storage_persisted",
                 "storage_best_effort")
PUSH_LABELS = ("turn_on", "turn_off", "working", "enabled", "disabled", "ios_tab", "unsupported", "denied", "timeout",
               "failed", "devices", "this_device", "receives", "silent", "remove")


@guarded
def screen(app: App) -> Any:
    def choose(language: str) -> Any:
        async def save(actor: Any, _: Any) -> None:
            await accounts.set_own_language(actor, language)
            app.set_language(language)  # "" (auto) shows the browser's language at once, not the one chosen before
        return action(app, save)

    return html.main(
        {"className": "screen", "id": "settings"},
        card(facts((app.t("settings.name"), app.actor.display_name),
                   (app.t("settings.username"), html.span({"translate": "no"}, app.actor.username)),
                   (app.t("settings.role"), app.t(f"role.{app.actor.role}"))),
             title=app.t("settings.account")),
        card(html.div({"className": "stack", "role": "radiogroup", "aria-label": app.t("settings.language"),
                       "id": "language-choices"}, *[
            button(app.t(key), choose(code), "" if app.actor.language == code else "secondary", key=code or "auto",
                   role="radio",
                   **{"data-lang": code or "auto", "aria-checked": str(app.actor.language == code).lower()})
            for code, key in CHOICES]),
             title=app.t("settings.language")),
        card(PushSettings({"labels": {key: app.t(f"push.{key}") for key in PUSH_LABELS}}), title=app.t("push.title")),
        card(Outbox({"lang": app.lang, "labels": {key: app.t(f"fieldkit.{key}") for key in OUTBOX_LABELS}})),
        card(SignOut({"text": app.t("settings.sign_out"),
                      "labels": {key: app.t(f"fieldkit.{key}") for key in ("sign_out_discard", "signing_out")}})),
    )
