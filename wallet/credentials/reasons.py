"""Reason codes: why each verification check came out as it did, as stable machine-readable strings.

Every :class:`~wallet.credentials.verify.CheckResult` carries one :class:`Reason` (``reason`` in the
report's JSON) next to its outcome and its words (``detail``). Programs — the share page's verdict, the
holding and sharing services, API clients, ``wallet verify --json`` — decide on the code, never on the
words, which may be reworded at any time. Codes are never renamed or reused; new ones may be added, so a
consumer must treat an unknown code by its check's ``outcome``.

A code is ``<check>.<what>``, where ``<check>`` is the check it belongs to (``proof``, ``issuer_key``,
``validity``, ``status``, ``shape``) or ``credential`` for what concerns the credential as a whole.
:data:`OUTCOME_OF` says which outcome each code comes with; the verdict rules (docs/credentials.md,
"Verdicts") are:

* **failed** (the credential is *invalid*) only with evidence against it: a signature that does not
  verify, a tampered document, dates that rule it out, a revocation or suspension, a key provably not
  the issuer's, something that is not a credential at all;
* **indeterminate** (*could not check*) whenever we cannot decide: a cryptosuite, algorithm or DID method
  we do not implement, an issuer or key we cannot resolve, a status list we cannot fetch or trust;
* **warnings** (``warnings`` in the report, outcome unaffected) for conformance problems 1EdTech's
  validator treats as warnings or its official JSON schema does not require.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a check came out as it did (the value is the wire string)."""

    # proof — the signature
    PROOF_VERIFIED = "proof.verified"
    PROOF_MISSING = "proof.missing"
    PROOF_MALFORMED = "proof.malformed"
    PROOF_PURPOSE_MISMATCH = "proof.purpose_mismatch"
    PROOF_SIGNATURE_MISMATCH = "proof.signature_mismatch"
    PROOF_UNDEFINED_TERMS = "proof.undefined_terms"
    PROOF_NOT_CANONICALISABLE = "proof.not_canonicalisable"
    PROOF_CONTEXT_UNKNOWN = "proof.context_unknown"
    PROOF_TOO_COMPLEX = "proof.too_complex"
    PROOF_CRYPTOSUITE_UNSUPPORTED = "proof.cryptosuite_unsupported"
    PROOF_TYPE_UNSUPPORTED = "proof.type_unsupported"
    PROOF_CHAIN_UNSUPPORTED = "proof.chain_unsupported"
    PROOF_ALGORITHM_UNSUPPORTED = "proof.algorithm_unsupported"
    PROOF_ALGORITHM_FORBIDDEN = "proof.algorithm_forbidden"
    PROOF_KEY_UNRESOLVABLE = "proof.key_unresolvable"
    PROOF_KEY_INVALID = "proof.key_invalid"
    PROOF_KEY_TYPE_MISMATCH = "proof.key_type_mismatch"
    PROOF_DID_METHOD_UNSUPPORTED = "proof.did_method_unsupported"
    PROOF_JWT_MALFORMED = "proof.jwt_malformed"
    PROOF_JWT_CLAIM_MISMATCH = "proof.jwt_claim_mismatch"
    PROOF_HOSTED_VERIFIED = "proof.hosted_verified"
    PROOF_HOSTED_MISMATCH = "proof.hosted_mismatch"

    # issuer_key — the signing key belongs to the issuer
    ISSUER_KEY_IS_ISSUER_DID = "issuer_key.is_issuer_did"
    ISSUER_KEY_LISTED = "issuer_key.listed"
    ISSUER_KEY_NOT_LISTED = "issuer_key.not_listed"
    ISSUER_KEY_OTHER_DID = "issuer_key.other_did"
    ISSUER_KEY_NO_ISSUER = "issuer_key.no_issuer"
    ISSUER_KEY_ISSUER_UNRESOLVABLE = "issuer_key.issuer_unresolvable"
    ISSUER_KEY_ISSUER_NOT_DEREFERENCEABLE = "issuer_key.issuer_not_dereferenceable"
    ISSUER_KEY_DID_METHOD_UNSUPPORTED = "issuer_key.did_method_unsupported"
    ISSUER_KEY_NOT_CHECKED = "issuer_key.not_checked"

    # validity — the dates
    VALIDITY_CURRENT = "validity.current"
    VALIDITY_EXPIRED = "validity.expired"
    VALIDITY_NOT_YET_VALID = "validity.not_yet_valid"
    VALIDITY_MALFORMED_DATE = "validity.malformed_date"
    VALIDITY_MISSING_ISSUANCE_DATE = "validity.missing_issuance_date"
    VALIDITY_NOT_CHECKED = "validity.not_checked"

    # status — revocation, suspension, status messages
    STATUS_ACTIVE = "status.active"
    STATUS_MESSAGE = "status.message"
    STATUS_NONE = "status.none"
    STATUS_REVOKED = "status.revoked"
    STATUS_SUSPENDED = "status.suspended"
    STATUS_UNREACHABLE = "status.unreachable"
    STATUS_LIST_INVALID = "status.list_invalid"
    STATUS_LIST_NOT_CURRENT = "status.list_not_current"
    STATUS_ENTRY_MALFORMED = "status.entry_malformed"
    STATUS_TYPE_UNSUPPORTED = "status.type_unsupported"
    STATUS_NOT_CHECKED = "status.not_checked"

    # shape — the properties the standards require
    SHAPE_CONFORMS = "shape.conforms"
    SHAPE_NOT_A_CREDENTIAL = "shape.not_a_credential"
    SHAPE_NOT_AN_OPEN_BADGE = "shape.not_an_open_badge"
    SHAPE_NOT_CHECKED = "shape.not_checked"

    # warnings — conformance problems that do not change the outcome
    SHAPE_SUBJECT_UNIDENTIFIED = "shape.subject_unidentified"
    SHAPE_CREDENTIAL_ID_MISSING = "shape.credential_id_missing"
    PROOF_CRYPTOSUITE_ALIAS = "proof.cryptosuite_alias"

    # the credential as a whole
    CREDENTIAL_UNREADABLE = "credential.unreadable"
    CREDENTIAL_OFFLINE = "credential.offline"
    CREDENTIAL_NOT_CHECKED = "credential.not_checked"


