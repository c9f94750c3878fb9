"""Photo ingest: sniff by magic bytes, refuse bombs before decoding, re-encode upright and metadata-free.

Everything here is synchronous and CPU-bound (Pillow releases the GIL while it decodes, resizes and encodes):
callers run ``ingest`` in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from PIL import Image, ImageCms, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from media.errors import CorruptImage, EmptyFile, ImageTooLarge, UnsupportedMedia
from media.exif import read_metadata

SNIFF_BYTES = 4096
"""How much of the upload ``sniff`` looks at: more than the 1,445 bytes a browser sniffs for HTML."""

# Polyglot rule: a real photo never carries markup in its first SNIFF_BYTES (XMP uses <x:xmpmeta>/<rdf:…>,
# which these do not match), while an image/HTML polyglot must put its markup there for a browser to sniff it.
_MARKUP = re.compile(rb"<(?:script|html|body|iframe|object|embed|svg[\s>/]|!doctype|\?php)", re.IGNORECASE)
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_KNOWN_OTHERS = (
    (b"GIF8", "GIF images"),
    (b"%PDF", "PDF documents"),
    (b"PK\x03\x04", "ZIP archives and office documents"),
    (b"II*\x00", "TIFF images"),
    (b"MM\x00*", "TIFF images"),
    (b"BM", "BMP images"),
)
_ACCEPTED = "Please upload a JPEG, PNG or WebP photo."
HEIC_HINT = (
    "HEIC photos cannot be read here. On the iPhone choose Settings > Camera > Formats > "
    '"Most Compatible" so the camera saves JPEG, then take the photo again.'
)
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    RuntimeError,
    struct.error,
    zlib.error,
)
# Display: after a draft decode only a step under 2x is left. There a (Pillow, antialiased) triangle filter came
# within 0.3 dB PSNR of bicubic against a full-size Lanczos resize, in 60% of bicubic's time (bench/media.py).
# A reducing gap of 3 is what Pillow calls indistinguishable from none: only ratios of 6+ get a box pre-reduce.
_DISPLAY_RESAMPLE, _DISPLAY_GAP = Image.Resampling.BILINEAR, 3.0
# Thumbnail: Image.thumbnail's own choice, bicubic after a 2x box reduce; cheap at 320 px.
_THUMB_RESAMPLE, _THUMB_GAP = Image.Resampling.BICUBIC, 2.0
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Variant:
    """One stored JPEG rendition, named by the sha256 of its bytes."""

    data: bytes = field(repr=False)
    sha256: str
    width: int
    height: int
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class IngestResult:
    """What the caller stores (variants) and records (source facts, EXIF time and position)."""

    display: Variant
    thumbnail: Variant
    original: Variant | None
    source_format: str
    source_width: int
    source_height: int
    source_sha256: str
    decoded_width: int
    decoded_height: int
    orientation: int
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None


@functools.cache
def _heif_image_class() -> type[ImageFile.ImageFile] | None:
    """pillow-heif's image class, or None when the optional plugin is not installed."""
    try:
        from pillow_heif.as_plugin import HeifImageFile
    except ImportError:
        return None
    return HeifImageFile


def heic_supported() -> bool:
    """Whether HEIC uploads can be read (pillow-heif installed); otherwise they get ``HEIC_HINT``."""
    return _heif_image_class() is not None


def sniff(head: bytes) -> str:
    """Name the format from magic bytes alone ("jpeg", "png", "webp", "heic"); anything else is refused.

    File names and declared content types are ignored: both are chosen by the sender. Polyglots (a valid
    header followed by HTML or SVG markup within ``SNIFF_BYTES``) are refused too, although no upload byte is
    ever served: every stored variant is a fresh re-encode.
    """
    if not head:
        raise EmptyFile("The file is empty.")
    kind = _magic(head)
    if kind is None:
        raise UnsupportedMedia(_describe_refused(head))
    if _MARKUP.search(head[:SNIFF_BYTES]):
        raise UnsupportedMedia("The image contains web-page markup (a polyglot file) and was refused.")
    if kind == "heic" and not heic_supported():
        raise UnsupportedMedia(HEIC_HINT)
    return kind


