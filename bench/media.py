"""Benchmark: ms per 12-megapixel photo through ``media.ingest``, beside a naive Pillow pipeline in the same run;
then the peak memory of a fresh server taking the largest photos it accepts, all at once.

1. Speed: the naive pipeline makes the same two outputs the obvious way: full decode, ``exif_transpose``, Lanczos
   resize to 1600 and 320 px, save both without metadata. Photos alternate landscape (orientation 1) and portrait
   (orientation 6, as phones store them), like a camera roll. ``speedup`` is naive ms / ours, same run.
2. Memory (issue 10): the demo organisation is seeded (``ipms demo``) into a fresh temporary SQLite data dir and
   ``ipms serve`` (uvicorn, one worker) started on a free port. After one agent signs in, the server's peak RSS is
   reset (``/proc/PID/clear_refs``) and the largest accepted JPEG, PNG, WebP and HEIC (40 MP each, the most
   memory-hungry encodings: see ``tests/support/largest.py``) are posted to ``/api/photos`` at once; every one must
   answer 201. ``peak_rss_mb_worst4`` is the server's VmHWM after them (resident memory included), beside
   ``rss_mb_before_uploads``. The test files are made once into ``var/bench-media/`` and kept.

Run ``python bench/media.py [--quick]``; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageChops, ImageOps

# This script is itself named media.py: drop its folder from the path so ``import media`` finds the library.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from media.ingest import ingest  # noqa: E402 -- only once this script's own folder has left sys.path

WIDTH, HEIGHT = 4000, 3000
ROOT = _HERE.parent
DEMO_PASSWORD = "demo1234"
WORST4 = ("jpeg", "png", "webp", "heic")


def make_photo(orientation: int) -> bytes:
    """A 4000×3000 JPEG that compresses like a phone photo: soft shapes, some texture, sensor noise."""

    def layer(columns: int, rows: int) -> Image.Image:
        cells = Image.frombytes("RGB", (columns, rows), os.urandom(columns * rows * 3))
        return cells.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)

    scene = Image.blend(layer(16, 12), layer(WIDTH // 40, HEIGHT // 40), 0.35)
    scene = Image.blend(scene, layer(WIDTH // 8, HEIGHT // 8), 0.2)
    grain = Image.merge("RGB", [Image.effect_noise((WIDTH, HEIGHT), 6) for _ in range(3)])
    photo = ImageChops.add(scene, grain, 1.0, -128)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:01 10:20:30"
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


def naive_ingest(data: bytes) -> list[bytes]:
    opened = Image.open(io.BytesIO(data))
    opened.load()
    image = ImageOps.exif_transpose(opened)
    outputs = []
    for edge, quality, progressive in ((1600, 82, True), (320, 80, False)):
        scale = edge / max(image.size)
        small = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
        )
        small.info = {}
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=quality, progressive=progressive, optimize=True)
        outputs.append(buffer.getvalue())
    return outputs


def timed_ms(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def photos_per_second(photos: list[bytes], threads: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(ingest, photos))
    return len(photos) / (time.perf_counter() - started)


def psnr_db(first: bytes, second: bytes) -> float:
    """How close our display image is to the naive one (above ~40 dB the eye sees no difference)."""
    a, b = (Image.open(io.BytesIO(data)).convert("RGB") for data in (first, second))
    histogram = ImageChops.difference(a, b).histogram()
    squared = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mse = squared / (a.width * a.height * 3)
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def ipms() -> list[str]:
    script = Path(sys.executable).parent / "ipms"
    return [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def status_kib(pid: int, key: str) -> int:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line.split()[1] for line in lines if line.startswith(key)))


def demo_agent(output: str) -> str:
    """The first agent in ``ipms demo``'s list of logins ("  username  name  role  branch")."""
    return next(parts[0] for line in output.splitlines() if len(parts := line.split()) == 4 and parts[2] == "agent")


