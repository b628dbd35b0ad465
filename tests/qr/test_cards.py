"""Printed single-use cards: every QR on every page scans to its own claim URL, next to its own code."""

from __future__ import annotations

import random

import pypdfium2
import pytest
from wallet_protocol.claim_codes import (
    InvalidClaimCode,
    claim_url,
    format_fallback,
    mint_single_use_token,
    new_fallback_code,
    new_public_id,
    parse_claim_url,
    parse_token,
)

from tests.qr_scan import scan
from wallet.qr.cards import CARDS_PER_PAGE, Card, single_use_cards_pdf

KEY = bytes(range(32))
BASE = "https://wallet.citiesoflearning.org"
ADDRESS = "wallet.citiesoflearning.org/code"


def make_cards(count: int, seed: int = 1) -> list[Card]:
    rnd = random.Random(seed)
    return [
        Card(
            url=claim_url(BASE, mint_single_use_token(KEY, code_public_id=new_public_id(rnd.randbytes))),
            fallback=new_fallback_code(rnd.randbytes),
        )
        for _ in range(count)
    ]


def read_pages(pdf: bytes) -> list[tuple[list[str], str]]:
    """For each page: the QR texts in reading order (rows top to bottom, left to right) and the page text."""
    document = pypdfium2.PdfDocument(pdf)
    pages = []
    for page in document:
        image = page.render(scale=2).to_pil()
        results = scan(image)
        row_height = image.height / 8
        ordered = sorted(results, key=lambda r: (round(r.position.top_left.y / row_height), r.position.top_left.x))
        pages.append(([r.text for r in ordered], page.get_textpage().get_text_range()))
    return pages


def test_every_card_on_every_page_scans_to_its_url_beside_its_code() -> None:
    cards = make_cards(11)
    pdf = single_use_cards_pdf(
        badge_name="Laser Cutting 101", issuer_name="Maker Lab", cards=cards, code_entry_address=ADDRESS
    )
    assert pdf.startswith(b"%PDF-")
    pages = read_pages(pdf)
    assert len(pages) == 2
    for number, (urls, text) in enumerate(pages):
        on_page = cards[number * CARDS_PER_PAGE : (number + 1) * CARDS_PER_PAGE]
        assert urls == [card.url for card in on_page]
        for card in on_page:
            assert format_fallback(card.fallback) in text
        assert text.count("Laser Cutting 101") == len(on_page)
        assert text.count("from Maker Lab") == len(on_page)
        assert text.count(ADDRESS) == len(on_page)
    for card in cards:
        assert parse_token(KEY, parse_claim_url(card.url, trusted_base_urls=[BASE])).public_id


@pytest.mark.parametrize(("count", "pages"), [(1, 1), (8, 1), (9, 2), (17, 3)])
def test_page_count_follows_the_number_of_cards(count: int, pages: int) -> None:
    pdf = single_use_cards_pdf(
        badge_name="Badge", issuer_name="Museum", cards=make_cards(count), code_entry_address=ADDRESS
    )
    assert len(pypdfium2.PdfDocument(pdf)) == pages


def test_us_letter_pages_are_letter_sized_and_still_scan() -> None:
    cards = make_cards(8)
    pdf = single_use_cards_pdf(
        badge_name="3D Printing", issuer_name="Library", cards=cards, code_entry_address=ADDRESS, page="Letter"
    )
    document = pypdfium2.PdfDocument(pdf)
    assert [round(v) for v in document[0].get_size()] == [612, 792]
    assert read_pages(pdf)[0][0] == [card.url for card in cards]


def test_a_long_badge_name_is_shortened_with_an_ellipsis_and_the_codes_still_scan() -> None:
    long_name = "Soldering Basics: Build Your First Blinking LED Circuit and Learn Safe Iron Handling " * 3
    cards = make_cards(4)
    pdf = single_use_cards_pdf(badge_name=long_name, issuer_name="Makerspace", cards=cards, code_entry_address=ADDRESS)
    urls, text = read_pages(pdf)[0]
    assert urls == [card.url for card in cards]
    assert text.count("…") == 4
    assert "Soldering Basics" in text
    assert "Iron Handling Soldering" not in text


def test_names_in_other_scripts_are_printed_not_dropped() -> None:
    pdf = single_use_cards_pdf(
        badge_name="Робототехника: старт",
        issuer_name="Łódź Makerspace",
        cards=make_cards(1),
        code_entry_address=ADDRESS,
    )
    text = read_pages(pdf)[0][1]
    assert "Робототехника: старт" in text
    assert "from Łódź Makerspace" in text


def test_sloppily_stored_fallbacks_are_printed_in_canonical_form() -> None:
    card = make_cards(1)[0]
    sloppy = Card(url=card.url, fallback=card.fallback.lower())
    pdf = single_use_cards_pdf(badge_name="Badge", issuer_name="Museum", cards=[sloppy], code_entry_address=ADDRESS)
    assert format_fallback(card.fallback) in read_pages(pdf)[0][1]


def test_bad_requests_are_refused() -> None:
    cards = make_cards(1)
    with pytest.raises(ValueError, match="page"):
        single_use_cards_pdf(badge_name="B", issuer_name="I", cards=cards, code_entry_address=ADDRESS, page="A3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no cards"):
        single_use_cards_pdf(badge_name="B", issuer_name="I", cards=[], code_entry_address=ADDRESS)
    with pytest.raises(ValueError, match="empty"):
        single_use_cards_pdf(badge_name="  ", issuer_name="I", cards=cards, code_entry_address=ADDRESS)
    typo = Card(url=cards[0].url, fallback=cards[0].fallback[:-1] + ("0" if cards[0].fallback[-1] != "0" else "1"))
    with pytest.raises(InvalidClaimCode):
        single_use_cards_pdf(badge_name="B", issuer_name="I", cards=[typo], code_entry_address=ADDRESS)
