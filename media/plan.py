"""How to decode an image reduced, and how much memory that will take, from its header alone.

``tracemalloc`` cannot see these buffers (Pillow, libjpeg, libwebp and libheif allocate them in C), so the
figures here model each decoder's own allocations and were checked against the peak RSS of fresh processes
(``tests/media/test_plan.py`` measures each worst case and requires the estimate to cover it). The estimate is
the peak over the phases of one ingest, each phase counting the buffers alive together:

1. decode: the decoder's own working memory plus the image it produces (reduced where the format allows it:
   JPEG DCT scaling, libwebp's scaler, an embedded HEIC thumbnail);
2. reduce: the decoded image, its box-reduced copy and the strips converted on the way (PNG, HEIC);
3. fit: the reduced image, the resize's intermediate and result (and the premultiplied copy for alpha);
4. finish and encode: a few display-sized copies (sRGB, flattened, upright) and the JPEG encoders' buffers.

With ``keep_original`` the full-size upright copy and its JPEG encoder (a whole-image coefficient buffer) replace
the reduced ones. ``OVERHEAD`` covers the codecs' row buffers and tables, Python objects and allocator slack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

MB = 1024 * 1024
OVERHEAD = 16 * MB
STRIP_BYTES = 4 * MB
"""Rows converted or reduced at a time: a strip's copies cost a few of these, not a whole image."""
_STRIP_COPIES = 4  # crop, converted, premultiplied and reduced strip
_DISPLAY_COPIES = 6  # resize output, sRGB, flattened, upright; encoder coefficients and output
_JPEG_BLOCK = 64 * 2  # libjpeg keeps a coefficient as a 16-bit integer
_ORIGINAL_ENCODER = 3.0 + 1.5  # 4:2:0 coefficients (1.5 samples × 2 bytes) + the JPEG bytes (bounded)
_CHROMA_PLANES = {400: 0.0, 420: 0.5, 422: 1.0, 444: 2.0}
_HEIF_MARGIN = 1.12


@dataclass(frozen=True)
class Plan:
    """The decode route for one image and its estimated peak memory in bytes (``cost``)."""

    route: str
    source_size: tuple[int, int]
    decoded_size: tuple[int, int]
    reduce: int
    cost: int

    @property
    def working_size(self) -> tuple[int, int]:
        """The size after the box reduce: what the display image is resized from."""
        return reduced(self.decoded_size, self.reduce)


