"""Baked badges: a baked credential comes back out unchanged, and hostile images fail clearly."""

from __future__ import annotations

import io
import json
import struct
import zlib

import defusedxml.ElementTree as ElementTree
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from wallet.credentials.baking import (
    OB3_SVG_NAMESPACE,
    BakedPayload,
    BakingError,
    bake_png,
    bake_svg,
    extract_baked,
    unbake_png,
    unbake_svg,
)

CREDENTIAL = json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "Teamwork ]]> Badge"})
JWT = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2lnbmF0dXJl"
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" data-note="a > b">'
    b'<circle cx="5" cy="5" r="4"/></svg>\n'
)


def png_image() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (200, 30, 30, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_a_credential_baked_into_a_png_comes_back_unchanged_and_the_image_still_renders():
    original = png_image()
    baked = bake_png(original, CREDENTIAL)
    assert unbake_png(baked) == CREDENTIAL
    assert extract_baked(baked) == BakedPayload("ob3", "png", CREDENTIAL)
    with Image.open(io.BytesIO(baked)) as reopened, Image.open(io.BytesIO(original)) as first:
        assert reopened.tobytes() == first.tobytes()
    assert len(baked) == len(original) + 12 + len("openbadgecredential") + 5 + len(CREDENTIAL.encode())


def test_baking_again_replaces_the_credential_rather_than_adding_a_second():
    baked = bake_png(bake_png(png_image(), CREDENTIAL), JWT)
    assert unbake_png(baked) == JWT
    assert baked.count(b"openbadgecredential") == 1


def test_the_chunk_is_uncompressed_itxt():
    baked = bake_png(png_image(), JWT)
    start = baked.index(b"iTXt") + 4
    assert baked[start:].startswith(b"openbadgecredential\0\0\0\0\0" + JWT.encode())


def test_a_png_without_a_credential_yields_nothing():
    assert unbake_png(png_image()) is None
    assert extract_baked(png_image()) is None


def test_an_open_badges_2_png_is_recognised():
    baked = bake_png(png_image(), "https://issuer.example/assertions/1", keyword="openbadges")
    assert extract_baked(baked) == BakedPayload("ob2", "png", "https://issuer.example/assertions/1")


def test_a_compressed_itxt_chunk_is_still_read():
    original = png_image()
    data = b"openbadgecredential\0\x01\x00\0\0" + zlib.compress(CREDENTIAL.encode())
    ihdr_end = 8 + 25
    image = original[:ihdr_end] + chunk(b"iTXt", data) + original[ihdr_end:]
    assert unbake_png(image) == CREDENTIAL


def test_a_truncated_png_is_refused():
    baked = bake_png(png_image(), CREDENTIAL)
    with pytest.raises(BakingError, match=r"past the end|truncated"):
        unbake_png(baked[: len(baked) // 2])


def test_a_chunk_claiming_a_huge_length_is_refused():
    original = png_image()
    hostile = original[:33] + struct.pack(">I", 0x7FFFFFF0) + b"iTXt" + b"openbadgecredential\0"
    with pytest.raises(BakingError, match="past the end"):
        unbake_png(hostile)


def test_a_chunk_with_a_bad_crc_is_refused():
    baked = bytearray(bake_png(png_image(), CREDENTIAL))
    baked[baked.index(b"Teamwork")] ^= 0x01
    with pytest.raises(BakingError, match="bad CRC"):
        unbake_png(bytes(baked))


def test_an_image_over_the_size_limit_is_refused():
    with pytest.raises(BakingError, match="limit"):
        unbake_png(png_image(), max_bytes=10)
    with pytest.raises(BakingError, match="limit"):
        unbake_svg(SVG, max_bytes=10)


def test_something_that_is_not_an_image_is_refused():
    with pytest.raises(BakingError, match="not a PNG or SVG"):
        extract_baked(b"GIF89a....")


def test_a_credential_baked_into_an_svg_comes_back_unchanged():
    baked = bake_svg(SVG, CREDENTIAL)
    assert unbake_svg(baked) == CREDENTIAL
    root = ElementTree.fromstring(baked)
    assert root[0].tag == f"{{{OB3_SVG_NAMESPACE}}}credential"
    assert root[1].tag == "{http://www.w3.org/2000/svg}circle"
    assert root.get("data-note") == "a > b"
    assert baked.endswith(b'<circle cx="5" cy="5" r="4"/></svg>\n')


def test_a_vc_jwt_goes_in_the_verify_attribute():
    baked = bake_svg(SVG, JWT)
    element = ElementTree.fromstring(baked)[0]
    assert element.get("verify") == JWT
    assert extract_baked(baked) == BakedPayload("ob3", "svg", JWT)


def test_an_svg_is_not_baked_twice():
    with pytest.raises(BakingError, match="already"):
        bake_svg(bake_svg(SVG, JWT), JWT)


def test_an_open_badges_2_svg_assertion_is_recognised():
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">'
        b'<openbadges:assertion verify="https://issuer.example/assertions/1"></openbadges:assertion></svg>'
    )
    assert extract_baked(svg) == BakedPayload("ob2", "svg", "https://issuer.example/assertions/1")
    with_json = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">'
        b'<openbadges:assertion verify="https://issuer.example/assertions/1">'
        b'<![CDATA[{"id": "https://issuer.example/assertions/1"}]]></openbadges:assertion></svg>'
    )
    assert extract_baked(with_json).text == '{"id": "https://issuer.example/assertions/1"}'


def test_an_xml_entity_bomb_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>'
    )
    with pytest.raises(BakingError, match="refused"):
        unbake_svg(bomb)


def test_an_external_entity_is_refused():
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>'
    )
    with pytest.raises(BakingError, match="refused"):
        bake_svg(xxe, CREDENTIAL)


def test_xml_that_is_not_svg_is_refused():
    with pytest.raises(BakingError, match="not an SVG"):
        unbake_svg(b"<html><body/></html>")
    with pytest.raises(BakingError, match="well-formed"):
        unbake_svg(b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>")


@settings(max_examples=50)
@given(st.text(max_size=300))
def test_any_credential_json_round_trips_through_both_formats(name):
    document = json.dumps({"name": name, "type": ["VerifiableCredential"]})
    assert unbake_png(bake_png(png_image(), document)) == document
    assert unbake_svg(bake_svg(SVG, document)) == document
