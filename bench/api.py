"""Benchmark: the JSON API under load (scoped client list and note writes), beside a bare baseline in the same run.

What it does (issue 2, "Benchmark"):
1. Seeds the demo organisation ×10 (3,000 clients, 1,200 projects; ×1 with ``--quick``) into a fresh temporary
   ``IPMS_DATA_DIR`` (SQLite), or into a database of its own on the PostgreSQL server given by ``--postgres URL``
   (created here and dropped at the end).
2. Starts the real app as a subprocess (``ipms serve``: one worker, development mode, escalation clock off unless
   ``--with-clock``: the demo's overdue timers would otherwise fire in batches mid-phase) and the baseline
   (``bench/api_baseline.py``: bare Litestar handlers running the same SQL through raw aiosqlite or asyncpg, with no
   session lookup and no access layer) under uvicorn with the same options, each on a port of its own.
3. Signs in 50 sessions as the demo agents (setup, not measured: each login costs an argon2 verification).
4. Drives both with the same aiohttp load generator and the same concurrency (50 connections), one phase at a time:
   the generator's ceiling (the baseline's constant ``GET /static``), ``GET /api/clients?limit=50`` as an agent vs.
   the baseline's list, then ``POST /api/notes`` (cookie + ``X-CSRF-Token``) vs. the baseline's note insert.
   Every response is checked (200 for lists, 201 for notes); anything else counts as an error. After the note
   phases the database is checked: one note and one change-log row per successful write.
5. Sign-in under a burst (issue 10): 20 distinct demo users sign in at once with the right password, in several
   rounds, while one connection keeps calling ``GET /healthz``; any answer but 201 fails the run. Reported as
   ``signin_p95_ms`` (aim ≤ 500) and ``health_p95_during_signin_ms`` (aim ≤ 50; the idle figure beside it). Its
   baseline, ``signin_floor_ms``, is the same number of bare argon2 verifications on two threads in this process,
   measured before each round: the p95 cannot beat it, and on a shared machine it moves with the load.

``note_ratio`` is note writes per second over the baseline's. ``--workers N`` (with ``--postgres``) runs the app
and the baseline with N uvicorn workers each.

Run ``python bench/api.py [--quick] [--postgres postgresql://postgres@127.0.0.1:5432/postgres [--workers 2]]``.
Human-readable lines first; the last line printed is one JSON object. Requests are sent with
``Accept-Encoding: identity`` (the app gzips responses over 500 bytes when asked; ``--gzip`` asks, to show what
that costs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEMO_PASSWORD = "demo1234"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- data


def _admin_dsn(url: str, database: str) -> str:
    return f"{url.rsplit('/', 1)[0]}/{database}"


async def _pg_admin(url: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def seed(data_dir: Path, database_url: str, scale: int) -> list[str]:
    """Migrate and seed the demo organisation; returns the agents' usernames."""
    from backend import db
    from backend.demo import seed_demo
    from backend.migrate import migrate
    from backend.settings import Settings

    settings = Settings(env="development", data_dir=data_dir, database_url=database_url)
    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine, pool_size=2)
    try:
        await migrate()
        summary = await seed_demo(scale=scale)
        if not settings.uses_postgres:
            await engine.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await db.stop(engine)  # aiosqlite's threads would keep the process alive otherwise
    print("seeded: " + ", ".join(f"{v} {k}" for k, v in summary.counts.items()), flush=True)
    return [username for username, _name, role, _branch in summary.logins if role == "agent"]


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants (uvicorn's workers; Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return own + sum(cpu_seconds(child) for child in child_pids(pid))


def child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start(name: str, command: list[str], env: dict[str, str], port: int, work: Path) -> Server:
    log = work / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    return Server(name, port, process, log)


async def wait_ready(http: aiohttp.ClientSession, server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            async with http.get(f"{server.url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer /healthz within {timeout:.0f} s:\n{server.log_tail()}")


def ipms_command() -> list[str]:
    script = Path(sys.executable).parent / "ipms"
    return [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]


# ---------------------------------------------------------------- load


@dataclass
class Agent:
    """One signed-in session (several sessions may belong to the same agent)."""

    username: str
    user_id: str
    branch_id: str
    cookie: str
    csrf: str
    client_ids: list[str] = field(default_factory=list)


@dataclass
class Phase:
    name: str
    ok: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0
    generator_cpu: float = 0.0
    sent_ok: int = 0  # successes including warm-up and the tail after the window (for the database check)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    def merge(self, other: Phase) -> Phase:
        seconds = self.seconds + other.seconds
        return Phase(
            self.name, self.ok + other.ok, self.errors + other.errors, (self.error_samples + other.error_samples)[:5],
            self.latencies + other.latencies, seconds,
            (self.server_cpu * self.seconds + other.server_cpu * other.seconds) / seconds,
            (self.generator_cpu * self.seconds + other.generator_cpu * other.seconds) / seconds,
            self.sent_ok + other.sent_ok,
        )

    def line(self) -> str:
        text = (f"{self.name:<34} {self.rps:8.0f} req/s   p50 {self.pct(0.5):7.1f} ms   p95 {self.pct(0.95):7.1f} ms"
                f"   errors {self.errors}   server CPU {self.server_cpu:4.0%}"
                f"   generator CPU {self.generator_cpu:4.0%}")
        if self.error_samples:
            text += "\n    first errors: " + " | ".join(self.error_samples[:3])
        return text


Request = Callable[[aiohttp.ClientSession, int], Awaitable[tuple[int, bytes]]]


async def run_phase(
    http: aiohttp.ClientSession, name: str, request: Request, expect: int, *, concurrency: int, warmup: float,
    duration: float, server_pid: int,
) -> Phase:
    """`concurrency` workers loop `request` for warmup + duration seconds; responses completing inside the
    measured window count (throughput = those / window length), so in-flight requests at either edge are fair."""
    phase = Phase(name)
    loop = asyncio.get_running_loop()
    start_at = loop.time()
    window_start, window_end = start_at + warmup, start_at + warmup + duration
    marks: dict[str, float] = {}

    async def worker(index: int) -> None:
        while loop.time() < window_end:
            began = loop.time()
            try:
                status, body = await request(http, index)
                good = status == expect
                problem = "" if good else f"HTTP {status}: {body[:160].decode(errors='replace')}"
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                good, problem = False, f"{type(exc).__name__}: {exc}"
            ended = loop.time()
            phase.sent_ok += good
            if window_start <= ended <= window_end:
                if good:
                    phase.ok += 1
                    phase.latencies.append(ended - began)
                else:
                    phase.errors += 1
                    if len(phase.error_samples) < 5:
                        phase.error_samples.append(problem)

    async def meter() -> None:
        await asyncio.sleep(max(0.0, window_start - loop.time()))
        marks["server"], marks["generator"] = cpu_seconds(server_pid), time.process_time()
        await asyncio.sleep(max(0.0, window_end - loop.time()))
        phase.server_cpu = (cpu_seconds(server_pid) - marks["server"]) / duration
        phase.generator_cpu = (time.process_time() - marks["generator"]) / duration

    await asyncio.gather(meter(), *(worker(i) for i in range(concurrency)))
    phase.seconds = duration
    return phase


async def sign_in(http: aiohttp.ClientSession, app: Server, usernames: list[str], sessions: int) -> list[Agent]:
    gate = asyncio.Semaphore(4)  # argon2 runs in the server's 2-thread pool: more in parallel gains nothing

    async def one(username: str) -> Agent:
        async with gate, http.post(f"{app.url}/api/auth/login",
                                   json={"username": username, "password": DEMO_PASSWORD}) as response:
            body = await response.json()
            if response.status != 201 and response.status != 200:
                raise RuntimeError(f"login as {username}: HTTP {response.status} {body}")
            cookie = response.cookies["ipms_session"].value
        return Agent(username, body["user"]["id"], body["user"]["branch_id"], cookie, body["csrf_token"])

    agents = await asyncio.gather(*(one(usernames[i % len(usernames)]) for i in range(sessions)))
    if len({a.cookie for a in agents}) != sessions:
        raise RuntimeError("sessions are not distinct")
    for agent in agents:  # each session's own clients (and a check that the list is scoped to the agent)
        async with http.get(f"{app.url}/api/clients?limit=50", headers={"Cookie": f"ipms_session={agent.cookie}"}) as r:
            page = await r.json()
        if r.status != 200 or not page["items"]:
            raise RuntimeError(f"listing clients as {agent.username}: HTTP {r.status} {str(page)[:200]}")
        if any(item["owner_id"] != agent.user_id for item in page["items"]):
            raise RuntimeError(f"the list of {agent.username} holds another agent's clients: scope is broken")
        agent.client_ids = [item["id"] for item in page["items"]]
    return agents


# ---------------------------------------------------------------- sign-in burst


async def demo_usernames(database_url: str, sqlite_path: Path) -> list[str]:
    """Every active demo login (agents, managers, specialists, the executive and the admin)."""
    sql = "SELECT username FROM users WHERE is_active ORDER BY username"
    if database_url:
        import asyncpg

        connection = await asyncpg.connect(database_url)
        try:
            return [row["username"] for row in await connection.fetch(sql)]
        finally:
            await connection.close()
    connection = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=30)
    try:
        return [row[0] for row in connection.execute(sql)]
    finally:
        connection.close()


@dataclass
class SigninBurst:
    signin: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    health_idle: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)  # per round: the same verifications, bare, in this process

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000 if ordered else float("nan")


