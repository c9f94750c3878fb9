"""The most memory-hungry photo of each format the app accepts: 40 MP (the pixel cap), small files (far under the
15 MB upload limit), written by a fresh process so the caller never holds their pixels.

- JPEG: progressive CMYK at 4:4:4 (libjpeg then buffers two bytes for every sample of the whole image);
- PNG: 8-bit RGBA (no DCT scaling for PNG: decoded whole, four bytes a pixel);
- WebP: lossless RGBA with thousands of colours (libwebp keeps an ARGB word a pixel for back-references);
- HEIC: 10-bit 4:2:0, as phones save HDR photos (libheif decodes 16-bit planes and converts them twice).

Plus the one a budget must refuse: an animated WebP whose 36 MP canvas is tiny on disk but that only Pillow's
animation decoder reads (three canvases and a copy, 16 bytes a pixel, ~580 MB).

``python -m tests.support.largest DIRECTORY [NAME ...]`` writes ``NAME.<ext>`` files and prints their paths;
``write(directory)`` does the same from Python through that subprocess.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from PIL import Image

SIZE = (7744, 5164)  # 39,990,016 pixels: the most under the 40 MP cap at 3:2
FILES = {
    "jpeg": "largest.jpg",
    "png": "largest.png",
    "webp": "largest.webp",
    "heic": "largest.heic",
    "animated-webp": "canvas.webp",
}
REPO = Path(__file__).resolve().parents[2]


def _bands(size: tuple[int, int]) -> list[Image.Image]:
    """Smooth, many-coloured bands: compress to a few MB, but no palette or solid-colour shortcuts."""
    ramp = Image.linear_gradient("L").resize(size)
    return [ramp, ramp.transpose(Image.Transpose.ROTATE_180), Image.radial_gradient("L").resize(size)]


def jpeg(size: tuple[int, int] = SIZE) -> bytes:
    image = Image.merge("RGB", _bands(size)).convert("CMYK")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, progressive=True, subsampling=0)
    return buffer.getvalue()


def png(size: tuple[int, int] = SIZE) -> bytes:
    bands = _bands(size)
    image = Image.merge("RGBA", [*bands, bands[0]])
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def webp(size: tuple[int, int] = SIZE) -> bytes:
    bands = _bands(size)
    image = Image.merge("RGBA", [*bands, bands[0]])
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", lossless=True, method=0, quality=0)
    return buffer.getvalue()


def heic(
    size: tuple[int, int] = SIZE, *, bit_depth: int = 10, chroma: int = 420, alpha: bool = False
) -> bytes:
    """HEIC with the given depth, chroma subsampling and alpha (x265's fastest preset: content is irrelevant)."""
    import pillow_heif

    bands = _bands(size)
    image = Image.merge("RGBA" if alpha else "RGB", [*bands, bands[0]] if alpha else bands)
    if bit_depth > 8:
        raw = image.tobytes()
        del image
        wide = bytearray(2 * len(raw))  # each 8-bit sample v as the 16-bit little-endian v * 257
        wide[0::2], wide[1::2] = raw, raw
        del raw
        heif = pillow_heif.from_bytes("RGBA;16" if alpha else "RGB;16", size, bytes(wide))
    else:
        heif = pillow_heif.from_pillow(image)
    buffer = io.BytesIO()
    heif.save(buffer, quality=30, chroma=chroma, enc_params={"preset": "ultrafast"})
    return buffer.getvalue()


def animated_webp_canvas(width: int = 6000, height: int = 6000) -> bytes:
    """Two 16×16 frames on a declared 36 MP canvas (under the pixel cap): a few hundred bytes."""
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    data = bytearray(buffer.getvalue())
    data[24:27] = (width - 1).to_bytes(3, "little")
    data[27:30] = (height - 1).to_bytes(3, "little")
    return bytes(data)


MAKERS = {"jpeg": jpeg, "png": png, "webp": webp, "heic": heic, "animated-webp": animated_webp_canvas}


def heic_variant(bit_depth: int, chroma: int, alpha: bool, size: tuple[int, int]) -> str:
    """A name ``write`` understands for another HEIC: ``heic-10-444-a-4000x3000``."""
    return f"heic-{bit_depth}-{chroma}-{'a' if alpha else 'o'}-{size[0]}x{size[1]}"


def _file_name(name: str) -> str:
    return FILES.get(name) or f"{name}.heic"


def _make(name: str) -> bytes:
    if name in MAKERS:
        return MAKERS[name]()
    _, depth, chroma, alpha, dimensions = name.split("-")
    width, height = dimensions.split("x")
    return heic((int(width), int(height)), bit_depth=int(depth), chroma=int(chroma), alpha=alpha == "a")


def write(directory: Path, names: list[str] | None = None) -> dict[str, Path]:
    """The files (made by a fresh interpreter, once: existing ones are kept), by name."""
    names = list(FILES) if names is None else names
    paths = {name: directory / _file_name(name) for name in names}
    missing = [name for name, path in paths.items() if not path.exists()]
    if missing:
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "tests.support.largest", str(directory), *missing], cwd=REPO, check=True,
            capture_output=True,
        )
    return paths


def main() -> None:
    directory = Path(sys.argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or list(FILES):
        path = directory / _file_name(name)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(_make(name))
        partial.rename(path)
        print(path)


if __name__ == "__main__":
    main()
