from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.siwe import (
    SiweError,
    SiweMessage,
    build_message,
    nonce_is_wellformed,
    parse_message,
    verify_message,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DOMAIN = "example.com"
URI = "https://example.com/login"
CHAIN_ID = 1
NONCE = "abc123XYZ789"
STATEMENT = "Sign in to Example's app (terms: https://example.com/tos)."

SIGNER: LocalAccount = Account.create()
OTHER: LocalAccount = Account.create()

EIP_EXAMPLE = (
    "example.com wants you to sign in with your Ethereum account:\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
    "\n"
    "I accept the ExampleOrg Terms of Service: https://example.com/tos\n"
    "\n"
    "URI: https://example.com/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\n"
    "Resources:\n"
    "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
    "- https://example.com/my-web2-claim.json"
)


def sign(text: str, account: LocalAccount = SIGNER) -> str:
    signed = Account.sign_message(encode_defunct(text=text), account.key)
    # bytes() sidesteps HexBytes.hex() having changed whether it adds "0x".
    return "0x" + bytes(signed.signature).hex()


def make_text(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "domain": DOMAIN,
        "address": SIGNER.address,
        "uri": URI,
        "chain_id": CHAIN_ID,
        "nonce": NONCE,
        "issued_at": NOW - timedelta(seconds=30),
        "statement": STATEMENT,
        "expiration_time": NOW + timedelta(minutes=10),
        "not_before": NOW - timedelta(minutes=1),
    }
    fields.update(overrides)
    return build_message(**fields)


def verify(text: str, signature: str | None = None, **overrides: Any) -> SiweMessage:
    kwargs: dict[str, Any] = {
        "text": text,
        "signature": sign(text) if signature is None else signature,
        "expected_domain": DOMAIN,
        "expected_uri": "https://example.com",
        "allowed_chain_ids": {1, 137},
        "now": NOW,
    }
    kwargs.update(overrides)
    return verify_message(**kwargs)


def _flip_checksum_case(address: str) -> str:
    for i, char in enumerate(address[2:], start=2):
        if char.isalpha():
            return address[:i] + char.swapcase() + address[i + 1 :]
    raise AssertionError("address has no letters")  # pragma: no cover


def _swap_lines(text: str, first_prefix: str, second_prefix: str) -> str:
    lines = text.split("\n")
    i = next(n for n, line in enumerate(lines) if line.startswith(first_prefix))
    j = next(n for n, line in enumerate(lines) if line.startswith(second_prefix))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _drop_line(text: str, prefix: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith(prefix))


def _replace_line(text: str, prefix: str, new: str) -> str:
    return "\n".join(new if line.startswith(prefix) else line for line in text.split("\n"))


MALFORMED_CASES: list[tuple[str, Callable[[str], str]]] = [
    ("empty string", lambda t: ""),
    ("missing URI line", lambda t: _drop_line(t, "URI: ")),
    ("missing nonce line", lambda t: _drop_line(t, "Nonce: ")),
    ("wrong version", lambda t: t.replace("Version: 1", "Version: 2")),
    (
        "bad checksum address",
        lambda t: t.replace(SIGNER.address, _flip_checksum_case(SIGNER.address)),
    ),
    ("lowercase address", lambda t: t.replace(SIGNER.address, SIGNER.address.lower())),
    ("short address", lambda t: t.replace(SIGNER.address, SIGNER.address[:-2])),
    ("statement spanning two lines", lambda t: t.replace(STATEMENT, "first line\nsecond line")),
    ("statement without blank after", lambda t: t.replace(STATEMENT + "\n\n", STATEMENT + "\n")),
    (
        "missing blank line after address",
        lambda t: t.replace(SIGNER.address + "\n\n", SIGNER.address + "\n", 1),
    ),
    ("wrong field order URI/Version", lambda t: _swap_lines(t, "URI: ", "Version: ")),
    ("wrong optional order", lambda t: _swap_lines(t, "Expiration Time: ", "Not Before: ")),
    ("duplicate field", lambda t: t.replace("Chain ID: 1\n", "Chain ID: 1\nChain ID: 1\n")),
    ("unknown field", lambda t: t + "\nFoo: bar"),
    ("trailing junk", lambda t: t + "\ngarbage"),
    ("trailing newline", lambda t: t + "\n"),
    ("leading newline", lambda t: "\n" + t),
    ("CRLF line endings", lambda t: t.replace("\n", "\r\n")),
    ("non-numeric chain id", lambda t: t.replace("Chain ID: 1", "Chain ID: one")),
    ("chain id with leading zero", lambda t: t.replace("Chain ID: 1", "Chain ID: 01")),
    ("negative chain id", lambda t: t.replace("Chain ID: 1", "Chain ID: -1")),
    ("short nonce", lambda t: t.replace(NONCE, "abc123")),
    ("non-alphanumeric nonce", lambda t: t.replace(NONCE, "abc-123-XYZ")),
    ("ftp URI", lambda t: _replace_line(t, "URI: ", "URI: ftp://example.com/login")),
    ("URI with space", lambda t: _replace_line(t, "URI: ", "URI: https://example.com/a b")),
    ("URI without host", lambda t: _replace_line(t, "URI: ", "URI: https:///login")),
    ("URI with bad port", lambda t: _replace_line(t, "URI: ", "URI: https://example.com:99999/")),
    ("bad issued-at", lambda t: _replace_line(t, "Issued At: ", "Issued At: yesterday")),
    (
        "issued-at without zone",
        lambda t: _replace_line(t, "Issued At: ", "Issued At: 2024-05-01T12:00:00"),
    ),
    (
        "impossible date",
        lambda t: _replace_line(t, "Issued At: ", "Issued At: 2024-02-30T12:00:00Z"),
    ),
    ("bad header", lambda t: t.replace("wants you to sign in", "wants you to log in")),
    ("domain with space", lambda t: t.replace(DOMAIN + " wants", "exa mple.com wants", 1)),
    ("missing field separator space", lambda t: t.replace("Version: 1", "Version:1")),
    ("Resources without dash", lambda t: t + "\nResources:\nhttps://example.com/x"),
    ("empty resource", lambda t: t + "\nResources:\n- "),
    (
        "Request ID after Resources",
        lambda t: t + "\nResources:\n- https://example.com/x\nRequest ID: 1",
    ),
]


@pytest.mark.parametrize(
    "mutate", [case[1] for case in MALFORMED_CASES], ids=[case[0] for case in MALFORMED_CASES]
)
def test_malformed_messages_are_rejected(mutate: Callable[[str], str]) -> None:
    text = mutate(make_text())
    with pytest.raises(SiweError) as parse_error:
        parse_message(text)
    assert parse_error.value.code == "malformed_message"
    # Signed by the right key, so malformation is the only thing wrong.
    with pytest.raises(SiweError) as verify_error:
        verify(text)
    assert verify_error.value.code == "malformed_message"


REJECTION_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    # (id, build overrides, verify overrides, expected code)
    ("wrong domain", {}, {"expected_domain": "evil.example"}, "domain_mismatch"),
    ("domain with port differs", {"domain": "example.com:8443"}, {}, "domain_mismatch"),
    ("other host", {}, {"expected_uri": "https://other.example.com"}, "uri_mismatch"),
    ("other scheme", {}, {"expected_uri": "http://example.com"}, "uri_mismatch"),
    ("other port", {}, {"expected_uri": "https://example.com:8443"}, "uri_mismatch"),
    ("phishing host", {"uri": "https://example.com.evil.io/login"}, {}, "uri_mismatch"),
    ("wrong chain", {"chain_id": 5}, {}, "chain_mismatch"),
    ("no chains allowed", {}, {"allowed_chain_ids": frozenset()}, "chain_mismatch"),
    ("issued in future", {"issued_at": NOW + timedelta(minutes=2)}, {}, "issued_in_future"),
    (
        "issued past zero skew",
        {"issued_at": NOW + timedelta(seconds=1)},
        {"clock_skew": timedelta(0)},
        "issued_in_future",
    ),
    ("expired", {"expiration_time": NOW - timedelta(seconds=1)}, {}, "expired"),
    ("expires exactly now", {"expiration_time": NOW}, {}, "expired"),
    (
        "older than max age",
        {"issued_at": NOW - timedelta(minutes=6)},
        {"max_age": timedelta(minutes=5)},
        "expired",
    ),
    ("not before in future", {"not_before": NOW + timedelta(seconds=1)}, {}, "not_yet_valid"),
]


