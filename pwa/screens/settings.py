"""Settings: interface language and sign-out (the push issue adds notifications here)."""

from __future__ import annotations

from typing import Any

from reactpy import html

from backend.accounts import services as accounts
from pwa.ui import App, action, button, card, facts, guarded

CHOICES = (("zh", "settings.lang_zh"), ("en", "settings.lang_en"), ("", "settings.lang_auto"))


@guarded
def screen(app: App) -> Any:
    def choose(language: str) -> Any:
        async def save(actor: Any, _: Any) -> None:
            await accounts.set_own_language(actor, language)
            effective = language or app.lang
            app.set_language(effective)
        return action(app, save)

    async def sign_out(actor: Any, _: Any) -> None:
        await accounts.sign_out(actor)
        app.sign_out()

    return html.main(
        {"className": "screen", "id": "settings"},
        card(facts((app.t("settings.name"), app.actor.display_name), (app.t("settings.username"), app.actor.username),
                   (app.t("settings.role"), app.t(f"role.{app.actor.role}"))),
             title=app.t("settings.account")),
        card(html.div({"className": "stack", "role": "radiogroup", "aria-label": app.t("settings.language"),
                       "id": "language-choices"}, *[
            button(app.t(key), choose(code), "" if app.actor.language == code else "secondary", key=code or "auto",
                   role="radio", **{"data-lang": code or "auto", "aria-checked": str(app.actor.language == code).lower()})
            for code, key in CHOICES]),
             title=app.t("settings.language")),
        card(button(app.t("settings.sign_out"), action(app, sign_out), "danger block", id="sign-out")),
    )
