"""The reason-code enum is a wire contract: every code has one outcome, and codes keep their spelling."""

from __future__ import annotations

import re

from wallet.credentials import reasons
from wallet.credentials.reasons import Reason

CHECKS = ("proof", "issuer_key", "validity", "status", "shape", "credential")


def test_every_code_belongs_to_exactly_one_outcome() -> None:
    sets = (reasons.PASSED, reasons.FAILED, reasons.INDETERMINATE, reasons.SKIPPED, reasons.WARNINGS)
    for reason in Reason:
        assert sum(reason in group for group in sets) == 1, reason
    assert set(reasons.OUTCOME_OF) == set(Reason)


def test_codes_name_their_check_and_are_lowercase_words() -> None:
    for reason in Reason:
        check, _, what = reason.value.partition(".")
        assert check in CHECKS, reason
        assert re.fullmatch(r"[a-z][a-z_]*", what), reason


def test_codes_clients_already_rely_on_keep_their_spelling() -> None:
    assert Reason.PROOF_SIGNATURE_MISMATCH == "proof.signature_mismatch"
    assert Reason.PROOF_CRYPTOSUITE_UNSUPPORTED == "proof.cryptosuite_unsupported"
    assert Reason.STATUS_REVOKED == "status.revoked"
    assert Reason.STATUS_SUSPENDED == "status.suspended"
    assert Reason.VALIDITY_EXPIRED == "validity.expired"
