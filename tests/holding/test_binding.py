"""The rules behind "whose badge is it" and "who issued it": identifiers, copies' keys, registries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.holding.binding import AccountFacts, Identity, initial_binding, named_subject, proof_hash
from wallet.holding.registry import RegistryError, RegistryFile, parse_registry
from wallet.holding.trust import IssuerDirectory, KnownOrganisation

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40).filter(
    lambda value: value.strip() != ""
)


def _hashed(value: str, salt: str) -> Identity:
    digest = hashlib.sha256((value + salt).encode()).hexdigest()
    return Identity(identity_type="emailAddress", hashed=True, value=f"sha256${digest}", salt=salt)


@given(email=text, salt=st.text(max_size=20), other=text)
def test_a_hashed_identity_matches_its_own_value_and_never_shows_it(email: str, salt: str, other: str) -> None:
    identity = _hashed(email, salt)
    assert identity.matches(email)
    assert identity.describe() == "an email address (hashed)"
    if other.strip() != email.strip() and other.strip().lower() != email.strip().lower():
        assert not identity.matches(other)


@given(name=text)
def test_a_plaintext_name_matches_however_it_is_spaced(name: str) -> None:
    identity = Identity(identity_type="name", hashed=False, value=f"  {name} ")
    assert identity.matches("\t" + "  ".join(name.split()) + " ")
    assert not identity.matches(name + " Junior")


def test_a_plaintext_name_matches_in_any_case_and_is_shown_as_the_credential_states_it() -> None:
    identity = Identity(identity_type="name", hashed=False, value="José Núñez")
    assert identity.matches("JOSÉ NÚÑEZ") and not identity.matches("Jose Nunez")
    assert identity.describe() == "a name: José Núñez"


def test_an_email_identity_matches_whatever_case_the_issuer_hashed() -> None:
    assert _hashed("ana@example.org", "s").matches("Ana@Example.org")
    assert not _hashed("ana@example.org", "s").matches("ana@example.com")


def test_what_a_credential_names_is_read_from_ob3_and_ob2_shapes() -> None:
    ob3 = named_subject(
        {
            "credentialSubject": {
                "id": "did:key:z6Mkx",
                "name": "Ana Lima",
                "identifier": [{"identityType": "name", "hashed": False, "identityHash": "Ana Lima"}],
            }
        }
    )
    assert (ob3.id, ob3.describe(), ob3.provable_did) == ("did:key:z6Mkx", "Ana Lima", "did:key:z6Mkx")
    ob2 = named_subject({"recipient": {"type": "email", "hashed": True, "salt": "x", "identity": "sha256$ab"}})
    assert ob2.describe() == "someone identified by an email address (hashed)"
    assert named_subject({"credentialSubject": {"type": "AchievementSubject"}}).describe() == (
        "a recipient the badge does not name"
    )


def test_the_initial_binding_follows_what_the_credential_says() -> None:
    account = AccountFacts(subject_id="urn:uuid:me", display_name="Ana Lima", email="ana@example.org")
    name_only = named_subject(
        {"credentialSubject": {"identifier": [{"identityType": "name", "hashed": False, "identityHash": "ana  lima"}]}}
    )
    assert (
        initial_binding(named_subject({"credentialSubject": {"id": "urn:uuid:me"}}), account=account, copy=True)
        == "subject"
    )
    assert initial_binding(name_only, account=account, copy=False) == "name"
    assert initial_binding(name_only, account=account, copy=True) == "none"  # a copy is never bound by a claim
    assert (
        initial_binding(named_subject({"credentialSubject": {"id": "urn:uuid:other"}}), account=account, copy=False)
        == "none"
    )


def test_two_encodings_of_one_signed_credential_share_a_proof_hash() -> None:
    document = {"id": "urn:x", "proof": {"type": "DataIntegrityProof", "proofValue": "z3abc"}}
    compact = json.dumps(document).encode()
    pretty = json.dumps(document, indent=2, sort_keys=True).encode()
    assert proof_hash(compact) == proof_hash(pretty) is not None
    assert proof_hash(b"eyJh.eyJi.c2ln") != proof_hash(b"eyJh.eyJi.b3RoZXI")
    assert proof_hash(json.dumps({"id": "urn:x"}).encode()) is None


def test_both_registry_formats_are_read() -> None:
    dcc = parse_registry(
        {
            "meta": {"created": "2022-10-27T17:57:31+00:00"},
            "registry": {
                "did:web:oneuni.testuni.edu": {"name": "One Uni", "location": "here", "url": "https://uni.example"}
            },
        }
    )
    assert dcc.lookup("did:web:oneuni.testuni.edu").name == "One Uni"
    older = parse_registry({"meta": {}, "entries": {"did:key:z6Mk1": {"name": "Old", "url": "javascript:x"}}})
    assert older.lookup("did:key:z6Mk1").url is None  # only http(s) links are kept
    simple = parse_registry(
        [{"did": "did:key:z6Mk2", "name": "Simple"}, {"id": "https://ob2.example/issuer", "name": "Hosted"}]
    )
    assert (simple.lookup("did:key:z6Mk2").name, simple.lookup("https://ob2.example/issuer").name) == (
        "Simple",
        "Hosted",
    )
    named = parse_registry({"name": "City list", "issuers": [{"did": "did:key:z6Mk3", "name": "Three"}]})
    assert named.name == "City list" and len(named) == 1
    for bad in ({"registry": {"did:key:z": {"url": "https://x"}}}, [{"name": "no id"}], "text", {"x": 1}):
        with pytest.raises(RegistryError):
            parse_registry(bad)


def test_a_broken_registry_file_makes_nobody_known_and_a_fixed_one_is_reread(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text("{not json")
    source = RegistryFile(str(path))
    assert len(source.current()) == 0
    path.write_text(json.dumps([{"did": "did:key:z6Mk4", "name": "Four", "padding": "x" * 10}]))
    assert source.current().lookup("did:key:z6Mk4").name == "Four"
    assert len(RegistryFile(str(tmp_path / "missing.json")).current()) == 0


def _report(method: str, *, proof: str = "passed", key: str = "passed") -> dict[str, Any]:
    return {
        "verificationMethod": method,
        "checks": [{"name": "proof", "outcome": proof}, {"name": "issuer_key", "outcome": key}],
    }


def test_a_key_of_an_organisation_here_names_it_and_a_name_alone_names_nobody() -> None:
    north = KnownOrganisation("makerspace-north", "Makerspace North", None)
    directory = IssuerDirectory(
        by_key={"did:key:z6MkNorth": north, "multibase:z6MkOld": north},
        by_slug={"makerspace-north": north},
        registry=parse_registry([]),
        base_url="https://wallet.test",
    )
    judged = directory.judge(
        _report("did:key:z6MkNorth#z6MkNorth"), issuer_id="https://wallet.test/issuers/x", claimed_name="Anything"
    )
    assert (judged.kind, judged.name) == ("organisation", "Makerspace North")
    retired = directory.judge(_report("did:key:z6MkOld#z6MkOld"), issuer_id="did:key:z6MkOld", claimed_name=None)
    assert retired.kind == "organisation"
    ours = directory.judge(
        _report("did:web:wallet.test:issuers:makerspace-north#key-2"),
        issuer_id="did:web:wallet.test:issuers:makerspace-north",
        claimed_name=None,
    )
    assert ours.organisation_slug == "makerspace-north"
    stranger = directory.judge(
        _report("did:key:z6MkFake#z6MkFake"), issuer_id="did:key:z6MkFake", claimed_name="Makerspace North"
    )
    assert (stranger.kind, stranger.name, stranger.claimed_name) == ("unknown", None, "Makerspace North")
    unsigned = directory.judge(
        _report("did:key:z6MkNorth#z6MkNorth", proof="failed"), issuer_id=None, claimed_name="Makerspace North"
    )
    assert unsigned.kind == "unconfirmed"
    elsewhere = directory.judge(
        _report("did:web:evil.example:issuers:makerspace-north#k"),
        issuer_id="did:web:evil.example:issuers:makerspace-north",
        claimed_name=None,
    )
    assert elsewhere.kind == "unknown"
