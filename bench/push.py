"""Benchmark: web-push fan-out to 10,000 subscriptions from one worker, beside encryption alone, httpx vs aiohttp.

1. A sink stands in for the push service in a process of its own (a raw asyncio HTTP/1.1 server answering 201
   without decrypting), so it does not share the worker's core; its ceiling is measured first with plain POSTs of
   the same size through each client, to show it is not the bottleneck.
2. A fresh database (SQLite file, or PostgreSQL with ``--postgres URL``) gets N subscriptions on N devices of
   N/10 users. Per client library: ``notify()`` queues one delivery per device in one transaction (timed apart as
   "enqueue"), then one ``PushWorker`` drains them: claim, encrypt (aes128gcm, ``webpush``), cached VAPID token,
   POST, record the outcome. ``pushes_per_s`` = N / drain time of the faster client. httpx, much slower with
   many connections on 2 cores, sends a sample (``--httpx-sample``) so the run stays short.
3. ``encrypt_only_per_s``: the same N payloads encrypted for the same N keys, nothing else, in the same run.

Run ``python bench/push.py [--quick] [--postgres URL]``; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESPONSE = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nLocation: /m\r\n\r\n"


class Sink(asyncio.Protocol):
    """Keep-alive HTTP/1.1: reads each request's headers and Content-Length bytes of body, answers 201."""

    def connection_made(self, transport: Any) -> None:
        self.transport, self.buffer, self.body_left = transport, bytearray(), 0

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.body_left:
                taken = min(self.body_left, len(self.buffer))
                del self.buffer[:taken]
                self.body_left -= taken
                if self.body_left:
                    return
                self.transport.write(RESPONSE)
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            del self.buffer[:end + 4]
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            self.body_left = length
            if not length:
                self.transport.write(RESPONSE)