@pytest.mark.parametrize(
    ("build_overrides", "verify_overrides", "code"),
    [case[1:] for case in REJECTION_CASES],
    ids=[case[0] for case in REJECTION_CASES],
)
def test_claim_checks(build_overrides: dict[str, Any], verify_overrides: dict[str, Any], code: str) -> None:
    text = make_text(**build_overrides)
    with pytest.raises(SiweError) as error:
        verify(text, **verify_overrides)
    assert error.value.code == code
    assert error.value.message


def test_signature_by_another_key_is_signer_mismatch() -> None:
    text = make_text()
    with pytest.raises(SiweError) as error:
        verify(text, signature=sign(text, OTHER))
    assert error.value.code == "signer_mismatch"


def test_signature_over_different_text_is_signer_mismatch() -> None:
    text = make_text()
    with pytest.raises(SiweError) as error:
        verify(text, signature=sign(make_text(nonce="zzzzzzzzzz")))
    assert error.value.code == "signer_mismatch"


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "0x",
        "0xdeadbeef",
        "not-hex-at-all",
        "0x" + "00" * 65,
        "0x" + "ff" * 65,
        "0x" + "11" * 64 + "12",
        "0x" + "ab" * 66,
    ],
    ids=["empty", "bare-0x", "short", "non-hex", "zeros", "out-of-range", "bad-v", "too-long"],
)
def test_garbage_signature_is_invalid_signature(signature: str) -> None:
    with pytest.raises(SiweError) as error:
        verify(make_text(), signature=signature)
    assert error.value.code == "invalid_signature"


