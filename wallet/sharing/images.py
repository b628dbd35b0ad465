"""The badge as a picture: the PNG a share page offers for download, with the credential baked in.

A credential's image may be a PNG, an SVG (rendered to PNG with cairosvg, which refuses external
resources), or missing or unusable — then a plain round badge with the badge's initials stands in.
"""

from __future__ import annotations

import io
import logging

from wallet.credentials.baking import BakingError, bake_png, is_png

log = logging.getLogger("wallet.sharing")


def placeholder_png(name: str) -> bytes:
    """A plain round badge with the badge's initials, for credentials that carry no usable image."""
    from PIL import Image, ImageDraw

    size = 256
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), fill=(31, 78, 121, 255))
    initials = "".join(word[0] for word in name.split()[:2]).upper() or "B"
    draw.text((size / 2, size / 2), initials, fill=(255, 255, 255, 255), anchor="mm", font_size=96)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def as_png(image: tuple[bytes, str] | None, name: str) -> bytes:
    """``image`` (bytes, media type) as PNG bytes, or the placeholder."""
    if image is not None and is_png(image[0]):
        return image[0]
    if image is not None and image[1] == "image/svg+xml":
        try:
            import cairosvg
        except OSError as error:  # cairocffi found no system libcairo (Debian: apt-get install libcairo2)
            log.warning("badge SVGs are served as placeholders: %s", error)
            return placeholder_png(name)
        try:
            return cairosvg.svg2png(bytestring=image[0], output_width=512, unsafe=False)
        except Exception as error:  # a malformed SVG from a stranger: fall back to the placeholder
            log.info("badge SVG could not be rendered: %s", type(error).__name__)
    return placeholder_png(name)


def baked_badge_png(image: tuple[bytes, str] | None, *, name: str, credential: bytes, keyword: str) -> bytes:
    """The badge image with ``credential`` baked in (``iTXt`` chunk ``keyword``); never fails."""
    png = as_png(image, name)
    try:
        return bake_png(png, credential.decode("utf-8"), keyword=keyword)
    except (BakingError, UnicodeDecodeError):
        return bake_png(placeholder_png(name), credential.decode("utf-8", "replace"), keyword=keyword)
