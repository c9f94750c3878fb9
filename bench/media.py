"""Benchmark: ms per 12-megapixel photo through ``media.ingest``, beside a naive Pillow pipeline in the same run.

The naive pipeline makes the same two outputs the obvious way: full decode, ``exif_transpose``, Lanczos resize to
1600 and 320 px, save both without metadata. Photos alternate landscape (orientation 1) and portrait
(orientation 6, as phones store them), like a camera roll. Run ``python bench/media.py [--quick]``; the last
line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import ExifTags, Image, ImageChops, ImageOps

# This script is itself named media.py: drop its folder from the path so ``import media`` finds the library.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from media.ingest import ingest  # noqa: E402 -- only once this script's own folder has left sys.path

WIDTH, HEIGHT = 4000, 3000


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
    for name in photos:
        print(
            f"{name:9}  ingest {statistics.median(ours[name]):7.1f} ms"
            f"   naive {statistics.median(naive[name]):7.1f} ms"
        )
    print(f"throughput 1 thread {one_thread:.2f} photos/s, 2 threads {two_threads:.2f} photos/s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