PASSED = frozenset(
    {
        Reason.PROOF_VERIFIED,
        Reason.PROOF_HOSTED_VERIFIED,
        Reason.ISSUER_KEY_IS_ISSUER_DID,
        Reason.ISSUER_KEY_LISTED,
        Reason.VALIDITY_CURRENT,
        Reason.STATUS_ACTIVE,
        Reason.STATUS_MESSAGE,
        Reason.SHAPE_CONFORMS,
    }
)
FAILED = frozenset(
    {
        Reason.PROOF_MISSING,
        Reason.PROOF_MALFORMED,
        Reason.PROOF_PURPOSE_MISMATCH,
        Reason.PROOF_SIGNATURE_MISMATCH,
        Reason.PROOF_UNDEFINED_TERMS,
        Reason.PROOF_NOT_CANONICALISABLE,
        Reason.PROOF_ALGORITHM_FORBIDDEN,
        Reason.PROOF_KEY_INVALID,
        Reason.PROOF_KEY_TYPE_MISMATCH,
        Reason.PROOF_JWT_MALFORMED,
        Reason.PROOF_JWT_CLAIM_MISMATCH,
        Reason.PROOF_HOSTED_MISMATCH,
        Reason.ISSUER_KEY_NOT_LISTED,
        Reason.ISSUER_KEY_OTHER_DID,
        Reason.ISSUER_KEY_NO_ISSUER,
        Reason.VALIDITY_EXPIRED,
        Reason.VALIDITY_NOT_YET_VALID,
        Reason.VALIDITY_MALFORMED_DATE,
        Reason.VALIDITY_MISSING_ISSUANCE_DATE,
        Reason.STATUS_REVOKED,
        Reason.STATUS_SUSPENDED,
        Reason.SHAPE_NOT_A_CREDENTIAL,
        Reason.SHAPE_NOT_AN_OPEN_BADGE,
        Reason.CREDENTIAL_UNREADABLE,
    }
)
INDETERMINATE = frozenset(
    {
        Reason.PROOF_CONTEXT_UNKNOWN,
        Reason.PROOF_TOO_COMPLEX,
        Reason.PROOF_CRYPTOSUITE_UNSUPPORTED,
        Reason.PROOF_TYPE_UNSUPPORTED,
        Reason.PROOF_CHAIN_UNSUPPORTED,
        Reason.PROOF_ALGORITHM_UNSUPPORTED,
        Reason.PROOF_KEY_UNRESOLVABLE,
        Reason.PROOF_DID_METHOD_UNSUPPORTED,
        Reason.ISSUER_KEY_ISSUER_UNRESOLVABLE,
        Reason.ISSUER_KEY_ISSUER_NOT_DEREFERENCEABLE,
        Reason.ISSUER_KEY_DID_METHOD_UNSUPPORTED,
        Reason.STATUS_UNREACHABLE,
        Reason.STATUS_LIST_INVALID,
        Reason.STATUS_LIST_NOT_CURRENT,
        Reason.STATUS_ENTRY_MALFORMED,
        Reason.STATUS_TYPE_UNSUPPORTED,
        Reason.CREDENTIAL_OFFLINE,
        Reason.CREDENTIAL_NOT_CHECKED,
    }
)
SKIPPED = frozenset(
    {
        Reason.STATUS_NONE,
        Reason.ISSUER_KEY_NOT_CHECKED,
        Reason.VALIDITY_NOT_CHECKED,
        Reason.STATUS_NOT_CHECKED,
        Reason.SHAPE_NOT_CHECKED,
    }
)
WARNINGS = frozenset(
    {Reason.SHAPE_SUBJECT_UNIDENTIFIED, Reason.SHAPE_CREDENTIAL_ID_MISSING, Reason.PROOF_CRYPTOSUITE_ALIAS}
)

OUTCOME_OF: dict[Reason, str] = {
    **{reason: "passed" for reason in PASSED},
    **{reason: "failed" for reason in FAILED},
    **{reason: "indeterminate" for reason in INDETERMINATE},
    **{reason: "skipped" for reason in SKIPPED},
    **{reason: "warning" for reason in WARNINGS},
}
"""The outcome each code is used with (``warning`` for codes that only appear in ``warnings``).

``credential.offline`` and ``credential.not_checked`` may stand on any check, ``proof.signature_mismatch``
and the ``status.*`` codes on the OB 2.0 checks too; a test checks every code is in exactly one set."""
