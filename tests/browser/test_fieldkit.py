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
ACTIVE_WORKER = "navigator.serviceWorker.getRegistration().then((r) => Boolean(r && r.active))"
SHELL_CACHED = "caches.match('/app-shell').then((r) => Boolean(r))"


def until(page: Any, what: str, check: Any, seconds: float = 30) -> None:
    """Poll `check()` (it reads the page) until it holds; `seconds` is an upper bound, not a delay.
    (Playwright's wait_for_function takes a returned Promise for a truthy value, so it cannot await IndexedDB.)"""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        page.wait_for_timeout(100)


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
    until(page, "the first pull", lambda: any(row.get("cursor") for row in page.evaluate(STORE, "state")))
    until(page, "an active service worker", lambda: page.evaluate(ACTIVE_WORKER))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_app_opens_offline_from_the_first_sign_in(own_server: Server, installed_phones: Any, lang: str) -> None:
    server = own_server
    expected = todays_visits(server, AGENT)
    assert expected, "the demo agent has visits today"
    phone = installed_phones(server, lang)
    page = phone.launch()
    page.goto(server.url + "/login")
    # The sign-in page itself installs the service worker (and with it the user-neutral shell).
    until(page, "the service worker installed from the sign-in page", lambda: page.evaluate(ACTIVE_WORKER))
    assert page.evaluate(SHELL_CACHED)
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
    until(page, "the outbox to drain", lambda: not outbox(page))
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
    # The outbox empties within 10 s of the server answering (whichever screen shows meanwhile: the field kit, or
    # the online app once its websocket is back).
    until(page, "the outbox to drain", lambda: not outbox(page), seconds=10)
    assert page.evaluate("navigator.onLine") is True
    with server.db() as db:
        count = db.execute(f"SELECT count(*) FROM notes WHERE body IN ({','.join('?' * len(bodies))})",
                           bodies).fetchone()[0]
    assert count == len(bodies)