async def signin_burst(http: aiohttp.ClientSession, app: Server, usernames: list[str], users: int,
                       rounds: int) -> SigninBurst:
    """`users` distinct users sign in at once (`rounds` times) while one connection polls /healthz."""
    if len(usernames) < users:
        raise RuntimeError(f"the demo has {len(usernames)} users, the sign-in burst needs {users}")
    chosen = usernames[:users]
    burst = SigninBurst()
    loop = asyncio.get_running_loop()

    async def health_once() -> float:
        began = loop.time()
        async with http.get(f"{app.url}/healthz") as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"/healthz answered HTTP {response.status}")
        return loop.time() - began

    async def one(username: str) -> float:
        began = loop.time()
        async with http.post(f"{app.url}/api/auth/login",
                             json={"username": username, "password": DEMO_PASSWORD}) as response:
            body = await response.read()
            if response.status != 201:
                raise RuntimeError(f"sign-in burst: {username} got HTTP {response.status} "
                                   f"{body[:200].decode(errors='replace')}")
        return loop.time() - began

    from concurrent.futures import ThreadPoolExecutor

    from backend.accounts.passwords import HASHER

    stored = HASHER.hash(DEMO_PASSWORD)

    async def floor_once(pool: ThreadPoolExecutor) -> float:
        """`users` argon2 verifications with the app's parameters on two threads: what the burst cannot beat on
        this machine at this moment (other load included), measured next to each round."""
        began = loop.time()
        await asyncio.gather(*(loop.run_in_executor(pool, HASHER.verify, stored, DEMO_PASSWORD)
                               for _ in range(users)))
        return loop.time() - began

    for _ in range(20):
        burst.health_idle.append(await health_once())
    pool = ThreadPoolExecutor(max_workers=2)
    for _ in range(rounds):
        burst.floor.append(await floor_once(pool))
        await asyncio.sleep(0.2)
        signing = asyncio.gather(*(one(name) for name in chosen))
        while not signing.done():
            burst.health.append(await health_once())
        latencies = await signing
        burst.signin += latencies
        print(f"  sign-in round: slowest {max(latencies) * 1000:.0f} ms, fastest {min(latencies) * 1000:.0f} ms; "
              f"floor {burst.floor[-1] * 1000:.0f} ms", flush=True)
        await asyncio.sleep(0.3)
    pool.shutdown()
    return burst


