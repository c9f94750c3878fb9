"""Photo ingest: sniff by magic bytes, refuse bombs before decoding, re-encode upright and metadata-free.

Everything here is synchronous and CPU-bound (Pillow, libwebp and libheif release the GIL while they decode,
resize and encode): callers run ``ingest`` in a worker thread so the event loop stays free.

Memory is bounded by what the header says, before any pixel is decoded: ``estimate`` models the peak of every
buffer the decode, reduce, resize and encode steps hold at once (``media.plan``), ``ingest`` refuses an image
whose estimate exceeds the whole ``MemoryBudget`` and otherwise waits until its estimate fits beside the
decodes already running. Decoding is reduced wherever the format allows: JPEG through libjpeg's DCT scaling
(``draft``), WebP through libwebp's own scaler (``media.webp``), HEIC through an embedded thumbnail when one is
large enough; PNG (and HEIC otherwise) is decoded whole and then box-reduced a strip at a time
(``media.pixels``), so no full-size converted copy exists beside the decoded image.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from media import pixels, plan, webp
from media.budget import MemoryBudget
from media.errors import CorruptImage, EmptyFile, ImageTooLarge, UnsupportedMedia
from media.exif import read_metadata
from media.plan import Plan

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
# Display: after a draft decode (or the box reduce other formats get) only a step under 2x is left. There a
# (Pillow, antialiased) triangle filter came within 0.3 dB PSNR of bicubic against a full-size Lanczos resize, in
# 60% of bicubic's time (bench/media.py). A reducing gap of 3 is what Pillow calls indistinguishable from none.
_DISPLAY_RESAMPLE, _DISPLAY_GAP = Image.Resampling.BILINEAR, 3.0
# Thumbnail: Image.thumbnail's own choice, bicubic after a 2x box reduce; cheap at 320 px.
_THUMB_RESAMPLE, _THUMB_GAP = Image.Resampling.BICUBIC, 2.0


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
    return plan.jpeg_draft_scale(size, edge)


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


def estimate(
    data: bytes, *, max_pixels: int = 40_000_000, display_edge: int = 1600, keep_original: bool = False
) -> Plan:
    """How ``ingest`` would decode ``data`` and its estimated peak memory (``cost``), from the header alone."""
    kind = sniff(data[:SNIFF_BYTES])
    im = open_header(data, kind, max_pixels)
    try:
        return plan_decode(im, data, kind, display_edge=display_edge, keep_original=keep_original)
    finally:
        im.close()


def plan_decode(
    im: ImageFile.ImageFile, data: bytes, kind: str, *, display_edge: int, keep_original: bool,
    heic_thumbnail: bool = True,
) -> Plan:
    """The decode route and its cost for an opened header (see ``media.plan``)."""
    size, edge, keep = im.size, display_edge, keep_original
    alpha = plan.mode_has_alpha(im)
    cost = functools.partial(plan.estimate, size=size, edge=edge, keep_original=keep)
    area = size[0] * size[1]
    if kind == "jpeg":
        layers = [(h, v) for _, h, v, _ in getattr(im, "layer", [])]
        decoded = plan.reduced(size, 1 if keep else plan.jpeg_draft_scale(size, edge))
        factor = 1 if keep else plan.reduce_factor(decoded, edge)
        multi_scan = plan.jpeg_multi_scan(data, len(layers) or 4)
        bpp = plan.pixel_bytes(im.mode)
        return cost(
            route="jpeg", decoded=decoded, factor=factor, alpha=False, strips=factor > 1,
            decoder_bytes=plan.jpeg_coefficient_bytes(size, layers) if multi_scan else 0,
            decoded_bpp=bpp, working_bpp=bpp,
        )
    factor = 1 if keep else plan.reduce_factor(size, edge)
    if kind == "png":
        return cost(
            route="png", decoded=size, factor=factor, alpha=alpha,
            strips=factor > 1 or pixels.needs_working_copy(im), decoder_bytes=0,
            decoded_bpp=plan.pixel_bytes(im.mode), working_bpp=_working_bpp(im),
        )
    if kind == "webp":
        found = _webp_features(data)
        if found is not None and not found.has_animation:
            decoded = plan.reduced(size, factor)
            channels = 4 if found.has_alpha else 3
            internal = area * 4 if found.format != webp.FORMAT_LOSSY else area * 2 if found.has_alpha else 0
            out = decoded[0] * decoded[1] * (channels + (4 if channels == 3 else 0))
            return cost(
                route="webp", decoded=decoded, factor=1, alpha=found.has_alpha, strips=False,
                decoder_bytes=internal, output_bytes=out, decoded_bpp=4, working_bpp=4,
            )
        # Pillow's animation decoder: two canvases in libwebp and the bytes it returns, then the image.
        return cost(
            route="webp-pillow", decoded=size, factor=factor, alpha=alpha, strips=True,
            decoder_bytes=area * 12, retained_bytes=area * 8, decoded_bpp=4, working_bpp=4,
        )
    info = im.info
    per_pixel = plan.heif_bytes_per_pixel(int(info.get("bit_depth") or 16), int(info.get("chroma") or 444), alpha)
    channels = 4 if alpha else 3
    thumbnail = _heic_thumbnail_size(info, size, edge) if heic_thumbnail and not keep else None
    if thumbnail is not None:
        return cost(
            route="heic-thumbnail", decoded=thumbnail, factor=plan.reduce_factor(thumbnail, edge), alpha=alpha,
            strips=True, decoder_bytes=int(thumbnail[0] * thumbnail[1] * per_pixel), decoded_bpp=4,
            working_bpp=4,
        )
    return cost(
        route="heic", decoded=size, factor=factor, alpha=alpha, strips=True,
        decoder_bytes=int(area * (per_pixel - channels)), output_bytes=area * channels, decoded_bpp=channels,
        working_bpp=4,
    )


def _working_bpp(im: Image.Image) -> int:
    if im.mode == "P" or "transparency" in im.info:
        return 4
    return 1 if im.mode == "L" or im.mode.startswith("I;16") else 4


def _webp_features(data: bytes) -> webp.Features | None:
    if not webp.available():
        return None
    try:
        return webp.features(data)
    except webp.WebPError as exc:
        raise CorruptImage("The WebP header is damaged or incomplete.") from exc


def _heic_thumbnail_size(info: Mapping[Any, Any], size: tuple[int, int], edge: int) -> tuple[int, int] | None:
    """The largest embedded thumbnail that could serve for the display image (pillow-heif's ``draft`` picks the
    smallest fitting one that is a true scaled copy, so this bounds what it decodes), or None."""
    boxes = [box for box in info.get("thumbnails") or [] if isinstance(box, int) and edge <= box < max(size)]
    if not boxes:
        return None
    long_edge = max(size)
    box = max(boxes)
    return max(1, -(-size[0] * box // long_edge)), max(1, -(-size[1] * box // long_edge))


def memory_refusal(cost: int, limit: int, size: tuple[int, int]) -> ImageTooLarge:
    """The 422 for an image that alone would need more than the whole decoding budget."""
    width, height = size
    return ImageTooLarge(
        f"This photo would need about {plan.needed_megabytes(cost)} MB of memory to process "
        f"({width}×{height} pixels); the server allows {plan.needed_megabytes(limit)} MB per photo. "
        "Please send a smaller photo, for example a JPEG straight from the camera."
    )


def ingest(
    data: bytes,
    *,
    max_pixels: int = 40_000_000,
    display_edge: int = 1600,
    thumb_edge: int = 320,
    keep_original: bool = False,
    exif_tz: tzinfo = UTC,
    budget: MemoryBudget | None = None,
) -> IngestResult:
    """Turn an upload into a display JPEG and a thumbnail, both upright and without any metadata.

    ``keep_original`` adds a full-resolution re-encode (also metadata-free: the raw upload would keep GPS).
    ``exif_tz`` is the zone assumed for an EXIF capture time written without an offset. With a ``budget`` the
    decode first reserves its estimated peak memory there (waiting for its turn), and an image whose estimate
    exceeds the whole budget is refused with ``ImageTooLarge`` before any pixel is decoded.
    """
    kind = sniff(data[:SNIFF_BYTES])
    im = open_header(data, kind, max_pixels)
    try:
        job = _Job(im, data, kind, display_edge, thumb_edge, keep_original, exif_tz)
        decode_plan = plan_decode(im, data, kind, display_edge=display_edge, keep_original=keep_original)
        try:
            return _run_within(budget, decode_plan, job)
        except _NoThumbnail:
            full = plan_decode(
                im, data, kind, display_edge=display_edge, keep_original=keep_original, heic_thumbnail=False
            )
            return _run_within(budget, full, job)
    finally:
        im.close()


def _run_within(budget: MemoryBudget | None, decode_plan: Plan, job: _Job) -> IngestResult:
    if budget is None:
        return job.run(decode_plan)
    if decode_plan.cost > budget.total:
        raise memory_refusal(decode_plan.cost, budget.total, decode_plan.source_size)
    with budget.reserve(decode_plan.cost):
        return job.run(decode_plan)


class _NoThumbnail(Exception):
    """pillow-heif found no usable embedded thumbnail after all: decode (and budget) the full image."""


@dataclass
class _Job:
    im: ImageFile.ImageFile
    data: bytes
    kind: str
    display_edge: int
    thumb_edge: int
    keep_original: bool
    exif_tz: tzinfo

    def run(self, decode_plan: Plan) -> IngestResult:
        source, decoded_size = self._decode(decode_plan)
        # After decoding: a PNG's eXIf chunk may follow its pixels, and Pillow loads them to look for it.
        meta = read_metadata(self.im, exif_tz=self.exif_tz)
        icc = self.im.info.get("icc_profile")
        original = None
        if self.keep_original:
            full = pixels.finish_rows(source, lambda mode: pixels.Colour(icc, mode), meta.orientation)
            _release(source)
            original = _encode(full, quality=90, progressive=True)
            display_image = _fit(full, self.display_edge, _DISPLAY_RESAMPLE, _DISPLAY_GAP)
            del full
        else:
            working = self._working(source, decode_plan)
            fitted = _fit(working, self.display_edge, _DISPLAY_RESAMPLE, _DISPLAY_GAP)
            del working
            display_image = pixels.finish(fitted, pixels.Colour(icc, fitted.mode), meta.orientation)
            del fitted
        display = _encode(display_image, quality=82, progressive=True)
        thumbnail = _encode(
            _fit(display_image, self.thumb_edge, _THUMB_RESAMPLE, _THUMB_GAP), quality=80, progressive=False
        )
        return IngestResult(
            display=display,
            thumbnail=thumbnail,
            original=original,
            source_format=self.kind,
            source_width=decode_plan.source_size[0],
            source_height=decode_plan.source_size[1],
            source_sha256=hashlib.sha256(self.data).hexdigest(),
            decoded_width=decoded_size[0],
            decoded_height=decoded_size[1],
            orientation=meta.orientation,
            taken_at=meta.taken_at,
            latitude=meta.latitude,
            longitude=meta.longitude,
        )

    def _working(self, source: pixels.RowSource, decode_plan: Plan) -> Image.Image:
        """The reduced image in a mode that resizes well; the decoded pixels are released once it exists."""
        if isinstance(source, pixels.ImageRows) and decode_plan.reduce == 1:
            if not pixels.needs_working_copy(source.image):
                return source.image
        working = pixels.reduce_rows(source, decode_plan.reduce)
        _release(source)
        return working

    def _decode(self, decode_plan: Plan) -> tuple[pixels.RowSource, tuple[int, int]]:
        im, edge = self.im, None if self.keep_original else self.display_edge
        if decode_plan.route in ("jpeg", "png", "webp-pillow"):
            decode(im, edge if decode_plan.route == "jpeg" else None)
            return pixels.ImageRows(im), im.size
        if decode_plan.route == "webp":
            return _decode_webp(self.data, decode_plan.decoded_size, plan.mode_has_alpha(im))
        if decode_plan.route == "heic-thumbnail":
            box = plan.display_size(im.size, self.display_edge)
            if im.draft(im.mode, box) is None:
                raise _NoThumbnail
            decode(im, None)
            return pixels.ImageRows(im), im.size
        return _decode_heic(self.data)


def _decode_webp(data: bytes, size: tuple[int, int], alpha: bool) -> tuple[pixels.RowSource, tuple[int, int]]:
    """libwebp decodes straight to the reduced size (see ``media.webp``)."""
    try:
        out = webp.decode(data, size, alpha=alpha)
    except webp.WebPError as exc:
        raise CorruptImage("The image is truncated or damaged and could not be decoded.") from exc
    if alpha:
        image = Image.frombuffer("RGBA", size, out, "raw", "RGBA", 0, 1)  # shares ``out``: no copy
    else:
        image = Image.frombytes("RGB", size, out)
    return pixels.ImageRows(image), size


def _decode_heic(data: bytes) -> tuple[pixels.RowSource, tuple[int, int]]:
    """libheif decodes the primary image to 8-bit interleaved RGB(A); strips are read from its buffer, so no
    Pillow copy of the whole image is made."""
    from pillow_heif import open_heif

    try:
        heif = open_heif(io.BytesIO(data), convert_hdr_to_8bit=True, remove_stride=False)
        primary = heif[heif.primary_index]
        buffer = memoryview(primary.data)
        size, mode, stride = primary.size, primary.mode, primary.stride
    except _DECODE_ERRORS as exc:
        raise CorruptImage("The image is truncated or damaged and could not be decoded.") from exc
    return pixels.BufferRows(buffer, size, mode, stride), size


def _release(source: pixels.RowSource) -> None:
    """Free the decoded pixels now rather than when the ingest returns (they are the largest buffer of all)."""
    if isinstance(source, pixels.ImageRows):
        source.image.close()
    elif isinstance(source, pixels.BufferRows):
        source.buffer.release()


def _fit(im: Image.Image, edge: int, resample: Image.Resampling, reducing_gap: float) -> Image.Image:
    """Shrink so the long edge is at most ``edge``; never enlarge."""
    size = plan.display_size(im.size, edge)
    if size == im.size:
        return im
    return im.resize(size, resample, reducing_gap=reducing_gap)


def _encode(im: Image.Image, *, quality: int, progressive: bool) -> Variant:
    """JPEG with no EXIF, ICC, XMP or comment: derived images inherit ``info``, and Pillow saves its comment."""
    im.info = {}
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=quality, progressive=progressive, optimize=True, comment=b"")
    data = buffer.getvalue()
    return Variant(data=data, sha256=hashlib.sha256(data).hexdigest(), width=im.width, height=im.height)
