"""Printable single-use claim cards: a PDF the youth worker prints, cuts and hands out, one card per learner.

Each card carries the badge name, whom it is from, the QR (claim URL) and the typed fallback in large
monospace, with a few words telling the learner what to do with each. Eight cards per A4 or US Letter
page (two columns, four rows), with light dashed cut lines. Long names wrap to two lines and are then
shortened with an ellipsis, so a card never spills into its neighbour.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.enums import MethodReturnValue
from wallet_protocol.claim_codes import format_fallback

from wallet.qr.render import render_png

__all__ = ["CARDS_PER_PAGE", "Card", "single_use_cards_pdf"]

PageSize = Literal["A4", "Letter"]

_FONTS = Path(__file__).with_name("fonts")
_PAGE_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
COLUMNS, ROWS = 2, 4
CARDS_PER_PAGE = COLUMNS * ROWS
_MARGIN = 8.0  # most office printers cannot print the outer 4-6 mm
_PAD = 5.0
_ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Card:
    """One printed card: the claim URL for its QR and its typed fallback (any accepted spelling)."""

    url: str
    fallback: str


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _fit_lines(pdf: FPDF, text: str, width: float, max_lines: int) -> list[str]:
    """``text`` wrapped to ``width`` in the current font, at most ``max_lines``, the last one ellipsised."""
    lines: list[str] = pdf.multi_cell(width, text=text, dry_run=True, output=MethodReturnValue.LINES)
    if len(lines) <= max_lines:
        return lines
    last = lines[max_lines - 1]
    while last and pdf.get_string_width(last.rstrip() + _ELLIPSIS) > width:
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip() + _ELLIPSIS]


def _new_pdf(page: PageSize, badge_name: str) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format=_PAGE_MM[page])
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)
    pdf.c_margin = 0  # cells draw text flush with x, and wrapping uses the full width given
    pdf.add_font("DejaVu", "", str(_FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Claim cards: {badge_name}")
    pdf.set_creator("Learner Wallet")
    return pdf


def single_use_cards_pdf(
    *,
    badge_name: str,
    issuer_name: str,
    cards: list[Card],
    code_entry_address: str,
    page: PageSize = "A4",
    venue: str = "",
    when: str = "",
) -> bytes:
    """The PDF for ``cards``, eight per page, in the order given.

    ``venue`` and ``when`` (the session's place and start, as the organisation reads them) are printed
    under the issuer's name when given, so a card found later says where it was handed out.

    ``code_entry_address`` is where a learner types the fallback, printed as given (for example
    ``wallet.citiesoflearning.org/code``). Raises ``ValueError`` for an unknown page size, no cards,
    empty names or a fallback that fails its check character.
    """
    if page not in _PAGE_MM:
        raise ValueError(f"page must be one of {sorted(_PAGE_MM)}, got {page!r}")
    badge_name, issuer_name = _one_line(badge_name), _one_line(issuer_name)
    if not badge_name or not issuer_name:
        raise ValueError("badge_name and issuer_name must not be empty")
    if not cards:
        raise ValueError("there are no cards to print")
    printed_codes = [format_fallback(card.fallback) for card in cards]
    code_entry_address = _one_line(code_entry_address)

    pdf = _new_pdf(page, badge_name)
    page_w, page_h = _PAGE_MM[page]
    card_w = (page_w - 2 * _MARGIN) / COLUMNS
    card_h = (page_h - 2 * _MARGIN) / ROWS
    for index, (card, code) in enumerate(zip(cards, printed_codes, strict=True)):
        if index % CARDS_PER_PAGE == 0:
            pdf.add_page()
        slot = index % CARDS_PER_PAGE
        x = _MARGIN + (slot % COLUMNS) * card_w
        y = _MARGIN + (slot // COLUMNS) * card_h
        _draw_card(
            pdf,
            x,
            y,
            card_w,
            card_h,
            badge_name,
            issuer_name,
            card.url,
            code,
            code_entry_address,
            place=" · ".join(part for part in (_one_line(venue), _one_line(when)) if part),
        )
    return bytes(pdf.output())


def _draw_card(
    pdf: FPDF,
    x: float,
    y: float,
    w: float,
    h: float,
    badge_name: str,
    issuer_name: str,
    url: str,
    code: str,
    code_entry_address: str,
    place: str = "",
) -> None:
    pdf.set_draw_color(170, 170, 170)
    pdf.set_line_width(0.2)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=1.5, gap=1.5)
        pdf.rect(x, y, w, h)

    inner_w = w - 2 * _PAD
    top = y + _PAD
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "B", 12)
    for line in _fit_lines(pdf, badge_name, inner_w, 2):
        pdf.set_xy(x + _PAD, top)
        pdf.cell(inner_w, 5.2, line)
        top += 5.2
    pdf.set_font("DejaVu", "", 8)
    pdf.set_text_color(80, 80, 80)
    pdf.set_xy(x + _PAD, top + 0.5)
    pdf.cell(inner_w, 4, _fit_lines(pdf, f"from {issuer_name}", inner_w, 1)[0])
    top += 4.5
    if place:
        pdf.set_xy(x + _PAD, top)
        pdf.cell(inner_w, 4, _fit_lines(pdf, place, inner_w, 1)[0])
        top += 4.0
    top += 2.0

    qr_size = min(y + h - _PAD - top, inner_w * 0.55)
    png = render_png(url, box_size=8, border=4, error_correction="M")
    pdf.image(io.BytesIO(png), x=x + _PAD - 2, y=top - 1, w=qr_size, h=qr_size)

    col_x = x + _PAD + qr_size + 1
    col_w = x + w - _PAD - col_x
    line_y = top + 2

    def say(text: str, *, size: float, style: str = "", grey: int = 60, max_lines: int = 2) -> None:
        nonlocal line_y
        pdf.set_font("DejaVu", style, size)
        pdf.set_text_color(grey, grey, grey)
        for line in _fit_lines(pdf, text, col_w, max_lines):
            pdf.set_xy(col_x, line_y)
            pdf.cell(col_w, size * 0.45, line)
            line_y += size * 0.45

    say("Scan the code with your phone camera.", size=8.5, grey=0)
    line_y += 3
    say("No camera? Go to", size=7.5)
    address_size = 7.5
    pdf.set_font("DejaVu", "B", address_size)
    while pdf.get_string_width(code_entry_address) > col_w and address_size > 5.5:
        address_size -= 0.25
        pdf.set_font_size(address_size)
    say(code_entry_address, size=address_size, style="B", grey=0)
    say("and type:", size=7.5)

    pdf.set_text_color(0, 0, 0)
    pdf.set_font("Courier", "B", 16)
    while pdf.get_string_width(code) > col_w and pdf.font_size_pt > 9:
        pdf.set_font_size(pdf.font_size_pt - 0.5)
    pdf.set_xy(col_x, line_y + 1)
    pdf.cell(col_w, 8, code)
