"""Scaled WebP decoding through libwebp's own API, which Pillow does not expose.

Pillow decodes every WebP through libwebp's animation decoder: two full canvases inside libwebp, a third as the
Python bytes it returns and a fourth as the image, 16 bytes a pixel (640 MB for 40 MP RGBA). ``WebPDecode`` with
``use_scaling`` writes straight into an output of the reduced size instead; lossy files then need only libwebp's
row caches (and one byte a pixel for an alpha plane), lossless ones one ARGB word a pixel for back-references.

The library is the one Pillow already loaded (its wheel bundles it); only the stable decode API is used, with the
ABI version check libwebp itself makes. When no usable libwebp is found, ``available()`` is False and the caller
falls back to Pillow.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os
from dataclasses import dataclass
from pathlib import Path

_ABI_VERSION = 0x0209  # decode.h since libwebp 1.0; libwebp accepts any request with the same major byte
_STATUS_OK = 0
_STATUS_UNSUPPORTED_FEATURE = 4
MODE_RGB, MODE_RGBA = 0, 1
FORMAT_LOSSY, FORMAT_LOSSLESS = 1, 2


class _Features(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("has_alpha", ctypes.c_int),
        ("has_animation", ctypes.c_int),
        ("format", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    ]


class _RGBABuffer(ctypes.Structure):
    _fields_ = [("rgba", ctypes.c_void_p), ("stride", ctypes.c_int), ("size", ctypes.c_size_t)]


class _YUVABuffer(ctypes.Structure):
    _fields_ = [
        ("y", ctypes.c_void_p),
        ("u", ctypes.c_void_p),
        ("v", ctypes.c_void_p),
        ("a", ctypes.c_void_p),
        ("y_stride", ctypes.c_int),
        ("u_stride", ctypes.c_int),
        ("v_stride", ctypes.c_int),
        ("a_stride", ctypes.c_int),
        ("y_size", ctypes.c_size_t),
        ("u_size", ctypes.c_size_t),
        ("v_size", ctypes.c_size_t),
        ("a_size", ctypes.c_size_t),
    ]


class _BufferUnion(ctypes.Union):
    _fields_ = [("RGBA", _RGBABuffer), ("YUVA", _YUVABuffer)]


class _DecBuffer(ctypes.Structure):
    _fields_ = [
        ("colorspace", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("is_external_memory", ctypes.c_int),
        ("u", _BufferUnion),
        ("pad", ctypes.c_uint32 * 4),
        ("private_memory", ctypes.c_void_p),
    ]


class _Options(ctypes.Structure):
    _fields_ = [
        ("bypass_filtering", ctypes.c_int),
        ("no_fancy_upsampling", ctypes.c_int),
        ("use_cropping", ctypes.c_int),
        ("crop_left", ctypes.c_int),
        ("crop_top", ctypes.c_int),
        ("crop_width", ctypes.c_int),
        ("crop_height", ctypes.c_int),
        ("use_scaling", ctypes.c_int),
        ("scaled_width", ctypes.c_int),
        ("scaled_height", ctypes.c_int),
        ("use_threads", ctypes.c_int),
        ("dithering_strength", ctypes.c_int),
        ("flip", ctypes.c_int),
        ("alpha_dithering_strength", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    ]


class _Config(ctypes.Structure):
    _fields_ = [("input", _Features), ("output", _DecBuffer), ("options", _Options)]


@dataclass(frozen=True)
class Features:
    """What the bitstream declares: size, alpha, animation and lossy (1) / lossless (2) / mixed (0) coding."""

    width: int
    height: int
    has_alpha: bool
    has_animation: bool
    format: int


class WebPError(Exception):
    """libwebp refused the file (``status`` is its VP8StatusCode)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"libwebp status {status}")
        self.status = status

    @property
    def unsupported(self) -> bool:
        return self.status == _STATUS_UNSUPPORTED_FEATURE


