"""Benchmark: an offline outbox drained through the real endpoints, and a fresh device's first pull.

What it does (issue 6, "Benchmark"):
1. Seeds the demo organisation with ``ipms demo`` into a fresh temporary ``IPMS_DATA_DIR`` (SQLite), or into a
   database of its own on the PostgreSQL server given by ``--postgres URL`` (created here, dropped at the end),
   and starts ``ipms serve`` on a free port as a subprocess.
2. Signs in as two demo agents and registers a device for each (setup, not measured).
3. Baseline, same run: ``--creates`` plain note creates through the JSON API (``POST /api/notes``), one at a time.
4. The outbox: 1,000 queued notes (200 with ``--quick``) pushed through ``POST /api/sync/push`` in batches of
   ``--batch`` (100), then 20 photos (5 with ``--quick``; 1600 px JPEGs, as the field kit sends them after
   compressing) through ``POST /api/photos``, one request each. Every answer is checked, then the database: exactly
   one note and one change-log row per queued note, one row per photo; the first batch sent again answers
   ``duplicate`` throughout.
5. The first pull of a fresh device (cursor 0, every page) for an agent topped up to 500 visible records.
6. The field kit in Chromium (Debian's /usr/bin/chromium, phone viewport, on-disk profile, CPU throttled 4×), issue
   12: ``reconnect_to_empty_s`` is the median, over 5 server restarts (3 with ``--quick``), of the time from "the
   server answers /healthz again" to "the outbox of 20 queued notes is empty", with ``navigator.onLine`` true
   throughout; ``offline_cold_start_ms`` is the time from opening the cached app to its first visit row, the worse
   of two cases: the port closed, and a listener that accepts connections and never answers.

"Server time" is the wall time of each request as the client sees it on the loopback (requests go one at a time,
so the client waits for nothing else); the server's CPU seconds are reported beside it. ``per_note_ratio`` is the
push time per note divided by the median time of one plain note create; ``per_note_cpu_ratio`` is the same in
server CPU seconds (the server's /proc counters), which other load on the machine disturbs less.

Run ``python bench/sync.py [--quick] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]``. Human-readable
lines first; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "demo1234"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PULL_RECORDS = 500


def ipms() -> list[str]:
    script = Path(sys.executable).parent / "ipms"
    return [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def demo_agents(output: str) -> list[str]:
    """Agent usernames from ``ipms demo``'s list of logins ("  username  name  role  branch")."""
    return [parts[0] for line in output.splitlines() if len(parts := line.split()) == 4 and parts[2] == "agent"]


def photo(index: int) -> bytes:
    from PIL import Image

    image = Image.effect_noise((1600, 1200), 40 + index).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


class Session:
    def __init__(self, http: aiohttp.ClientSession, base: str, cookie: str, csrf: str, user: dict[str, Any]) -> None:
        self.http, self.base, self.user = http, base, user
        self.headers = {"Cookie": f"ipms_session={cookie}", "X-CSRF-Token": csrf}
        self.requests = 0
        self.seconds = 0.0

    async def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        started = time.perf_counter()
        async with self.http.request(method, self.base + path, headers=self.headers, **kwargs) as response:
            body = await response.read()
        self.seconds += time.perf_counter() - started
        self.requests += 1
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {response.status} {body[:300].decode(errors='replace')}")
        return json.loads(body) if body else None


async def sign_in(http: aiohttp.ClientSession, base: str, username: str) -> Session:
    async with http.post(f"{base}/api/auth/login", json={"username": username, "password": DEMO_PASSWORD}) as r:
        body = await r.json()
        if r.status not in (200, 201):
            raise RuntimeError(f"login as {username}: HTTP {r.status} {body}")
        cookie = r.cookies["ipms_session"].value
    return Session(http, base, cookie, body["csrf_token"], body["user"])


async def new_device(session: Session, label: str) -> str:
    device_id = str(uuid.uuid4())
    await session.call("PUT", f"/api/auth/devices/{device_id}", json={"label": label})
    return device_id


def note_ops(count: int, visit_id: str, prefix: str) -> list[dict[str, Any]]:
    return [{"op_id": str(uuid.uuid4()), "kind": "note.create",
             "data": {"id": str(uuid.uuid4()), "visit_id": visit_id,
                      "body": f"{prefix} 第{i}条：客户对采光满意，预算可谈"}}
            for i in range(count)]


