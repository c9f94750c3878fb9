"""The frame survives the network: a dropped connection shows the banner and the same screen comes back; a cold
start with the server down (first websocket failure, which ReactPy never retries) mounts once the server returns.
Also: navigation lives in the URL (back button, reload), and the stylesheet keeps touch targets at 44 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import CHROMIUM_ARGS, PHONE
from tests.support.demo import Server

pytestmark = pytest.mark.browser


def sign_in(page: Any, base: str, username: str = "lina") -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "demo1234")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    expect(page.locator("#today-visits")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-connection", "online")


def test_navigation_lives_in_the_url(phones: Any, served: Server) -> None:
    device = phones()
    page = device.sign_in("lina")
    page.click("nav.bottom-nav a[data-screen=clients]")
    expect(page.locator("#client-list li").first).to_be_visible()
    page.locator("#client-list li a").first.click()
    expect(page.locator("#client")).to_be_visible()
    client_url = page.url
    page.reload()
    expect(page.locator("#client")).to_be_visible()
    assert page.url == client_url
    page.go_back()
    expect(page.locator("#clients")).to_be_visible()
    page.go_back()
    expect(page.locator("#home")).to_be_visible()
    sizes = page.eval_on_selector_all(
        "nav.bottom-nav a, #refresh, #inbox-link",
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })")
    assert sizes and all(w >= 44 and h >= 44 for w, h in sizes), sizes


def test_lost_connection_shows_the_banner_and_rebuilds_the_same_screen(browser: Any, own_server: Server) -> None:
    context = browser.new_context(**PHONE, locale="zh-CN")
    try:
        page = context.new_page()
        sign_in(page, own_server.url)
        page.locator("#today-visits li a").first.click()
        expect(page.locator("#visit")).to_be_visible()
        visit_url = page.url
        expect(page.locator("body")).to_have_attribute("data-connection", "online")
        own_server.stop()
        expect(page.locator("#connection-banner")).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-connection", "reconnecting")
        own_server.start()
        expect(page.locator("body")).to_have_attribute("data-connection", "online", timeout=30_000)
        expect(page.locator("#connection-banner")).to_be_hidden()
        expect(page.locator("#visit")).to_be_visible()
        assert page.url == visit_url
        expect(page.locator(".reactpy-mount")).to_have_count(1)
    finally:
        context.close()


def test_cold_start_without_server_mounts_when_it_returns(playwright_driver: Any, chromium_path: str,
                                                          own_server: Server, tmp_path: Path) -> None:
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=chromium_path, args=CHROMIUM_ARGS, **PHONE, locale="zh-CN")
    try:
        page = context.pages[0] if context.pages else context.new_page()
        sign_in(page, own_server.url)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # the service worker now controls the page and has kept the shell
        expect(page.locator("#today-visits")).to_be_visible()
        own_server.stop()
        page.reload()  # served by the service worker; the first websocket fails
        expect(page.locator("body")).to_have_attribute("data-connection", "reconnecting")
        expect(page.locator("#connection-banner")).to_be_visible()
        own_server.start()
        expect(page.locator("#today-visits")).to_be_visible(timeout=30_000)
        expect(page.locator("body")).to_have_attribute("data-connection", "online")
    finally:
        context.close()
