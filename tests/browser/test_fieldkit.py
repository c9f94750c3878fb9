"""The field kit at native grade (issue 12), in Chromium on an on-disk profile against a really stopped server:
the app opens offline from the first sign-in, syncs within seconds of the server answering again, and shows what
waits to be sent on every screen."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.support.demo import Server

pytestmark = pytest.mark.browser
AGENT = "lina"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Reads one store of the field kit's IndexedDB directly (not through the field kit's own code).
STORE = """async (name) => {
  const open = indexedDB.open("ipms-fieldkit");
  const db = await new Promise((resolve, reject) => {
    open.onsuccess = () => resolve(open.result); open.onerror = reject; });
  const request = db.transaction(name).objectStore(name).getAll();
  const rows = await new Promise((resolve) => { request.onsuccess = () => resolve(request.result); });
  db.close();
  return rows;
}"""
SYNCED = f"async () => (await ({STORE})('state')).some((row) => row.cursor)"


def outbox(page: Any) -> list[dict[str, Any]]:
    return [{"state": i["state"], "kind": i["op"]["kind"] if i.get("op") else i["type"]}
            for i in page.evaluate(STORE, "outbox")]


def todays_visits(server: Server, username: str) -> list[str]:
    """The ids of the user's visits today (Shanghai), in time order: what the field kit must show offline."""
    today = dt.datetime.now(SHANGHAI).date()
    with server.db() as db:
        rows = db.execute("SELECT id, scheduled_at FROM visits WHERE owner = ? ORDER BY scheduled_at",
                          (server.user_id(username),)).fetchall()
    return [str(r["id"]) for r in rows
            if dt.datetime.fromisoformat(str(r["scheduled_at"])).astimezone(SHANGHAI).date() == today]


def first_sync(page: Any) -> None:
    page.wait_for_function(SYNCED, polling=200)
    page.wait_for_function("navigator.serviceWorker.getRegistration().then((r) => Boolean(r && r.active))",
                           polling=200)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_app_opens_offline_from_the_first_sign_in(own_server: Server, installed_phones: Any, lang: str) -> None:
    server = own_server
    expected = todays_visits(server, AGENT)
    assert expected, "the demo agent has visits today"
    phone = installed_phones(server, lang)
    page = phone.launch()
    page.goto(server.url + "/login")
    page.wait_for_function("navigator.serviceWorker.getRegistration().then((r) => Boolean(r))", polling=200)
    phone.sign_in(AGENT)  # no reload, no second visit: the first signed-in page is all there is
    first_sync(page)

    server.stop()  # the port is closed; navigator.onLine stays true
    phone.kill()
    page = phone.launch()
    phone.open("/")
    expect(page.locator("#offline-kit")).to_be_visible()
    expect(page.locator("#fk-today li[data-id]")).to_have_count(len(expected))
    assert page.locator("#fk-today li[data-id]").evaluate_all("rows => rows.map((r) => r.dataset.id)") == expected
    assert page.evaluate("document.querySelector('meta[name=ipms-user]')") is None, "the cached page names nobody"
    title = {"zh": "离线工作包", "en": "Offline field kit"}[lang]
    expect(page.locator("#fk-title")).to_have_text(title)
    phone.screenshot(f"fieldkit-first-day-offline-{lang}")

    # A note written in this cold-started shell is queued under the user kept in IndexedDB, with the kept token.
    page.locator("#fk-today li[data-id] a").first.click()
    page.fill("#fk-note-body", f"first-day note {lang}")
    page.click("#fk-note-save")
    expect(page.locator("#fk-notes li.queued")).to_have_count(1)
    server.start()
    deadline = time.monotonic() + 30
    while outbox(page):
        assert time.monotonic() < deadline, outbox(page)
        page.wait_for_timeout(200)
    with server.db() as db:
        row = db.execute("SELECT author FROM notes WHERE body = ?", (f"first-day note {lang}",)).fetchone()
    assert row is not None and str(row["author"]) == server.user_id(AGENT)


def test_outbox_drains_within_seconds_of_the_server_answering(own_server: Server, installed_phones: Any) -> None:
    server = own_server
    phone = installed_phones(server, "zh")
    page = phone.launch()
    phone.sign_in(AGENT)
    first_sync(page)
    visit = page.locator("#today-visits li[data-id]").first.get_attribute("data-id")

    server.stop()
    page.reload()  # the service worker answers with the shell; the field kit mounts from IndexedDB
    expect(page.locator("#offline-kit")).to_be_visible()
    page.locator(f"#fk-today li[data-id='{visit}'] a").click()
    bodies = [f"信号恢复笔记 {n}" for n in range(5)]
    for n, body in enumerate(bodies, 1):
        page.fill("#fk-note-body", body)
        page.click("#fk-note-save")
        expect(page.locator("#fk-notes li.queued")).to_have_count(n)
    page.wait_for_timeout(4000)  # a few failed rounds and probes, as on a phone that waited in a lift lobby
    assert page.evaluate("navigator.onLine") is True
    assert len(outbox(page)) == len(bodies)

    server.start()
    expect(page.locator("#fk-outbox")).to_have_attribute("data-pending", "0", timeout=10_000)
    assert page.evaluate("navigator.onLine") is True
    with server.db() as db:
        count = db.execute(f"SELECT count(*) FROM notes WHERE body IN ({','.join('?' * len(bodies))})",
                           bodies).fetchone()[0]
    assert count == len(bodies)
