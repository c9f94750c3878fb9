"""Type detection by magic bytes: what is accepted, what is refused and why."""

from __future__ import annotations

import pytest

import media.ingest as ingest_module
from media.errors import EmptyFile, MediaError, UnsupportedMedia
from media.ingest import HEIC_HINT, sniff
from tests.support.images import encode, noise, red_quadrant, xmp_packet

HEIC_HEAD = b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heicmiaf" + bytes(64)
AVIF_HEAD = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64)
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64)


def test_sniff_jpeg_bytes_whatever_the_name() -> None:
    assert sniff(encode(noise(16, 16))) == "jpeg"


@pytest.mark.parametrize(("fmt", "kind"), [("PNG", "png"), ("WEBP", "webp")])
def test_sniff_png_and_webp_by_magic(fmt: str, kind: str) -> None:
    assert sniff(encode(red_quadrant(16, 16), fmt)) == kind


@pytest.mark.parametrize(
    "head",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"\xef\xbb\xbf<!DOCTYPE html><html><body>hi</body></html>",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
        b"GIF87a\x01\x00\x01\x00",
        b"PK\x03\x04\x14\x00\x00\x00",
        b"BM6\x00\x00\x00",
        b"II*\x00\x08\x00\x00\x00",
        b"just some text",
        AVIF_HEAD,
        MP4_HEAD,
    ],
    ids=["svg", "xml-svg", "html", "pdf", "gif89", "gif87", "zip", "bmp", "tiff", "text", "avif", "mp4"],
)
def test_sniff_non_photo_refused(head: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        sniff(head)
    assert caught.value.code == "unsupported_media_type"
    assert caught.value.message


@pytest.mark.parametrize("markup", [b"<script>alert(1)</script>", b"<HTML><body>", b"<svg onload=x>"])
def test_sniff_jpeg_polyglot_with_markup_refused(markup: bytes) -> None:
    polyglot = encode(noise(16, 16), comment=markup)
    assert markup in polyglot[:200]
    with pytest.raises(UnsupportedMedia, match="markup"):
        sniff(polyglot)


def test_sniff_jpeg_with_xmp_packet_accepted() -> None:
    assert sniff(encode(noise(16, 16), xmp=xmp_packet())) == "jpeg"


def test_sniff_empty_raises_empty_file() -> None:
    with pytest.raises(EmptyFile) as caught:
        sniff(b"")
    assert caught.value.code == "empty_file"
    assert isinstance(caught.value, MediaError)


def test_sniff_heic_without_plugin_suggests_most_compatible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_module, "_heif_image_class", lambda: None)
    with pytest.raises(UnsupportedMedia) as caught:
        sniff(HEIC_HEAD)
    assert "Most Compatible" in caught.value.message
    assert caught.value.message == HEIC_HINT


def test_sniff_heic_with_plugin_accepted() -> None:
    pytest.importorskip("pillow_heif")
    assert sniff(HEIC_HEAD) == "heic"
