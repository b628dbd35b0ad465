"""Our offers, metadata and requests against the specification's own examples (tests/vectors/oid4vci/),
and the credential request parser under hypothesis: it answers every input with a protocol error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import hypothesis.strategies as st
import pytest
from hypothesis import given

from tests.oid4vci.holder import PRE_AUTHORIZED, Holder
from wallet.errors import DomainError
from wallet.oid4vci.issuance import parse_credential_request
from wallet.oid4vci.metadata import JWT_VC_JSON, LDP_VC, authorization_server_metadata, credential_issuer_metadata

VECTORS = Path(__file__).parents[1] / "vectors" / "oid4vci"
BASE = "https://wallet.example"


def _example(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


def test_our_holder_reads_the_specs_offer_by_value() -> None:
    example = _example("credential_offer_pre-authz_code.json")
    uri = "openid-credential-offer://?" + urlencode({"credential_offer": json.dumps(example)})
    offer = Holder(http=None, clock=lambda: 0.0).read_offer(uri)  # type: ignore[arg-type]
    assert offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"] == "adhjhdjajkdkhjhdj"


@pytest.mark.parametrize(
    ("ours", "example"),
    [(LDP_VC, "credential_metadata_ldp_vc.json"), (JWT_VC_JSON, "credential_metadata_jwt_vc_json.json")],
)
def test_each_configuration_has_the_shape_of_the_specs_example(ours: str, example: str) -> None:
    theirs = next(iter(_example(example)["credential_configurations_supported"].values()))
    mine = credential_issuer_metadata(BASE)["credential_configurations_supported"][ours]
    assert mine["format"] == theirs["format"]
    assert set(mine["credential_definition"]) == set(theirs["credential_definition"])
    assert set(mine["proof_types_supported"]["jwt"]) == {"proof_signing_alg_values_supported"}
    assert {"name", "locale"} <= set(mine["credential_metadata"]["display"][0])
    assert all(set(claim) <= {"path", "display", "mandatory"} for claim in mine["credential_metadata"]["claims"])
    assert mine["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == ["EdDSA", "ES256"]


def test_issuer_and_authorization_server_metadata_agree() -> None:
    issuer = credential_issuer_metadata(BASE + "/")
    server = authorization_server_metadata(BASE)
    assert issuer["credential_issuer"] == server["issuer"] == BASE
    assert server["grant_types_supported"] == [PRE_AUTHORIZED]
    assert issuer["credential_endpoint"].startswith(BASE + "/") and issuer["nonce_endpoint"].startswith(BASE + "/")


def test_the_spec_examples_credential_request_shape_is_accepted() -> None:
    request = parse_credential_request({"credential_configuration_id": LDP_VC, "proofs": {"jwt": ["a.b.c"]}})
    assert (request.configuration_id, request.proof_jwt) == (LDP_VC, "a.b.c")
    legacy = parse_credential_request(
        {"credential_configuration_id": LDP_VC, "proof": {"proof_type": "jwt", "jwt": "a.b.c"}}
    )
    assert legacy.proof_jwt == "a.b.c"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=12,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "credential_configuration_id": st.sampled_from([LDP_VC, JWT_VC_JSON, "other"]) | json_values,
        "proofs": st.fixed_dictionaries(
            {}, optional={"jwt": st.lists(st.text(max_size=8), max_size=3) | json_values, "di_vp": json_values}
        )
        | json_values,
        "proof": json_values,
        "credential_identifier": json_values,
    },
)


@given(request_like | json_values)
def test_any_credential_request_is_parsed_or_refused_with_a_protocol_error(body: Any) -> None:
    try:
        request = parse_credential_request(body)
    except DomainError as error:
        assert error.code.startswith("oid4vci.")
    else:
        assert request.configuration_id in (LDP_VC, JWT_VC_JSON)
        assert isinstance(request.proof_jwt, str) and request.proof_jwt
