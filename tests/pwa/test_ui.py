"""Screens render through `guarded`: a failing render is logged and shows an error state instead of nothing.
An action's work survives its page closing (a tap is never lost)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import pytest
from reactpy import component, html, use_state
from reactpy.core.layout import Layout

from backend.access import Actor
from pwa.i18n import Formatter
from pwa.routes import href, parse
from pwa.ui import App, action, guarded, settle, use_live


@guarded
def broken() -> Any:
    raise RuntimeError("boom")


@guarded
def fine() -> Any:
    return html.p({"id": "ok"}, "fine")


@component
def page() -> Any:
    return html.div(broken(), fine())


async def first_render(root: Any) -> str:
    """The whole tree after its first render (child components render in later passes)."""
    async with Layout(root) as layout:
        text = ""
        for _ in range(10):  # one pass per component level; the page is two deep
            text += json.dumps(await layout.render(), ensure_ascii=False)
            if '"id": "ok"' in text and "data-state" in text:
                break
        return text


@pytest.mark.anyio
async def test_a_failing_screen_shows_an_error_state_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="ipms.pwa"):
        rendered = await first_render(page())
    assert '"data-state": "error"' in rendered and '"id": "ok"' in rendered
    assert any("boom" in (record.exc_text or str(record.exc_info)) for record in caplog.records)


def test_routes_parse_screens_records_and_filters() -> None:
    assert parse("/").screen == "home"
    route = parse("/clients?q=%E5%BC%A0&tag=%E9%A6%96%E5%A5%97")
    assert route.screen == "clients" and route.param("q") == "张" and route.param("tag") == "首套"
    record = parse("/projects/0146d3fe-b83c-4141-b7be-063589b33479")
    assert record.screen == "project" and str(record.item_id) == "0146d3fe-b83c-4141-b7be-063589b33479"
    assert parse("/clients/not-a-uuid").screen == "not_found"
    assert parse("/visits").screen == "not_found"
    assert href("/clients", q="王", tag=None) == "/clients?q=%E7%8E%8B"


def test_routes_ignore_the_fragment_an_alert_link_carries() -> None:
    project = "0146d3fe-b83c-4141-b7be-063589b33479"
    route = parse(f"/projects/{project}#milestone-5d0c")
    assert (route.screen, str(route.item_id)) == ("project", project)
    assert parse("/inbox?unread=1#top").query == {"unread": "1"}


def event_target(update: Any, element_id: str) -> str:
    """The handler address ReactPy gave the element with `element_id` in a rendered update."""
    found: list[str] = []

    def walk(model: Any) -> None:
        if isinstance(model, dict):
            if model.get("attributes", {}).get("id") == element_id:
                found.append(model["eventHandlers"]["onClick"]["target"])
            for child in model.get("children", []):
                walk(child)

    walk(update["model"])
    assert found, update
    return found[0]


@pytest.mark.anyio
async def test_an_action_is_carried_out_when_its_page_closes_meanwhile(caplog: pytest.LogCaptureFixture) -> None:
    """A tap followed at once by a reload: ReactPy cancels the closed page's handlers, the write must still happen
    (its screen update going nowhere, quietly), and the session's next page waits for it to show what it wrote."""
    me = Actor(id=uuid.uuid4(), role="agent", branch_id=uuid.uuid4())
    started, release, saved = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def ensure_actor() -> Actor:
        return me

    @component
    def screen() -> Any:
        toast, set_toast = use_state("")
        live = use_live()
        app = App(actor=me, lang="en", fmt=Formatter("en"), route=parse("/settings"), navigate=lambda _: None,
                  notify=live(lambda text, kind: set_toast(text)), ensure_actor=ensure_actor)

        async def save(actor: Actor, _: Any) -> None:
            started.set()
            await release.wait()  # the write, still under way when the page closes
            saved.set()
            app.notify("saved", "ok")

        return html.div(html.button({"id": "save", "onClick": action(app, save)}, toast or "save"))

    with caplog.at_level(logging.INFO):
        async with Layout(screen()) as layout:
            target = event_target(await layout.render(), "save")
            await layout.deliver({"type": "layout-event", "target": target, "data": [{}]})
            await asyncio.wait_for(started.wait(), 5)
        next_page = asyncio.create_task(settle(me))  # the page is gone; the reloaded one opens meanwhile
        await asyncio.sleep(0.05)
        assert not next_page.done() and not saved.is_set()
        release.set()
        assert await asyncio.wait_for(next_page, 5) is True
        assert saved.is_set()
        assert await settle(me) is False  # nothing left running for the session
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING], caplog.text