# ---------------------------------------------------------------- checks


async def count_notes(database_url: str, sqlite_path: Path, prefix: str) -> tuple[int, int]:
    """(notes whose body starts with `prefix`, change-log create rows for those notes)."""
    notes_sql = "SELECT COUNT(*) FROM notes WHERE body LIKE '{p}%'"
    log_sql = ("SELECT COUNT(*) FROM change_log c JOIN notes n ON c.row_id = {cast} "
               "WHERE c.table_name = 'notes' AND c.action = 'create' AND n.body LIKE '{p}%'")
    if database_url:
        import asyncpg

        connection = await asyncpg.connect(database_url)
        try:
            return (await connection.fetchval(notes_sql.format(p=prefix)),
                    await connection.fetchval(log_sql.format(p=prefix, cast="n.id::text")))
        finally:
            await connection.close()
    connection = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=30)
    try:
        return (connection.execute(notes_sql.format(p=prefix)).fetchone()[0],
                connection.execute(log_sql.format(p=prefix, cast="n.id")).fetchone()[0])
    finally:
        connection.close()


# ---------------------------------------------------------------- main


async def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    database_url, pg_name = "", ""
    if args.postgres:
        pg_name = f"ipms_bench_{uuid.uuid4().hex[:8]}"
        await _pg_admin(args.postgres, f'CREATE DATABASE "{pg_name}"')
        database_url = _admin_dsn(args.postgres, pg_name)
    servers: list[Server] = []
    try:
        data_dir = work / "data"
        started = time.monotonic()
        usernames = await seed(data_dir, database_url, args.scale)
        print(f"seed: {time.monotonic() - started:.1f} s at scale {args.scale}; "
              f"database: {'PostgreSQL ' + pg_name if database_url else 'SQLite ' + str(data_dir)}", flush=True)

        env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
        env.update(IPMS_DATA_DIR=str(data_dir), IPMS_ENV="development", PYTHONUNBUFFERED="1")
        # The demo's lifecycle leaves thousands of overdue timers; the escalation clock would fire them in
        # batches during the phases and blur what is measured here (the API paths). `--with-clock` keeps it on.
        env["IPMS_CLOCK_ENABLED"] = "true" if args.with_clock else "false"
        if database_url:
            env["IPMS_DATABASE_URL"] = database_url
        app_port, base_port = free_port(), free_port()
        app = start("app", [*ipms_command(), "serve", "--port", str(app_port), "--workers", str(args.workers)], env,
                    app_port, work)
        servers.append(app)
        where = ["--postgres", database_url] if database_url else ["--sqlite", str(data_dir / "ipms.sqlite3")]
        base = start("baseline", [sys.executable, str(ROOT / "bench" / "api_baseline.py"), "--port", str(base_port),
                                  "--workers", str(args.workers), *where], env, base_port, work)
        servers.append(base)

        connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
        timeout = aiohttp.ClientTimeout(total=60)
        encoding = "gzip" if args.gzip else "identity"
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
                                         headers={"Accept-Encoding": encoding}, auto_decompress=True) as http:
            await asyncio.gather(wait_ready(http, app), wait_ready(http, base))
            print(f"servers up: app (ipms serve, escalation clock {'on' if args.with_clock else 'off'}) :{app.port}, "
                  f"baseline :{base.port}", flush=True)
            started = time.monotonic()
            agents = await sign_in(http, app, usernames, args.sessions)
            print(f"signed in {len(agents)} sessions as {len({a.username for a in agents})} agents "
                  f"in {time.monotonic() - started:.1f} s (setup, not measured)", flush=True)

            everyone = await demo_usernames(database_url, data_dir / "ipms.sqlite3")
            burst = await signin_burst(http, app, everyone, args.signin_users, args.signin_rounds)
            print(f"sign-in burst: {args.signin_users} distinct users at once × {args.signin_rounds} rounds: "
                  f"p50 {burst.pct(burst.signin, 0.5):.0f} ms, p95 {burst.pct(burst.signin, 0.95):.0f} ms "
                  f"(aim ≤ 500); GET /healthz meanwhile p95 {burst.pct(burst.health, 0.95):.1f} ms over "
                  f"{len(burst.health)} calls (aim ≤ 50; idle p95 {burst.pct(burst.health_idle, 0.95):.1f} ms); "
                  f"floor: {args.signin_users} bare argon2 verifications on 2 threads take "
                  f"{burst.pct(burst.floor, 0.5):.0f} ms here now (median of rounds)", flush=True)

            options = {"concurrency": args.concurrency, "warmup": args.warmup, "duration": args.duration}

            async def static(h: aiohttp.ClientSession, i: int) -> tuple[int, bytes]:
                async with h.get(f"{base.url}/static") as r:
                    return r.status, await r.read()

            async def app_list(h: aiohttp.ClientSession, i: int) -> tuple[int, bytes]:
                agent = agents[i % len(agents)]
                async with h.get(f"{app.url}/api/clients?limit=50",
                                 headers={"Cookie": f"ipms_session={agent.cookie}"}) as r:
                    return r.status, await r.read()

            async def base_list(h: aiohttp.ClientSession, i: int) -> tuple[int, bytes]:
                agent = agents[i % len(agents)]
                async with h.get(f"{base.url}/clients?owner={agent.user_id}&limit=50") as r:
                    return r.status, await r.read()

            counter = iter(range(10**9))

            async def app_note(h: aiohttp.ClientSession, i: int) -> tuple[int, bytes]:
                agent = agents[i % len(agents)]
                body = {"body": f"bench-app {next(counter)} 客户对南向阳台很满意",
                        "client_id": random.choice(agent.client_ids)}
                async with h.post(f"{app.url}/api/notes", json=body, headers={
                    "Cookie": f"ipms_session={agent.cookie}", "X-CSRF-Token": agent.csrf}) as r:
                    return r.status, await r.read()

            async def base_note(h: aiohttp.ClientSession, i: int) -> tuple[int, bytes]:
                agent = agents[i % len(agents)]
                body = {"body": f"bench-base {next(counter)} 客户对南向阳台很满意",
                        "client_id": random.choice(agent.client_ids),
                        "author_id": agent.user_id, "branch_id": agent.branch_id}
                async with h.post(f"{base.url}/notes", json=body) as r:
                    return r.status, await r.read()

            phases: dict[str, Phase] = {}
            plan = [
                ("ceiling", "generator ceiling (GET /static)", static, 200, base),
                ("list", "app: GET /api/clients (agent)", app_list, 200, app),
                ("list_baseline", "baseline: same list SQL, raw", base_list, 200, base),
                ("note", "app: POST /api/notes", app_note, 201, app),
                ("note_baseline", "baseline: note + change_log, raw", base_note, 201, base),
            ]
            print(f"load: {args.concurrency} concurrent connections (aiohttp, one process); "
                  f"each phase {args.duration:g} s measured in {args.rounds} slice(s) alternating app and baseline, "
                  f"{args.warmup:g} s warm-up per slice; Accept-Encoding: {encoding}", flush=True)
            # App and baseline take turns in slices, so a burst of load from elsewhere on the machine hits both.
            slice_options = {**options, "duration": args.duration / args.rounds}
            for group in (plan[:3], plan[3:]):
                for _ in range(args.rounds):
                    for key, label, request, expect, server in group:
                        part = await run_phase(http, label, request, expect, server_pid=server.process.pid,
                                               **slice_options)
                        phases[key] = phases[key].merge(part) if key in phases else part
                        for s in servers:
                            if s.process.poll() is not None:
                                raise RuntimeError(f"{s.name} died:\n{s.log_tail()}")
                for key, *_ in group:
                    print(phases[key].line(), flush=True)

        audit = {}
        for key, prefix in (("note", "bench-app "), ("note_baseline", "bench-base ")):
            notes, logs = await count_notes(database_url, data_dir / "ipms.sqlite3", prefix)
            audit[key] = (phases[key].sent_ok, notes, logs)
        for key, (sent, notes, logs) in audit.items():
            verdict = "ok" if sent == notes == logs else "MISMATCH"
            print(f"database check, {key}: {sent} created (201) → {notes} notes, {logs} change-log rows: {verdict}")
    finally:
        for server in servers:
            server.stop()
        if pg_name:
            await _pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')

    ceiling, lst, lst_base = phases["ceiling"], phases["list"], phases["list_baseline"]
    note, note_base = phases["note"], phases["note_baseline"]
    ratio = lst.rps / lst_base.rps if lst_base.rps else 0.0
    print(f"scoped list: {lst.rps:.0f} req/s = {ratio:.2f}× the baseline's {lst_base.rps:.0f} "
          f"(aim ≥ 0.5×; the baseline does no session lookup and no access check)")
    writes = note_figures(note, note_base, args)
    print(f"note writes: {note.rps:.0f}/s over HTTP = {writes['note_ratio']:.2f}× the baseline's {note_base.rps:.0f}/s "
          f"({args.workers} worker(s); aims: ≥ 0.5× on SQLite, ≥ 300/s on PostgreSQL with 2 workers)")
    capacity = ceiling.rps / ceiling.generator_cpu if ceiling.generator_cpu else 0.0
    print(f"generator ceiling: {ceiling.rps:.0f} req/s against a constant endpoint "
          f"({ceiling.rps / max(lst.rps, lst_base.rps, 1):.1f}× the fastest list phase), using "
          f"{ceiling.generator_cpu:.0%} of a core there (≈{capacity:.0f} req/s per core of generator CPU)")
    return {
        "bench": "api",
        "list_rps": round(lst.rps, 1),
        "list_baseline_rps": round(lst_base.rps, 1),
        "list_ratio": round(ratio, 3),
        "list_p50_ms": round(lst.pct(0.5), 2),
        "list_p95_ms": round(lst.pct(0.95), 2),
        "list_baseline_p95_ms": round(lst_base.pct(0.95), 2),
        "note_writes_per_s": round(note.rps, 1),
        "note_p50_ms": round(note.pct(0.5), 2),
        "note_p95_ms": round(note.pct(0.95), 2),
        "note_baseline_writes_per_s": round(note_base.rps, 1),
        "note_baseline_p95_ms": round(note_base.pct(0.95), 2),
        **writes,
        "signin_p95_ms": round(burst.pct(burst.signin, 0.95), 1),
        "signin_p50_ms": round(burst.pct(burst.signin, 0.5), 1),
        "health_p95_during_signin_ms": round(burst.pct(burst.health, 0.95), 2),
        "health_p95_idle_ms": round(burst.pct(burst.health_idle, 0.95), 2),
        "signin_floor_ms": round(burst.pct(burst.floor, 0.5), 1),
        "signin_p95_over_floor": round(burst.pct(burst.signin, 0.95) / burst.pct(burst.floor, 0.5), 2),
        "signin_users": args.signin_users,
        "signin_rounds": args.signin_rounds,
        "generator_ceiling_rps": round(ceiling.rps, 1),
        "generator_cpu_at_ceiling": round(ceiling.generator_cpu, 2),
        "generator_capacity_est_rps": round(capacity),
        "app_server_cpu_list": round(lst.server_cpu, 2),
        "app_server_cpu_note": round(note.server_cpu, 2),
        "concurrency": args.concurrency,
        "sessions": args.sessions,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "scale": args.scale,
        "database": "postgresql" if args.postgres else "sqlite",
        "accept_encoding": encoding,
        "escalation_clock": args.with_clock,
        "errors": sum(p.errors for p in phases.values()),
        "audit_ok": all(sent == notes == logs for sent, notes, logs in audit.values()),
        "quick": args.quick,
    }


