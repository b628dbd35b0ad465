"""Claim codes: what a learner scans or types must work, and anything else must fail cleanly."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from wallet_protocol.claim_codes import (
    ALPHABET,
    ClaimKind,
    InvalidClaimCode,
    ParsedToken,
    claim_url,
    format_fallback,
    mint_session_token,
    mint_single_use_token,
    new_fallback_code,
    new_public_id,
    normalise_fallback,
    parse_claim_url,
    parse_token,
    peek_token,
    read_claim_url,
    rotation_step,
    scan_is_fresh,
    step_is_fresh,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
BASE = "https://wallet.citiesoflearning.org"

keys = st.binary(min_size=16, max_size=64)
public_ids = st.binary(min_size=5, max_size=5).map(lambda raw: new_public_id(lambda _n: raw))
steps = st.none() | st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def tokens(draw: st.DrawFn) -> tuple[bytes, str, ParsedToken]:
    key, public_id = draw(keys), draw(public_ids)
    if draw(st.booleans()):
        return (
            key,
            mint_single_use_token(key, code_public_id=public_id),
            ParsedToken(ClaimKind.SINGLE_USE, public_id, None),
        )
    step = draw(steps)
    token = mint_session_token(key, session_public_id=public_id, step=step)
    return key, token, ParsedToken(ClaimKind.SESSION, public_id, step)


fallback_codes = st.randoms(use_true_random=False).map(lambda rnd: new_fallback_code(rnd.randbytes))


# --- Tokens ---------------------------------------------------------------------------------------


def test_known_vectors_pin_the_format() -> None:
    """Server, SDK and docs/claim-codes.md agree on these strings; a change would break printed cards."""
    assert mint_session_token(KEY, session_public_id="H0JX1131", step=None) == "2642BM44C4JVFDRQ8Q66TEC760"
    assert mint_session_token(KEY, session_public_id="H0JX1131", step=56_666_666) == (
        "2A42BM44C41P1AHAH2791KV3V9MVBGHX"
    )
    assert mint_single_use_token(KEY, code_public_id="H0JX1131") == "2E42BM44C55JP50DARRADRRZM8"


@given(tokens())
def test_a_minted_token_parses_back_to_what_was_minted(case: tuple[bytes, str, ParsedToken]) -> None:
    key, token, expected = case
    assert parse_token(key, token) == expected
    assert peek_token(token) == expected
    assert set(token) <= set(ALPHABET)
    assert len(token) == (32 if expected.step is not None else 26)


@given(tokens(), st.data())
def test_changing_any_one_character_is_detected(case: tuple[bytes, str, ParsedToken], data: st.DataObject) -> None:
    key, token, _ = case
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(ALPHABET + "abcxyz0UIOL-_ /é"))
    altered = token[:index] + replacement + token[index + 1 :]
    if altered == token:
        return
    with pytest.raises(InvalidClaimCode) as caught:
        parse_token(key, altered)
    assert caught.value.reason in {"malformed", "bad_mac", "unknown_version"}


@given(tokens(), st.data())
def test_truncated_or_extended_tokens_are_rejected(case: tuple[bytes, str, ParsedToken], data: st.DataObject) -> None:
    key, token, _ = case
    cut = data.draw(st.integers(0, len(token) - 1))
    extra = data.draw(st.text(alphabet=ALPHABET, min_size=1, max_size=8))
    for altered in (token[:cut], token + extra):
        with pytest.raises(InvalidClaimCode):
            parse_token(key, altered)


@given(tokens())
def test_a_token_from_another_key_is_a_bad_mac(case: tuple[bytes, str, ParsedToken]) -> None:
    key, token, _ = case
    wrong = bytes(b ^ 0x5A for b in key)
    with pytest.raises(InvalidClaimCode) as caught:
        parse_token(wrong, token)
    assert caught.value.reason == "bad_mac"


def test_tokens_from_a_retired_key_still_verify_while_it_is_listed() -> None:
    token = mint_single_use_token(OTHER_KEY, code_public_id="H0JX1131")
    assert parse_token(KEY, token, previous_keys=[OTHER_KEY]).public_id == "H0JX1131"
    with pytest.raises(InvalidClaimCode, match="bad_mac"):
        parse_token(KEY, token)


def test_a_future_format_version_is_reported_as_unknown_version() -> None:
    token = mint_single_use_token(KEY, code_public_id="H0JX1131")
    future = ALPHABET[4] + token[1:]  # tag byte 0x23: version 2
    with pytest.raises(InvalidClaimCode) as caught:
        parse_token(KEY, future)
    assert caught.value.reason == "unknown_version"


def test_minting_refuses_weak_keys_and_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        mint_single_use_token(b"short", code_public_id="H0JX1131")
    with pytest.raises(ValueError, match="public id"):
        mint_single_use_token(KEY, code_public_id="h0jx113")
    with pytest.raises(ValueError, match="step"):
        mint_session_token(KEY, session_public_id="H0JX1131", step=-1)
    with pytest.raises(ValueError, match="step"):
        mint_session_token(KEY, session_public_id="H0JX1131", step=2**32)


# --- URLs -----------------------------------------------------------------------------------------


def test_claim_urls_are_all_alphanumeric_mode_characters() -> None:
    token = mint_session_token(KEY, session_public_id="H0JX1131", step=None)
    url = claim_url(BASE + "/", token)
    assert url == f"HTTPS://WALLET.CITIESOFLEARNING.ORG/C/{token}"
    assert set(url) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def test_a_base_path_is_kept_as_given_because_paths_are_case_sensitive() -> None:
    token = mint_single_use_token(KEY, code_public_id="H0JX1131")
    assert claim_url("http://127.0.0.1:5000/wallet", token) == f"HTTP://127.0.0.1:5000/wallet/C/{token}"


@pytest.mark.parametrize(
    "base",
    ["ftp://wallet.example.org", "wallet.example.org", "https://", "https://x.org/?a=1", "https://u:p@x.org"],
)
def test_claim_url_rejects_unusable_base_urls(base: str) -> None:
    with pytest.raises(ValueError, match="base URL"):
        claim_url(base, mint_single_use_token(KEY, code_public_id="H0JX1131"))


@given(tokens())
def test_a_phone_reads_a_scanned_url_offline_without_the_key(case: tuple[bytes, str, ParsedToken]) -> None:
    _, token, expected = case
    scanned = read_claim_url(claim_url(BASE, token), trusted_base_urls=[BASE])
    assert (scanned.token, scanned.kind, scanned.public_id, scanned.step) == (
        token,
        expected.kind,
        expected.public_id,
        expected.step,
    )
    assert scanned.base_url == BASE


def test_the_scheme_host_and_path_segment_may_be_any_case() -> None:
    token = mint_single_use_token(KEY, code_public_id="H0JX1131")
    for url in (
        f"https://wallet.citiesoflearning.org/c/{token}",
        f"  HTTPS://Wallet.CitiesOfLearning.org/C/{token}\n",
    ):
        assert parse_claim_url(url, trusted_base_urls=[BASE]) == token


def test_a_poster_pointing_at_another_host_is_refused_before_any_request() -> None:
    token = mint_single_use_token(KEY, code_public_id="H0JX1131")
    for url in (
        f"https://wallet.citiesoflearning.org.evil.example/c/{token}",
        f"https://evil.example/c/{token}",
        f"http://wallet.citiesoflearning.org/c/{token}",
        f"https://wallet.citiesoflearning.org/other/c/{token}",
    ):
        with pytest.raises(InvalidClaimCode) as caught:
            parse_claim_url(url, trusted_base_urls=[BASE])
        assert caught.value.reason == "untrusted_host"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "https://wallet.citiesoflearning.org/",
        "https://wallet.citiesoflearning.org/c/",
        "https://wallet.citiesoflearning.org/x/2E42BM44C55JP50DARRADRRZM8",
        "https://wallet.citiesoflearning.org/c/2E42BM44C55JP50DARRADRRZM8?utm=1",
        "https://wallet.citiesoflearning.org/c/2e42bm44c55jp50darradrrzm8",
        "mailto:someone@example.org",
        "https://[::1/c/2E42BM44C55JP50DARRADRRZM8",
        "https://host:99999/c/2E42BM44C55JP50DARRADRRZM8",
    ],
)
def test_text_that_is_not_a_claim_url_is_malformed(text: str) -> None:
    with pytest.raises(InvalidClaimCode) as caught:
        parse_claim_url(text)
    assert caught.value.reason == "malformed"


url_like = st.builds(
    lambda scheme, host, seg, tail: f"{scheme}://{host}/{seg}/{tail}",
    st.sampled_from(["https", "HTTP", "ftp", ""]),
    st.text(max_size=20),
    st.sampled_from(["c", "C", "", "cc"]),
    st.text(alphabet=ALPHABET + "a[]:/?#%é", max_size=40),
)


@given(st.text(max_size=300) | url_like | st.binary(max_size=40) | st.integers())
@example("https://\u2100/c/x")
@example("https://host/c/" + "0" * 5000)
def test_arbitrary_input_only_ever_raises_invalid_claim_code(text: object) -> None:
    for parse in (
        lambda: parse_token(KEY, text),  # type: ignore[arg-type]
        lambda: peek_token(text),  # type: ignore[arg-type]
        lambda: parse_claim_url(text),  # type: ignore[arg-type]
        lambda: read_claim_url(text, trusted_base_urls=[BASE]),  # type: ignore[arg-type]
        lambda: normalise_fallback(text),  # type: ignore[arg-type]
    ):
        with contextlib.suppress(InvalidClaimCode):
            parse()


# --- Rotation -------------------------------------------------------------------------------------


def test_rotation_steps_change_every_period() -> None:
    assert rotation_step(1_700_000_000.0, 30) == 56_666_666
    assert rotation_step(1_700_000_009.9, 30) == 56_666_666
    assert rotation_step(1_700_000_010.0, 30) == 56_666_667
    with pytest.raises(ValueError, match="period_s"):
        rotation_step(1_700_000_000.0, 0)
    with pytest.raises(ValueError, match="now_unix"):
        rotation_step(float("inf"), 30)


@given(
    now=st.floats(min_value=0, max_value=4e9),
    period=st.integers(min_value=5, max_value=600),
    grace=st.integers(min_value=0, max_value=10),
)
def test_a_shown_code_stays_fresh_for_exactly_its_grace_window(now: float, period: int, grace: int) -> None:
    step = rotation_step(now, period)
    assert step_is_fresh(step, now_unix=now, period_s=period, grace_steps=grace)
    assert step_is_fresh(step, now_unix=now + grace * period, period_s=period, grace_steps=grace)
    assert not step_is_fresh(step, now_unix=now + (grace + 1) * period, period_s=period, grace_steps=grace)
    assert step_is_fresh(step + 1, now_unix=now, period_s=period, grace_steps=grace)  # clock skew
    assert not step_is_fresh(step + 2, now_unix=now, period_s=period, grace_steps=grace)


def test_a_queued_offline_scan_is_judged_by_when_it_was_scanned() -> None:
    period, grace, shown_at = 30, 1, 1_700_000_000.0
    step = rotation_step(shown_at, period)
    hour = 3600.0

    def fresh(scanned_at: float | None, received_at: float) -> bool:
        return scan_is_fresh(
            step,
            scanned_at=scanned_at,
            received_at=received_at,
            period_s=period,
            grace_steps=grace,
            max_queue_s=hour,
        )

    assert fresh(shown_at + 5, shown_at + 20 * 60)  # scanned on time, sent when back online
    assert not fresh(shown_at + 5, shown_at + 2 * hour)  # queued longer than the session allows
    assert not fresh(shown_at + 10 * 60, shown_at + 20 * 60)  # a photo scanned ten minutes later
    assert not fresh(shown_at + 5, shown_at - 1 * hour)  # "scanned" an hour in the server's future
    assert fresh(None, shown_at + 5)
    assert not fresh(None, shown_at + 20 * 60)


# --- Typed fallback -------------------------------------------------------------------------------


@given(fallback_codes)
def test_a_fallback_is_nine_typable_characters_printed_in_threes(code: str) -> None:
    assert len(code) == 9
    assert set(code) <= set(ALPHABET)
    printed = format_fallback(code)
    assert printed == f"{code[:3]}-{code[3:6]}-{code[6:]}"
    assert normalise_fallback(printed) == code


@given(fallback_codes, st.data())
def test_sloppy_typing_of_a_fallback_is_understood(code: str, data: st.DataObject) -> None:
    confusions = {"0": "oO0", "1": "iIlL1"}
    typed = "".join(data.draw(st.sampled_from(confusions.get(c, c + c.lower()))) for c in code)
    separators = data.draw(st.lists(st.sampled_from([" ", "-", "  ", "", "\u2013"]), min_size=2, max_size=2))
    sloppy = f" {typed[:3]}{separators[0]}{typed[3:6]}{separators[1]}{typed[6:]} "
    assert normalise_fallback(sloppy) == code


@given(fallback_codes)
def test_the_check_character_catches_every_single_substitution(code: str) -> None:
    for index in range(len(code)):
        for replacement in ALPHABET:
            if replacement == code[index]:
                continue
            with pytest.raises(InvalidClaimCode) as caught:
                normalise_fallback(code[:index] + replacement + code[index + 1 :])
            assert caught.value.reason == "bad_check"


@given(fallback_codes)
def test_the_check_character_catches_every_transposition(code: str) -> None:
    for i in range(len(code)):
        for j in range(i + 1, len(code)):
            if code[i] == code[j]:
                continue
            swapped = list(code)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            with pytest.raises(InvalidClaimCode) as caught:
                normalise_fallback("".join(swapped))
            assert caught.value.reason == "bad_check"


@pytest.mark.parametrize(
    "text",
    ["", "K7Q-M3X-PD", "K7Q-M3X-PDRR", "K7Q-M3X-PDU", "K7Q-M3X-PD*", "\u041a7Q-M3X-PDR"],
)
def test_wrong_length_or_characters_are_malformed_not_bad_check(text: str) -> None:
    with pytest.raises(InvalidClaimCode) as caught:
        normalise_fallback(text)
    assert caught.value.reason == "malformed"


def test_fallback_codes_come_only_from_the_given_randomness() -> None:
    first = new_fallback_code(random.Random(7).randbytes)
    assert new_fallback_code(random.Random(7).randbytes) == first
    assert new_fallback_code(lambda n: bytes(range(1, n + 1))) == "04106105F"
