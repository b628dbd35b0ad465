"""Signs and verifies per second for a typical OB 3.0 OpenBadgeCredential, beside raw Ed25519.

Run: ``.venv/bin/python bench/credentials.py [iterations]`` (default 200). The credential uses the
VC 2.0 and OB 3.0.3 contexts, an issuer Profile, an AchievementSubject with an embedded Achievement and a
BitstringStatusListEntry. The "cold" row canonicalises once with a fresh loader, i.e. with the contexts
still to be parsed and processed; every other row runs warm, as a long-lived server process does.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import base58
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wallet.credentials.dataintegrity import CRYPTOSUITES, ECDSA_CRYPTOSUITES, hash_data, sign, verify
from wallet.credentials.jsonld import BUNDLED_CONTEXTS, CONTEXTS_DIR, ContextLoader, canonize
from wallet.credentials.multikey import (
    did_key_for,
    did_key_for_public_key,
    public_key_from_did_key,
    resolve_did_key,
    verification_method_id,
)
from wallet.credentials.verify import verify_credential

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
CREATED = "2024-05-01T12:00:00Z"


def open_badge() -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:0b3d4c1e-7f0a-4a51-9a57-9b8d6f2f0c11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": did_key_for(KEY),
            "type": ["Profile"],
            "name": "Example University",
            "url": "https://example.edu",
            "email": "badges@example.edu",
        },
        "validFrom": "2024-05-01T00:00:00Z",
        "name": "Teamwork",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://example.edu/achievements/teamwork",
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": "Teamwork",
                "description": "Collaborates within a group to reach a shared goal.",
                "criteria": {"narrative": "Nominated by peers and confirmed by a tutor."},
                "image": {"id": "https://example.edu/badges/teamwork.png", "type": "Image"},
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": "Collaboration",
                        "targetUrl": "https://example.org/frameworks/collaboration",
                    }
                ],
            },
        },
        "credentialStatus": {
            "id": "https://example.edu/status/1#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://example.edu/status/1",
        },
    }


def sign_with(loader: ContextLoader, credential: dict[str, Any], *, method: str, created: str = CREATED) -> str:
    """``eddsa-rdfc-2022``'s proofValue computed step by step with ``loader``: both canonicalisations every time."""
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": created,
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
        "@context": credential["@context"],
    }
    data = hash_data(canonize(proof, loader=loader), canonize(credential, loader=loader))
    return "z" + base58.b58encode(KEY.sign(data)).decode("ascii")


