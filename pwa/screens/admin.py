"""Placeholder until the lifecycle services land."""

from __future__ import annotations

from typing import Any

from reactpy import html

from pwa.ui import App, card, empty, guarded


async def unread_count(actor: Any) -> int:
    return 0


@guarded
def screen(app: App) -> Any:
    return html.main({"className": "screen"}, card(empty(app.t("common.coming_soon"))))