def serve_sink(port: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Sink, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def sink_ceiling(kind: str, url: str, count: int, concurrency: int, body: bytes) -> float:
    """Plain POSTs through the same pooled client, no database and no encryption: the most either side allows."""
    from notifications.push.sender import make_transport

    transport = make_transport(kind, timeout=30, connections=concurrency)
    limit = asyncio.Semaphore(concurrency)
    headers = {"TTL": "60", "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream"}

    async def one() -> None:
        async with limit:
            reply = await transport.post(url, headers, body)
            assert reply.status == 201

    await one()  # connect first
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    elapsed = time.perf_counter() - started
    await transport.close()
    return count / elapsed


async def seed(count: int, sink: str) -> list[tuple[str, str]]:
    """N subscriptions on N devices of N/10 users; returns their (p256dh, auth) keys."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from backend.accounts.tables import Branch, Device, Region, User
    from notifications.push.tables import PushSubscription

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    region = Region(code="bench", name="Bench")
    await Region.insert(region)
    branch = Branch(region=region.id, code="BENCH", name="Bench", timezone="Asia/Shanghai")
    await Branch.insert(branch)
    users = [User(username=f"bench{i}", display_name=f"Bench {i}", password_hash="x", role="branch_manager",
                  branch=branch.id) for i in range(max(1, count // 10))]
    keys: list[tuple[str, str]] = []
    devices, subscriptions = [], []
    for index in range(count):
        user = users[index % len(users)]
        device = Device(user=user.id, label=f"phone {index}")
        public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        keys.append((b64(public), b64(os.urandom(16))))
        devices.append(device)
        subscriptions.append(PushSubscription(device=device.id, user=user.id, endpoint=f"{sink}/push/{index}",
                                              p256dh=keys[-1][0], auth=keys[-1][1]))
    for table, rows in ((User, users), (Device, devices), (PushSubscription, subscriptions)):
        for start in range(0, len(rows), 400):
            await table.insert(*rows[start:start + 400])
    return keys


async def fan_out(kind: str, users: list[Any], concurrency: int, batch: int, keys_dir: Path) -> dict[str, float]:
    """Queue one escalation per user (one delivery per device), then drain with one worker; returns timings."""
    from backend import db
    from notifications import Notice, notify
    from notifications.push.keys import load_or_create_keys
    from notifications.push.sender import make_transport
    from notifications.push.tables import PushDelivery
    from notifications.push.worker import PushWorker

    project = uuid.uuid4()
    notices = [Notice(user_id=u, kind="escalation", title="超时未办（第1级升级）：合同审核",
                      body="项目「浦东三居室买卖」的「合同审核」由王律师负责，已于 12月1日 10:00 到期，至今未完成。",
                      link=f"/projects/{project}#milestone-{uuid.uuid4()}", topic=project.hex, urgency="high")
               for u in users]
    started = time.perf_counter()
    async with db.write_transaction():
        await notify(notices)
    enqueued = time.perf_counter() - started
    total = await PushDelivery.count().where(PushDelivery.status == "pending")
    worker = PushWorker(load_or_create_keys(keys_dir), subject="bench@example.com", ttl=3600,
                        transport=make_transport(kind, timeout=30, connections=concurrency), batch=batch,
                        concurrency=concurrency)
    started = time.perf_counter()
    drained = await worker.drain()
    elapsed = time.perf_counter() - started
    await worker.stop()
    sent = await PushDelivery.count().where(PushDelivery.status == "sent")
    await PushDelivery.delete(force=True)
    assert drained == total and sent == total, (drained, total, sent, dict(worker.counts))
    return {"pushes": total, "enqueue_s": enqueued, "drain_s": elapsed, "pushes_per_s": total / elapsed,
            "enqueue_per_s": total / enqueued, "vapid_signatures": worker.signer.signed}


def encrypt_only(keys: list[tuple[str, str]], keys_dir: Path) -> float:
    from notifications.push.keys import load_or_create_keys
    from notifications.push.payload import build_payload
    from notifications.push.sender import Encryptor, VapidSigner, push_headers

    vapid = load_or_create_keys(keys_dir)
    encryptor, signer = Encryptor(vapid), VapidSigner(vapid, "bench@example.com")
    payload = build_payload(title="超时未办（第1级升级）：合同审核",
                            body="项目「浦东三居室买卖」的「合同审核」已到期。", url="/projects/x", tag="p-x",
                            project_id=uuid.uuid4(), kind="escalation", urgency="high")
    started = time.perf_counter()
    for p256dh, auth in keys:
        encryptor.encrypt(payload, p256dh, auth)
        push_headers(authorization=signer.header("https://push.example.com/x"), ttl=3600, urgency="high", topic="x")
    return len(keys) / (time.perf_counter() - started)


async def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from piccolo.engine.postgres import PostgresEngine

    from backend import db
    from backend.migrate import migrate
    from backend.settings import Settings

    port = free_port()
    sink = multiprocessing.Process(target=serve_sink, args=(port,), daemon=True)
    sink.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    result: dict[str, Any] = {"bench": "push", "subscriptions": args.count, "concurrency": args.concurrency,
                              "batch": args.batch}
    try:
        body = os.urandom(400)  # about the size of an encrypted escalation
        sizes = {"httpx": min(args.count, args.httpx_sample), "aiohttp": args.count}
        ceiling = {kind: await sink_ceiling(kind, f"{url}/push/ceiling", sizes[kind], args.concurrency, body)
                   for kind in ("httpx", "aiohttp")}
        print(f"sink ceiling (plain POSTs, {args.concurrency} connections): "
              + ", ".join(f"{k} {v:,.0f}/s" for k, v in ceiling.items()), flush=True)

        settings = Settings(env="test", data_dir=work, database_url=args.postgres or "")
        if args.postgres:
            import asyncpg  # type: ignore[import-untyped]

            name = f"ipms_bench_push_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(args.postgres)
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()
            settings = Settings(env="test", data_dir=work, database_url=args.postgres.rsplit("/", 1)[0] + "/" + name)
        engine = db.engine_for(settings)
        db.bind(engine)
        await db.start(engine, pool_size=10)
        try:
            await migrate()
            started = time.perf_counter()
            keys = await seed(args.count, url)
            print(f"seeded {args.count:,} subscriptions in {time.perf_counter() - started:.1f} s", flush=True)
            from backend.accounts.tables import User

            users = [row["id"] for row in await User.select(User.id)]
            encrypt = encrypt_only(keys, work)
            print(f"encryption alone: {encrypt:,.0f}/s", flush=True)
            runs = {}
            for kind in ("httpx", "aiohttp"):  # httpx on a sample: it is slow with many connections on 2 cores
                runs[kind] = await fan_out(kind, users[:max(1, sizes[kind] // 10)], args.concurrency, args.batch,
                                           work)
                run = runs[kind]
                print(f"{kind:8} end to end: {run['pushes_per_s']:,.0f} pushes/s ({run['pushes']:,} in "
                      f"{run['drain_s']:.2f} s; enqueue {run['enqueue_per_s']:,.0f}/s; "
                      f"{run['vapid_signatures']} VAPID signature(s))", flush=True)
        finally:
            await db.stop(engine)
            if args.postgres:
                admin = await asyncpg.connect(args.postgres)
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
    finally:
        sink.terminate()
        sink.join(timeout=10)
    best = max(runs, key=lambda k: runs[k]["pushes_per_s"])
    result |= {
        "database": "postgresql" if isinstance(engine, PostgresEngine) else "sqlite",
        "pushes_per_s": round(runs[best]["pushes_per_s"], 1),
        "encrypt_only_per_s": round(encrypt, 1),
        "ratio": round(runs[best]["pushes_per_s"] / encrypt, 3),
        "client": best,
        "httpx_pushes_per_s": round(runs["httpx"]["pushes_per_s"], 1),
        "httpx_sample": runs["httpx"]["pushes"],
        "aiohttp_pushes_per_s": round(runs["aiohttp"]["pushes_per_s"], 1),
        "enqueue_per_s": round(runs[best]["enqueue_per_s"], 1),
        "sink_ceiling_httpx_per_s": round(ceiling["httpx"], 1),
        "sink_ceiling_aiohttp_per_s": round(ceiling["aiohttp"], 1),
        "target_per_s": 500,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="Web-push fan-out benchmark (one worker, local sink)")
    parser.add_argument("--quick", action="store_true", help="1,000 subscriptions (well under a minute)")
    parser.add_argument("--count", type=int, default=None, help="subscriptions (default 10,000; 1,000 with --quick)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (pooled connections)")
    parser.add_argument("--batch", type=int, default=500, help="deliveries claimed per round")
    parser.add_argument("--httpx-sample", type=int, default=None,
                        help="pushes sent through httpx (default 2,000; 500 with --quick): it is the slow one")
    parser.add_argument("--postgres", default="", help="admin URL of a PostgreSQL server (default: a SQLite file)")
    args = parser.parse_args()
    args.count = args.count or (1000 if args.quick else 10_000)
    args.httpx_sample = args.httpx_sample or (500 if args.quick else 2000)
    with tempfile.TemporaryDirectory(prefix="ipms-bench-push-") as work:
        result = asyncio.run(bench(args, Path(work)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
