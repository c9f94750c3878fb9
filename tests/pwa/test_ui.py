"""Screens render through `guarded`: a failing render is logged and shows an error state instead of nothing."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from reactpy import component, html
from reactpy.core.layout import Layout

from pwa.routes import href, parse
from pwa.ui import guarded


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
