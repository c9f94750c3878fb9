"""Decompression bombs uploaded as photos are refused before decoding, with bounded memory in a fresh process;
the largest photos the app accepts, uploaded at once, all answer 201 within the decoding memory budget.

`tracemalloc` cannot see Pillow's pixel buffers, so a new interpreter handles the uploads and reports its peak RSS
(VmHWM). Decoded, the 30,000² PNG would take 900 MB even at one byte a pixel, and the 7,000² RGB one 196 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from backend.photos.tables import Photo
from backend.settings import Settings
from tests.support.factories import Org, open_session
from tests.support.images import solid_png
from tests.support.largest import write
from tests.support.photos import stored_files

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[3]
RSS_LIMIT_KIB = 100 * 1024
# Through the web app the process is already ≈90 MiB resident before any upload (Litestar, ReactPy, pages), so the
# whole-process bound is shown on the service path; on the HTTP path the upload's own growth is bounded instead.
UPLOAD_GROWTH_LIMIT_KIB = 20 * 1024
# The largest photos together: the budget (default 384 MB) bounds their decodes; beyond it the process holds the
# uploads themselves (under 6 MB here, a few copies each on their way through multipart parsing), the objects of five
# requests and allocator slack.
BUDGET_MB = 384
SLACK_MB = 48
BOMBS = [
    pytest.param(30_000, 30_000, 0, 1, id="30000x30000-grey"),
    pytest.param(7_000, 7_000, 2, 8, id="7000x7000-rgb"),
]


def measure(mode: str, args: dict[str, Any]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.measure_upload", mode, json.dumps(args)],
        cwd=REPO, capture_output=True, text=True, check=True, env={**os.environ, "IPMS_ENV": "test"},
    )
    assert done.stderr == ""  # no warnings either
    return dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())


async def bomb_args(database: Settings, org: Org, tmp_path: Path, width: int, height: int, colour_type: int,
                    bit_depth: int) -> dict[str, Any]:
    path = tmp_path / "bomb.png"
    path.write_bytes(solid_png(width, height, colour_type=colour_type, bit_depth=bit_depth))
    assert path.stat().st_size < 200_000
    return await upload_args(database, org, path)


async def upload_args(database: Settings, org: Org, path: Path) -> dict[str, Any]:
    agent = org.a.users["agent1"]
    token, csrf = await open_session(agent)
    return {"data_dir": str(database.data_dir), "database_url": database.database_url, "file": str(path),
            "user_id": str(agent.id), "role": agent.role, "branch_id": str(agent.branch),
            "visit_id": str(org.a.records["agent1"]["visit"].id), "token": token, "csrf": csrf}


@pytest.mark.parametrize(("width", "height", "colour_type", "bit_depth"), BOMBS)
async def test_bomb_upload_service_peak_rss_under_100mb(
    database: Settings, org: Org, tmp_path: Path, width: int, height: int, colour_type: int, bit_depth: int
) -> None:
    args = await bomb_args(database, org, tmp_path, width, height, colour_type, bit_depth)

    result = measure("service", args)

    assert result["verdict"] == "422 image_too_large"
    assert int(result["peak_kib"]) < RSS_LIMIT_KIB
    assert await Photo.count() == 0
    assert stored_files(database.media_dir) == []
    print(f"\nservice {width}x{height}: peak RSS {int(result['peak_kib']) / 1024:.1f} MiB (whole process)")


@pytest.mark.parametrize(("width", "height", "colour_type", "bit_depth"), BOMBS)
async def test_bomb_upload_http_peak_rss_under_100mb(
    database: Settings, org: Org, tmp_path: Path, width: int, height: int, colour_type: int, bit_depth: int
) -> None:
    args = await bomb_args(database, org, tmp_path, width, height, colour_type, bit_depth)

    result = measure("asgi", args)

    assert result["verdict"] == "422 image_too_large"
    peak, baseline = int(result["peak_kib"]), int(result["baseline_kib"])
    assert peak - baseline < UPLOAD_GROWTH_LIMIT_KIB
    assert await Photo.count() == 0
    print(f"\nhttp {width}x{height}: peak RSS {peak / 1024:.1f} MiB while uploading, {baseline / 1024:.1f} MiB "
          f"resident before it (start-up peak {int(result['startup_peak_kib']) / 1024:.1f} MiB)")


async def test_largest_photos_at_once_http_201_within_memory_budget(
    database: Settings, org: Org, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # 40 MP each: progressive CMYK 4:4:4 JPEG, RGBA PNG, lossless RGBA WebP, 10-bit HEIC; and an animated WebP
    # whose 36 MP canvas only Pillow's animation decoder reads (~580 MB): more than the whole budget, so 422.
    largest = write(tmp_path_factory.getbasetemp() / "largest")
    files = [largest[name] for name in ("jpeg", "png", "webp", "heic", "animated-webp")]
    args = {**await upload_args(database, org, files[0]), "files": [str(path) for path in files]}

    result = measure("asgi-many", args)

    assert json.loads(result["verdicts"]) == ["201 stored"] * 4 + ["422 image_too_large file"]
    peak, baseline = int(result["peak_kib"]), int(result["baseline_kib"])
    assert peak - baseline < (BUDGET_MB + SLACK_MB) * 1024
    assert await Photo.count() == 4
    print(f"\nhttp, the four largest at once: peak RSS {peak / 1024:.1f} MiB, {baseline / 1024:.1f} MiB resident "
          f"before (budget {BUDGET_MB} MB)")
