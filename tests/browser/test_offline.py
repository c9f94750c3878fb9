"""Offline field kit in Chromium (issue 6): a real disconnect (the server process stops), the app opening from the
service worker, notes and photos queued in IndexedDB and delivered exactly once when the server is back; sign-out
wiping local data; an expired session keeping the outbox; a second user on the same phone seeing nothing of the first.

This module runs its own server (demo data in a fresh directory) because it stops and restarts it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.browser import ARTIFACTS, PASSWORD, PHONE
from tests.support.demo import Server

pytestmark = pytest.mark.browser
AGENT, OTHER_AGENT, MANAGER = "lina", "shpd_agent2", "wangqiang"
WAIT_S = 30  # an upper bound for a condition on a loaded 2-core machine, not a delay

# Reads the field kit's IndexedDB through its own module (same URL as the page's, so the same code).
FIELDKIT = """async ([module, call, args]) => {
  const base = document.querySelector('script[type=module][src$="/shell.js"]').src.replace(/shell\\.js$/, "");
  const m = await import(base + "fieldkit/" + module + ".js");
  return await m[call](...(args || []));
}"""
LOCAL = """async () => {
  const base = document.querySelector('script[type=module][src$="/shell.js"]').src.replace(/shell\\.js$/, "");
  const db = await import(base + "fieldkit/db.js");
  const session = await db.currentSession();
  const user = session ? session.userId : null;
  const all = await db.transaction(["records", "outbox", "state"], "readonly", async (s, done) => ({
    records: await done(s.records.getAll()), outbox: await done(s.outbox.getAll()), state: await done(s.state.getAll()),
  }));
  return { user, records: all.records.map((r) => [r.user, r.kind, r.id]),
           outbox: all.outbox.map((o) => ({ user: o.user, type: o.type, state: o.state, error: o.error || null,
                                            body: o.op ? o.op.data.body : null })),
           state: all.state.map((s) => ({ user: s.user, cursor: s.cursor, lastError: s.lastError })) };
}"""


# Records each multipart upload exactly as the page hands it to XMLHttpRequest (Playwright's request events carry
# no body for Blob parts); the server's stored sha256 of the bytes it received ties the two together.
RECORD_UPLOADS = """(() => {
  const send = XMLHttpRequest.prototype.send;
  window.ipmsUploads = [];
  const base64 = (bytes) => { let text = ""; for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)); return btoa(text); };
  XMLHttpRequest.prototype.send = function (body) {
    if (body instanceof FormData) {
      const record = { fields: {}, ready: false };
      const jobs = [];
      for (const [key, value] of body.entries()) {
        if (value instanceof Blob) {
          jobs.push(value.arrayBuffer().then((b) => { record.fields[key] = base64(new Uint8Array(b)); }));
        } else record.fields[key] = value;
      }
      Promise.all(jobs).then(() => { record.ready = true; });
      window.ipmsUploads.push(record);
    }
    return send.call(this, body);
  };
})();"""


@pytest.fixture(scope="module")
def server(demo_server: Server) -> Server:
    """This module's demo server, which its tests stop and start again on the same port and data."""
    return demo_server


class Device:
    """One phone (a browser context that keeps its storage across sign-ins), in Shanghai time."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.server = server
        self.context = browser.new_context(**PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
                                           extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        self.context.set_default_timeout(WAIT_S * 1000)
        self.errors: list[str] = []
        self.uploads: list[dict[str, Any]] = []
        self.context.on("request", self._record)
        self.context.add_init_script(RECORD_UPLOADS)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _record(self, request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/api/photos"):
            self.uploads.append({"headers": request.headers})

    def sign_in(self, username: str) -> Any:
        page = self.page
        page.goto(self.server.url + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(self.server.url + "/")
        self.ready()
        return page

    def ready(self) -> None:
        expect(self.page.locator(".app main.screen")).to_be_visible()
        expect(self.page.locator(".app [data-state=loading]")).to_have_count(0)

    def local(self) -> dict[str, Any]:
        return self.page.evaluate(LOCAL)

    def fieldkit(self, module: str, call: str, *args: Any) -> Any:
        return self.page.evaluate(FIELDKIT, [module, call, list(args)])

    def until(self, what: str, check: Any) -> dict[str, Any]:
        """Poll the local data until `check(local)` holds (short polls; the bound is WAIT_S)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            local = self.local()
            if check(local):
                return local
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {local['outbox']} {local['state']}"
            self.page.wait_for_timeout(150)

    def synced_once(self, user: str) -> dict[str, Any]:
        return self.until("the first pull", lambda local: any(s["user"] == user and s["cursor"]
                                                               for s in local["state"]))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def device(browser: Any, server: Server) -> Iterator[Device]:
    made = Device(browser, server)
    try:
        yield made
    finally:
        errors = made.errors
        made.close()
        assert errors == [], f"JavaScript errors: {errors}"


