"""Push in Chromium: the exact plaintext a push service stand-in decrypted from a real escalation is delivered to
the app's service worker through the DevTools Protocol and becomes the expected notification; the settings
button shows why subscribing failed (timeout, or a browser without a push service) and explains iOS tabs."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.demo import Server
from tests.support.escalation import Escalated, escalate_to_subscribed_manager

pytestmark = pytest.mark.browser
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")


async def _escalate(data_dir: Path) -> Escalated:
    from backend import db
    from backend.app import create_litestar
    from backend.migrate import migrate
    from backend.settings import Settings
    from tests.support.factories import make_org

    settings = Settings(env="test", data_dir=data_dir)
    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine)
    try:
        await migrate()
        app = create_litestar(settings, run_migrations=False, engine=engine)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as api:
            return await escalate_to_subscribed_manager(api, await make_org(), settings)
    finally:
        await db.stop(engine)


@pytest.fixture(scope="module")
def escalated(tmp_path_factory: pytest.TempPathFactory) -> Escalated:
    """The end-to-end escalation on its own new SQLite database, run in a thread: Playwright's sync API keeps an
    event loop in this one."""
    data_dir = tmp_path_factory.mktemp("push-escalation")
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["done"] = asyncio.run(_escalate(data_dir))
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if "error" in result:
        raise result["error"]
    return result["done"]


def registration_id(cdp: Any, page: Any) -> str:
    found: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: found.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    live = [r for r in found if not r.get("isDeleted") and r["scopeURL"].endswith("/")]
    assert live, found
    return live[-1]["registrationId"]


def test_decrypted_escalation_becomes_the_notification(phones: Any, served: Server, escalated: Escalated) -> None:
    me = phones()
    me.context.grant_permissions(["notifications"], origin=served.base)
    page = me.sign_in("lina")
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.active))")
    cdp = me.context.new_cdp_session(page)
    plaintext = escalated.push.plaintext.decode()
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": served.base, "registrationId": registration_id(cdp, page),
                                                   "data": plaintext})
    # Read the list in the same call that sees it filled (one round trip: nothing can change in between).
    shown = page.wait_for_function("""navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) =>
        list.length ? list.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data, renotify: n.renotify,
                          icon: n.icon, badge: n.badge, requireInteraction: n.requireInteraction})) : null)""",
    ).json_value()
    message = escalated.push.message
    assert len(shown) == 1, shown
    [notification] = shown
    assert notification["title"] == message["title"] and notification["body"] == message["body"]
    assert notification["tag"] == message["tag"] == f"p-{escalated.project_id.hex}"
    assert notification["data"]["url"] == served.base + message["url"]
    assert notification["data"]["url"].endswith(f"/projects/{escalated.project_id}#milestone-{escalated.milestone_id}")
    assert notification["renotify"] is True and notification["requireInteraction"] is True
    assert notification["icon"].startswith(served.base + "/static/") and notification["badge"]


def test_settings_button_shows_why_a_hanging_subscribe_failed(phones: Any, served: Server) -> None:
    me = phones("en")
    me.context.grant_permissions(["notifications"], origin=served.base)
    # Some browser states leave pushManager.subscribe pending for ever; the button must give up and say so.
    me.context.add_init_script("window.IPMS_PUSH_TIMEOUT_MS = 300;"
                               "PushManager.prototype.subscribe = function () { return new Promise(() => {}); };")
    me.sign_in("lina")
    page = me.open("/settings")
    page.click("#push-on")
    expect(page.locator("#push-error")).to_contain_text("did not answer the subscription request in time")
    expect(page.locator("[data-push-state]")).to_have_attribute("data-push-state", "failed")
    expect(page.locator("#push-on")).to_be_enabled()
    me.screenshot("push-settings-timeout")


def test_settings_button_in_headless_chromium_fails_with_a_message(phones: Any, served: Server) -> None:
    """Headless Chromium has no push service: whether subscribe rejects or hangs, the user reads why."""
    me = phones("en")
    me.context.grant_permissions(["notifications"], origin=served.base)
    me.context.add_init_script("window.IPMS_PUSH_TIMEOUT_MS = 3000;")
    me.sign_in("lina")
    page = me.open("/settings")
    page.click("#push-on")
    expect(page.locator("#push-error")).to_be_visible()
    assert page.locator("#push-error").inner_text().strip()


def test_settings_on_iphone_in_a_tab_explains_add_to_home_screen(phones: Any, served: Server) -> None:
    me = phones("zh")
    me.context.add_init_script(f"Object.defineProperty(navigator, 'userAgent', {{get: () => {IPHONE_SAFARI!r}}});")
    me.sign_in("lina")
    page = me.open("/settings")
    expect(page.locator("[data-push-state]")).to_have_attribute("data-push-state", "ios-tab")
    expect(page.locator("#push-status")).to_contain_text("添加到主屏幕")
    expect(page.locator("#push-on")).to_have_count(0)
    me.screenshot("push-settings-ios-tab")