def _candidates() -> list[str]:
    """Pillow's own libwebp first (already mapped into this process), then a system one."""
    found: list[str] = []
    try:
        from PIL import _webp  # noqa: F401  (loads the library Pillow was built with)
    except ImportError:
        pass
    maps = Path("/proc/self/maps")
    if maps.exists():
        for line in maps.read_text().splitlines():
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and os.path.basename(parts[5]).split(".so")[0].split("-")[0] == "libwebp":
                found.append(parts[5])
    import PIL

    libs = Path(PIL.__file__).resolve().parent.parent / "pillow.libs"
    found += sorted(glob.glob(str(libs / "libwebp-*.so*")))
    system = ctypes.util.find_library("webp")
    if system:
        found.append(system)
    return list(dict.fromkeys(found))


@functools.cache
def _library() -> ctypes.CDLL | None:
    for candidate in _candidates():
        try:
            lib = ctypes.CDLL(candidate)
            lib.WebPInitDecoderConfigInternal.argtypes = [ctypes.POINTER(_Config), ctypes.c_int]
            lib.WebPInitDecoderConfigInternal.restype = ctypes.c_int
            lib.WebPGetFeaturesInternal.argtypes = [
                ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_Features), ctypes.c_int
            ]
            lib.WebPGetFeaturesInternal.restype = ctypes.c_int
            lib.WebPDecode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_Config)]
            lib.WebPDecode.restype = ctypes.c_int
            lib.WebPFreeDecBuffer.argtypes = [ctypes.POINTER(_DecBuffer)]
            lib.WebPFreeDecBuffer.restype = None
            if lib.WebPInitDecoderConfigInternal(ctypes.byref(_Config()), _ABI_VERSION):
                return lib
        except (OSError, AttributeError):
            continue
    return None


def available() -> bool:
    """Whether scaled decoding is possible here (a libwebp with the 0x02xx decoder ABI was found)."""
    return _library() is not None


def features(data: bytes) -> Features:
    lib = _library()
    if lib is None:
        raise WebPError(_STATUS_UNSUPPORTED_FEATURE)
    found = _Features()
    status = lib.WebPGetFeaturesInternal(data, len(data), ctypes.byref(found), _ABI_VERSION)
    if status != _STATUS_OK:
        raise WebPError(status)
    return Features(found.width, found.height, bool(found.has_alpha), bool(found.has_animation), found.format)


def decode(data: bytes, size: tuple[int, int], *, alpha: bool) -> bytearray:
    """Decode a still WebP straight to ``size`` (area-averaged by libwebp) as packed RGBA or RGB bytes.

    Animated files raise ``WebPError`` with ``unsupported`` set (``WebPDecode`` reads stills only).
    """
    lib = _library()
    if lib is None:
        raise WebPError(_STATUS_UNSUPPORTED_FEATURE)
    config = _Config()
    if not lib.WebPInitDecoderConfigInternal(ctypes.byref(config), _ABI_VERSION):
        raise WebPError(_STATUS_UNSUPPORTED_FEATURE)
    status = lib.WebPGetFeaturesInternal(data, len(data), ctypes.byref(config.input), _ABI_VERSION)
    if status != _STATUS_OK:
        raise WebPError(status)
    width, height = size
    channels = 4 if alpha else 3
    output = bytearray(width * height * channels)
    pointer = (ctypes.c_uint8 * len(output)).from_buffer(output)
    config.options.use_scaling = int(size != (config.input.width, config.input.height))
    config.options.scaled_width, config.options.scaled_height = width, height
    config.output.colorspace = MODE_RGBA if alpha else MODE_RGB
    config.output.is_external_memory = 1
    config.output.u.RGBA.rgba = ctypes.addressof(pointer)
    config.output.u.RGBA.stride = width * channels
    config.output.u.RGBA.size = len(output)
    try:
        status = lib.WebPDecode(data, len(data), ctypes.byref(config))
    finally:
        lib.WebPFreeDecBuffer(ctypes.byref(config.output))
        del pointer
    if status != _STATUS_OK:
        raise WebPError(status)
    return output