async def push_all(session: Session, device_id: str, ops: list[dict[str, Any]], batch: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for start in range(0, len(ops), batch):
        answer = await session.call("POST", "/api/sync/push", json={"device_id": device_id,
                                                                     "ops": ops[start:start + batch]})
        results += answer["results"]
    return results


async def fresh_pull(session: Session, device_id: str) -> tuple[int, int, float]:
    """(records, pages, seconds) of a first pull: cursor 0, every page."""
    cursor, records, pages = 0, 0, 0
    started = time.perf_counter()
    while True:
        answer = await session.call("POST", "/api/sync/pull", json={"device_id": device_id, "cursor": cursor})
        pages += 1
        records += sum(len(rows) for rows in answer["records"].values())
        cursor = answer["cursor"]
        if not answer["more"]:
            return records, pages, time.perf_counter() - started


def count_rows(database_url: str, sqlite_path: Path, prefix: str, visit_id: str) -> tuple[int, int, int]:
    """(notes with the prefix, their change-log create rows, photos of the visit)."""
    logged = ("SELECT COUNT(*) FROM change_log c JOIN notes n ON c.row_id = {cast} "
              "WHERE c.table_name = 'notes' AND c.action = 'create' AND n.body LIKE '{p}%'")
    queries = ("SELECT COUNT(*) FROM notes WHERE body LIKE '{p}%'", logged,
               "SELECT COUNT(*) FROM photos WHERE visit = '{v}'")
    if database_url:
        import asyncpg

        async def run() -> tuple[int, int, int]:
            connection = await asyncpg.connect(database_url)
            try:
                return tuple([await connection.fetchval(q.format(p=prefix, v=visit_id, cast="n.id::text"))
                              for q in queries])
            finally:
                await connection.close()

        return asyncio.run(run())
    connection = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=30)
    try:
        return tuple(connection.execute(q.format(p=prefix, v=visit_id, cast="n.id")).fetchone()[0] for q in queries)
    finally:
        connection.close()