def old_and_new_signing(credential: dict[str, Any], iterations: int) -> list[tuple[str, int, float, float]]:
    """Sign three ways in one run: pyld's caching alone (the oldest path), processed contexts remembered
    (both canonicalisations every time), and ``sign`` itself, which also remembers each issuer's canonical
    proof configuration but the time (``dataintegrity._ProofConfigTemplates``).

    They alternate in rounds of 10, so a machine that gets busier halfway slows all alike; all give the
    same proofValue (checked, with a new ``created`` each round), so the speed-ups change no byte.
    """
    files = {url: CONTEXTS_DIR / name for url, name in BUNDLED_CONTEXTS.items()}
    old = ContextLoader(files, remember_processed=False)
    new = ContextLoader(files)
    method = verification_method_id(KEY)

    def library(created: str) -> str:
        signed = sign(credential, private_key=KEY, verification_method=method, created=created)
        return str(signed["proof"]["proofValue"])

    ways: dict[str, Callable[[str], str]] = {
        "old": lambda created: sign_with(old, credential, method=method, created=created),
        "contexts": lambda created: sign_with(new, credential, method=method, created=created),
        "sign": library,
    }
    totals = {name: [0.0, 0.0] for name in ways}
    rounds = max(1, iterations // 10)
    for round_no in range(rounds):
        created = f"2024-05-01T12:{round_no // 60 % 60:02d}:{round_no % 60:02d}Z"
        assert len({way(created) for way in ways.values()}) == 1, "the ways must sign byte for byte alike"
        for name, way in ways.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(10):
                way(created)
            totals[name][0] += time.perf_counter() - wall
            totals[name][1] += time.process_time() - cpu
    runs = rounds * 10
    return [
        ("sign eddsa-rdfc-2022, old path (pyld caches only)", runs, *totals["old"]),
        ("sign eddsa-rdfc-2022, processed contexts kept", runs, *totals["contexts"]),
        ("sign(): contexts kept + proof configuration remembered", runs, *totals["sign"]),
    ]


def timed(iterations: int, operation: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        operation()
    return time.perf_counter() - start


NOW = datetime(2025, 6, 1, tzinfo=UTC)


def main(iterations: int) -> None:
    credential = open_badge()
    method = verification_method_id(KEY)
    message = b"x" * 64
    raw_signature = KEY.sign(message)
    public_key = KEY.public_key()

    fresh = ContextLoader({url: CONTEXTS_DIR / name for url, name in BUNDLED_CONTEXTS.items()})
    cold = timed(1, lambda: canonize(credential, loader=fresh))
    rows: list[tuple[str, int, float]] = [("canonicalise, cold contexts (RDFC-1.0)", 1, cold)]
    rows.append(("canonicalise, warm (RDFC-1.0)", iterations, timed(iterations, lambda: canonize(credential))))
    for suite in CRYPTOSUITES:
        signed = sign(credential, private_key=KEY, verification_method=method, created=CREATED, cryptosuite=suite)
        assert verify(signed, resolve_key=resolve_did_key).ok

        def sign_once(suite: str = suite) -> object:
            return sign(credential, private_key=KEY, verification_method=method, created=CREATED, cryptosuite=suite)

        def verify_once(signed: dict[str, Any] = signed) -> object:
            return verify(signed, resolve_key=resolve_did_key)

        rows.append((f"sign {suite}", iterations, timed(iterations, sign_once)))
        rows.append((f"verify {suite}", iterations, timed(iterations, verify_once)))
    for curve in (ec.SECP256R1(), ec.SECP384R1()):
        ec_key = ec.generate_private_key(curve)
        did = did_key_for_public_key(ec_key.public_key())
        ec_method = f"{did}#{did.removeprefix('did:key:')}"
        for suite in ECDSA_CRYPTOSUITES:
            ec_signed = sign(
                credential, private_key=ec_key, verification_method=ec_method, created=CREATED, cryptosuite=suite
            )
            assert verify(ec_signed, resolve_key=public_key_from_did_key).ok

            def verify_ec(ec_signed: dict[str, Any] = ec_signed) -> object:
                return verify(ec_signed, resolve_key=public_key_from_did_key)

            rows.append((f"verify {suite} {curve.name}", iterations, timed(iterations, verify_ec)))
    full = sign(credential, private_key=KEY, verification_method=method, created=CREATED)
    rows.append(
        (
            "verify_credential (all 5 checks, offline)",
            iterations,
            timed(iterations, lambda: verify_credential(full, now=NOW, fetch_json=None)),
        )
    )
    rows.append(("raw Ed25519 sign (64 bytes)", iterations * 10, timed(iterations * 10, lambda: KEY.sign(message))))
    rows.append(
        (
            "raw Ed25519 verify (64 bytes)",
            iterations * 10,
            timed(iterations * 10, lambda: public_key.verify(raw_signature, message)),
        )
    )

    print("Signing, old path beside new (alternating rounds; CPU = this process's CPU time):")
    print(f"{'operation':<56} {'runs':>6} {'ms/op':>9} {'CPU ms/op':>10}")
    for name, runs, wall, cpu in old_and_new_signing(credential, iterations):
        print(f"{name:<56} {runs:>6} {wall / runs * 1000:>9.3f} {cpu / runs * 1000:>10.3f}")
    print()
    print(f"{'operation':<42} {'runs':>6} {'ms/op':>9} {'ops/s':>9}")
    for name, runs, seconds in rows:
        print(f"{name:<42} {runs:>6} {seconds / runs * 1000:>9.3f} {runs / seconds:>9.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
