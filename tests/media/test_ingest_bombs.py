"""Decompression bombs are refused from the header, and memory stays bounded, measured in a fresh process.

``tracemalloc`` cannot see Pillow's pixel buffers, so peak RSS comes from a new interpreter that imports
``media.ingest`` and ingests one file. On Linux, ``getrusage(RUSAGE_SELF).ru_maxrss`` survives ``exec`` and so
reports the (large) pytest parent's peak; the child's own high-water mark is ``VmHWM`` in /proc/self/status.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from media.errors import ImageTooLarge
from media.ingest import ingest
from tests.support.images import encode, solid_png, webp_canvas_bomb

REPO = Path(__file__).resolve().parents[2]
RSS_LIMIT_KB = 100 * 1024
MEASURE = """
import pathlib, resource, sys
from media.errors import ImageTooLarge
from media.ingest import ingest
data = pathlib.Path(sys.argv[1]).read_bytes()
try:
    result = ingest(data)
    print("ok", result.decoded_width, result.decoded_height)
except ImageTooLarge:
    print("too_large")
status = pathlib.Path("/proc/self/status")
if status.exists():
    print(next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM:")))
else:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_kb(path: Path) -> tuple[str, int]:
    """Ingest ``path`` in a fresh interpreter (warnings as errors); return its verdict and peak RSS in KiB."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", MEASURE, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    verdict, rss = done.stdout.strip().splitlines()
    assert done.stderr == ""
    return verdict, int(rss)


# 10,000² is past Pillow's own MAX_IMAGE_PIXELS (a warning there) and 30,000² past twice it (an error there):
# both must surface as our ImageTooLarge, never as a Pillow warning or a decode.
@pytest.mark.parametrize(("width", "height"), [(7000, 7000), (10000, 10000), (30000, 30000)])
def test_ingest_png_bomb_too_large(width: int, height: int) -> None:
    bomb = solid_png(width, height)
    assert len(bomb) < 200_000
    with pytest.raises(ImageTooLarge) as caught:
        ingest(bomb)
    assert caught.value.code == "image_too_large"
    assert f"{width}×{height}" in caught.value.message


# WebP's decoder reserves its canvas when the file is opened, so the header is checked before Pillow sees it.
@pytest.mark.parametrize(("width", "height"), [(7000, 7000), (12000, 12000), (16383, 16383)])
def test_ingest_webp_canvas_bomb_too_large(width: int, height: int) -> None:
    with pytest.raises(ImageTooLarge, match=f"{width}×{height}"):
        ingest(webp_canvas_bomb(width, height))


def test_ingest_rgb_bomb_too_large() -> None:
    with pytest.raises(ImageTooLarge):
        ingest(solid_png(7000, 7000, colour_type=2, bit_depth=8))


def test_ingest_pixel_cap_is_the_callers() -> None:
    image = solid_png(300, 200, colour_type=2, bit_depth=8)
    with pytest.raises(ImageTooLarge):
        ingest(image, max_pixels=300 * 200 - 1)
    assert ingest(image, max_pixels=300 * 200).source_width == 300


@pytest.mark.parametrize(
    ("width", "height", "colour_type", "bit_depth"), [(30000, 30000, 0, 1), (7000, 7000, 2, 8)]
)
def test_ingest_png_bomb_peak_rss_under_100mb(
    tmp_path: Path, width: int, height: int, colour_type: int, bit_depth: int
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(solid_png(width, height, colour_type=colour_type, bit_depth=bit_depth))

    verdict, rss_kb = _peak_rss_kb(path)
    assert verdict == "too_large"
    assert rss_kb < RSS_LIMIT_KB


def test_ingest_27mp_jpeg_peak_rss_under_100mb(tmp_path: Path) -> None:
    # Decoded whole, 6000×4500 RGB takes 108 MB in Pillow (4 bytes a pixel); the draft decode takes a quarter.
    path = tmp_path / "big.jpg"
    path.write_bytes(encode(Image.linear_gradient("L").resize((6000, 4500)).convert("RGB"), quality=85))

    verdict, rss_kb = _peak_rss_kb(path)
    assert verdict == "ok 3000 2250"
    assert rss_kb < RSS_LIMIT_KB