# Queues a note through the field kit's own module, as the note composer does.
QUEUE_NOTE = """async ([parent, body]) => {
  const base = document.querySelector('script[type=module][src$="/shell.js"]').src.replace(/shell\\.js$/, "");
  const sync = await import(base + "fieldkit/sync.js");
  await sync.queueNote(parent, body);
}"""
REFUSED = {"zh": "对应的记录已不存在或您已无权查看", "en": "The record it belongs to is gone or no longer yours to see"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pending_work_shows_on_every_screen_and_a_refusal_reads_in_words(
        demo_server: Server, installed_phones: Any, lang: str) -> None:
    server = demo_server
    phone = installed_phones(server, lang)
    page = phone.launch()
    phone.sign_in(AGENT)
    first_sync(page)
    badge = page.locator(".app #fk-badge")
    expect(badge).to_be_hidden()
    expect(badge).to_have_attribute("data-count", "0")

    # A note for a visit the server does not know: refused for good, never retried on its own.
    page.evaluate(QUEUE_NOTE, [{"kind": "visit", "id": "00000000-0000-4000-8000-000000000001"}, "refused note"])
    expect(badge).to_be_visible()
    expect(badge).to_have_attribute("data-state", "failed")
    expect(badge).to_have_attribute("data-count", "1")
    phone.screenshot(f"fieldkit-badge-home-{lang}")
    page.click(".bottom-nav a[data-screen=clients]")
    expect(page.locator(".app[data-screen=clients] #fk-badge")).to_have_attribute("data-count", "1")

    page.click("#fk-badge")
    sheet = page.locator("#fk-outbox-sheet")
    expect(sheet).to_be_visible()
    item = sheet.locator(".fk-outbox-item[data-state=rejected]")
    expect(item.locator(".fk-reason")).to_have_text(REFUSED[lang])
    expect(item.locator("[data-action=retry]")).to_be_visible()
    phone.screenshot(f"fieldkit-outbox-sheet-refused-{lang}", full_page=False)
    item.locator("[data-action=discard]").click()
    expect(item.locator(".fk-confirm")).to_be_visible()  # asks first
    item.locator("[data-action=discard-cancel]").click()
    expect(item.locator("[data-action=discard]")).to_be_visible()
    item.locator("[data-action=discard]").click()
    item.locator("[data-action=discard-confirm]").click()
    expect(sheet.locator(".fk-outbox-item")).to_have_count(0)
    expect(page.locator("#fk-badge")).to_have_attribute("data-count", "0")


def test_waiting_work_shows_in_the_offline_header_and_on_its_visit_row(
        own_server: Server, installed_phones: Any) -> None:
    server = own_server
    phone = installed_phones(server, "zh")
    page = phone.launch()
    phone.sign_in(AGENT)
    first_sync(page)
    visits = page.locator("#today-visits li[data-id]").evaluate_all("rows => rows.map((r) => r.dataset.id)")
    # A note the server refuses (an empty body) stays on the phone: the online home row counts it.
    page.evaluate(QUEUE_NOTE, [{"kind": "visit", "id": visits[0]}, ""])
    expect(page.locator(f"#today-visits li[data-id='{visits[0]}'] .fk-visit-pending")).to_have_attribute(
        "data-pending", "1")
    expect(page.locator(f"#today-visits li[data-id='{visits[1]}'] .fk-visit-pending")).to_have_count(0)
    expect(page.locator(".app #fk-badge")).to_have_attribute("data-state", "failed")

    server.stop()
    page.reload()
    expect(page.locator("#offline-kit")).to_be_visible()
    page.locator(f"#fk-today li[data-id='{visits[1]}'] a").click()
    page.fill("#fk-note-body", "电梯厅里写的笔记")
    page.click("#fk-note-save")
    page.click("#fk-back")
    header = page.locator("#offline-kit .app-header #fk-badge")
    expect(header).to_have_attribute("data-count", "2")
    expect(header).to_have_attribute("data-state", "failed")
    expect(page.locator(f"#fk-today li[data-id='{visits[1]}'] .fk-visit-pending")).to_have_attribute(
        "data-pending", "1")
    phone.screenshot("fieldkit-offline-badge-zh")
    header.click()  # the outbox is on this screen: the tap brings it into view
    expect(page.locator("#fk-outbox")).to_be_in_viewport()


def drafts(page: Any) -> list[str]:
    return [row["text"] for row in page.evaluate(STORE, "drafts")]


def test_a_half_typed_note_survives_an_app_kill(demo_server: Server, installed_phones: Any) -> None:
    server = demo_server
    phone = installed_phones(server, "zh")
    page = phone.launch()
    phone.sign_in(AGENT)
    first_sync(page)
    visit = page.locator("#today-visits li[data-id]").first.get_attribute("data-id")
    page.locator(f"#today-visits li[data-id='{visit}'] a").click()
    expect(page.locator("#visit")).to_have_attribute("data-id", visit)
    text = "客户想要南向三房，预算可以再谈"
    page.locator("#visit #fk-note-body").press_sequentially(text)
    until(page, "the draft to be kept", lambda: drafts(page) == [text])

    phone.kill()  # the system kills the app mid-sentence
    page = phone.launch()
    phone.open(f"/visits/{visit}")
    expect(page.locator("#visit #fk-note-body")).to_have_value(text)
    phone.screenshot("fieldkit-draft-restored-zh")
    page.locator("#visit #fk-note-body").press_sequentially("。")
    page.click("#visit #fk-note-save")
    expect(page.locator("#visit ul.notes li.note").filter(has_text=text + "。")).to_have_count(1)
    until(page, "the draft to go", lambda: drafts(page) == [])
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM notes WHERE body = ?", (text + "。",)).fetchone()[0] == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_dropped_connection_swaps_screens_at_the_same_visit(own_server: Server, installed_phones: Any,
                                                               lang: str) -> None:
    server = own_server
    phone = installed_phones(server, lang)
    page = phone.launch()
    phone.sign_in(AGENT)
    first_sync(page)
    visit = page.locator("#today-visits li[data-id]").first.get_attribute("data-id")
    page.locator(f"#today-visits li[data-id='{visit}'] a").click()
    expect(page.locator("#visit")).to_have_attribute("data-id", visit)
    text = f"half-typed when the signal went {lang}"
    page.locator("#visit #fk-note-body").press_sequentially(text)
    until(page, "the draft to be kept", lambda: drafts(page) == [text])

    page.evaluate("window.ipmsSameDocument = true")  # gone if anything reloads the page
    server.stop()  # mid-session: the websocket drops
    expect(page.locator("#offline-kit #fk-visit")).to_have_attribute("data-id", visit)
    expect(page.locator(".reactpy-mount").first).to_be_hidden()  # replaced, not stacked under
    expect(page.locator("#offline-kit #fk-note-body")).to_have_value(text)
    save = page.locator("#offline-kit #fk-note-save")
    save.scroll_into_view_if_needed()
    # Nothing of the online screen (its bottom navigation) lies over the button: it is what a tap there hits.
    assert save.evaluate("""(button) => { const r = button.getBoundingClientRect();
      return button.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); }""")
    phone.screenshot(f"fieldkit-dropped-same-visit-{lang}", full_page=False)
    save.click()
    expect(page.locator("#offline-kit #fk-notes li.queued")).to_have_count(1)

    server.start()
    # The online screen is back at the same visit and shows the note (waiting, then the server's) with no reload.
    expect(page.locator("#visit")).to_have_attribute("data-id", visit, timeout=30_000)
    expect(page.locator("#offline-kit")).to_have_count(0)
    expect(page.locator("#visit ul.notes li.note").filter(has_text=text)).to_have_count(1)
    expect(page.locator("#visit #fk-note-body")).to_have_value("")
    assert page.evaluate("window.ipmsSameDocument") is True
    phone.screenshot(f"fieldkit-reconnected-note-{lang}")