def test_claims_are_checked_before_the_signature() -> None:
    # Cheap claim checks run first, so a bad domain wins over a bad signature.
    with pytest.raises(SiweError) as error:
        verify(make_text(), signature="0xdeadbeef", expected_domain="evil.example")
    assert error.value.code == "domain_mismatch"


def test_valid_message_with_statement() -> None:
    text = make_text()
    message = verify(text)
    assert message.statement == STATEMENT
    assert message.address == SIGNER.address
    assert message.domain == DOMAIN
    assert message.uri == URI
    assert message.chain_id == CHAIN_ID
    assert message.nonce == NONCE
    assert message.version == "1"
    assert message.issued_at == NOW - timedelta(seconds=30)
    assert message.scheme is None
    assert message.to_text() == text


def test_valid_message_without_statement_or_optional_times() -> None:
    text = make_text(statement=None, expiration_time=None, not_before=None)
    lines = text.split("\n")
    assert lines[1:5] == [SIGNER.address, "", "", f"URI: {URI}"]
    message = verify(text)
    assert message.statement is None
    assert message.expiration_time is None
    assert message.not_before is None
    assert message.resources == ()


def test_signature_without_0x_prefix_is_accepted() -> None:
    text = make_text()
    assert verify(text, signature=sign(text)[2:]).address == SIGNER.address


def test_valid_message_with_all_optional_fields() -> None:
    message = SiweMessage(
        scheme="https",
        domain=DOMAIN,
        address=SIGNER.address,
        statement=STATEMENT,
        uri=URI,
        version="1",
        chain_id=137,
        nonce=NONCE,
        issued_at=NOW - timedelta(seconds=5),
        expiration_time=NOW + timedelta(hours=1),
        not_before=NOW - timedelta(seconds=5),
        request_id="req-42:abc@x",
        resources=(
            "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
            "https://example.com/a?b=c#d",
        ),
    )
    text = message.to_text()
    assert text.startswith("https://example.com wants you to sign in with your Ethereum account:\n")
    assert text.endswith(
        "Request ID: req-42:abc@x\nResources:\n"
        "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
        "- https://example.com/a?b=c#d"
    )
    verified = verify(text)
    assert verified == message
    assert parse_message(text) == message


def test_round_trip_parse_build_to_text() -> None:
    text = make_text(issued_at=datetime(2024, 5, 1, 11, 59, 30, 123000, tzinfo=UTC))
    assert "Issued At: 2024-05-01T11:59:30.123Z" in text
    assert parse_message(text).to_text() == text


def test_parses_eip_4361_example() -> None:
    message = parse_message(EIP_EXAMPLE)
    assert message.address == "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
    assert message.statement == "I accept the ExampleOrg Terms of Service: https://example.com/tos"
    assert message.nonce == "32891756"
    assert message.issued_at == datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)
    assert message.resources == (
        "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
        "https://example.com/my-web2-claim.json",
    )
    assert message.to_text() == EIP_EXAMPLE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-09-30T16:25:24Z", datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)),
        ("2021-09-30T16:25:24.5z", datetime(2021, 9, 30, 16, 25, 24, 500000, tzinfo=UTC)),
        ("2021-09-30T18:25:24.000+02:00", datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)),
        ("2021-09-30t11:55:24-04:30", datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)),
        ("2021-09-30T16:25:24.1234567891Z", datetime(2021, 9, 30, 16, 25, 24, 123456, tzinfo=UTC)),
    ],
)
def test_rfc3339_times_are_normalised_to_utc(raw: str, expected: datetime) -> None:
    text = _replace_line(EIP_EXAMPLE, "Issued At: ", f"Issued At: {raw}")
    issued_at = parse_message(text).issued_at
    assert issued_at == expected
    assert issued_at.utcoffset() == timedelta(0)