def jpeg_with_exif(width: int, height: int, taken: str, offset: str = "+08:00") -> bytes:
    image = Image.new("RGB", (width, height), (30, 90, 160))
    for x in range(0, width, max(1, width // 16)):  # some structure, so the JPEG is not trivially small
        image.paste((200, (x * 7) % 255, 40), (x, 0, x + width // 32, height))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0132] = taken
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = taken
    ifd[0x9011] = offset
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def api_as(server: Server, username: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    reply = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert reply.status_code in (200, 201), reply.text
    return client


def installed(device: Device, username: str) -> None:
    """Signed in, the service worker controls the page, the app page is cached, and the first pull is stored."""
    page = device.sign_in(username)
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.reload()  # a navigation through the service worker caches the app page for cold starts
    device.ready()
    device.synced_once(device.server.user_id(username))


def test_offline_notes_and_photos_are_delivered_exactly_once(device: Device, server: Server,
                                                             tmp_path: Path) -> None:
    lina = server.user_id(AGENT)
    installed(device, AGENT)
    page = device.page
    online_today = page.locator("#today-visits li[data-id]").evaluate_all("rows => rows.map((r) => r.dataset.id)")
    assert online_today, "the demo agent has visits today"
    visit_id = online_today[0]
    with server.db() as db:
        notes_before = db.execute("SELECT count(*) FROM notes WHERE visit = ?", (visit_id,)).fetchone()[0]
        photos_before = db.execute("SELECT count(*) FROM photos WHERE visit = ?", (visit_id,)).fetchone()[0]

    server.stop()  # a real disconnect: the websocket closes
    device.context.set_offline(True)
    page.reload()
    expect(page.locator("#offline-kit")).to_be_visible()
    expect(page.locator("#fk-today li[data-id]")).to_have_count(len(online_today))
    assert page.locator("#fk-today li[data-id]").evaluate_all("rows => rows.map((r) => r.dataset.id)") == online_today
    device.screenshot("offline-home")

    page.locator(f"#fk-today li[data-id='{visit_id}'] a").click()
    expect(page.locator("#fk-visit")).to_have_attribute("data-id", visit_id)
    bodies = [f"离线笔记 {n}: 客户看了三套房" for n in (1, 2, 3)]
    for n, body in enumerate(bodies, 1):
        page.fill("#fk-note-body", body)
        page.click("#fk-note-save")
        expect(page.locator("#fk-notes li.queued")).to_have_count(n)
    big = tmp_path / "big.jpg"
    big.write_bytes(jpeg_with_exif(4000, 3000, "2026:11:28 09:15:42"))
    small = tmp_path / "small.jpg"
    small.write_bytes(jpeg_with_exif(1200, 900, "2026:11:28 10:05:00"))
    page.locator("#offline-kit input[data-capture-input=library]").set_input_files([str(big), str(small)])
    expect(page.locator("#fk-outbox")).to_have_attribute("data-pending", "5")
    local = device.local()
    assert sorted(o["type"] for o in local["outbox"]) == ["op", "op", "op", "photo", "photo"]
    assert {o["user"] for o in local["outbox"]} == {lina}
    device.screenshot("offline-visit-queued")
    assert device.uploads == [], "nothing left the phone while offline"

    server.start()
    device.context.set_offline(False)
    device.until("the outbox to drain", lambda local: not local["outbox"])
    expect(page.locator(".app main.screen")).to_be_visible()  # the ReactPy app is back
    expect(page.locator("#offline-kit")).to_have_count(0)
    device.screenshot("back-online")

    with server.db() as db:
        notes = db.execute("SELECT body, author FROM notes WHERE visit = ?", (visit_id,)).fetchall()
        photos = db.execute("SELECT * FROM photos WHERE visit = ? ORDER BY taken_at", (visit_id,)).fetchall()
    assert len(notes) == notes_before + 3 and len(photos) == photos_before + 2
    mine = [n for n in notes if n["body"] in bodies]
    assert sorted(n["body"] for n in mine) == bodies and {n["author"] for n in mine} == {lina}
    new_photos = [p for p in photos if p["owner"] == lina and p["taken_at"]][-2:]
    for row in new_photos:
        assert row["source_format"].upper() in ("JPEG", "JPG")
        assert max(row["source_width"], row["source_height"]) <= 1600
    taken = sorted(dt.datetime.fromisoformat(str(p["taken_at"])).astimezone(dt.UTC) for p in new_photos)
    assert taken == [dt.datetime(2026, 11, 28, 1, 15, 42, tzinfo=dt.UTC),
                     dt.datetime(2026, 11, 28, 2, 5, tzinfo=dt.UTC)]

    # The upload requests: a JPEG ≤ 1600 px without EXIF, the capture time as a form field; the server's sha256
    # of the bytes it received matches what the page sent.
    assert len(device.uploads) == 2, "each photo was uploaded once"
    sent = page.wait_for_function("window.ipmsUploads.length === 2 && window.ipmsUploads.every((u) => u.ready)"
                                  " && window.ipmsUploads").json_value()
    received = {p["source_sha256"]: p for p in new_photos}
    sizes = set()
    for upload in sent:
        fields = upload["fields"]
        photo = base64.b64decode(fields["file"])
        assert photo[:3] == b"\xff\xd8\xff" and b"Exif\x00\x00" not in photo[:4096]
        image = Image.open(io.BytesIO(photo))
        assert image.format == "JPEG" and max(image.size) <= 1600 and not image.getexif()
        sizes.add(image.size)
        assert fields["visit_id"] == visit_id
        row = received[hashlib.sha256(photo).hexdigest()]
        assert row["source_bytes"] == len(photo) and (row["source_width"], row["source_height"]) == image.size
        assert dt.datetime.fromisoformat(fields["taken_at"]) == dt.datetime.fromisoformat(str(row["taken_at"]))
    assert sizes == {(1600, 1200), (1200, 900)}
    assert {u["fields"]["taken_at"] for u in sent} == {"2026-11-28T09:15:42+08:00", "2026-11-28T10:05:00+08:00"}

    # The branch manager sees them.
    manager = api_as(server, MANAGER)
    try:
        listed = manager.get("/api/notes", params={"visit_id": visit_id, "limit": 100}).json()["items"]
        assert set(bodies) <= {n["body"] for n in listed}
        listed_photos = manager.get("/api/photos", params={"visit_id": visit_id, "limit": 100}).json()["items"]
        assert {str(p["id"]) for p in listed_photos} >= {str(p["id"]) for p in new_photos}
    finally:
        manager.close()


def test_sign_out_wipes_local_data_caches_and_the_push_subscription(device: Device, server: Server) -> None:
    from tests.support.push_service import fake_browser

    lina = server.user_id(AGENT)
    installed(device, AGENT)
    page = device.page
    local = device.local()
    assert any(r[0] == lina for r in local["records"])
    device_id = page.evaluate("localStorage.getItem('ipms.device.id')")
    subscription = {**fake_browser(endpoint="https://push.example.com/push/offline-test").subscription_json(),
                    "device_id": device_id}
    status = page.evaluate("""async (body) => (await fetch("/api/push/subscription", { method: "PUT",
        headers: { "Content-Type": "application/json",
                   "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content },
        body: JSON.stringify(body) })).status""", subscription)
    assert status == 200
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM push_subscriptions WHERE device = ?", (device_id,)).fetchone()[0] == 1
    assert page.evaluate("caches.keys()"), "the service worker has caches"

    page.goto(server.url + "/settings")
    device.ready()
    page.click("#sign-out")
    page.wait_for_url(server.url + "/login")
    left = page.evaluate("""async () => {
      const open = indexedDB.open("ipms-fieldkit");
      const db = await new Promise((resolve, reject) => {
        open.onsuccess = () => resolve(open.result); open.onerror = reject; });
      const all = async (name) => await new Promise((resolve) => {
        const request = db.transaction(name).objectStore(name).getAll();
        request.onsuccess = () => resolve(request.result); });
      const result = { records: (await all("records")).length, outbox: (await all("outbox")).length,
                       state: (await all("state")).length, meta: (await all("meta")).length,
                       caches: await caches.keys(), pages: [] };
      for (const name of result.caches.filter((n) => !n.startsWith("ipms-static-"))) {
        for (const request of await (await caches.open(name)).keys()) result.pages.push(request.url);
      }
      db.close();
      return result;
    }""")
    assert (left["records"], left["outbox"], left["state"], left["meta"]) == (0, 0, 0, 0)
    assert left["pages"] == [], "no cached page or push data of the signed-out user is left"
    assert not [name for name in left["caches"] if name.startswith("push-meta")]
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM push_subscriptions WHERE device = ?", (device_id,)).fetchone()[0] == 0
    device.screenshot("signed-out")


def test_expired_session_keeps_the_outbox_for_its_owner_and_hides_it_from_the_next_user(
        device: Device, server: Server) -> None:
    lina, other = server.user_id(AGENT), server.user_id(OTHER_AGENT)
    installed(device, AGENT)
    page = device.page
    visit_id = page.locator("#today-visits li[data-id]").first.get_attribute("data-id")
    device.context.set_offline(True)
    bodies = ["过期会话笔记 A", "过期会话笔记 B"]
    for body in bodies:
        device.fieldkit("sync", "queueNote", {"kind": "visit", "id": visit_id}, body)
    assert len(device.local()["outbox"]) == 2

    device.context.clear_cookies()  # the session is gone (expired) while the phone was offline
    device.context.set_offline(False)
    device.fieldkit("sync", "syncNow", "test")
    local = device.until("the sync to stop on 401", lambda local: len(local["outbox"]) == 2)
    assert page.evaluate("document.querySelector('meta[name=ipms-user]').content") == lina
    status = device.fieldkit("sync", "currentStatus")
    assert status["lastError"] == "expired" and status["pending"] == 2
    assert {o["user"] for o in local["outbox"]} == {lina} and {o["state"] for o in local["outbox"]} == {"pending"}
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM notes WHERE body IN (?, ?)", bodies).fetchone()[0] == 0

    # A second agent signs in on the same phone: none of the first user's data is theirs to see or send.
    installed(device, OTHER_AGENT)
    local = device.local()
    assert local["user"] == other
    theirs = device.fieldkit("db", "recordsOf", other, None)
    lina_only = {r[2] for r in local["records"] if r[0] == lina} - {str(r["id"]) for r in theirs}
    assert lina_only, "the first user's cache stays on the phone, under their key"
    assert not ({str(r["id"]) for r in theirs} & lina_only)
    assert device.fieldkit("db", "outboxOf", other) == []
    expect(page.locator("#today-visits")).not_to_contain_text(bodies[0])
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM notes WHERE body IN (?, ?)", bodies).fetchone()[0] == 0
    device.screenshot("second-user")

    page.goto(server.url + "/settings")
    device.ready()
    page.click("#sign-out")
    page.wait_for_url(server.url + "/login")

    # The owner signs in again: their notes are delivered, as theirs.
    installed(device, AGENT)
    device.until("the owner's outbox to drain", lambda local: not [o for o in local["outbox"] if o["user"] == lina])
    with server.db() as db:
        rows = db.execute("SELECT body, author, visit FROM notes WHERE body IN (?, ?)", bodies).fetchall()
    assert sorted(r["body"] for r in rows) == sorted(bodies)
    assert {r["author"] for r in rows} == {lina} and {r["visit"] for r in rows} == {visit_id}