# A phone clock the test can set: `window.ipmsClockShift` milliseconds off the real time (0 unless set).
SHIFTABLE_CLOCK = """(() => {
  const Real = Date;
  const shift = () => window.ipmsClockShift || 0;
  class PhoneDate extends Real {
    constructor(...args) { if (args.length) super(...args); else super(Real.now() + shift()); }
    static now() { return Real.now() + shift(); }
  }
  window.Date = PhoneDate;
})();"""


def test_a_note_written_offline_keeps_its_time_beside_the_receipt_time(own_server: Server,
                                                                       installed_phones: Any) -> None:
    server = own_server
    phone = installed_phones(server, "zh")
    page = phone.launch()
    phone.context.add_init_script(SHIFTABLE_CLOCK)
    phone.sign_in(AGENT)
    first_sync(page)
    visit = page.locator("#today-visits li[data-id]").first.get_attribute("data-id")
    page.locator(f"#today-visits li[data-id='{visit}'] a").click()
    expect(page.locator("#visit")).to_have_attribute("data-id", visit)

    server.stop()
    expect(page.locator("#offline-kit #fk-visit")).to_have_attribute("data-id", visit)
    # Written "3.5 hours ago": the phone's clock says so while the note is queued, and is right again when the
    # outbox is sent — as if the phone had waited 3.5 hours in the garage.
    page.evaluate("window.ipmsClockShift = -3.5 * 3600 * 1000")
    page.fill("#offline-kit #fk-note-body", "车库里写的笔记")
    page.click("#offline-kit #fk-note-save")
    expect(page.locator("#offline-kit #fk-notes li.queued")).to_have_count(1)
    page.evaluate("window.ipmsClockShift = 0")

    server.start()
    note = page.locator("#visit ul.notes li.note").filter(has_text="车库里写的笔记")
    expect(note).to_have_count(1, timeout=30_000)
    expect(note.locator(".note-written")).to_contain_text("写于")
    expect(note.locator(".note-received")).to_contain_text("服务器收到")
    expect(note.locator("[data-flag=clock-skew]")).to_have_count(0)
    phone.screenshot("fieldkit-note-written-received-zh")
    with server.db() as db:
        row = db.execute("SELECT written_at, created_at, clock_skewed FROM notes WHERE body = ?",
                         ("车库里写的笔记",)).fetchone()
    gap = dt.datetime.fromisoformat(str(row["created_at"])) - dt.datetime.fromisoformat(str(row["written_at"]))
    assert abs(gap - dt.timedelta(hours=3, minutes=30)) < dt.timedelta(minutes=1), gap
    assert not row["clock_skewed"]


