"""Helpers shared by the photo tests: upload through the API, read what the media store holds."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from tests.support.factories import Caller, new_id
from tests.support.images import encode, noise, red_quadrant

JPEG_APP1_TO_APP15 = set(range(0xE1, 0xF0))
COM = 0xFE


def small_jpeg(seed: int = 0, **options: Any) -> bytes:
    return encode(noise(64, 48, seed=seed), **options)


def quadrant_jpeg(**options: Any) -> bytes:
    return encode(red_quadrant(400, 200), quality=95, **options)


async def upload(
    who: Caller, parent: tuple[str, Any], data: bytes, *, photo_id: str | None = None, filename: str = "photo.jpg",
    declared_type: str = "image/jpeg", **fields: str,
) -> Any:
    form = {"id": photo_id or new_id(), f"{parent[0]}_id": str(parent[1].id), **fields}
    return await who.post("/api/photos", data=form, files={"file": (filename, data, declared_type)})


def stored_files(media_dir: Path) -> list[Path]:
    return sorted(path for path in media_dir.glob("??/??/*") if path.is_file()) if media_dir.is_dir() else []


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def red_corners(image: Image.Image) -> list[str]:
    width, height = image.size
    corners = {"top-left": (5, 5), "top-right": (width - 6, 5), "bottom-left": (5, height - 6),
               "bottom-right": (width - 6, height - 6)}
    return [name for name, xy in corners.items() if _is_red(image.getpixel(xy))]


def _is_red(pixel: Any) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60