async def upload_at_once(base: str, agent: str, files: dict[str, Path], pid: int) -> dict[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        for _ in range(300):
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError("the app did not answer /healthz")
        async with http.post(f"{base}/api/auth/login", json={"username": agent, "password": DEMO_PASSWORD}) as r:
            body = await r.json()
            if r.status not in (200, 201):
                raise RuntimeError(f"login as {agent}: HTTP {r.status} {body}")
            headers = {"Cookie": f"ipms_session={r.cookies['ipms_session'].value}", "X-CSRF-Token": body["csrf_token"]}
        async with http.get(f"{base}/api/visits?limit=1", headers=headers) as r:
            visit_id = (await r.json())["items"][0]["id"]
        uploads = {name: path.read_bytes() for name, path in files.items()}

        async def post(name: str) -> tuple[str, int, str]:
            form = aiohttp.FormData()
            form.add_field("id", str(uuid.uuid4()))
            form.add_field("visit_id", visit_id)
            form.add_field("file", uploads[name], filename=files[name].name, content_type="application/octet-stream")
            async with http.post(f"{base}/api/photos", headers=headers, data=form) as response:
                return name, response.status, (await response.text())[:300]

        before = status_kib(pid, "VmRSS:")
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS: the peak of the uploads only
            reset = True
        except OSError:
            reset = False
        started = time.perf_counter()
        answers = await asyncio.gather(*(post(name) for name in files))
        seconds = time.perf_counter() - started
        peak = status_kib(pid, "VmHWM:")
    failed = [answer for answer in answers if answer[1] != 201]
    if failed:
        raise RuntimeError(f"not every upload answered 201: {failed}")
    return {"rss_kib_before": before, "peak_kib": peak, "seconds": seconds, "peak_reset": reset,
            "file_kb": {name: round(len(data) / 1024) for name, data in uploads.items()}}


def worst4() -> dict[str, Any]:
    """Seed, serve, upload the four largest at once; the server's figures."""
    from tests.support.largest import write

    files = {name: path for name, path in write(ROOT / "var" / "bench-media").items() if name in WORST4}
    work = Path(tempfile.mkdtemp(prefix="ipms-bench-media-"))
    port = free_port()
    env = {**os.environ, "IPMS_ENV": "development", "IPMS_DATA_DIR": str(work / "data"), "IPMS_DATABASE_URL": "",
           "IPMS_PORT": str(port), "IPMS_CLOCK_ENABLED": "false"}
    seeded = subprocess.run([*ipms(), "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    server = None
    try:
        log = (work / "serve.log").open("wb")
        server = subprocess.Popen([*ipms(), "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        figures = asyncio.run(upload_at_once(f"http://127.0.0.1:{port}", demo_agent(seeded.stdout), files, server.pid))
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
    figures["budget_mb"] = int(env.get("IPMS_IMAGE_MEMORY_BUDGET_MB") or 384)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs: well under a minute")
    parser.add_argument("--runs", type=int, help="runs per photo and pipeline (default 3 quick, 20 full)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 20)

    photos = {"landscape": make_photo(1), "portrait": make_photo(6)}
    for data in photos.values():  # warm up: first calls pay for imports and allocator growth
        ingest(data)
        naive_ingest(data)

    ours: dict[str, list[float]] = {name: [] for name in photos}
    naive: dict[str, list[float]] = {name: [] for name in photos}
    for _ in range(runs):
        for name, data in photos.items():
            ours[name].append(timed_ms(functools.partial(ingest, data)))
            naive[name].append(timed_ms(functools.partial(naive_ingest, data)))

    batch = [photos["landscape"], photos["portrait"]] * max(2, runs // 2)
    one_thread = photos_per_second(batch, 1)
    two_threads = photos_per_second(batch, 2)

    result = ingest(photos["landscape"])
    quality = psnr_db(result.display.data, naive_ingest(photos["landscape"])[0])
    ms = statistics.median(ours["landscape"] + ours["portrait"])
    naive_ms = statistics.median(naive["landscape"] + naive["portrait"])
    figures = {
        "bench": "media",
        "quick": args.quick,
        "runs": runs,
        "cpus": os.cpu_count(),
        "source_megapixels": WIDTH * HEIGHT / 1e6,
        "source_kb": round(statistics.mean(len(data) for data in photos.values()) / 1024),
        "display_kb": round(len(result.display.data) / 1024),
        "thumb_kb": round(len(result.thumbnail.data) / 1024),
        "decoded_long_edge": max(result.decoded_width, result.decoded_height),
        "ms_per_photo": round(ms, 1),
        "naive_ms_per_photo": round(naive_ms, 1),
        "speedup": round(naive_ms / ms, 2),
        "landscape_speedup": round(
            statistics.median(naive["landscape"]) / statistics.median(ours["landscape"]), 2
        ),
        "portrait_speedup": round(
            statistics.median(naive["portrait"]) / statistics.median(ours["portrait"]), 2
        ),
        "one_thread_photos_per_s": round(one_thread, 2),
        "two_concurrent_photos_per_s": round(two_threads, 2),
        "concurrency_gain": round(two_threads / one_thread, 2),
        "display_psnr_db_vs_naive": round(quality, 1),
    }
    memory = worst4()
    figures.update({
        "peak_rss_mb_worst4": round(memory["peak_kib"] / 1024, 1),
        "rss_mb_before_uploads": round(memory["rss_kib_before"] / 1024, 1),
        "worst4_peak_is_uploads_only": memory["peak_reset"],
        "worst4_seconds": round(memory["seconds"], 2),
        "worst4_file_kb": memory["file_kb"],
        "image_memory_budget_mb": memory["budget_mb"],
    })
    for name in photos:
        print(
            f"{name:9}  ingest {statistics.median(ours[name]):7.1f} ms"
            f"   naive {statistics.median(naive[name]):7.1f} ms"
        )
    print(f"throughput 1 thread {one_thread:.2f} photos/s, 2 threads {two_threads:.2f} photos/s")
    print(f"largest JPEG, PNG, WebP and HEIC at once: all 201 in {figures['worst4_seconds']} s, server peak RSS "
          f"{figures['peak_rss_mb_worst4']} MB ({figures['rss_mb_before_uploads']} MB before; decoding budget "
          f"{figures['image_memory_budget_mb']} MB)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
