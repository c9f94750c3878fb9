"""Draw the app icons (any, maskable, apple-touch) with Pillow: `python scripts/make_icons.py`.

The PNGs are committed under pwa/static/icons/; rerun this after changing the drawing.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "pwa" / "static" / "icons"
TEAL = (15, 92, 77, 255)
WHITE = (255, 255, 255, 255)
AMBER = (245, 176, 65, 255)


def draw_mark(draw: ImageDraw.ImageDraw, size: int, box: float) -> None:
    """A house with a tick: a deal that reached its milestone. `box` is the share of the canvas it may use."""
    margin = size * (1 - box) / 2
    unit = (size - 2 * margin) / 10

    def p(x: float, y: float) -> tuple[float, float]:
        return margin + x * unit, margin + y * unit

    draw.polygon([p(5, 0.8), p(9.6, 4.6), p(8.4, 4.6), p(8.4, 9.2), p(1.6, 9.2), p(1.6, 4.6), p(0.4, 4.6)], fill=WHITE)
    width = max(2, round(unit * 1.1))
    draw.line([p(3.2, 6.2), p(4.6, 7.6), p(7.2, 4.9)], fill=AMBER, width=width, joint="curve")


def icon(size: int, *, maskable: bool, opaque: bool = False) -> Image.Image:
    scale = 4  # draw large, then downsample: smooth edges without a font or an SVG renderer
    big = size * scale
    image = Image.new("RGBA", (big, big), TEAL if (maskable or opaque) else (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if not (maskable or opaque):
        draw.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 0.22, fill=TEAL)
    draw_mark(draw, big, 0.56 if maskable else 0.68)  # maskable: inside the 80 % safe circle
    image = image.resize((size, size), Image.LANCZOS)
    return image.convert("RGB") if (maskable or opaque) else image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        icon(size, maskable=True).save(OUT / f"maskable-{size}.png", optimize=True)
    icon(180, maskable=False, opaque=True).save(OUT / "apple-touch-icon.png", optimize=True)
    icon(32, maskable=False).save(OUT / "favicon-32.png", optimize=True)


if __name__ == "__main__":
    main()
