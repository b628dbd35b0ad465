"""Hostile evidence is refused with problem+json and nothing is stored: polyglots, decompression bombs,
huge images, SVG with script, wrong types, NUL in fields. Good photos are re-encoded (their metadata,
a phone's GPS location included, dropped)."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.requests.conftest import jpeg_bytes, png_bytes
from wallet.errors import DomainError
from wallet.requests.evidence import check_file, safe_filename


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, body: bytes = b"") -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's opening)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(body)) + _chunk(b"IEND", b"")


def bomb_png() -> bytes:
    """5000 x 5000 of zeros: 75 MB decoded from a file of a few kilobytes."""
    raw = b"".join(b"\x00" + b"\x00" * (5000 * 3) for _ in range(5000))
    ihdr = struct.pack(">IIBBBBB", 5000, 5000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def _exif_with_gps() -> bytes:
    image = Image.new("RGB", (4, 4))
    exif = image.getexif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS IFD: latitude
    return exif.tobytes()


HOSTILE = {
    "svg with script": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
    "html page": (b"<!doctype html><html><script>alert(1)</script></html>", "text/plain"),
    "png then html (polyglot)": (png_bytes() + b"<html><script>alert(1)</script></html>", "image/png"),
    "jpeg then zip (polyglot)": (jpeg_bytes() + b"PK\x03\x04" + b"\x00" * 40, "image/jpeg"),
    "pdf with javascript": (
        b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n%%EOF",
        "application/pdf",
    ),
    "pdf with a zip inside": (b"%PDF-1.4\n" + b"PK\x03\x04" + b"\x00" * 30 + b"\n%%EOF", "application/pdf"),
    "text with NUL": (b"I did \x00 this", "text/plain"),
    "binary blob": (bytes(range(256)) * 4, "application/octet-stream"),
    "gzip": (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "application/octet-stream"),
    "png claiming 60000 x 60000": (png_claiming(60000, 60000), "image/png"),
    "png decompression bomb": (bomb_png(), "image/png"),
    "damaged png": (png_bytes()[:60], "image/png"),
    "damaged jpeg": (jpeg_bytes()[:40], "image/jpeg"),
    "empty": (b"", "application/octet-stream"),
}


@pytest.fixture
def open_request(client: FlaskClient, sign_up: Any, requestable: Any, ask: Any) -> tuple[Any, str]:
    org = requestable()
    learner = sign_up()
    return learner, ask(learner, org["achievement_id"])["id"]


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused_with_problem_json_and_nothing_is_stored(
    client: FlaskClient, open_request: tuple[Any, str], case: str
) -> None:
    learner, request_id = open_request
    data, content_type = HOSTILE[case]

    response = client.post(
        f"/api/v1/me/badge-requests/{request_id}/files?filename=evidence",
        headers={**learner.headers, "Content-Type": content_type},
        data=data,
    )

    assert response.status_code in (413, 415, 422), (case, response.status_code)
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] in (
        "badge_request.invalid_evidence",
        "request.unsupported_media_type",
        "request.too_large",
    )
    assert client.get(f"/api/v1/me/badge-requests/{request_id}", headers=learner.headers).json["files"] == []


def test_a_file_larger_than_the_limit_is_413_and_not_stored(client: FlaskClient, open_request: tuple[Any, str]) -> None:
    learner, request_id = open_request
    response = client.post(
        f"/api/v1/me/badge-requests/{request_id}/files",
        headers={**learner.headers, "Content-Type": "text/plain"},
        data=b"a" * (7 * 1024 * 1024),
    )
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/me/badge-requests/{request_id}", headers=learner.headers).json["files"] == []


def test_a_photo_larger_than_the_app_wide_body_limit_is_still_taken(
    client: FlaskClient, open_request: tuple[Any, str]
) -> None:
    learner, request_id = open_request
    noisy = Image.effect_noise((1500, 1500), 90).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    assert len(out.getvalue()) > 2_000_000  # above max_request_bytes
    response = client.post(
        f"/api/v1/me/badge-requests/{request_id}/files",
        headers={**learner.headers, "Content-Type": "image/png"},
        data=out.getvalue(),
    )
    assert response.status_code in (201, 422), response.json
    if response.status_code == 422:
        assert response.json["reason"].startswith("the photo is too detailed")


@pytest.mark.parametrize(
    "field",
    [{"narrative": "I did\x00 it"}, {"witness": "Al\x00ex"}, {"links": ["https://x.example/\x00"]}],
)
def test_nul_in_any_field_is_refused_and_no_request_is_made(
    client: FlaskClient, sign_up: Any, requestable: Any, field: dict[str, Any]
) -> None:
    org = requestable()
    learner = sign_up()
    body = {"achievement_id": org["achievement_id"], "narrative": "fine", **field}

    response = client.post("/api/v1/me/badge-requests", headers=learner.headers, json=body)

    assert response.status_code == 400 and response.json["code"] == "request.invalid_json"
    assert client.get("/api/v1/me/badge-requests", headers=learner.headers).json == []


@pytest.mark.parametrize(
    "field",
    [
        {"narrative": "I did \x1b[31m it"},
        {"witness": "Alex\nSmith"},
        {"links": ["javascript:alert(1)"]},
        {"links": ["https://ok.example/a b"]},
        {"narrative": "   "},
    ],
)
def test_control_characters_bad_links_and_empty_narratives_are_refused(
    client: FlaskClient, sign_up: Any, requestable: Any, field: dict[str, Any]
) -> None:
    org = requestable()
    learner = sign_up()
    response = client.post(
        "/api/v1/me/badge-requests",
        headers=learner.headers,
        json={"achievement_id": org["achievement_id"], "narrative": "fine", **field},
    )
    assert response.status_code == 422 and response.json["code"] == "request.validation_failed"
    assert client.get("/api/v1/me/badge-requests", headers=learner.headers).json == []


def test_a_phone_photo_is_re_encoded_without_its_location() -> None:
    original = jpeg_bytes(exif=_exif_with_gps())
    assert b"PhoneMaker" in original

    checked = check_file(original, filename="IMG_0001.JPG")

    assert checked.media_type == "image/jpeg" and checked.filename == "IMG_0001.jpg"
    assert b"PhoneMaker" not in checked.data and b"Exif" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.size == (80, 60) and not image.getexif()


def test_a_big_photo_is_scaled_down_to_keep() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 200, 10)).save(out, format="JPEG")
    with Image.open(io.BytesIO(check_file(out.getvalue()).data)) as image:
        assert max(image.size) == 2048


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_are_either_refused_as_evidence_or_stored_as_a_known_type(data: bytes) -> None:
    try:
        checked = check_file(data)
    except DomainError as error:
        assert error.code == "badge_request.invalid_evidence" and error.status == 422
        return
    assert checked.media_type in ("image/png", "image/jpeg", "application/pdf", "text/plain")


@given(st.text(max_size=300), st.sampled_from(["image/png", "image/jpeg", "application/pdf", "text/plain"]))
def test_stored_file_names_are_plain_and_say_what_the_file_is(name: str, media_type: str) -> None:
    safe = safe_filename(name, media_type)
    assert len(safe) <= 100 and "/" not in safe and "\\" not in safe and '"' not in safe
    assert safe.isascii() and safe.isprintable()
    assert safe.endswith(
        {"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf", "text/plain": ".txt"}[media_type]
    )