def test_issued_slightly_in_future_is_tolerated_by_clock_skew() -> None:
    text = make_text(issued_at=NOW + timedelta(seconds=30), not_before=None)
    assert verify(text).issued_at == NOW + timedelta(seconds=30)


def test_explicit_default_port_matches_origin() -> None:
    text = make_text(uri="https://example.com:443/login")
    assert verify(text, expected_uri="https://EXAMPLE.com/other/path").uri == "https://example.com:443/login"


def test_max_age_accepts_recent_message() -> None:
    assert verify(make_text(), max_age=timedelta(minutes=5)).nonce == NONCE


def test_verify_requires_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(make_text(), now=NOW.replace(tzinfo=None))


def test_verify_rejects_invalid_expected_uri() -> None:
    with pytest.raises(ValueError, match="expected_uri"):
        verify(make_text(), expected_uri="example.com")


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"address": "0x1234"}, "40 hexadecimal digits"),
        ({"address": _flip_checksum_case(SIGNER.address)}, "EIP-55"),
        ({"nonce": "short"}, "Nonce"),
        ({"statement": "two\nlines"}, "single line"),
        ({"statement": ""}, "must not be empty"),
        ({"uri": "javascript:alert(1)"}, "http"),
        ({"domain": "exa mple.com"}, "authority"),
        ({"issued_at": NOW.replace(tzinfo=None)}, "timezone-aware"),
        ({"chain_id": True}, "integer"),
    ],
)
def test_build_message_rejects_invalid_input(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_text(**overrides)


def test_build_message_checksums_lowercase_address() -> None:
    text = make_text(address=SIGNER.address.lower())
    assert parse_message(text).address == SIGNER.address


def test_build_message_renders_non_utc_times_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    text = make_text(issued_at=datetime(2024, 5, 1, 13, 59, 30, tzinfo=plus_two))
    assert "Issued At: 2024-05-01T11:59:30Z" in text


@pytest.mark.parametrize(
    ("nonce", "expected"),
    [
        ("abcdefgh", True),
        ("A1b2C3d4E5", True),
        ("abcdefg", False),
        ("", False),
        ("abcd-efgh", False),
        ("abcdéfgh", False),
        ("\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", False),
        ("abcdefgh\n", False),
    ],
)
def test_nonce_is_wellformed(nonce: str, expected: bool) -> None:
    assert nonce_is_wellformed(nonce) is expected


def test_siwe_error_carries_code_and_survives_pickling() -> None:
    error = SiweError("expired", "Message has expired.")
    assert str(error) == "Message has expired."
    # Round-tripping our own freshly pickled bytes; no untrusted input involved.
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301
    assert (clone.code, clone.message) == ("expired", "Message has expired.")


def test_siwe_message_is_frozen() -> None:
    message = parse_message(EIP_EXAMPLE)
    with pytest.raises(FrozenInstanceError):
        message.nonce = "other123"  # type: ignore[misc]


_statements = st.one_of(
    st.none(),
    st.text(
        alphabet=st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=80,
    ),
)
_nonces = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    min_size=8,
    max_size=40,
)
_chain_ids = st.integers(min_value=0, max_value=2**256 - 1)
# hypothesis wants naive bounds and applies `timezones` to the generated values.
_times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(statement=_statements, nonce=_nonces, chain_id=_chain_ids, issued_at=_times)
def test_build_parse_round_trip_property(
    statement: str | None, nonce: str, chain_id: int, issued_at: datetime
) -> None:
    text = build_message(
        domain=DOMAIN,
        address=SIGNER.address,
        uri=URI,
        chain_id=chain_id,
        nonce=nonce,
        issued_at=issued_at,
        statement=statement,
    )
    message = parse_message(text)
    assert message.statement == statement
    assert message.nonce == nonce
    assert message.chain_id == chain_id
    assert message.issued_at == issued_at
    assert message.to_text() == text


@settings(max_examples=25, deadline=None)
@given(statement=_statements, nonce=_nonces, chain_id=st.integers(min_value=1, max_value=2**63))
def test_signed_messages_verify_property(statement: str | None, nonce: str, chain_id: int) -> None:
    text = make_text(statement=statement, nonce=nonce, chain_id=chain_id)
    message = verify(text, allowed_chain_ids={chain_id})
    assert message.nonce == nonce