def _magic(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if _HEIC_BRANDS.intersection(_ftyp_brands(head)):
        return "heic"
    return None


def _ftyp_brands(head: bytes) -> list[bytes]:
    """Major and compatible brands of an ISO-BMFF ``ftyp`` box (HEIC, AVIF, MP4 all start with one)."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return []
    end = min(int.from_bytes(head[:4], "big"), len(head))
    return [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]


def _describe_refused(head: bytes) -> str:
    for prefix, what in _KNOWN_OTHERS:
        if head.startswith(prefix):
            return f"{what} are not accepted. {_ACCEPTED}"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return f"SVG, HTML and XML files are not accepted. {_ACCEPTED}"
    brands = _ftyp_brands(head)
    if b"avif" in brands or b"avis" in brands:
        return f"AVIF images are not accepted. {_ACCEPTED}"
    if brands:
        return f"Videos are not accepted. {_ACCEPTED}"
    return f"This file is not a supported image. {_ACCEPTED}"


def open_header(data: bytes, kind: str, max_pixels: int) -> ImageFile.ImageFile:
    """Parse only the header, through the format's own plugin class, and refuse too many pixels.

    Unlike ``Image.open`` this skips Pillow's global ``MAX_IMAGE_PIXELS`` check, whose warning (or error above
    twice the limit) would fire before our own, stricter check could answer with ``ImageTooLarge``. WebP is
    checked from its raw header first: its decoder allocates the whole canvas when the file is opened.
    """
    if kind == "webp" and (canvas := webp_canvas_size(data)) is not None:
        check_pixels(canvas, max_pixels)
    plugins: dict[str, type[ImageFile.ImageFile] | None] = {
        "jpeg": JpegImagePlugin.JpegImageFile,
        "png": PngImagePlugin.PngImageFile,
        "webp": WebPImagePlugin.WebPImageFile,
        "heic": _heif_image_class(),
    }
    plugin = plugins.get(kind)
    if plugin is None:
        raise UnsupportedMedia(HEIC_HINT if kind == "heic" else f"Unknown image type. {_ACCEPTED}")
    try:
        im = plugin(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("The image has far too many pixels.") from exc
    except _DECODE_ERRORS as exc:
        raise CorruptImage("The image header is damaged or incomplete.") from exc
    check_pixels(im.size, max_pixels)
    return im


def webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    """Canvas size declared by a WebP header (VP8X extended, VP8 lossy or VP8L lossless), without decoding."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse from the header alone: a 30,000² PNG of one colour is 100 KB on disk and 3.6 GB decoded."""
    width, height = size
    if width <= 0 or height <= 0:
        raise CorruptImage("The image declares no pixels.")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The image is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {max_pixels / 1e6:g} megapixels."
        )


