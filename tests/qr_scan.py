"""Reading our QR codes as a phone's camera does: with a real decoder (zxing-cpp), QR symbols only.

Why only QR: a decoder told to look for every symbology finds a "barcode" in other ink now and then.
A card's printed fallback code, or a stretch of a QR's own modules, can read as a short linear code
("2488"). A learner's camera app looks for QR codes, so the tests do too.
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def scan(image: Image.Image | bytes) -> list[zxingcpp.Barcode]:
    """Every QR code in ``image`` (a PIL image, or PNG bytes)."""
    if isinstance(image, bytes):
        image = Image.open(io.BytesIO(image))
    return list(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))


def scan_texts(image: Image.Image | bytes) -> list[str]:
    """The text of every QR code in ``image``."""
    return [code.text for code in scan(image)]
