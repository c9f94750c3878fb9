"""Image memory bounded by memory: the largest photo of each format the app accepts still ingests, four of them at
once stay within the decoding budget, and what alone would exceed it is refused before any pixel is decoded.

Peak RSS comes from fresh interpreters (``measure_ingest``); ``tracemalloc`` cannot see these buffers. The worst
cases are 40 MP files from ``largest`` (progressive CMYK 4:4:4 JPEG, RGBA PNG, lossless RGBA WebP, 10-bit HEIC)
and an animated WebP with a 36 MP canvas that only Pillow's animation decoder (16 bytes a pixel) can read.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from media.budget import MemoryBudget
from media.errors import ImageTooLarge
from media.ingest import estimate, ingest
from tests.support.images import encode
from tests.support.largest import write
from tests.support.measure_ingest import measure

MB = 1024 * 1024
DEFAULT_BUDGET_MB = 384
# Beyond the budget a decode thread also holds what the estimate leaves out on purpose: the Python objects and
# thread stacks of four ingests and allocator slack. Measured: under 10 MB.
SLACK_MB = 32
LARGEST = ["jpeg", "png", "webp", "heic"]


@pytest.fixture(scope="session")
def largest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write(tmp_path_factory.getbasetemp() / "largest")


def test_ingest_largest_of_each_format_fits_the_default_budget(largest: dict[str, Path]) -> None:
    for name in LARGEST:
        cost = estimate(largest[name].read_bytes()).cost
        assert cost <= DEFAULT_BUDGET_MB * MB, f"{name}: {cost / MB:.0f} MB"
    assert estimate(largest["animated-webp"].read_bytes()).cost > DEFAULT_BUDGET_MB * MB


@pytest.mark.parametrize("name", LARGEST)
def test_ingest_largest_peak_rss_within_its_estimate(largest: dict[str, Path], name: str) -> None:
    measured = measure([largest[name]])

    result = measured["results"][0]
    growth = (measured["peak_kib"] - measured["baseline_kib"]) * 1024
    assert result["ok"], result
    assert max(result["display"]) == 1600
    assert growth <= result["estimate"]
    print(f"\n{name}: peak {growth / MB:.0f} MB, estimate {result['estimate'] / MB:.0f} MB ({result['route']})")


@pytest.mark.parametrize("name", ["png", "heic"])
def test_ingest_largest_keep_original_peak_rss_within_its_estimate(largest: dict[str, Path], name: str) -> None:
    measured = measure([largest[name]], keep_original=True)

    result = measured["results"][0]
    growth = (measured["peak_kib"] - measured["baseline_kib"]) * 1024
    assert result["ok"], result
    assert growth <= result["estimate"] <= DEFAULT_BUDGET_MB * MB


def test_ingest_largest_four_at_once_peak_rss_within_budget(largest: dict[str, Path]) -> None:
    files = [largest[name] for name in [*LARGEST, "animated-webp"]]

    measured = measure(files, budget_mb=DEFAULT_BUDGET_MB)

    results = {result["file"]: result for result in measured["results"]}
    growth = (measured["peak_kib"] - measured["baseline_kib"]) * 1024
    assert [results[largest[name].name]["ok"] for name in LARGEST] == [True] * 4
    refused = results[largest["animated-webp"].name]
    assert (refused["ok"], refused["error"]) == (False, "image_too_large")
    # Together they would need more than the budget: it had to make some wait.
    assert sum(results[largest[name].name]["estimate"] for name in LARGEST) > DEFAULT_BUDGET_MB * MB
    assert measured["budget_peak"] <= DEFAULT_BUDGET_MB * MB
    assert growth <= (DEFAULT_BUDGET_MB + SLACK_MB) * MB
    print(f"\nfour largest at once: peak {growth / MB:.0f} MB over {measured['baseline_kib'] / 1024:.0f} MB resident, "
          f"budget {DEFAULT_BUDGET_MB} MB (most reserved at once {measured['budget_peak'] / MB:.0f} MB)")


def test_ingest_above_budget_refused_before_decoding(largest: dict[str, Path]) -> None:
    budget = MemoryBudget(DEFAULT_BUDGET_MB * MB)

    with pytest.raises(ImageTooLarge) as caught:
        ingest(largest["animated-webp"].read_bytes(), budget=budget)

    assert caught.value.code == "image_too_large"
    assert "MB of memory" in caught.value.message and "6000×6000" in caught.value.message
    assert budget.peak == 0  # nothing was reserved, so nothing was decoded


def test_ingest_budget_reserves_the_estimate_and_refuses_above_it() -> None:
    image = Image.linear_gradient("L").resize((3000, 2000)).convert("RGBA")
    source = encode(image, "PNG", compress_level=1)
    cost = estimate(source).cost

    with pytest.raises(ImageTooLarge):
        ingest(source, budget=MemoryBudget(cost - 1))
    budget = MemoryBudget(cost)
    result = ingest(source, budget=budget)

    assert budget.peak == cost and budget.in_use == 0
    assert (result.display.width, result.display.height) == (1600, 1067)


def test_ingest_png_reduced_in_strips_then_resized() -> None:
    source = encode(Image.linear_gradient("L").resize((5000, 120)).convert("RGBA"), "PNG")

    plan, result = estimate(source), ingest(source)

    assert (plan.route, plan.reduce, plan.working_size) == ("png", 3, (1667, 40))
    assert (result.decoded_width, result.decoded_height) == (5000, 120)
    assert (result.display.width, result.display.height) == (1600, 38)


def test_ingest_heic_embedded_thumbnail_decoded_instead() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    buffer = io.BytesIO()
    image = Image.linear_gradient("L").resize((3600, 2400)).convert("RGB")
    pillow_heif.from_pillow(image).save(buffer, quality=50, thumbnails=[1800, 320])

    plan, result = estimate(buffer.getvalue()), ingest(buffer.getvalue())

    assert plan.route == "heic-thumbnail"
    assert (result.source_width, result.source_height) == (3600, 2400)
    assert (result.decoded_width, result.decoded_height) == (1800, 1200)
    assert (result.display.width, result.display.height) == (1600, 1067)
    assert plan.cost < estimate(buffer.getvalue(), keep_original=True).cost


def test_ingest_heic_ten_bit_decoded_to_eight() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    raw = Image.linear_gradient("L").resize((900, 600)).convert("RGB").tobytes()
    wide = bytearray(2 * len(raw))
    wide[0::2], wide[1::2] = raw, raw
    buffer = io.BytesIO()
    pillow_heif.from_bytes("RGB;16", (900, 600), bytes(wide)).save(buffer, quality=80)

    result = ingest(buffer.getvalue())

    display = Image.open(io.BytesIO(result.display.data))
    assert display.size == (900, 600) and display.mode == "RGB"
    top, bottom = display.getpixel((450, 5)), display.getpixel((450, 594))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] < 20 and bottom[0] > 235  # the gradient survived the depth conversion