def draft_scale(size: tuple[int, int], edge: int) -> int:
    """Largest JPEG DCT reduction (1, 2, 4 or 8) that still leaves the long edge at least ``edge``."""
    long_edge, scale = max(size), 1
    while scale < 8 and -(-long_edge // (scale * 2)) >= edge:
        scale *= 2
    return scale


def decode(im: ImageFile.ImageFile, edge: int | None) -> None:
    """Decode the pixels, letting a JPEG decode straight at a power-of-two reduction when ``edge`` allows.

    ``draft`` only honours a box that is smaller by a whole power of two, so we ask for exactly that box;
    ``im.size`` afterwards is the decoded size (the caller records it).
    """
    if edge is not None and im.format == "JPEG":
        scale = draft_scale(im.size, edge)
        if scale > 1:
            width, height = im.size
            im.draft("RGB", (max(1, width // scale), max(1, height // scale)))
    try:
        im.load()
    except _DECODE_ERRORS as exc:
        raise CorruptImage("The image is truncated or damaged and could not be decoded.") from exc


def ingest(
    data: bytes,
    *,
    max_pixels: int = 40_000_000,
    display_edge: int = 1600,
    thumb_edge: int = 320,
    keep_original: bool = False,
    exif_tz: tzinfo = UTC,
) -> IngestResult:
    """Turn an upload into a display JPEG and a thumbnail, both upright and without any metadata.

    ``keep_original`` adds a full-resolution re-encode (also metadata-free: the raw upload would keep GPS).
    ``exif_tz`` is the zone assumed for an EXIF capture time written without an offset.
    """
    kind = sniff(data[:SNIFF_BYTES])
    im = open_header(data, kind, max_pixels)
    source_size = im.size
    decode(im, None if keep_original else display_edge)
    decoded_size = im.size
    meta = read_metadata(im, exif_tz=exif_tz)
    icc = im.info.get("icc_profile")
    working = _working_mode(im)
    original = None
    if keep_original:
        full = _finish(working, icc, meta.orientation)
        original = _encode(full, quality=90, progressive=True)
        display_image = _fit(full, display_edge, _DISPLAY_RESAMPLE, _DISPLAY_GAP)
    else:
        display_image = _finish(
            _fit(working, display_edge, _DISPLAY_RESAMPLE, _DISPLAY_GAP), icc, meta.orientation
        )
    display = _encode(display_image, quality=82, progressive=True)
    thumbnail = _encode(
        _fit(display_image, thumb_edge, _THUMB_RESAMPLE, _THUMB_GAP), quality=80, progressive=False
    )
    return IngestResult(
        display=display,
        thumbnail=thumbnail,
        original=original,
        source_format=kind,
        source_width=source_size[0],
        source_height=source_size[1],
        source_sha256=hashlib.sha256(data).hexdigest(),
        decoded_width=decoded_size[0],
        decoded_height=decoded_size[1],
        orientation=meta.orientation,
        taken_at=meta.taken_at,
        latitude=meta.latitude,
        longitude=meta.longitude,
    )


def _working_mode(im: Image.Image) -> Image.Image:
    """A mode that resizes well: palettes would resize by nearest neighbour, 16-bit grey would clip to white."""
    if im.mode == "P" or "transparency" in im.info:
        return im.convert("RGBA")
    if im.mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return im
    if im.mode.startswith("I;16"):
        return im.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return im.convert("RGB")


def _fit(im: Image.Image, edge: int, resample: Image.Resampling, reducing_gap: float) -> Image.Image:
    """Shrink so the long edge is at most ``edge``; never enlarge."""
    width, height = im.size
    long_edge = max(width, height)
    if long_edge <= edge:
        return im
    size = (max(1, round(width * edge / long_edge)), max(1, round(height * edge / long_edge)))
    return im.resize(size, resample, reducing_gap=reducing_gap)


def _finish(im: Image.Image, icc: bytes | None, orientation: int) -> Image.Image:
    """sRGB, no alpha, upright: what every stored variant is."""
    im = _to_srgb(im, icc)
    if im.mode in ("RGBA", "LA"):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", im.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        im = flat
    elif im.mode != "RGB":
        im = im.convert("RGB")
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert from the embedded profile (e.g. an iPhone's Display P3), since the profile itself is dropped."""
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "sRGB" in ImageCms.getProfileDescription(source):
            return im
        output = "RGBA" if im.mode == "RGBA" else "RGB"
        srgb = ImageCms.createProfile("sRGB")  # per call: cheap, and no lcms handle shared between threads
        converted = ImageCms.profileToProfile(im, source, srgb, outputMode=output)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im
    return converted if converted is not None else im


def _encode(im: Image.Image, *, quality: int, progressive: bool) -> Variant:
    """JPEG with no EXIF, ICC, XMP or comment: derived images inherit ``info``, and Pillow saves its comment."""
    im.info = {}
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=quality, progressive=progressive, optimize=True, comment=b"")
    data = buffer.getvalue()
    return Variant(data=data, sha256=hashlib.sha256(data).hexdigest(), width=im.width, height=im.height)