def pixel_bytes(mode: str) -> int:
    """Bytes a pixel takes in Pillow's memory: one for 1/L/P, two for I;16, four for everything else
    (three-band RGB is padded to four)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def reduce_factor(size: tuple[int, int], edge: int) -> int:
    """Largest whole box factor that keeps the long edge at least ``edge``: what a JPEG draft does, for any format.

    The resize to ``edge`` that follows then has a step under 2× left, where bilinear is as good as bicubic.
    """
    return max(1, max(size) // edge)


def reduced(size: tuple[int, int], factor: int) -> tuple[int, int]:
    """Size after ``Image.reduce(factor)`` (a partial block at the edge still makes a pixel)."""
    return -(-size[0] // factor), -(-size[1] // factor)


def display_size(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """The long edge shrunk to ``edge`` (never enlarged), rounded as ``media.ingest`` rounds it."""
    width, height = size
    long_edge = max(width, height)
    if long_edge <= edge:
        return size
    return max(1, round(width * edge / long_edge)), max(1, round(height * edge / long_edge))


def jpeg_draft_scale(size: tuple[int, int], edge: int) -> int:
    """Largest JPEG DCT reduction (1, 2, 4 or 8) that still leaves the long edge at least ``edge``."""
    long_edge, scale = max(size), 1
    while scale < 8 and -(-long_edge // (scale * 2)) >= edge:
        scale *= 2
    return scale


def _area(size: tuple[int, int]) -> int:
    return size[0] * size[1]


def _tail(size: tuple[int, int], bpp: int, alpha: bool, edge: int) -> int:
    """Fit (working image, premultiplied copy, horizontal pass, result), then the display copies."""
    display = display_size(size, edge)
    fit = _area(size) * (bpp + (4 if alpha else 0)) + display[0] * size[1] * bpp + 2 * _area(display) * 4
    return max(fit, _DISPLAY_COPIES * _area(display) * 4)


def _strips(width: int) -> int:
    return _STRIP_COPIES * max(STRIP_BYTES, width * 4 * 2)


def estimate(
    *,
    route: str,
    size: tuple[int, int],
    decoded: tuple[int, int],
    factor: int,
    decoder_bytes: int,
    decoded_bpp: int,
    working_bpp: int,
    alpha: bool,
    edge: int,
    keep_original: bool,
    strips: bool,
    output_bytes: int | None = None,
    retained_bytes: int = 0,
) -> Plan:
    """Peak bytes over the phases of one ingest (see the module docstring).

    ``decoder_bytes`` is what the decoder holds at its own peak beside the image it returns (``output_bytes``
    when that is not a Pillow image of ``decoded_bpp``, e.g. libheif's interleaved buffer); ``retained_bytes``
    what it still holds afterwards, until the decoded image is released.
    """
    decoded_bytes = output_bytes if output_bytes is not None else _area(decoded) * decoded_bpp
    phases = [decoder_bytes + decoded_bytes]
    if keep_original:
        finished = _area(size) * 4
        phases += [
            retained_bytes + decoded_bytes + finished + _strips(size[0]),
            finished + int(_area(size) * _ORIGINAL_ENCODER),
            _tail(size, 4, False, edge),
        ]
    else:
        working = reduced(decoded, factor)
        if strips:
            phases.append(retained_bytes + decoded_bytes + _area(working) * working_bpp + _strips(decoded[0]))
        phases.append(_tail(working, working_bpp, alpha, edge))
    return Plan(route, size, decoded, factor, max(phases) + OVERHEAD)


def jpeg_coefficient_bytes(size: tuple[int, int], layers: list[tuple[int, int]]) -> int:
    """libjpeg's whole-image coefficient buffer (progressive or multi-scan files): two bytes a sample, per
    component at its own resolution, in 8×8 blocks rounded up to whole MCUs."""
    if not layers:
        layers = [(1, 1)] * 4
    h_max, v_max = max(h for h, _ in layers), max(v for _, v in layers)
    total = 0
    for h, v in layers:
        blocks_w = math.ceil(math.ceil(size[0] * h / h_max) / 8)
        blocks_h = math.ceil(math.ceil(size[1] * v / v_max) / 8)
        total += (math.ceil(blocks_w / h) * h) * (math.ceil(blocks_h / v) * v) * _JPEG_BLOCK
    return total


def jpeg_multi_scan(data: bytes, components: int) -> bool:
    """Whether libjpeg must buffer the whole image: progressive, or a first scan not carrying every component.

    Walks the markers up to the first scan header; anything unreadable counts as multi-scan (the safe side).
    """
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return True
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        if marker in (0xC2, 0xC6, 0xCA, 0xCE):  # progressive SOF
            return True
        if marker == 0xDA:
            return position + 4 >= len(data) or data[position + 4] < components
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return True


def heif_bytes_per_pixel(bit_depth: int, chroma: int, alpha: bool) -> float:
    """libheif's peak while decoding to 8-bit interleaved RGB(A), per pixel, with a margin.

    Measured at 40 MP: the decoded YCbCr planes (a sample takes two bytes past 8 bits), the alpha plane, the
    conversion's intermediate (10-bit 4:2:0 goes through 8-bit planes; 4:2:2 and 4:4:4 through planar RGB(A) at
    the decoded depth) and the interleaved result. Measured peaks of whole ingests came within 4% of this sum at
    40 MP and within 11% at 12 MP (where fixed costs weigh more), hence the 12% margin.
    """
    sample = 1 if bit_depth <= 8 else 2
    planes = sample * (1 + _CHROMA_PLANES.get(chroma, 2.0))
    alpha_plane = sample if alpha else 0
    if chroma in (400, 420):
        conversion = 0.0 if sample == 1 else (planes + alpha_plane) / 2
    else:
        conversion = 3 * sample + alpha_plane
    return (planes + alpha_plane + conversion + (4 if alpha else 3)) * _HEIF_MARGIN


def needed_megabytes(cost: int) -> int:
    return -(-cost // MB)


def mode_has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