async def measure(base: str, agents: list[str], args: argparse.Namespace, pid: int) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as http:
        for _ in range(300):
            try:
                async with http.get(f"{base}/healthz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError("the app did not answer /healthz")
        pusher, puller = await sign_in(http, base, agents[1]), await sign_in(http, base, agents[0])
        device = await new_device(pusher, "bench phone")
        visits = await pusher.call("GET", "/api/visits?limit=1")
        visit_id = visits["items"][0]["id"]

        # Warm-up (first requests pay for imports and caches), then the baseline: plain creates one at a time.
        for i in range(5):
            await pusher.call("POST", "/api/notes", expect=201, json={"visit_id": visit_id, "body": f"warm {i}"})
        await push_all(pusher, device, note_ops(20, visit_id, "warm"), args.batch)
        creates = []
        cpu_before = cpu_seconds(pid)
        for i in range(args.creates):
            started = time.perf_counter()
            await pusher.call("POST", "/api/notes", expect=201, json={"visit_id": visit_id, "body": f"单条 {i}"})
            creates.append(time.perf_counter() - started)
        single = statistics.median(creates)
        single_cpu = (cpu_seconds(pid) - cpu_before) / args.creates

        # The outbox: notes in batches, then photos one by one.
        prefix = f"bench-{uuid.uuid4().hex[:6]}"
        ops = note_ops(args.notes, visit_id, prefix)
        pusher.requests, pusher.seconds = 0, 0.0
        cpu_before = cpu_seconds(pid)
        results = await push_all(pusher, device, ops, args.batch)
        push_requests, push_seconds, push_cpu = pusher.requests, pusher.seconds, cpu_seconds(pid) - cpu_before
        if [r["status"] for r in results] != ["applied"] * len(ops):
            raise RuntimeError(f"not every note was applied: {[r for r in results if r['status'] != 'applied'][:3]}")
        pusher.requests, pusher.seconds = 0, 0.0
        for i in range(args.photos):
            form = aiohttp.FormData()
            form.add_field("id", str(uuid.uuid4()))
            form.add_field("visit_id", visit_id)
            form.add_field("taken_at", "2026-05-01T10:20:30+08:00")
            form.add_field("file", photo(i), filename=f"p{i}.jpg", content_type="image/jpeg")
            await pusher.call("POST", "/api/photos", expect=201, data=form)
        photo_requests, photo_seconds = pusher.requests, pusher.seconds
        replay = await push_all(pusher, device, ops[:args.batch], args.batch)
        if {r["status"] for r in replay} != {"duplicate"}:
            raise RuntimeError("a replayed batch was not answered duplicate throughout")

        # The puller: top up to PULL_RECORDS visible records (setup), then a fresh device's first pull.
        setup = await new_device(puller, "setup")
        have, _, _ = await fresh_pull(puller, setup)
        if have < PULL_RECORDS:
            clients = await puller.call("GET", "/api/clients?limit=200")
            ids = [c["id"] for c in clients["items"]]
            top_up = [{"op_id": str(uuid.uuid4()), "kind": "note.create",
                       "data": {"client_id": ids[i % len(ids)], "body": f"客户跟进 {i}"}}
                      for i in range(PULL_RECORDS - have)]
            await push_all(puller, setup, top_up, 200)
        fresh = await new_device(puller, "fresh phone")
        await fresh_pull(puller, await new_device(puller, "warm-up"))
        records, pages, pull_seconds = await fresh_pull(puller, fresh)
    return {"single_create_s": single, "single_create_cpu_s": single_cpu,
            "push_requests": push_requests, "push_s": push_seconds, "push_cpu_s": push_cpu,
            "photo_requests": photo_requests, "photo_s": photo_seconds,
            "pull_records": records, "pull_pages": pages, "pull_s": pull_seconds,
            "prefix": prefix, "visit_id": visit_id}


FIELD_KIT = """async ([module, call, args]) => {
  const base = document.querySelector('script[type=module][src$="/shell.js"]').src.replace(/shell\\.js$/, "");
  const m = await import(base + "fieldkit/" + module + ".js");
  return await m[call](...(args || []));
}"""
ACTIVE_WORKER = "navigator.serviceWorker.getRegistration().then((r) => Boolean(r && r.active))"
OUTBOX_SIZE = """async () => {
  const open = indexedDB.open("ipms-fieldkit");
  const db = await new Promise((resolve, reject) => {
    open.onsuccess = () => resolve(open.result); open.onerror = reject; });
  const request = db.transaction("outbox").objectStore("outbox").count();
  const count = await new Promise((resolve) => { request.onsuccess = () => resolve(request.result); });
  db.close();
  return count;
}"""


def hold_connections(listener: socket.socket) -> None:
    """Accept every connection and never answer (a server that hangs, or a captive portal swallowing requests)."""
    held = []
    try:
        while True:
            held.append(listener.accept()[0])
    except OSError:
        for connection in held:
            connection.close()


def field_kit(start_server: Any, stop_server: Any, base: str, port: int, username: str, restarts: int,
              work: Path) -> dict[str, Any]:
    """Issue 12's two figures, through the browser (see the module docstring, step 6)."""
    import threading

    from playwright.sync_api import sync_playwright

    def poll(page: Any, check: Any, bound: float = 120) -> None:
        deadline = time.monotonic() + bound
        while not check():
            if time.monotonic() > deadline:
                raise SystemExit("field kit: a condition did not hold within the bound")
            page.wait_for_timeout(20)

    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(work / "profile"), executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"], viewport={"width": 390, "height": 844},
            is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = context.pages[0] if context.pages else context.new_page()
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 4})
        page.goto(base + "/login")
        poll(page, lambda: page.evaluate(ACTIVE_WORKER))
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#today-visits li[data-id]", timeout=60_000)
        visit = page.locator("#today-visits li[data-id]").first.get_attribute("data-id")
        poll(page, lambda: page.evaluate(FIELD_KIT, ["sync", "currentStatus", []])["lastSync"] is not None)
        drains = []
        for round_ in range(restarts):
            stop_server()
            for n in range(20):
                page.evaluate(FIELD_KIT, ["sync", "queueNote", [{"kind": "visit", "id": visit}, f"bench {round_} {n}"]])
            page.wait_for_timeout(4000)  # the phone waits a while with no server, as in a lift lobby
            start_server()
            answered = time.monotonic()
            poll(page, lambda: page.evaluate(OUTBOX_SIZE) == 0)
            drains.append(time.monotonic() - answered)
            if not page.evaluate("navigator.onLine"):
                raise SystemExit("navigator.onLine turned false: the figure would not be the one asked for")
        stop_server()
        colds = []
        for case in ("closed", "silent"):
            listener = None
            if case == "silent":  # accepts, reads, never answers
                listener = socket.socket()
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", port))
                listener.listen(64)
                threading.Thread(target=hold_connections, args=(listener,), daemon=True).start()
            cold = context.new_page()
            began = time.monotonic()
            cold.goto(base + "/", wait_until="commit", timeout=60_000)
            try:
                cold.wait_for_selector("#fk-today li[data-id]", timeout=60_000)
            except Exception:
                print(f"cold start ({case}) showed no visit row:", cold.content()[:2000], flush=True)
                raise
            colds.append((time.monotonic() - began) * 1000)
            cold.close()
            if listener is not None:
                listener.close()
        context.close()
    return {"reconnect_to_empty_s": round(statistics.median(drains), 2),
            "reconnect_runs_s": [round(d, 2) for d in drains], "offline_cold_start_ms": round(max(colds)),
            "offline_cold_start_cases_ms": [round(c) for c in colds]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 notes and 5 photos: well under a minute")
    parser.add_argument("--postgres", default="", help="PostgreSQL server URL (a database is made and dropped)")
    parser.add_argument("--batch", type=int, default=100, help="operations per push request")
    args = parser.parse_args()
    args.notes, args.photos, args.creates = (200, 5, 30) if args.quick else (1000, 20, 100)

    work = Path(tempfile.mkdtemp(prefix="ipms-bench-sync-"))
    database_url, pg_name = "", ""
    if args.postgres:
        import asyncpg

        pg_name = f"ipms_bench_sync_{uuid.uuid4().hex[:8]}"

        async def admin(statement: str) -> None:
            connection = await asyncpg.connect(args.postgres)
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(admin(f'CREATE DATABASE "{pg_name}"'))
        database_url = f"{args.postgres.rsplit('/', 1)[0]}/{pg_name}"
    port = free_port()
    env = {**os.environ, "IPMS_ENV": "development", "IPMS_DATA_DIR": str(work / "data"),
           "IPMS_DATABASE_URL": database_url, "IPMS_PORT": str(port), "IPMS_CLOCK_ENABLED": "false"}
    server = None
    try:
        seeded = subprocess.run([*ipms(), "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        agents = demo_agents(seeded.stdout)
        print(seeded.stdout.splitlines()[0], flush=True)
        log = (work / "serve.log").open("wb")
        server = subprocess.Popen([*ipms(), "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        figures = asyncio.run(measure(f"http://127.0.0.1:{port}", agents, args, server.pid))
        notes, logged, photos = count_rows(database_url, work / "data" / "ipms.sqlite3", figures["prefix"],
                                           figures["visit_id"])
        holder = {"server": server}

        def stop_server() -> None:
            running = holder["server"]
            if running is not None and running.poll() is None:
                running.send_signal(signal.SIGINT)
                running.wait(30)
            holder["server"] = None

        def start_server() -> None:
            holder["server"] = subprocess.Popen([*ipms(), "serve", "--port", str(port)], cwd=ROOT, env=env,
                                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 90
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                        probe.sendall(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
                        if b" 200 " in probe.recv(64):
                            return
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("ipms serve did not come back")
                time.sleep(0.05)

        try:
            figures |= field_kit(start_server, stop_server, f"http://127.0.0.1:{port}", port, agents[0],
                                 3 if args.quick else 5, work)
        finally:
            server = holder["server"]
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        if pg_name:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    if (notes, logged, photos) != (args.notes, args.notes, args.photos):
        raise SystemExit(f"database check failed: {notes} notes, {logged} change-log rows, {photos} photos")

    per_note = figures["push_s"] / args.notes
    result = {
        "bench": "sync", "quick": args.quick, "database": "postgresql" if args.postgres else "sqlite",
        "notes": args.notes, "photos": args.photos, "batch": args.batch,
        "requests": figures["push_requests"], "photo_requests": figures["photo_requests"],
        "total_requests": figures["push_requests"] + figures["photo_requests"],
        "server_s": round(figures["push_s"] + figures["photo_s"], 3), "push_s": round(figures["push_s"], 3),
        "push_server_cpu_s": round(figures["push_cpu_s"], 3), "photos_s": round(figures["photo_s"], 3),
        "per_note_ms": round(per_note * 1000, 3), "single_create_ms": round(figures["single_create_s"] * 1000, 3),
        "per_note_ratio": round(per_note / figures["single_create_s"], 3),
        # The same ratio in server CPU seconds: steadier when other processes share the machine.
        "per_note_cpu_ratio": round(figures["push_cpu_s"] / args.notes / max(figures["single_create_cpu_s"], 1e-9), 3),
        "pull_records": figures["pull_records"], "pull_pages": figures["pull_pages"],
        "pull_s": round(figures["pull_s"], 3),
        "reconnect_to_empty_s": figures["reconnect_to_empty_s"], "reconnect_runs_s": figures["reconnect_runs_s"],
        "offline_cold_start_ms": figures["offline_cold_start_ms"],
        "offline_cold_start_cases_ms": figures["offline_cold_start_cases_ms"],
    }
    print(f"{args.notes} notes in {result['requests']} push requests: {result['push_s']:.2f} s, "
          f"{result['per_note_ms']:.2f} ms per note vs {result['single_create_ms']:.2f} ms per plain create "
          f"(ratio {result['per_note_ratio']:.2f})")
    print(f"{args.photos} photos in {result['photo_requests']} requests: {result['photos_s']:.2f} s")
    print(f"fresh pull: {result['pull_records']} records in {result['pull_pages']} page(s), {result['pull_s']:.3f} s")
    print(f"field kit: outbox of 20 empty {result['reconnect_to_empty_s']:.2f} s (median) after the server answers "
          f"again (aim ≤ 5 s); cached app to first visit row {result['offline_cold_start_ms']} ms, worse of port "
          f"closed / silent listener {result['offline_cold_start_cases_ms']} (aim ≤ 1,000 ms)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
