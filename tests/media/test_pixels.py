"""Strip-wise pixel work gives exactly what the whole-image operation gives, for every strip height."""

from __future__ import annotations

import pytest
from PIL import Image

from media import pixels
from tests.support.images import noise


@pytest.fixture(autouse=True)
def tiny_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    # A few rows per strip (not a multiple of every factor's image height), so every test crosses many seams.
    monkeypatch.setattr(pixels, "STRIP_BYTES", 97 * 4 * 5)


def _rgba(width: int, height: int) -> Image.Image:
    image = noise(width, height, seed=3).convert("RGBA")
    image.putalpha(noise(width, height, seed=4).convert("L"))
    return image


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "CMYK"])
def test_reduce_rows_equals_image_reduce(mode: str, factor: int) -> None:
    image = _rgba(97, 61).convert(mode) if mode != "RGBA" else _rgba(97, 61)

    strips = pixels.reduce_rows(pixels.ImageRows(image), factor)

    whole = image.reduce(factor) if factor > 1 else image
    assert strips.mode == whole.mode and strips.size == whole.size
    assert strips.tobytes() == whole.tobytes()


def test_reduce_rows_palette_with_transparency_as_rgba() -> None:
    image = noise(50, 40).quantize(16)
    image.info["transparency"] = 3

    strips = pixels.reduce_rows(pixels.ImageRows(image), 2)

    assert strips.mode == "RGBA"
    assert strips.tobytes() == image.convert("RGBA").reduce(2).tobytes()


def test_reduce_rows_16_bit_grey_as_8_bit() -> None:
    rows = [[0] * 64] * 20 + [[65535] * 64] * 10 + [[32768] * 32 + [65535] * 32] * 10
    image = Image.frombytes("I;16", (64, 40), b"".join(v.to_bytes(2, "little") for row in rows for v in row))

    strips = pixels.reduce_rows(pixels.ImageRows(image), 1)

    assert strips.mode == "L"
    assert [strips.getpixel(xy) for xy in [(0, 0), (40, 39), (0, 39)]] == [0, 255, 128]


def test_working_mode_premultiplied_alpha_made_straight() -> None:
    image = Image.new("RGBa", (4, 4), (100, 50, 25, 128))
    assert pixels.working_mode(image).getpixel((0, 0)) == image.convert("RGBA").getpixel((0, 0))
    assert pixels.working_mode(image).mode == "RGBA"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_finish_rows_equals_whole_image_finish(orientation: int) -> None:
    image = _rgba(97, 61)
    colour = pixels.Colour(None, "RGBA")

    strips = pixels.finish_rows(pixels.ImageRows(image), lambda mode: colour, orientation)

    whole = pixels.finish(image, colour, orientation)
    assert strips.mode == "RGB" and strips.size == whole.size
    assert strips.tobytes() == whole.tobytes()


def test_buffer_rows_read_a_strided_buffer() -> None:
    image = noise(33, 20)
    stride = 33 * 3 + 5  # padded rows, as libheif may hand them out
    packed = b"".join(image.crop((0, y, 33, y + 1)).tobytes() + b"\0" * 5 for y in range(20))

    source = pixels.BufferRows(memoryview(packed), (33, 20), "RGB", stride)

    assert source.rows(7, 13).tobytes() == image.crop((0, 7, 33, 13)).tobytes()
    assert pixels.reduce_rows(source, 2).tobytes() == image.reduce(2).tobytes()
