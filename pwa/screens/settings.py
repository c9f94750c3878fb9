"""Settings: interface language, push notifications on this device, and sign-out."""

from __future__ import annotations

from typing import Any

from reactpy import html, use_state
from reactpy.reactjs import component_from_url

from backend.accounts import services as accounts
from backend.errors import ServiceError
from pwa import assets
from pwa.ui import App, action, button, card, error_text, facts, form, form_value, guarded, use_live

CHOICES = (("zh", "settings.lang_zh"), ("en", "settings.lang_en"), ("", "settings.lang_auto"))
# Push notifications on this device and the user's device list (the field kit's module; permission only on click).
PushSettings = component_from_url(assets.url("fieldkit/push.js"), "PushSettings")
# Sign-out syncs the outbox first, asks before discarding, and wipes this user's local data (field kit's module).
SignOut = component_from_url(assets.url("fieldkit/outbox.js"), "SignOut")
# The outbox on this phone: pending items, last sync, errors with retry, and whether storage is persistent.
Outbox = component_from_url(assets.url("fieldkit/outbox.js"), "Outbox")
# Space used and quota on this phone, whether the browser keeps it, and one hint when it will not promise to.
StorageInfo = component_from_url(assets.url("fieldkit/outbox.js"), "StorageInfo")
OUTBOX_LABELS = ("outbox", "pending", "all_sent", "last_sync", "never_synced", "sync_now", "syncing", "retry",
                 "discard", "rejected", "conflict", "mine", "theirs", "my_version", "server_version", "note_item",
                 "photo_item", "error_network", "error_server", "error_expired", "error_failed", "storage_persisted",
                 "storage_best_effort")
PUSH_LABELS = ("turn_on", "turn_off", "working", "enabled", "disabled", "ios_tab", "unsupported", "denied", "timeout",
               "failed", "devices", "this_device", "receives", "silent", "remove")


@guarded
def password_card(app: App) -> Any:
    """Choose a new password; required (and the only card shown) after signing in with a one-time password."""
    error, set_error = use_state("")
    live = use_live()

    async def change(actor: Any, values: Any) -> None:
        new = form_value(values, "new_password")
        if new != form_value(values, "repeat_password"):
            live(set_error)(app.t("settings.password_mismatch"))
            return
        try:
            await accounts.change_own_password(actor, form_value(values, "current_password"), new)
        except ServiceError as exc:
            live(set_error)(error_text(app, exc))
            return
        app.notify(app.t("settings.password_changed"), "ok")
        app.reload_page("/")  # the session now reads the cleared flag: every screen opens again

    def field(name: str, label: str, autocomplete: str) -> Any:
        return html.label({"className": "field"}, label,
                          html.input({"className": "input", "type": "password", "name": name, "required": True,
                                      "maxLength": 200, "autoComplete": autocomplete, "id": name.replace("_", "-")}))

    must = app.actor.must_change_password
    return card(
        html.p({"className": "message warn", "role": "alert", "id": "password-must"},
               app.t("settings.password_must")) if must else "",
        form(action(app, change),
             html.p({"className": "message error", "role": "alert", "id": "password-error"}, error) if error else "",
             field("current_password", app.t("settings.password_current"), "current-password"),
             field("new_password", app.t("settings.password_new"), "new-password"),
             field("repeat_password", app.t("settings.password_repeat"), "new-password"),
             html.button({"className": "button", "type": "submit", "id": "change-password"},
                         app.t("settings.password_save")),
             className="stack", id="password-form"),
        title=app.t("settings.password"), id="password-card")


@guarded
def screen(app: App) -> Any:
    if app.actor.must_change_password:
        return html.main({"className": "screen", "id": "settings"}, password_card(app))
    def choose(language: str) -> Any:
        async def save(actor: Any, _: Any) -> None:
            await accounts.set_own_language(actor, language)
            app.set_language(language)  # "" (auto) shows the browser's language at once, not the one chosen before
        return action(app, save)

    async def restart_guide(actor: Any, _: Any) -> None:
        await accounts.set_guide_state(actor, "")
        app.navigate("/")

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
        card(button(app.t("guide.again"), action(app, restart_guide), "secondary block", id="guide-again"),
             title=app.t("guide.title")),
        password_card(app),
        card(PushSettings({"labels": {key: app.t(f"push.{key}") for key in PUSH_LABELS}}), title=app.t("push.title")),
        card(Outbox({"lang": app.lang, "storage": False,
                     "labels": {key: app.t(f"fieldkit.{key}") for key in OUTBOX_LABELS}})),
        card(StorageInfo({"lang": app.lang}), title=app.t("settings.storage")),
        card(SignOut({"text": app.t("settings.sign_out"),
                      "labels": {key: app.t(f"fieldkit.{key}") for key in ("sign_out_discard", "signing_out")}})),
    )
