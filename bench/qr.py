"""Measure QR versions of claim URLs: the table in docs/claim-codes.md comes from this script.

Run: ``PYTHONPATH=client_sdk:. .venv/bin/python bench/qr.py``. It prints, for each token kind and a few
base URLs, the URL length and QR version at each error-correction level (as the server draws it:
upper-case alphanumeric), then the URL with its host left lower-case (a byte segment for the host,
alphanumeric for the token) for comparison, and finally
the longest base URL (host only) that still fits a given version, plus render timings.
"""

from __future__ import annotations

import time

from wallet_protocol.claim_codes import claim_url, mint_session_token, mint_single_use_token

from wallet.qr.render import qr_version, render_png, render_svg

KEY = bytes(range(32))
PUBLIC_ID = "H0JX1131"
TOKENS = {
    "single-use": mint_single_use_token(KEY, code_public_id=PUBLIC_ID),
    "shared": mint_session_token(KEY, session_public_id=PUBLIC_ID, step=None),
    "rotating": mint_session_token(KEY, session_public_id=PUBLIC_ID, step=56_666_666),
}
BASES = [
    "http://127.0.0.1:5000",
    "https://wallet.example.org",
    "https://wallet.citiesoflearning.org",
    "https://badges.chicagocityoflearning.org",
    "https://wallet.citiesoflearning.org/learner-wallet",
]
LEVELS = ("L", "M", "Q", "H")


def versions(url: str) -> str:
    return " ".join(f"{level}:{qr_version(url, level):>2}" for level in LEVELS)


def longest_host(token: str, level: str, max_version: int, *, lower: bool = False) -> int:
    """Longest host for which the claim URL fits ``max_version`` (as drawn, or with a lower-case host)."""

    def url(host: str) -> str:
        return f"https://{host}/c/{token}" if lower else claim_url(f"https://{host}", token)

    length = 1
    while qr_version(url("a" * (length + 1)), level) <= max_version:
        length += 1
    return length


def main() -> None:
    print(f"{'kind':<10} {'base URL':<52} {'chars':>5}  alphanumeric (as drawn)   lower-case host, /c/ (mixed)")
    for kind, token in TOKENS.items():
        for base in BASES:
            url = claim_url(base, token)
            lower = f"{base}/c/{token}"
            print(f"{kind:<10} {base:<52} {len(url):>5}  {versions(url)}   {versions(lower)}")
    print()
    print("longest base URL https://<host> (chars, scheme included) that fits:")
    print(f"{'kind':<10} {'v4 at M':>8} {'v5 at M':>8} {'v5 at Q':>8} {'v6 at M':>8}")
    for kind, token in TOKENS.items():
        cells = [len("https://") + longest_host(token, lv, v) for lv, v in (("M", 4), ("M", 5), ("Q", 5), ("M", 6))]
        mixed = len("https://") + longest_host(token, "M", 5, lower=True)
        print(f"{kind:<10} " + " ".join(f"{c:>8}" for c in cells) + f"   (lower-case host, v5 at M: {mixed})")
    print()
    url = claim_url("https://wallet.citiesoflearning.org", TOKENS["rotating"])
    for name, draw in (("png", render_png), ("svg", render_svg)):
        start = time.perf_counter()
        for _ in range(200):
            size = len(draw(url))
        per = (time.perf_counter() - start) / 200 * 1000
        print(f"render_{name}: {per:.2f} ms per image, {size} bytes (rotating URL, M, box 10)")


if __name__ == "__main__":
    main()
