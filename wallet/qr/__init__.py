"""QR codes for claim sessions: PNG/SVG images for the display page and printable single-use cards.

The payloads (claim URLs, typed fallbacks) come from ``wallet_protocol.claim_codes``; this package only
draws them. See docs/claim-codes.md for the measured QR versions.
"""

from wallet.qr.render import QrOptions, etag_for, qr_version, render, render_png, render_svg

__all__ = ["QrOptions", "etag_for", "qr_version", "render", "render_png", "render_svg"]
