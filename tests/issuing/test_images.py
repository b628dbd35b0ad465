"""Achievement images: PNGs are checked before decoding and re-encoded; SVGs are rebuilt from an allowlist."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from typing import Any

import pytest
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from wallet.errors import DomainError
from wallet.issuing.images import MAX_IMAGE_BYTES, check_image


def _png(width: int = 64, height: int = 64, *, text: str | None = None) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if text:
        info.add_itxt("openbadges", text)
    output = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 40, 40, 255)).save(output, format="PNG", pnginfo=info)
    return output.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny file whose IHDR claims a huge canvas (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


SVG_WITH_EVERYTHING = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"
     onload="alert(1)">
  <script>alert(2)</script>
  <defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>
  <rect width="10" height="10" fill="url(#g)" onclick="alert(3)"/>
  <circle r="3" style="fill: url(https://tracker.example/x.png)"/>
  <use xlink:href="https://evil.example/sprite.svg#a"/>
  <use href="#g"/>
  <image href="https://tracker.example/pixel.png" width="1" height="1"/>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
  <a href="javascript:alert(4)"><text>click</text></a>
  <style>@import url(https://evil.example/x.css);</style>
  <text x="1" y="5">Badge</text>
</svg>"""


def _refusal(data: bytes) -> str:
    with pytest.raises(DomainError) as refused:
        check_image(data)
    assert refused.value.code == "achievement.invalid_image"
    return refused.value.extra["reason"]


def test_a_png_is_accepted_and_stripped_of_baked_data() -> None:
    checked = check_image(_png(text='{"type": "OpenBadgeCredential"}'))

    assert checked.media_type == "image/png"
    assert b"openbadges" not in checked.data
    assert Image.open(io.BytesIO(checked.data)).size == (64, 64)
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()


def test_bad_images_are_refused_with_a_reason() -> None:
    assert "neither" in _refusal(b"GIF89a" + b"\x00" * 100)
    assert "1024" in _refusal(_png(1025, 10))
    assert "60000" in _refusal(_png_claiming(60000, 60000))
    assert "512 KB" in _refusal(b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES)
    assert "damaged" in _refusal(_png()[:-40])
    assert "empty" in _refusal(b"")
    assert "not an SVG" in _refusal(b'<?xml version="1.0"?><svg><rect/></svg>')
    assert "DTD" in _refusal(
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>'
    )


def test_an_svg_keeps_its_drawing_and_loses_everything_active_or_external() -> None:
    checked = check_image(SVG_WITH_EVERYTHING)
    text = checked.data.decode()
    root = ElementTree.fromstring(checked.data)

    assert checked.media_type == "image/svg+xml"
    for gone in (
        "script",
        "alert",
        "onload",
        "onclick",
        "tracker.example",
        "evil.example",
        "foreignObject",
        "javascript",
        "<a ",
        "@import",
        "<image",
    ):
        assert gone not in text, gone
    tags = [element.tag.split("}")[1] for element in root.iter()]
    assert tags == ["svg", "defs", "linearGradient", "stop", "rect", "circle", "use", "use", "text"]
    assert 'fill="url(#g)"' in text
    assert 'href="#g"' in text
    assert "Badge" in text


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_checker(data: bytes) -> None:
    for candidate in (data, b"\x89PNG\r\n\x1a\n" + data, b"<svg " + data):
        try:
            check_image(candidate)
        except DomainError as error:
            assert error.code == "achievement.invalid_image"


def _upload(client: Any, issuer: Any, data: bytes, content_type: str, who: Any = None) -> Any:
    return client.put(
        f"/api/v1/organisations/makerspace-north/achievements/{issuer['achievement']['id']}/image",
        data=data,
        content_type=content_type,
        headers=(who or issuer["admin"]).headers,
    )


def test_uploaded_png_is_served_publicly_with_caching(client: Any, issuer: Any) -> None:
    uploaded = _upload(client, issuer, _png(), "image/png")
    assert uploaded.status_code == 200, uploaded.json
    image_url = uploaded.json["image_url"]
    assert image_url == f"https://wallet.test/achievements/{issuer['achievement']['id']}/image"

    served = client.get(image_url.removeprefix("https://wallet.test"))

    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.headers["Cache-Control"] == "public, max-age=86400"
    assert served.headers["ETag"] == f'"{hashlib.sha256(served.data).hexdigest()}"'
    again = client.get(image_url.removeprefix("https://wallet.test"), headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_svg_is_served_sandboxed(client: Any, issuer: Any) -> None:
    assert _upload(client, issuer, SVG_WITH_EVERYTHING, "image/svg+xml").status_code == 200

    served = client.get(f"/achievements/{issuer['achievement']['id']}/image")

    assert served.mimetype == "image/svg+xml"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert b"script" not in served.data


def test_the_declared_type_is_not_trusted(client: Any, issuer: Any) -> None:
    uploaded = _upload(client, issuer, _png(), "image/svg+xml")

    assert uploaded.status_code == 200
    assert uploaded.json["image_media_type"] == "image/png"


def test_bad_uploads_are_refused(client: Any, issuer: Any) -> None:
    refused = _upload(client, issuer, b"%PDF-1.7 not an image", "image/png")
    assert refused.status_code == 422
    assert refused.json["code"] == "achievement.invalid_image"
    assert refused.json["reason"]
    assert _upload(client, issuer, _png(), "application/octet-stream").status_code == 415
    assert _upload(client, issuer, _png(), "image/png", who=issuer["worker"]).status_code == 403
    assert client.get(f"/achievements/{issuer['achievement']['id']}/image").status_code == 404


def test_the_image_appears_in_badges_issued_afterwards(client: Any, sign_up: Any, award: Any, issuer: Any) -> None:
    sign_up("sam")
    _upload(client, issuer, _png(), "image/png")

    achievement = award("sam")["credential"]["credentialSubject"]["achievement"]

    assert achievement["image"] == {
        "id": f"https://wallet.test/achievements/{issuer['achievement']['id']}/image",
        "type": "Image",
    }
