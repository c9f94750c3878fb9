"""Pixel work done a strip of rows at a time, so no full-size converted copy of a decoded image ever exists.

A box reduce by a whole factor only averages within blocks, so reducing strips whose heights are multiples of
the factor and pasting them together gives exactly ``Image.reduce``. Mode conversion, the sRGB transform and
flattening onto white are per pixel, and a transpose maps each strip to one place in the output: all of them can
run on strips too. Pillow itself would make whole-image copies here (``reduce`` and ``resize`` of RGBA
premultiply a full copy first; ``convert`` of a palette image makes a four-byte-a-pixel one).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Protocol

from PIL import Image, ImageCms

from media.plan import STRIP_BYTES, reduced

TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_FLIPS_ROWS = (3, 4)  # the strip lands at the mirrored height
_TURNS = (5, 6, 7, 8)  # rows become columns
_TURNS_MIRRORED = (6, 7)  # ... counted from the right


class RowSource(Protocol):
    """Decoded pixels that can be handed out as strips of whole rows (Pillow images of one mode)."""

    @property
    def size(self) -> tuple[int, int]: ...

    def rows(self, top: int, bottom: int) -> Image.Image: ...


class ImageRows:
    """Strips of an image Pillow decoded (each a copy of only those rows)."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def rows(self, top: int, bottom: int) -> Image.Image:
        return self.image.crop((0, top, self.image.width, bottom))


class BufferRows:
    """Strips of a packed pixel buffer another library decoded into (e.g. libheif), read without a full copy."""

    def __init__(self, buffer: memoryview, size: tuple[int, int], mode: str, stride: int) -> None:
        self.buffer, self.mode, self.stride = buffer, mode, stride
        self._size = size

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def rows(self, top: int, bottom: int) -> Image.Image:
        view = self.buffer[top * self.stride : bottom * self.stride]
        return Image.frombytes(self.mode, (self._size[0], bottom - top), view, "raw", self.mode, self.stride)


def strip_height(width: int, factor: int = 1) -> int:
    """Rows per strip: about ``STRIP_BYTES`` of four-byte pixels, and a multiple of ``factor``."""
    rows = max(1, STRIP_BYTES // (max(1, width) * 4))
    return max(factor, rows // factor * factor)


def working_mode(im: Image.Image) -> Image.Image:
    """A mode that resizes well: palettes would resize by nearest neighbour, 16-bit grey would clip to white."""
    if im.mode == "P" or "transparency" in im.info:
        return im.convert("RGBA")
    if im.mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return im
    if im.mode in ("RGBa", "La"):  # premultiplied (libheif may hand these out): back to straight alpha
        return im.convert(im.mode.upper())
    if im.mode.startswith("I;16"):
        return im.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return im.convert("RGB")


def needs_working_copy(im: Image.Image) -> bool:
    return im.mode not in ("RGB", "RGBA", "L", "LA", "CMYK") or "transparency" in im.info


def reduce_rows(source: RowSource, factor: int) -> Image.Image:
    """``working_mode`` and then ``reduce(factor)`` of the whole source, a strip at a time."""
    width, height = source.size
    step = strip_height(width, factor)
    out: Image.Image | None = None
    for top in range(0, height, step):
        strip = working_mode(source.rows(top, min(height, top + step)))
        if factor > 1:
            strip = strip.reduce(factor)
        if out is None:
            out = Image.new(strip.mode, reduced(source.size, factor))
        out.paste(strip, (0, top // factor))
    assert out is not None
    return out


class Colour:
    """Conversion from an embedded profile (e.g. an iPhone's Display P3) to sRGB, built once for every strip."""

    def __init__(self, icc: bytes | None, mode: str) -> None:
        self._transform: ImageCms.ImageCmsTransform | None = None
        if not icc or mode not in ("RGB", "RGBA", "CMYK", "L"):
            return
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if "sRGB" in ImageCms.getProfileDescription(source):
                return
            srgb = ImageCms.createProfile("sRGB")  # per image: no lcms handle shared between threads
            output = "RGBA" if mode == "RGBA" else "RGB"
            self._transform = ImageCms.buildTransform(source, srgb, mode, output)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            self._transform = None

    def apply(self, im: Image.Image) -> Image.Image:
        if self._transform is None or im.mode != self._transform.input_mode:
            return im
        try:
            converted = ImageCms.applyTransform(im, self._transform)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            return im
        return converted if converted is not None else im


def flatten(im: Image.Image) -> Image.Image:
    """RGB with any alpha composited onto white."""
    if im.mode in ("RGBA", "LA"):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", im.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im if im.mode == "RGB" else im.convert("RGB")


def finish(im: Image.Image, colour: Colour, orientation: int) -> Image.Image:
    """sRGB, no alpha, upright: what every stored variant is."""
    im = flatten(colour.apply(im))
    method = TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


def finish_rows(source: RowSource, colour_for: Callable[[str], Colour], orientation: int) -> Image.Image:
    """``finish`` of the whole source at full size, a strip at a time (each strip pasted where it lands)."""
    width, height = source.size
    step = strip_height(width)
    turned = orientation in _TURNS
    out = Image.new("RGB", (height, width) if turned else (width, height))
    colour: Colour | None = None
    for top in range(0, height, step):
        bottom = min(height, top + step)
        strip = working_mode(source.rows(top, bottom))
        if colour is None:
            colour = colour_for(strip.mode)
        strip = finish(strip, colour, orientation)
        if turned:
            out.paste(strip, (height - bottom if orientation in _TURNS_MIRRORED else top, 0))
        else:
            out.paste(strip, (0, height - bottom if orientation in _FLIPS_ROWS else top))
    return out