def note_figures(note: Phase, note_base: Phase, args: argparse.Namespace) -> dict[str, Any]:
    """Note writes against the baseline's, measured in the same run with the same worker count."""
    return {"note_ratio": round(note.rps / note_base.rps, 3) if note_base.rps else 0.0, "workers": args.workers}


def main() -> int:
    parser = argparse.ArgumentParser(
        description="API benchmark: scoped client list and note writes vs. a bare baseline")
    parser.add_argument("--quick", action="store_true", help="demo ×1 and 3 s phases (under a minute in all)")
    parser.add_argument("--postgres", metavar="URL", default="",
                        help="PostgreSQL server URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres "
                             "(a database is created there and dropped afterwards)")
    parser.add_argument("--scale", type=int, help="demo data multiplier (default 10, quick 1)")
    parser.add_argument("--duration", type=float, help="measured seconds per phase (default 15, quick 3)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each slice (default 1, quick 0.5)")
    parser.add_argument("--rounds", type=int,
                        help="slices per phase, app and baseline alternating (default 3, quick 1)")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--sessions", type=int, default=50, help="distinct signed-in sessions (default 50)")
    parser.add_argument("--signin-users", type=int, default=20, help="distinct users in the sign-in burst (20)")
    parser.add_argument("--signin-rounds", type=int, help="sign-in bursts (default 10, quick 3)")
    parser.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip (the app compresses)")
    parser.add_argument("--with-clock", action="store_true", help="leave the app's escalation clock running")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory and server logs")
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn workers for the app and the baseline alike (several need --postgres)")
    args = parser.parse_args()
    args.scale = args.scale or (1 if args.quick else 10)
    args.duration = args.duration or (3.0 if args.quick else 15.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    args.rounds = max(1, args.rounds or (1 if args.quick else 3))
    if args.workers > 1 and not args.postgres:
        parser.error("--workers above 1 needs --postgres (SQLite's write lock is per process)")
    args.signin_rounds = max(1, args.signin_rounds or (3 if args.quick else 10))
    work = Path(tempfile.mkdtemp(prefix="ipms-bench-api-"))
    began = time.monotonic()
    try:
        result = asyncio.run(bench(args, work))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["total_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
