"""Benchmark: the mobile app's first load and its event handling (issue 5, "Benchmark").

1. Seeds the demo organisation into a fresh temporary ``IPMS_DATA_DIR`` and starts ``ipms serve`` (escalation clock
   off, so the demo's overdue timers do not fire mid-measurement).
2. First load, in Debian's Chromium with the DevTools Protocol throttling the CPU 4× and the network to Lighthouse's
   mobile profile (150 ms RTT, 1.6 Mbps down, 750 Kbps up), signed in as the agent 李娜 with an empty profile:
   bytes transferred (every response as encoded on the wire, i.e. gzip where served so, plus the websocket frames
   until the first visit row is painted) and the time from navigation start to the first row of today's visits
   (``#today-visits li``). *Cold*: empty cache, no service worker. *Warm*: the same page loaded again once the
   service worker has installed (static files from its cache; the page and websocket still over the network).
   The service worker's own fetches are not throttled by the page's emulation, so warm is slightly optimistic.
3. Event handling: 50 websocket sessions (the demo's agents, round robin) render the pipeline; each presses the
   state tabs in turn, waiting a random 0–4 s between presses (≈25 events/s in all: people reading their phones).
   The time from sending the event to receiving the layout update that shows the new tab's data is measured at the
   client on loopback, so it is the server's handling time plus a loopback round trip. Also printed: the same 50
   sessions pressing without pause (saturation), and the baseline of one session alone. The load generator's own
   cost per event (decode an update, encode an event) is measured and printed: it is not the bottleneck.

Run ``python bench/pwa.py [--quick]``; the last line printed is one JSON object with at least
{"bench": "pwa", "first_load_kib", "first_row_ms_cold", "first_row_ms_warm", "event_p95_ms"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/130.0.0.0 Mobile Safari/537.36", "locale": "zh-CN"}
# Lighthouse's mobile throttling ("slow 4G"): 150 ms RTT, 1638.4 Kbps down, 750 Kbps up; CPU slowed 4×.
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1638.4 * 1024 / 8,
           "uploadThroughput": 750 * 1024 / 8}
CPU_SLOWDOWN = 4
PASSWORD = "demo1234"
AGENTS = ["lina", "shpd_agent2", "shpd_agent3", "shja_agent1", "shja_agent2", "shja_agent3", "szns_agent1",
          "szns_agent2", "szns_agent3", "gzth_agent1", "gzth_agent2", "gzth_agent3"]
FIRST_ROW_PROBE = """
window.__firstRow = null;
new MutationObserver((_, observer) => {
  if (document.querySelector("#today-visits li")) { window.__firstRow = performance.now(); observer.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
        self.env |= {"IPMS_DATA_DIR": str(data_dir), "IPMS_ENV": "development", "IPMS_CLOCK_ENABLED": "false",
                     "IPMS_LOGIN_MAX_ATTEMPTS": "1000"}
        self.log = (data_dir / "server.log").open("wb")
        command = [sys.executable, "-m", "backend.cli"]
        subprocess.run([*command, "demo"], cwd=ROOT, env=self.env, check=True, capture_output=True, timeout=600)
        self.process = subprocess.Popen([*command, "serve", "--port", str(self.port)], cwd=ROOT, env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("ipms serve did not start")
            time.sleep(0.2)

    def session(self, username: str) -> str:
        response = httpx.post(self.url + "/api/auth/login", json={"username": username, "password": PASSWORD},
                              headers={"origin": self.url})
        response.raise_for_status()
        return response.cookies["ipms_session"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# -- first load --------------------------------------------------------------------------------------------------


def load_once(context: Any, url: str) -> dict[str, Any]:
    """Navigate with throttling; count bytes (encoded responses + websocket frames) until the first visit row."""
    page = context.pages[0] if context.pages else context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    responses: dict[str, dict[str, Any]] = {}
    frames = {"sent": 0, "received": 0, "done": False}

    def finished(event: dict[str, Any]) -> None:
        responses.setdefault(event["requestId"], {})["bytes"] = event["encodedDataLength"]

    def response(event: dict[str, Any]) -> None:
        item = responses.setdefault(event["requestId"], {})
        item["url"] = event["response"]["url"]
        item["from"] = "sw" if event["response"].get("fromServiceWorker") else (
            "cache" if event["response"].get("fromDiskCache") else "network")

    def frame(direction: str) -> Any:
        def count(event: dict[str, Any]) -> None:
            if not frames["done"]:
                frames[direction] += len(event["response"]["payloadData"].encode())
        return count

    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.responseReceived", response)
    cdp.on("Network.webSocketFrameSent", frame("sent"))
    cdp.on("Network.webSocketFrameReceived", frame("received"))
    page.goto(url, wait_until="commit")
    page.wait_for_function("window.__firstRow !== null", timeout=120_000)
    frames["done"] = True
    first_row = page.evaluate("window.__firstRow")
    page.wait_for_load_state("load")
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    cdp.send("Network.emulateNetworkConditions", {**NETWORK, "latency": 0, "downloadThroughput": -1,
                                                 "uploadThroughput": -1})
    cdp.detach()
    http_bytes = sum(r.get("bytes", 0) for r in responses.values())
    by_kind: dict[str, int] = {}
    for item in responses.values():
        path = item.get("url", "").split("?")[0]
        kind = ("js" if path.endswith(".js") else "css" if path.endswith(".css") else
                "image" if path.endswith((".png", ".jpg")) else "manifest" if path.endswith(".webmanifest") else "html")
        by_kind[kind] = by_kind.get(kind, 0) + item.get("bytes", 0)
    return {"first_row_ms": round(first_row), "http_bytes": http_bytes, "ws_bytes": frames["sent"] + frames["received"],
            "by_kind": by_kind, "requests": len(responses),
            "from_service_worker": sum(1 for r in responses.values() if r.get("from") == "sw")}


def first_load(server: Server, profile: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    token = server.session("lina")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, **PHONE)
        try:
            context.add_cookies([{"name": "ipms_session", "value": token, "url": server.url}])
            context.add_init_script(FIRST_ROW_PROBE)
            cold = load_once(context, server.url + "/")
            page = context.pages[0]
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            page.wait_for_function("navigator.serviceWorker.controller !== null || "
                                   "(location.reload(), false)", timeout=60_000, polling=1000)
            warm = load_once(context, server.url + "/")
        finally:
            context.close()
    return cold, warm


# -- events under 50 sessions --------------------------------------------------------------------------------------


def find(model: Any, predicate: Any) -> Any:
    if isinstance(model, dict):
        if predicate(model):
            return model
        for child in model.get("children", []):
            found = find(child, predicate)
            if found is not None:
                return found
    return None


class Session:
    """One ReactPy websocket session on the pipeline screen, pressing its state tabs."""

    def __init__(self, server: Server, token: str) -> None:
        self.server, self.token = server, token
        self.model: dict[str, Any] = {}

    async def open(self) -> None:
        url = f"ws://127.0.0.1:{self.server.port}/reactpy/pwa.app.root/?path=%2Fpipeline"
        self.socket = await websockets.connect(url, origin=self.server.url,
                                               additional_headers={"cookie": f"ipms_session={self.token}"},
                                               max_size=None)
        await self.until(lambda: self.tab("potential") is not None and self.shows("following"))

    def apply(self, message: dict[str, Any]) -> None:
        if message.get("type") != "layout-update":
            return
        path = message.get("path", "")
        if not path:
            self.model = message["model"]
            return
        # JSON-pointer-like path into children: "/children/0/children/2"
        node = self.model
        parts = [p for p in path.split("/") if p]
        for key in parts[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = message["model"]
        else:
            node[last] = message["model"]

    async def until(self, condition: Any, timeout: float = 60) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.apply(json.loads(await self.socket.recv()))

    def tab(self, state: str) -> str | None:
        node = find(self.model, lambda n: n.get("attributes", {}).get("data-state") == state
                    and "onPress" in n.get("eventHandlers", {}))
        return node["eventHandlers"]["onPress"]["target"] if node else None

    def shows(self, state: str) -> bool:
        return find(self.model, lambda n: n.get("attributes", {}).get("id") == "pipeline"
                    and n["attributes"].get("data-state") == state) is not None

    async def press(self, state: str) -> float:
        target = self.tab(state)
        started = time.perf_counter()
        await self.socket.send(json.dumps({"type": "layout-event", "target": target, "data": []}))
        await self.until(lambda: self.shows(state))
        return (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        await self.socket.close()


async def event_times(server: Server, tokens: list[str], rounds: int, think_s: float = 0.0) -> list[float]:
    """Each session presses a tab `rounds` times; with `think_s`, it waits a random 0…2×think_s before each press
    (people reading their phones), otherwise it presses again as soon as the screen has updated (saturation)."""
    sessions = [Session(server, token) for token in tokens]
    await asyncio.gather(*(s.open() for s in sessions))
    times: list[float] = []
    rng = random.Random(5)

    async def work(session: Session) -> None:
        for i in range(rounds):
            if think_s:
                await asyncio.sleep(rng.uniform(0, 2 * think_s))
            times.append(await session.press(("potential", "won", "lost", "following")[i % 4]))

    try:
        await asyncio.gather(*(work(s) for s in sessions))
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def generator_overhead_ms(sample: dict[str, Any], count: int = 2000) -> float:
    """What the load generator itself spends per event (encode the event, decode a layout update)."""
    text = json.dumps(sample)
    started = time.perf_counter()
    for _ in range(count):
        json.loads(text)
        json.dumps({"type": "layout-event", "target": "x", "data": []})
    return (time.perf_counter() - started) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events per session (done in under a minute)")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between one user's presses")
    args = parser.parse_args()
    rounds = 2 if args.quick else 12
    work = Path(tempfile.mkdtemp(prefix="ipms-bench-pwa-"))
    server = Server(work / "data") if (work / "data").mkdir() is None else None
    assert server is not None
    try:
        cold, warm = first_load(server, work / "profile")
        print(f"first load (cold): {cold['http_bytes'] / 1024:.1f} KiB over {cold['requests']} responses "
              f"{json.dumps({k: round(v / 1024, 1) for k, v in cold['by_kind'].items()})} + websocket "
              f"{cold['ws_bytes'] / 1024:.1f} KiB until the first visit row; first row at {cold['first_row_ms']} ms")
        print(f"first load (warm, service worker): {warm['http_bytes'] / 1024:.1f} KiB on the network, "
              f"{warm['from_service_worker']} responses from the service worker; "
              f"first row at {warm['first_row_ms']} ms")
        tokens = [server.session(AGENTS[i % len(AGENTS)]) for i in range(args.sessions)]
        baseline = asyncio.run(event_times(server, tokens[:1], rounds * 4))
        loaded = asyncio.run(event_times(server, tokens, rounds, think_s=args.think))
        saturated = asyncio.run(event_times(server, tokens, max(1, rounds // 2)))
        overhead = generator_overhead_ms({"type": "layout-update", "path": "", "model": {"tagName": "div"}})
        print(f"events, 1 session: {len(baseline)} tab presses, p50 {statistics.median(baseline):.1f} ms, "
              f"p95 {p95(baseline):.1f} ms")
        rate = args.sessions / args.think
        print(f"events, {args.sessions} sessions pressing every 0–{2 * args.think:.0f} s (≈{rate:.0f} events/s): "
              f"{len(loaded)} tab presses, p50 {statistics.median(loaded):.1f} ms, p95 {p95(loaded):.1f} ms "
              f"({p95(loaded) / p95(baseline):.1f}× the single-session p95)")
        print(f"events, {args.sessions} sessions pressing without pause (saturation): {len(saturated)} presses, "
              f"p50 {statistics.median(saturated):.1f} ms, p95 {p95(saturated):.1f} ms; "
              f"load generator overhead {overhead:.3f} ms per event")
        first_load_kib = (cold["http_bytes"] + cold["ws_bytes"]) / 1024
        print(json.dumps({
            "bench": "pwa", "quick": args.quick,
            "first_load_kib": round(first_load_kib, 1), "first_load_http_kib": round(cold["http_bytes"] / 1024, 1),
            "first_load_ws_kib": round(cold["ws_bytes"] / 1024, 1),
            "first_row_ms_cold": cold["first_row_ms"], "first_row_ms_warm": warm["first_row_ms"],
            "event_p95_ms": round(p95(loaded), 1), "event_p50_ms": round(statistics.median(loaded), 1),
            "event_p95_ms_one_session": round(p95(baseline), 1), "sessions": args.sessions,
            "events_per_second": round(args.sessions / args.think, 1),
            "event_p95_ms_saturated": round(p95(saturated), 1),
            "events": len(loaded), "generator_overhead_ms": round(overhead, 3),
        }))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
