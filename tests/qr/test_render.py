"""QR images decode, with a real decoder, to exactly what was drawn; claim URLs stay small."""

from __future__ import annotations

import io
import re

import cairosvg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from wallet_protocol.claim_codes import claim_url, mint_session_token, mint_single_use_token

from tests.qr_scan import scan_texts
from wallet.qr.render import QrOptions, etag_for, qr_version, render, render_png, render_svg

KEY = bytes(range(32))
REALISTIC_BASES = [
    "https://wallet.citiesoflearning.org",
    "https://badges.chicagocityoflearning.org",
    "https://wallet.example.org",
    "http://127.0.0.1:5000",
]


def decode_svg(svg: bytes) -> list[str]:
    return scan_texts(cairosvg.svg2png(bytestring=svg))


def claim_urls(base: str) -> list[str]:
    return [
        claim_url(base, mint_single_use_token(KEY, code_public_id="H0JX1131")),
        claim_url(base, mint_session_token(KEY, session_public_id="H0JX1131", step=None)),
        claim_url(base, mint_session_token(KEY, session_public_id="H0JX1131", step=2**32 - 1)),
    ]


@pytest.mark.parametrize("base", REALISTIC_BASES)
def test_claim_urls_fit_version_5_at_level_m_and_decode(base: str) -> None:
    for url in claim_urls(base):
        assert qr_version(url, "M") <= 5
        assert scan_texts(render_png(url)) == [url]
        assert decode_svg(render_svg(url)) == [url]


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_every_error_correction_level_decodes(level: str) -> None:
    url = claim_urls(REALISTIC_BASES[0])[2]
    assert scan_texts(render_png(url, error_correction=level)) == [url]  # type: ignore[arg-type]
    assert decode_svg(render_svg(url, error_correction=level)) == [url]  # type: ignore[arg-type]
    assert qr_version(url, "L") <= qr_version(url, level) <= qr_version(url, "H")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=300))
def test_any_printable_text_round_trips_through_png_and_svg(text: str) -> None:
    assert scan_texts(render_png(text, box_size=4)) == [text]
    assert decode_svg(render_svg(text, box_size=4)) == [text]


def test_png_size_follows_box_size_and_border() -> None:
    url = claim_urls(REALISTIC_BASES[0])[0]
    modules = 17 + 4 * qr_version(url, "M")
    image = Image.open(io.BytesIO(render_png(url, box_size=3, border=2)))
    assert image.format == "PNG"
    assert image.size == ((modules + 4) * 3, (modules + 4) * 3)


def test_svg_is_one_path_with_width_height_and_viewbox() -> None:
    url = claim_urls(REALISTIC_BASES[0])[0]
    side = 17 + 4 * qr_version(url, "M") + 8
    svg = render_svg(url, box_size=5).decode()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert f'width="{side * 5}" height="{side * 5}" viewBox="0 0 {side} {side}"' in svg
    assert len(re.findall(r"<path ", svg)) == 1
    assert '<rect width="' in svg  # a white background: dark-mode viewers still show a scannable code


def test_rendering_is_deterministic_so_the_etag_describes_the_bytes() -> None:
    url = claim_urls(REALISTIC_BASES[0])[0]
    png, svg = QrOptions("png"), QrOptions("svg")
    assert render(url, png) == render(url, png)
    assert render(url, svg) == render(url, svg)
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag_for(url, png))
    assert etag_for(url, png) == etag_for(url, QrOptions())
    others = {
        etag_for(url, svg),
        etag_for(url, QrOptions(box_size=11)),
        etag_for(url, QrOptions(border=2)),
        etag_for(url, QrOptions(error_correction="Q")),
        etag_for(url + "X", png),
    }
    assert etag_for(url, png) not in others
    assert len(others) == 5


def test_options_report_their_media_type() -> None:
    assert QrOptions("png").media_type == "image/png"
    assert QrOptions("svg").media_type == "image/svg+xml"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"box_size": 0}, "box_size"),
        ({"box_size": 41}, "box_size"),
        ({"box_size": True}, "box_size"),
        ({"border": -1}, "border"),
        ({"border": 17}, "border"),
        ({"error_correction": "X"}, "error_correction"),
        ({"error_correction": "m"}, "error_correction"),
    ],
)
def test_bad_options_raise_value_error_with_a_clear_message(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_png("HTTPS://WALLET.EXAMPLE.ORG/C/X" * 3, **kwargs)  # type: ignore[arg-type]


def test_an_image_too_large_to_serve_is_refused() -> None:
    with pytest.raises(ValueError, match="px wide"):
        render_png("x" * 1000, box_size=40)
    assert render_png("x" * 1000, box_size=20)


def test_bad_data_raises_value_error() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        render_png("")
    with pytest.raises(ValueError, match="too long"):
        render_png("x" * 3000, error_correction="H")
    with pytest.raises(ValueError, match="format"):
        QrOptions("gif")  # type: ignore[arg-type]
