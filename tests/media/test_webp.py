"""libwebp's own decoder, through ctypes: the same pixels as Pillow, straight at a reduced size when asked."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from media import webp
from media.ingest import estimate, ingest
from tests.support.images import encode, noise


def _mean_difference(first: Image.Image, second: Image.Image) -> float:
    return max(ImageStat.Stat(ImageChops.difference(first, second)).mean)


def test_webp_available_with_pillows_library() -> None:
    assert webp.available()


def test_webp_features_tell_lossless_alpha_and_animation() -> None:
    rgba = noise(40, 30).convert("RGBA")
    rgba.putalpha(200)
    frames = [noise(16, 16, seed) for seed in range(2)]

    assert webp.features(encode(rgba, "WEBP", lossless=True)) == webp.Features(40, 30, True, False, 2)
    assert webp.features(encode(noise(40, 30), "WEBP", quality=80)) == webp.Features(40, 30, False, False, 1)
    animated = webp.features(encode(frames[0], "WEBP", save_all=True, append_images=frames[1:]))
    assert animated.has_animation


def test_webp_decode_full_size_equals_pillow() -> None:
    image = noise(120, 80).convert("RGBA")
    image.putalpha(128)
    data = encode(image, "WEBP", lossless=True, exact=True)

    out = webp.decode(data, (120, 80), alpha=True)

    assert Image.frombytes("RGBA", (120, 80), bytes(out)).tobytes() == Image.open(io.BytesIO(data)).tobytes()


def test_webp_decode_scaled_close_to_a_box_reduce() -> None:
    image = Image.linear_gradient("L").resize((800, 600)).convert("RGB")
    data = encode(image, "WEBP", quality=95)

    out = webp.decode(data, (200, 150), alpha=False)

    scaled = Image.frombytes("RGB", (200, 150), bytes(out))
    assert _mean_difference(scaled, Image.open(io.BytesIO(data)).convert("RGB").reduce(4)) < 2


def test_webp_decode_animation_unsupported() -> None:
    frames = [noise(16, 16, seed) for seed in range(2)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(webp.WebPError) as caught:
        webp.decode(data, (16, 16), alpha=False)
    assert caught.value.unsupported


def test_webp_decode_truncated_is_an_error() -> None:
    data = encode(noise(300, 200), "WEBP", quality=80)
    with pytest.raises(webp.WebPError):
        webp.decode(data[: len(data) // 2], (300, 200), alpha=False)


def test_ingest_webp_decoded_reduced_by_libwebp() -> None:
    source = encode(Image.linear_gradient("L").resize((4000, 3000)).convert("RGB"), "WEBP", quality=90)

    result = ingest(source)

    assert estimate(source).route == "webp"
    assert (result.decoded_width, result.decoded_height) == (2000, 1500)
    assert (result.display.width, result.display.height) == (1600, 1200)


def test_ingest_webp_without_libwebp_falls_back_to_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    source = encode(Image.linear_gradient("L").resize((4000, 3000)).convert("RGB"), "WEBP", quality=90)
    scaled_plan, reduced = estimate(source), ingest(source)
    monkeypatch.setattr(webp, "available", lambda: False)

    plan, result = estimate(source), ingest(source)

    assert plan.route == "webp-pillow" and plan.cost > 2 * scaled_plan.cost
    assert (result.decoded_width, result.decoded_height) == (4000, 3000)
    assert (result.display.width, result.display.height) == (1600, 1200)
    display = [Image.open(io.BytesIO(r.display.data)).convert("RGB") for r in (reduced, result)]
    assert _mean_difference(*display) < 2