def manager_api(server: Server) -> Any:
    import httpx

    client = httpx.Client(base_url=server.url, timeout=30)
    signed = client.post("/api/auth/login", json={"username": "wangqiang", "password": "demo1234"})
    assert signed.status_code in (200, 201), signed.text
    client.headers["x-csrf-token"] = signed.json()["csrf_token"]
    return client


def planned_visit_today(server: Server) -> dict[str, Any]:
    today = dt.datetime.now(SHANGHAI).date()
    with server.db() as db:
        rows = db.execute("SELECT v.id, v.version, c.name, c.phone FROM visits v JOIN clients c ON c.id = v.client "
                          "WHERE v.owner = ? AND v.status = 'planned' ORDER BY v.scheduled_at",
                          (server.user_id(AGENT),)).fetchall()
        found = [dict(r) for r in rows]
        scheduled = {str(r["id"]): r["scheduled_at"] for r in db.execute("SELECT id, scheduled_at FROM visits")}
    todays = [r for r in found if dt.datetime.fromisoformat(str(scheduled[str(r["id"])])).astimezone(SHANGHAI).date()
              == today]
    assert todays, "the demo agent has a planned visit today"
    return {**todays[0], "id": str(todays[0]["id"])}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_visit_marked_done_offline_arrives_once(own_server: Server, installed_phones: Any, lang: str,
                                                  tmp_path: Any) -> None:
    from tests.browser.test_offline import jpeg_with_exif

    server = own_server
    visit = planned_visit_today(server)
    phone = installed_phones(server, lang)
    page = phone.launch()
    phone.sign_in(AGENT)
    first_sync(page)
    server.stop()
    page.reload()
    expect(page.locator("#offline-kit")).to_be_visible()

    # Search the clients this phone holds; the hit opens the client's visit with the client's card.
    page.fill("#fk-search-input", visit["name"])
    page.locator("#fk-search-results .fk-search-hit").first.click()
    expect(page.locator("#fk-visit")).to_have_attribute("data-id", visit["id"])
    card = page.locator("#fk-client")
    expect(card.locator(".title")).to_have_text(visit["name"])
    expect(card.locator("#fk-call")).to_have_attribute("href", "tel:" + "".join(
        ch for ch in visit["phone"] if ch.isdigit() or ch == "+"))
    expect(card.locator("[data-fact=budget]")).not_to_be_empty()
    expect(card.locator("[data-fact=intent]")).not_to_be_empty()

    page.click("#fk-status [data-mark=done]")
    expect(page.locator("#fk-status-text")).to_have_attribute("data-waiting", "true")
    expect(page.locator("#fk-status-text")).to_have_attribute("data-status", "done")
    photo = tmp_path / "site.jpg"
    photo.write_bytes(jpeg_with_exif(1200, 900, "2026:12:02 10:05:00"))
    page.locator("#offline-kit input[data-capture-input=library]").set_input_files(str(photo))
    thumb = page.locator("#fk-queued-photos img")
    expect(thumb).to_have_count(1)
    page.wait_for_function("document.querySelector('#fk-queued-photos img').naturalWidth > 0")
    phone.screenshot(f"fieldkit-offline-visit-done-{lang}")

    server.start()
    until(page, "the outbox to drain", lambda: not outbox(page))
    with server.db() as db:
        row = db.execute("SELECT status, version FROM visits WHERE id = ?", (visit["id"],)).fetchone()
        updates = db.execute("SELECT count(*) FROM change_log WHERE row_id = ? AND action = 'update'",
                             (visit["id"],)).fetchone()[0]
        photos = db.execute("SELECT count(*) FROM photos WHERE visit = ? AND taken_at IS NOT NULL",
                            (visit["id"],)).fetchone()[0]
    assert (row["status"], row["version"]) == ("done", visit["version"] + 1)
    assert updates == 1, "the change arrived once"
    assert photos >= 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_conflicting_offline_summary_offers_both_versions(own_server: Server, installed_phones: Any,
                                                             lang: str) -> None:
    server = own_server
    visit = planned_visit_today(server)
    phone = installed_phones(server, lang)
    page = phone.launch()
    phone.sign_in(AGENT)
    first_sync(page)
    manager = manager_api(server)
    try:  # the branch manager edits the summary; the phone does not hear of it before the signal goes
        changed = manager.patch(f"/api/visits/{visit['id']}", json={"version": visit["version"],
                                                                    "summary": "经理写的总结"})
        assert changed.status_code == 200, changed.text
    finally:
        manager.close()
    server.stop()
    page.goto(server.url + f"/visits/{visit['id']}")
    expect(page.locator("#offline-kit #fk-visit")).to_have_attribute("data-id", visit["id"])
    page.fill("#fk-summary-body", "我在现场写的总结")
    page.click("#fk-summary-save")
    expect(page.locator("#fk-summary-text")).to_have_text("我在现场写的总结")

    server.start()
    online_badge = page.locator(".app #fk-badge")  # the online screen is back, and says one change was not sent
    expect(online_badge).to_have_attribute("data-state", "failed", timeout=30_000)
    online_badge.click()
    item = page.locator(".fk-outbox-item[data-state=conflict]").first
    expect(item).to_be_visible(timeout=30_000)
    summary = item.locator(".fk-versions [data-field=summary]")
    expect(summary.locator(".fk-mine")).to_contain_text("我在现场写的总结")
    expect(summary.locator(".fk-theirs")).to_contain_text("经理写的总结")
    phone.screenshot(f"fieldkit-conflict-both-versions-{lang}", full_page=False)
    item.locator("[data-action=keep-mine]").click()
    until(page, "the outbox to drain", lambda: not outbox(page))
    with server.db() as db:
        row = db.execute("SELECT summary, version FROM visits WHERE id = ?", (visit["id"],)).fetchone()
    assert (row["summary"], row["version"]) == ("我在现场写的总结", visit["version"] + 2)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_settings_says_how_much_space_is_used_and_whether_it_is_kept(demo_server: Server, installed_phones: Any,
                                                                      lang: str) -> None:
    server = demo_server
    phone = installed_phones(server, lang)
    page = phone.launch()
    phone.sign_in(AGENT)
    first_sync(page)
    visit = page.locator("#today-visits li[data-id]").first.get_attribute("data-id")
    page.evaluate(QUEUE_NOTE, [{"kind": "visit", "id": visit}, f"storage note {lang}"])  # the first capture asks
    until(page, "the note to be sent", lambda: not outbox(page))
    page.click(".bottom-nav a[data-screen=settings]")
    usage = page.locator("#fk-storage-usage")
    expect(usage).to_contain_text("MB")
    assert int(usage.get_attribute("data-quota") or 0) > 0
    assert int(usage.get_attribute("data-usage") or 0) > 0, "the cached records take some space"
    persisted = page.locator("#fk-storage-info").get_attribute("data-persisted")
    assert persisted == str(page.evaluate("navigator.storage.persisted()")).lower()
    # One plain hint only when the browser refused to keep the data; no warning anywhere else.
    expect(page.locator("#fk-storage-hint")).to_have_count(1 if persisted == "false" else 0)
    page.locator("#fk-storage-info").scroll_into_view_if_needed()
    phone.screenshot(f"fieldkit-settings-storage-{lang}", full_page=False)
    page.click(".bottom-nav a[data-screen=home]")
    expect(page.locator("#fk-storage-hint")).to_have_count(0)
