"""The memory model: header facts in, the decode route and a peak that real decodes stay under, out.

The peaks are measured in fresh interpreters (``measure_ingest``): each image alone, no budget, so what is
compared is exactly one ingest's growth against its estimate.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from media import plan
from media.ingest import estimate
from tests.support.images import encode, noise
from tests.support.largest import heic_variant, write
from tests.support.measure_ingest import measure

MB = 1024 * 1024


def test_plan_jpeg_coefficients_count_each_component_at_its_resolution() -> None:
    # 16×16 at 4:2:0: four luma blocks, one block for each chroma component, 128 bytes a block.
    assert plan.jpeg_coefficient_bytes((16, 16), [(2, 2), (1, 1), (1, 1)]) == 6 * 128
    # 40 MP CMYK at 4:4:4: four full-size components, two bytes a sample.
    assert plan.jpeg_coefficient_bytes((7744, 5164), [(1, 1)] * 4) == 968 * 646 * 4 * 128


def test_plan_jpeg_multi_scan_only_for_progressive_or_partial_first_scan() -> None:
    image = noise(64, 48)
    assert plan.jpeg_multi_scan(encode(image), 3) is False
    assert plan.jpeg_multi_scan(encode(image, progressive=True), 3) is True
    assert plan.jpeg_multi_scan(encode(image)[:40], 3) is True  # unreadable: the safe side


@pytest.mark.parametrize(
    ("size", "edge", "factor"),
    [((7744, 5164), 1600, 4), ((3199, 100), 1600, 1), ((3200, 100), 1600, 2), ((100, 100), 1600, 1)],
)
def test_plan_reduce_factor_keeps_long_edge_at_least_edge(size: tuple[int, int], edge: int, factor: int) -> None:
    assert plan.reduce_factor(size, edge) == factor
    assert max(plan.reduced(size, factor)) >= min(edge, max(size))


def test_plan_pixel_bytes_as_pillow_stores_them() -> None:
    assert [plan.pixel_bytes(mode) for mode in ("1", "L", "P", "I;16", "RGB", "RGBA", "LA", "CMYK")] == [
        1, 1, 1, 2, 4, 4, 4, 4,
    ]


def test_plan_heif_deeper_or_fuller_chroma_costs_more() -> None:
    costs = [plan.heif_bytes_per_pixel(*facts) for facts in
             [(8, 420, False), (8, 420, True), (10, 420, False), (8, 444, False), (10, 444, True)]]
    assert costs == sorted(costs)
    assert plan.heif_bytes_per_pixel(8, 420, False) < 5.5  # an ordinary phone photo: about five bytes a pixel


def test_plan_estimate_grows_with_keep_original() -> None:
    source = encode(Image.linear_gradient("L").resize((4000, 3000)).convert("RGB"))
    small, full = estimate(source), estimate(source, keep_original=True)
    assert (small.route, small.decoded_size, small.reduce) == ("jpeg", (2000, 1500), 1)
    assert full.decoded_size == (4000, 3000) and full.cost > 2 * small.cost


@pytest.fixture(scope="session")
def heic_variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    # 12 MP: the model is per pixel, so the smaller size checks it at a fraction of the encoding time.
    names = [heic_variant(depth, chroma, alpha, (4000, 3000))
             for depth, chroma, alpha in [(8, 420, True), (10, 420, False), (10, 444, True)]]
    return write(tmp_path_factory.getbasetemp() / "largest", names)


@pytest.mark.parametrize("variant", [0, 1, 2], ids=["8bit-420-alpha", "10bit-420", "10bit-444-alpha"])
def test_plan_estimate_covers_measured_peak_heic(heic_variants: dict[str, Path], variant: int) -> None:
    path = list(heic_variants.values())[variant]

    measured = measure([path])

    result = measured["results"][0]
    growth = (measured["peak_kib"] - measured["baseline_kib"]) * 1024
    assert result["ok"] and result["route"] == "heic"
    assert growth <= result["estimate"]
    print(f"\n{path.name}: peak {growth / MB:.0f} MB, estimate {result['estimate'] / MB:.0f} MB")
