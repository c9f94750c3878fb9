"""Test images made on the fly: photos with chosen EXIF, alpha images, colour profiles and PNG bombs.

Nothing is read from disk, so every test states exactly what its input contains.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterator

from PIL import ExifTags, Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    """Deterministic RGB noise, so JPEG sizes and pixels are the same on every run."""
    return Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))


def red_quadrant(width: int, height: int) -> Image.Image:
    """Blue image whose top-left quadrant is red: shows where the stored top-left ends up."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height // 2))
    return image


def exif(
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    latitude: tuple[str, tuple[float, float, float]] | None = None,
    longitude: tuple[str, tuple[float, float, float]] | None = None,
    gps_stamp: tuple[str, tuple[float, float, float]] | None = None,
) -> bytes:
    """EXIF block with the given orientation, DateTimeOriginal (+ OffsetTimeOriginal) and GPS IFD."""
    data = Image.Exif()
    data[ExifTags.Base.Make] = "IPMS test camera"
    if orientation is not None:
        data[ExifTags.Base.Orientation] = orientation
    sub = data.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = data.get_ifd(ExifTags.IFD.GPSInfo)
    if latitude is not None:
        gps[ExifTags.GPS.GPSLatitudeRef] = latitude[0]
        gps[ExifTags.GPS.GPSLatitude] = _rationals(latitude[1])
    if longitude is not None:
        gps[ExifTags.GPS.GPSLongitudeRef] = longitude[0]
        gps[ExifTags.GPS.GPSLongitude] = _rationals(longitude[1])
    if gps_stamp is not None:
        gps[ExifTags.GPS.GPSDateStamp] = gps_stamp[0]
        gps[ExifTags.GPS.GPSTimeStamp] = _rationals(gps_stamp[1])
    return data.tobytes()


def _rationals(values: tuple[float, float, float]) -> tuple[IFDRational, ...]:
    return tuple(IFDRational(round(value * 10000), 10000) for value in values)


def swapped_primaries_profile() -> bytes:
    """An RGB profile whose red and green primaries are swapped: red pixels in it *mean* green."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", profile[128:132])[0]
    tags = {}
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", profile[132 + 12 * index : 144 + 12 * index])
        tags[signature] = (offset, size)
    (red_at, red_size), (green_at, green_size) = tags[b"rXYZ"], tags[b"gXYZ"]
    red, green = bytes(profile[red_at : red_at + red_size]), bytes(profile[green_at : green_at + green_size])
    profile[red_at : red_at + red_size], profile[green_at : green_at + green_size] = green, red
    return (
        bytes(profile)
        .replace("sRGB".encode("utf-16-be"), "Swap".encode("utf-16-be"))
        .replace(b"sRGB", b"Swap")
    )


def xmp_packet() -> bytes:
    """The APP1 XMP packet cameras and editors write (markup-like, but no HTML)."""
    return (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="33,52.2N"/>'
        b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def jpeg_segments(data: bytes) -> list[int]:
    """Marker bytes of the JPEG segments before the first scan (APPn, COM, DQT, SOF, ...)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, position = [], 2
    while position < len(data):
        assert data[position] == 0xFF, f"bad marker at {position}"
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
    return markers


def solid_png(width: int, height: int, *, colour_type: int = 0, bit_depth: int = 1) -> bytes:
    """A valid, single-colour PNG of any size, built row by row so no pixel buffer is ever allocated."""
    channels = {0: 1, 2: 3}[colour_type]
    row = b"\x00" + bytes((width * channels * bit_depth + 7) // 8)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)),
            _chunk(b"IDAT", b"".join(_deflate_rows(row, height))),
            _chunk(b"IEND", b""),
        ]
    )


def _deflate_rows(row: bytes, height: int) -> Iterator[bytes]:
    compressor = zlib.compressobj(9)
    rows_per_block = max(1, (1 << 22) // len(row))
    block = row * rows_per_block
    for start in range(0, height, rows_per_block):
        yield compressor.compress(block if start + rows_per_block <= height else row * (height - start))
    yield compressor.flush()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def webp_canvas_bomb(width: int, height: int) -> bytes:
    """A small animated WebP whose declared canvas is ``width``×``height``: the decoder allocates it on open."""
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, BLUE)]
    data = bytearray(encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True))
    assert data[12:16] == b"VP8X"
    data[24:27] = (width - 1).to_bytes(3, "little")
    data[27:30] = (height - 1).to_bytes(3, "little")
    return bytes(data)
