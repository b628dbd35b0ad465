"""Offline JSON-LD: pinned contexts, canonical N-Quads equal to the spec vectors, nothing dropped silently."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallet.credentials.jsonld import (
    BUNDLED_CONTEXTS,
    CONTEXTS_DIR,
    OB_V3P0_CONTEXT_3_0_3,
    CanonicalisationLimitError,
    ContextLoader,
    DataLossError,
    InvalidJsonLdError,
    NonPortableTermError,
    UnknownContextError,
    assert_portable,
    canonize,
    document_loader,
    escape_literal,
)

VECTORS = Path(__file__).parents[1] / "vectors"
EDDSA = VECTORS / "w3c-vc-di-eddsa"
OB = VECTORS / "1edtech-ob-v3p0"
ALTERNATIVES = VECTORS / "ob-v3p0-3.0.3-alternative-contexts"
CONTEXT = ["https://www.w3.org/ns/credentials/v2", OB_V3P0_CONTEXT_3_0_3]


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def impl_guide_credential() -> dict[str, Any]:
    credential = load(OB / "ob30-impl-guide-ldp-signed-credential.json")
    del credential["proof"]
    return credential


def loader_with_ob_3_0_3_copy(path: Path) -> ContextLoader:
    files = {url: CONTEXTS_DIR / name for url, name in BUNDLED_CONTEXTS.items()}
    files[OB_V3P0_CONTEXT_3_0_3] = path
    return ContextLoader(files)


# Bundled contexts


def test_every_bundled_context_matches_the_sha256_in_its_readme() -> None:
    readme = (CONTEXTS_DIR / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\| ([\w.-]+\.jsonl?d?) \| .*? \| ([0-9a-f]{64}) \|", readme))
    for name in set(BUNDLED_CONTEXTS.values()):
        digest = hashlib.sha256((CONTEXTS_DIR / name).read_bytes()).hexdigest()
        assert listed.get(name) == digest, name


def test_loader_serves_a_bundled_context_as_a_fresh_copy() -> None:
    first = document_loader("https://www.w3.org/ns/credentials/v2")
    first["document"]["@context"]["tampered"] = "https://evil.example/"
    second = document_loader("https://www.w3.org/ns/credentials/v2")
    assert "tampered" not in second["document"]["@context"]
    assert second["documentUrl"] == "https://www.w3.org/ns/credentials/v2"


def test_unknown_context_is_refused_without_touching_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    document = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://evil.example/ctx"], "id": "urn:x"}

    with pytest.raises(UnknownContextError) as raised:
        canonize(document)

    assert raised.value.url == "https://evil.example/ctx"
    assert str(raised.value) == "unknown context https://evil.example/ctx"
    with pytest.raises(UnknownContextError):
        document_loader("https://w3id.org/citizenship/v4rc1")


# Canonical N-Quads equal to the specification vectors


def test_w3c_alumni_credential_canonicalises_to_the_vector() -> None:
    expected = (EDDSA / "eddsa-rdfc-2022" / "canonDocDataInt.txt").read_text(encoding="utf-8")
    assert canonize(load(EDDSA / "unsigned.json")) == expected


def test_w3c_proof_configuration_canonicalises_to_the_vector() -> None:
    expected = (EDDSA / "eddsa-rdfc-2022" / "proofCanonDataInt.txt").read_text(encoding="utf-8")
    assert canonize(load(EDDSA / "eddsa-rdfc-2022" / "proofConfigDataInt.json")) == expected


def test_1edtech_implementation_guide_credential_canonicalises_to_its_vector() -> None:
    signed = load(OB / "ob30-impl-guide-ldp-signed-credential.json")
    proof = signed.pop("proof")
    proof_config = {k: v for k, v in proof.items() if k != "proofValue"} | {"@context": signed["@context"]}

    assert canonize(signed) == (OB / "document-canon.txt").read_text(encoding="utf-8")
    assert canonize(proof_config) == (OB / "proof-canon.txt").read_text(encoding="utf-8")


# Nothing is dropped silently


def test_undefined_property_is_reported_by_name() -> None:
    credential = impl_guide_credential()
    credential["credentialSubject"]["favouriteColour"] = "green"

    with pytest.raises(DataLossError) as raised:
        canonize(credential)

    assert raised.value.terms == ("favouriteColour",)
    assert str(raised.value) == "undefined term favouriteColour"


def test_undefined_top_level_property_under_credentials_v2_is_reported() -> None:
    document = load(EDDSA / "unsigned.json")
    document["@context"] = ["https://www.w3.org/ns/credentials/v2"]

    with pytest.raises(DataLossError) as raised:
        canonize(document)

    assert set(raised.value.terms) == {"alumniOf", "AlumniCredential"}


def test_undefined_type_and_relative_id_are_reported() -> None:
    document = {
        "@context": {"name": "https://schema.org/name", "kind": "@type", "ident": "@id"},
        "ident": "badge-1",
        "kind": "Badge",
        "name": "x",
    }

    with pytest.raises(DataLossError) as raised:
        canonize(document)

    assert set(raised.value.terms) == {"Badge", "badge-1"}


def test_term_mapped_to_null_is_reported_by_name() -> None:
    document = {"@context": {"name": "https://schema.org/name", "secret": None}, "name": "x", "secret": "y"}

    with pytest.raises(DataLossError) as raised:
        canonize(document)

    assert raised.value.terms == ("secret",)


# String literals use RDFC-1.0's canonical escapes


def test_control_characters_are_escaped_as_canonical_n_quads() -> None:
    text = 'tab\there\bback\fform\x00nul\x7fdel\x1funit"quote\\slash\nnew\rret é\u2028'
    document = {"@context": {"@vocab": "https://schema.org/"}, "@id": "urn:x", "name": text}

    assert canonize(document) == (
        '<urn:x> <https://schema.org/name> "tab\\there\\bback\\fform\\u0000nul\\u007Fdel\\u001Funit'
        '\\"quote\\\\slash\\nnew\\rret é\u2028" .\n'
    )


@given(st.text())
def test_escaped_literal_reads_back_and_holds_no_raw_control_character(text: str) -> None:
    escaped = escape_literal(text)

    assert re.search(r"[\x00-\x1f\x7f]", escaped) is None
    # JSON strings use exactly the ECHAR/UCHAR set of canonical N-Quads literals.
    assert json.loads('"' + escaped + '"') == text


# The three copies of OB context-3.0.3


def test_credential_using_awarded_date_canonicalises_differently_under_the_dcc_copy() -> None:
    credential = impl_guide_credential()
    credential["awardedDate"] = "2024-05-01T00:00:00Z"
    dcc = loader_with_ob_3_0_3_copy(ALTERNATIVES / "ob-v3p0-context-3.0.3.dcc-npm-2024-01.json")

    bundled = canonize(credential)
    with pytest.raises(DataLossError) as raised:
        canonize(credential, loader=dcc)

    assert "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#awardedDate>" in bundled
    assert raised.value.terms == ("awardedDate",)


def test_credential_using_jti_only_canonicalises_under_the_validator_copy() -> None:
    credential = impl_guide_credential()
    credential["jti"] = "urn:uuid:1"
    validator = loader_with_ob_3_0_3_copy(ALTERNATIVES / "ob-v3p0-3.0.3.1edtech-validator.json")

    assert "jti" in canonize(credential, loader=validator)
    with pytest.raises(DataLossError):
        canonize(credential)


def test_credential_avoiding_the_unsafe_terms_is_identical_under_all_three_copies() -> None:
    credential = impl_guide_credential()
    outputs = {
        canonize(credential),
        canonize(credential, loader=loader_with_ob_3_0_3_copy(ALTERNATIVES / "ob-v3p0-3.0.3.1edtech-validator.json")),
        canonize(
            credential,
            loader=loader_with_ob_3_0_3_copy(ALTERNATIVES / "ob-v3p0-context-3.0.3.dcc-npm-2024-01.json"),
        ),
    }
    assert len(outputs) == 1


def test_assert_portable_names_unsafe_terms_at_any_depth() -> None:
    credential = impl_guide_credential()
    credential["credentialSubject"]["achievement"]["inLanguage"] = "en"
    credential["awardedDate"] = "2024-05-01T00:00:00Z"

    with pytest.raises(NonPortableTermError) as raised:
        assert_portable(credential)

    assert raised.value.terms == ("awardedDate", "inLanguage")
    assert_portable(impl_guide_credential())


# Hostile datasets


def test_poison_dataset_is_refused_quickly() -> None:
    size = 8
    graph = [
        {"@id": f"_:b{i}", "https://example.org/p": [{"@id": f"_:b{j}"} for j in range(size) if j != i]}
        for i in range(size)
    ]

    with pytest.raises(CanonicalisationLimitError):
        canonize({"@context": {"@vocab": "https://example.org/"}, "@graph": graph})


def test_repeated_anonymous_objects_still_canonicalise() -> None:
    credential = impl_guide_credential()
    del credential["credentialSubject"]["id"]
    alignment = {"type": ["Alignment"], "targetName": "Teamwork", "targetUrl": "https://example.org/t"}
    credential["credentialSubject"]["achievement"]["alignment"] = [copy.deepcopy(alignment) for _ in range(12)]

    lines = canonize(credential).splitlines()

    assert sum("<https://schema.org/targetName>" in line for line in lines) == 12


@settings(max_examples=30, deadline=None)
@given(st.sets(st.sampled_from(sorted(BUNDLED_CONTEXTS)), min_size=1, max_size=3))
def test_any_combination_of_bundled_contexts_loads_offline(urls: set[str]) -> None:
    document = {"@context": sorted(urls), "@id": "urn:example:1", "@type": "https://example.org/Thing"}
    try:
        output = canonize(document)
    except InvalidJsonLdError as error:
        # Two bundled contexts may clash (OB 3.0.2 and 3.0.3 protect the same terms): an error, not a fetch.
        assert str(error) == "invalid JSON-LD: Invalid JSON-LD syntax; tried to redefine a protected term."
        return
    assert output == "<urn:example:1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://example.org/Thing> .\n"


# Remembered processed contexts (a loader's cache) change no byte


def _fresh_loader(*, remember_processed: bool) -> ContextLoader:
    files = {url: CONTEXTS_DIR / name for url, name in BUNDLED_CONTEXTS.items()}
    return ContextLoader(files, remember_processed=remember_processed)


def test_a_remembering_loader_gives_the_vectors_every_time() -> None:
    signed = load(OB / "ob30-impl-guide-ldp-signed-credential.json")
    proof = signed.pop("proof")
    proof_config = {k: v for k, v in proof.items() if k != "proofValue"} | {"@context": signed["@context"]}
    loader = _fresh_loader(remember_processed=True)

    for _ in range(3):
        assert canonize(signed, loader=loader) == (OB / "document-canon.txt").read_text(encoding="utf-8")
        assert canonize(proof_config, loader=loader) == (OB / "proof-canon.txt").read_text(encoding="utf-8")
        assert canonize(load(EDDSA / "unsigned.json"), loader=loader) == (
            EDDSA / "eddsa-rdfc-2022" / "canonDocDataInt.txt"
        ).read_text(encoding="utf-8")


_REMEMBERING = _fresh_loader(remember_processed=True)
_FORGETTING = _fresh_loader(remember_processed=False)


@settings(max_examples=40, deadline=None)
@given(
    name=st.text(max_size=20),
    achievement_type=st.sampled_from([None, "Badge", "Competency", "ext:Custom"]),
    alignment=st.booleans(),
    evidence=st.booleans(),
    image=st.booleans(),
    subject_profile=st.booleans(),
)
def test_canonical_form_is_the_same_with_and_without_remembered_contexts(
    name: str, achievement_type: str | None, alignment: bool, evidence: bool, image: bool, subject_profile: bool
) -> None:
    achievement: dict[str, Any] = {
        "id": "https://example.edu/achievements/1",
        "type": ["Achievement"],
        "name": name,
        "criteria": {"narrative": name},
    }
    if achievement_type:
        achievement["achievementType"] = achievement_type
    if alignment:
        achievement["alignment"] = [{"type": ["Alignment"], "targetName": name, "targetUrl": "https://example.org/a"}]
    if image:
        achievement["image"] = {"id": "https://example.edu/i.png", "type": "Image", "caption": name}
    subject: dict[str, Any] = {"id": "did:example:learner", "type": ["AchievementSubject"], "achievement": achievement}
    if subject_profile:
        subject["identifier"] = [
            {"type": "IdentityObject", "identityHash": name, "identityType": "name", "hashed": False}
        ]
    credential: dict[str, Any] = {
        "@context": CONTEXT,
        "id": "urn:uuid:0b3d4c1e-7f0a-4a51-9a57-9b8d6f2f0c11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "https://example.edu/issuer", "type": ["Profile"], "name": name},
        "validFrom": "2024-05-01T00:00:00Z",
        "name": name,
        "credentialSubject": subject,
    }
    if evidence:
        credential["evidence"] = [{"type": ["Evidence"], "name": name, "narrative": name}]

    expected = canonize(credential, loader=_FORGETTING)
    assert canonize(credential, loader=_REMEMBERING) == expected
    assert canonize(credential, loader=_REMEMBERING) == expected
