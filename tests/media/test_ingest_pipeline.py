"""The ingest pipeline: upright, bounded, metadata-free variants and the EXIF facts kept for the caller."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image, ImageCms

from media.errors import CorruptImage, EmptyFile, MediaError
from media.ingest import IngestResult, draft_scale, ingest
from tests.support.images import (
    BLUE,
    RED,
    encode,
    exif,
    jpeg_segments,
    noise,
    red_quadrant,
    swapped_primaries_profile,
    xmp_packet,
)

APP0, APP15, COM = 0xE0, 0xEF, 0xFE
SYDNEY_LAT, SYDNEY_LON = ("S", (33.0, 52.0, 12.34)), ("E", (151.0, 12.0, 30.0))


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def _is_red(pixel: tuple[int, ...]) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def _variants(result: IngestResult) -> list[bytes]:
    return [result.display.data, result.thumbnail.data] + ([result.original.data] if result.original else [])


@pytest.mark.parametrize(
    ("orientation", "red_corner"),
    [(1, "top-left"), (3, "bottom-right"), (6, "top-right"), (8, "bottom-left")],
)
def test_ingest_exif_orientation_stored_upright(orientation: int, red_corner: str) -> None:
    # EXIF: orientation 6 puts stored row 0 on the visual right and column 0 at the top; 8 is the mirror.
    result = ingest(encode(red_quadrant(400, 200), quality=95, exif=exif(orientation=orientation)))

    display = _open(result.display.data)
    rotated = orientation in (6, 8)
    assert display.size == ((200, 400) if rotated else (400, 200))
    assert _red_corners(display) == [red_corner]
    thumb = _open(result.thumbnail.data)
    assert thumb.size == ((160, 320) if rotated else (320, 160))
    assert _red_corners(thumb) == [red_corner]
    assert result.orientation == orientation


def _red_corners(image: Image.Image) -> list[str]:
    width, height = image.size
    corners = {
        "top-left": (5, 5),
        "top-right": (width - 6, 5),
        "bottom-left": (5, height - 6),
        "bottom-right": (width - 6, height - 6),
    }
    return [name for name, xy in corners.items() if _is_red(_rgb(image, xy))]


def test_ingest_variants_carry_no_metadata() -> None:
    source = encode(
        noise(2400, 1800),
        exif=exif(
            orientation=6,
            taken="2024:05:01 10:20:30",
            offset="+08:00",
            latitude=SYDNEY_LAT,
            longitude=SYDNEY_LON,
        ),
        icc_profile=swapped_primaries_profile(),
        xmp=xmp_packet(),
        comment=b"shot on a test camera",
        dpi=(300, 300),
    )
    result = ingest(source, keep_original=True)

    for data in _variants(result):
        image = _open(data)
        assert not image.getexif()
        assert not image.getexif().get_ifd(0x8825)
        assert "icc_profile" not in image.info and "exif" not in image.info and "xmp" not in image.info
        segments = jpeg_segments(data)
        assert [m for m in segments if APP0 < m <= APP15 or m == COM] == []
        assert segments.count(APP0) == 1  # the JFIF header only
        assert b"Exif\x00\x00" not in data and b"ICC_PROFILE" not in data and b"test camera" not in data


def test_ingest_display_is_progressive_and_bounded() -> None:
    result = ingest(encode(noise(3000, 1000)))

    display, thumb = _open(result.display.data), _open(result.thumbnail.data)
    assert display.size == (1600, 533) and (result.display.width, result.display.height) == display.size
    assert thumb.size == (320, 107) and (result.thumbnail.width, result.thumbnail.height) == thumb.size
    assert display.info.get("progressive") == 1
    assert (result.source_width, result.source_height, result.source_format) == (3000, 1000, "jpeg")


def test_ingest_small_image_not_enlarged() -> None:
    result = ingest(encode(red_quadrant(120, 90), "PNG"))
    assert (result.display.width, result.display.height) == (120, 90)
    assert (result.thumbnail.width, result.thumbnail.height) == (120, 90)


def test_ingest_sha256_names_each_variant_and_source() -> None:
    source = encode(noise(800, 600))
    result = ingest(source)
    for variant in (result.display, result.thumbnail):
        assert variant.sha256 == hashlib.sha256(variant.data).hexdigest()
        assert variant.content_type == "image/jpeg"
    assert result.source_sha256 == hashlib.sha256(source).hexdigest()


def test_ingest_gps_and_capture_time_read_from_exif() -> None:
    source = encode(
        noise(64, 48),
        exif=exif(taken="2024:05:01 10:20:30", offset="+08:00", latitude=SYDNEY_LAT, longitude=SYDNEY_LON),
    )
    result = ingest(source)

    assert result.taken_at == datetime(2024, 5, 1, 2, 20, 30, tzinfo=UTC)
    assert result.latitude == pytest.approx(-(33 + 52 / 60 + 12.34 / 3600), abs=1e-6)
    assert result.longitude == pytest.approx(151 + 12 / 60 + 30 / 3600, abs=1e-6)


def test_ingest_capture_time_without_offset_prefers_gps_stamp() -> None:
    source = encode(
        noise(64, 48), exif=exif(taken="2024:05:01 10:20:30", gps_stamp=("2024:05:01", (2.0, 20.0, 31.0)))
    )
    assert ingest(source).taken_at == datetime(2024, 5, 1, 2, 20, 31, tzinfo=UTC)


def test_ingest_capture_time_without_offset_uses_given_zone() -> None:
    source = encode(noise(64, 48), exif=exif(taken="2024:05:01 10:20:30"))
    shanghai = timezone(timedelta(hours=8))

    assert ingest(source).taken_at == datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)
    assert ingest(source, exif_tz=shanghai).taken_at == datetime(2024, 5, 1, 2, 20, 30, tzinfo=UTC)


def test_ingest_without_exif_has_no_time_or_position() -> None:
    result = ingest(encode(noise(64, 48), "PNG"))
    assert (result.taken_at, result.latitude, result.longitude, result.orientation) == (None, None, None, 1)


def test_ingest_draft_decodes_12mp_jpeg_at_half_size() -> None:
    source = encode(Image.linear_gradient("L").resize((4000, 3000)).convert("RGB"), quality=85)
    result = ingest(source)

    assert max(result.decoded_width, result.decoded_height) <= 2000
    assert (result.decoded_width, result.decoded_height) == (2000, 1500)
    assert (result.display.width, result.display.height) == (1600, 1200)


@pytest.mark.parametrize(
    ("size", "edge", "scale"),
    [
        ((4000, 3000), 1600, 2),
        ((8000, 6000), 1600, 4),
        ((16000, 100), 1600, 8),
        ((1600, 1200), 1600, 1),
        ((3198, 10), 1600, 1),
        ((3199, 10), 1600, 2),
        ((4000, 3000), 320, 8),
    ],
)
def test_draft_scale_keeps_long_edge_at_least_target(size: tuple[int, int], edge: int, scale: int) -> None:
    assert draft_scale(size, edge) == scale


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_ingest_alpha_flattened_onto_white(fmt: str) -> None:
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (100, 0, 200, 100))
    result = ingest(encode(image, fmt, lossless=True) if fmt == "WEBP" else encode(image, fmt))

    display = _open(result.display.data)
    assert display.mode == "RGB"
    assert all(channel > 245 for channel in _rgb(display, (20, 50)))
    assert _is_red(_rgb(display, (180, 50)))


def test_ingest_palette_png_transparency_flattened_onto_white() -> None:
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (32, 0, 64, 64))
    result = ingest(encode(image, "PNG", transparency=0))

    display = _open(result.display.data)
    assert all(channel > 245 for channel in _rgb(display, (5, 5)))
    assert _is_red(_rgb(display, (60, 5)))


def test_ingest_embedded_profile_converted_to_srgb() -> None:
    # In a profile with red and green primaries swapped, stored red pixels are green on screen.
    source = encode(Image.new("RGB", (64, 64), RED), quality=95, icc_profile=swapped_primaries_profile())
    pixel = _rgb(_open(ingest(source).display.data), (32, 32))
    assert pixel[1] > 200 and pixel[0] < 60 and pixel[2] < 60


def test_ingest_srgb_profile_left_as_is() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = encode(Image.new("RGB", (64, 64), BLUE), quality=95, icc_profile=srgb)
    pixel = _rgb(_open(ingest(source).display.data), (32, 32))
    assert pixel[2] > 200 and pixel[0] < 60 and pixel[1] < 60


def test_ingest_keep_original_full_size_upright() -> None:
    result = ingest(encode(noise(2400, 1800), exif=exif(orientation=6)), keep_original=True)

    assert result.original is not None
    assert (result.original.width, result.original.height) == (1800, 2400)
    assert (result.decoded_width, result.decoded_height) == (2400, 1800)
    assert (result.display.width, result.display.height) == (1200, 1600)


def test_ingest_truncated_jpeg_corrupt() -> None:
    source = encode(noise(800, 600))
    with pytest.raises(CorruptImage) as caught:
        ingest(source[: len(source) // 2])
    assert caught.value.code == "corrupt_image"


@pytest.mark.parametrize("length", [3, 40, 300])
def test_ingest_jpeg_cut_inside_header_corrupt(length: int) -> None:
    with pytest.raises(CorruptImage):
        ingest(encode(noise(64, 48), exif=exif(orientation=6))[:length])


def test_ingest_png_with_damaged_pixel_data_corrupt() -> None:
    source = bytearray(encode(noise(200, 200), "PNG"))
    idat = source.index(b"IDAT")
    source[idat + 100 : idat + 140] = bytes(40)
    with pytest.raises(CorruptImage):
        ingest(bytes(source))


def test_ingest_empty_file_code_empty_file() -> None:
    with pytest.raises(EmptyFile) as caught:
        ingest(b"")
    assert caught.value.code == "empty_file"
    assert isinstance(caught.value, CorruptImage)


def test_ingest_errors_share_one_base_with_stable_codes() -> None:
    from media import errors

    codes = {
        cls.code
        for cls in (errors.UnsupportedMedia, errors.ImageTooLarge, errors.CorruptImage, errors.EmptyFile)
        if issubclass(cls, MediaError)
    }
    assert codes == {"unsupported_media_type", "image_too_large", "corrupt_image", "empty_file"}


def test_ingest_heic_decoded_upright() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    buffer = io.BytesIO()
    pillow_heif.from_pillow(red_quadrant(400, 200)).save(
        buffer, quality=90, exif=exif(orientation=6, taken="2024:05:01 10:20:30", offset="+02:00")
    )
    result = ingest(buffer.getvalue())

    display = _open(result.display.data)
    assert result.source_format == "heic"
    assert display.size == (200, 400)
    assert _is_red(_rgb(display, (190, 5))) and not _is_red(_rgb(display, (5, 5)))
    assert result.taken_at == datetime(2024, 5, 1, 8, 20, 30, tzinfo=UTC)
    assert jpeg_segments(result.display.data).count(0xE1) == 0
