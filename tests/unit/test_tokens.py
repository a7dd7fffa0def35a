"""Survey and unsubscribe links: signed, expiring, bound to one invite and one purpose."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps_engine.invite_tokens import Purpose, TokenExpired, TokenForged, TokenSigner

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SIGNER = TokenSigner("0123456789abcdef-secret", timedelta(days=60))


def test_a_fresh_token_gives_back_its_invite() -> None:
    token = SIGNER.issue(Purpose.SURVEY, 42, NOW)
    assert SIGNER.verify(token, Purpose.SURVEY, NOW + timedelta(days=3)) == 42


def test_token_is_url_safe_and_short() -> None:
    token = SIGNER.issue(Purpose.SURVEY, 123456789, NOW)
    assert all(c.isalnum() or c in "-_." for c in token)
    assert len(token) < 60


@pytest.mark.parametrize(
    ("age", "valid"),
    [(timedelta(days=60), True), (timedelta(days=60, seconds=1), False)],
    ids=["exactly-max-age", "one-second-over"],
)
def test_token_expires_after_max_age(age: timedelta, valid: bool) -> None:
    token = SIGNER.issue(Purpose.SURVEY, 7, NOW)
    if valid:
        assert SIGNER.verify(token, Purpose.SURVEY, NOW + age) == 7
    else:
        with pytest.raises(TokenExpired) as raised:
            SIGNER.verify(token, Purpose.SURVEY, NOW + age)
        assert raised.value.invite_id == 7


def test_unsubscribe_token_is_refused_as_a_score_token() -> None:
    token = SIGNER.issue(Purpose.UNSUBSCRIBE, 7, NOW)
    with pytest.raises(TokenForged):
        SIGNER.verify(token, Purpose.SURVEY, NOW)


def test_token_signed_with_another_key_is_forged_not_expired() -> None:
    other = TokenSigner("another-secret-key-0000", timedelta(days=60))
    token = other.issue(Purpose.SURVEY, 7, NOW - timedelta(days=400))
    with pytest.raises(TokenForged):
        SIGNER.verify(token, Purpose.SURVEY, NOW)


def test_repointing_a_token_at_another_invite_is_detected() -> None:
    token = SIGNER.issue(Purpose.SURVEY, 7, NOW)
    _payload, mac = token.split(".")
    payload = base64.urlsafe_b64encode(f"s.8.{int(NOW.timestamp())}".encode()).rstrip(b"=")
    with pytest.raises(TokenForged):
        SIGNER.verify(f"{payload.decode()}.{mac}", Purpose.SURVEY, NOW)


def test_token_from_the_future_is_refused() -> None:
    token = SIGNER.issue(Purpose.SURVEY, 7, NOW + timedelta(days=1))
    with pytest.raises(TokenForged):
        SIGNER.verify(token, Purpose.SURVEY, NOW)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "abc.def", "%%%.***", "a" * 500, "é.é"])
def test_garbage_is_forged(garbage: str) -> None:
    with pytest.raises(TokenForged):
        SIGNER.verify(garbage, Purpose.SURVEY, NOW)


@given(st.text(max_size=80))
def test_no_random_string_is_ever_accepted(text: str) -> None:
    with pytest.raises(TokenForged):
        SIGNER.verify(text, Purpose.SURVEY, NOW)


@given(st.integers(min_value=0, max_value=2**62), st.sampled_from(list(Purpose)))
def test_round_trip_for_any_invite_and_purpose(invite_id: int, purpose: Purpose) -> None:
    assert SIGNER.verify(SIGNER.issue(purpose, invite_id, NOW), purpose, NOW) == invite_id
