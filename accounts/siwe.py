"""Sign-In with Ethereum (EIP-4361): message builder, strict parser and verifier.

Pure Python on purpose: nonce storage and consumption belong to the Django
service layer, which must do them atomically, so this module only checks the
message itself and the signature over it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import SplitResult, urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_checksum_address, to_checksum_address

__all__ = [
    "SiweError",
    "SiweMessage",
    "build_message",
    "nonce_is_wellformed",
    "parse_message",
    "verify_message",
]

_HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"

# RFC 3986 character classes, spelled out so that Unicode never sneaks in
# through \w or \d.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT_ENCODED = r"%[0-9A-Fa-f]{2}"

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_AUTHORITY_RE = re.compile(
    rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT_ENCODED})*@)?"
    rf"(?:\[[0-9A-Fa-f:.]+\]|(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT_ENCODED})+)"
    r"(?::[0-9]*)?"
)
_HEADER_RE = re.compile(
    rf"(?:(?P<scheme>{_SCHEME_RE.pattern})://)?(?P<domain>[^\s]+){re.escape(_HEADER_SUFFIX)}"
)
_URI_RE = re.compile(rf"{_SCHEME_RE.pattern}:(?:[{_UNRESERVED}{_SUB_DELIMS}:/?#\[\]@]|{_PCT_ENCODED})*")
_REQUEST_ID_RE = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT_ENCODED})*")
_ADDRESS_RE = re.compile(r"0x[0-9A-Fa-f]{40}")
_NONCE_RE = re.compile(r"[A-Za-z0-9]{8,}")
# Leading zeros are refused so that every chain id has exactly one spelling,
# which keeps to_text() canonical; 78 digits already exceeds uint256.
_CHAIN_ID_RE = re.compile(r"0|[1-9][0-9]{0,77}")
_DATETIME_RE = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"[Tt](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]+))?"
    r"(?:(?P<zulu>[Zz])|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))"
)
# Line breaks of any kind would let a statement render as several lines in a
# wallet while still parsing as one here; surrogates cannot be signed as UTF-8.
_FORBIDDEN_STATEMENT_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class SiweError(Exception):
    """A SIWE message or signature was rejected; ``code`` is machine-readable."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        # Passing both to Exception keeps the error picklable (args round-trip
        # through __init__), which matters for task queues and test runners.
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


def _malformed(message: str) -> SiweError:
    return SiweError("malformed_message", message)


def _check_domain(domain: str) -> None:
    if not _AUTHORITY_RE.fullmatch(domain):
        raise _malformed(f"Domain {domain!r} is not a valid RFC 3986 authority.")


def _check_address(address: str) -> None:
    if not _ADDRESS_RE.fullmatch(address):
        raise _malformed("Address must be 0x followed by 40 hexadecimal digits.")
    if not is_checksum_address(address):
        raise _malformed("Address is not in EIP-55 checksum form.")


def _check_statement(statement: str) -> None:
    # An empty statement would be indistinguishable from an absent one once
    # rendered, so absence must be spelled None.
    if not statement:
        raise _malformed("Statement must not be empty when present.")
    for char in statement:
        if unicodedata.category(char) in _FORBIDDEN_STATEMENT_CATEGORIES:
            raise _malformed("Statement must be a single line without control characters.")


def _check_generic_uri(uri: str, what: str) -> None:
    if not _URI_RE.fullmatch(uri):
        raise _malformed(f"{what} {uri!r} is not a valid RFC 3986 URI.")


def _split_http_uri(uri: str) -> SplitResult:
    _check_generic_uri(uri, "URI")
    try:
        parts = urlsplit(uri)
        # Accessing .port validates it; urlsplit itself is lenient.
        _ = parts.port
    except ValueError as exc:
        raise _malformed(f"URI {uri!r} is not a valid URI.") from exc
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise _malformed(f"URI {uri!r} must be an http(s) URI with a host.")
    return parts


def _check_nonce(nonce: str) -> None:
    if not nonce_is_wellformed(nonce):
        raise _malformed("Nonce must be at least 8 ASCII letters or digits.")


def _check_chain_id(chain_id: int) -> None:
    # bool is an int subclass but True is never a deliberate chain id.
    if isinstance(chain_id, bool) or not isinstance(chain_id, int):
        raise _malformed("Chain ID must be an integer.")
    if not _CHAIN_ID_RE.fullmatch(str(chain_id)):
        raise _malformed("Chain ID must be a non-negative integer below 10**78.")


def _check_request_id(request_id: str) -> None:
    if not _REQUEST_ID_RE.fullmatch(request_id):
        raise _malformed("Request ID contains characters outside RFC 3986 pchar.")


def _normalize_time(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise _malformed(f"{what} must be a timezone-aware datetime.")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise _malformed(f"{what} is out of range once converted to UTC.") from exc


def _format_time(value: datetime) -> str:
    value = value.astimezone(UTC)
    # strftime's %Y is not zero-padded on every libc, and RFC 3339 needs 4 digits.
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def _parse_time(text: str, what: str) -> datetime:
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        raise _malformed(f"{what} {text!r} is not an RFC 3339 date-time.")
    # datetime only holds microseconds; finer digits cannot affect validity
    # windows measured in seconds, so they are truncated rather than refused.
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        if match["zulu"]:
            tz = UTC
        else:
            if int(match["off_hour"]) > 23 or int(match["off_minute"]) > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=int(match["off_hour"]), minutes=int(match["off_minute"]))
            tz = timezone(-offset if match["sign"] == "-" else offset)
        # Leap seconds (":60") are refused here because datetime cannot hold them.
        parsed = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            int(fraction),
            tzinfo=tz,
        )
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _malformed(f"{what} {text!r} is not a valid date-time.") from exc


@dataclass(frozen=True)
class SiweMessage:
    """One EIP-4361 message; construction validates every field."""

    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default=())
    scheme: str | None = None

    def __post_init__(self) -> None:
        # Validating here rather than only in the parser guarantees that
        # to_text() always yields something parse_message() accepts.
        if self.scheme is not None and not _SCHEME_RE.fullmatch(self.scheme):
            raise _malformed(f"Scheme {self.scheme!r} is not a valid URI scheme.")
        _check_domain(self.domain)
        _check_address(self.address)
        if self.statement is not None:
            _check_statement(self.statement)
        _split_http_uri(self.uri)
        if self.version != "1":
            raise _malformed("Version must be 1.")
        _check_chain_id(self.chain_id)
        _check_nonce(self.nonce)
        # Normalising to UTC keeps comparisons and the canonical 'Z' rendering
        # independent of whichever offset the signer's clock used.
        object.__setattr__(self, "issued_at", _normalize_time(self.issued_at, "Issued At"))
        if self.expiration_time is not None:
            object.__setattr__(
                self,
                "expiration_time",
                _normalize_time(self.expiration_time, "Expiration Time"),
            )
        if self.not_before is not None:
            object.__setattr__(self, "not_before", _normalize_time(self.not_before, "Not Before"))
        if self.request_id is not None:
            _check_request_id(self.request_id)
        # A list would make the frozen dataclass unhashable and mutable.
        object.__setattr__(self, "resources", tuple(self.resources))
        for resource in self.resources:
            _check_generic_uri(resource, "Resource")

    def to_text(self) -> str:
        """Render the canonical EIP-4361 text, the exact bytes a wallet signs."""
        origin = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [origin + _HEADER_SUFFIX, self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines.append("")
        lines.append(f"URI: {self.uri}")
        lines.append(f"Version: {self.version}")
        lines.append(f"Chain ID: {self.chain_id}")
        lines.append(f"Nonce: {self.nonce}")
        lines.append(f"Issued At: {_format_time(self.issued_at)}")
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {_format_time(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {_format_time(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines.extend(f"- {resource}" for resource in self.resources)
        return "\n".join(lines)


class _Lines:
    """Cursor over message lines so optional fields can be consumed in order."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._index = 0

    def at_end(self) -> bool:
        return self._index >= len(self._lines)

    def peek(self) -> str | None:
        return None if self.at_end() else self._lines[self._index]

    def take(self, what: str) -> str:
        line = self.peek()
        if line is None:
            raise _malformed(f"Message ends before the {what}.")
        self._index += 1
        return line

    def take_empty(self, what: str) -> None:
        if self.take(what) != "":
            raise _malformed(f"Expected an empty line ({what}).")

    def take_field(self, label: str) -> str:
        prefix = f"{label}: "
        line = self.take(f"{label!r} line")
        if not line.startswith(prefix):
            raise _malformed(f"Expected a {label!r} line, found {line[:40]!r}.")
        return line[len(prefix) :]

    def take_optional_field(self, label: str) -> str | None:
        line = self.peek()
        if line is None or not line.startswith(f"{label}: "):
            return None
        return self.take_field(label)


def parse_message(text: str) -> SiweMessage:
    """Parse EIP-4361 text strictly; any deviation raises ``malformed_message``."""
    if not isinstance(text, str) or not text:
        raise _malformed("Message is empty.")
    # CR is refused outright: a CRLF message would otherwise fail with a
    # confusing per-field error, and the signed bytes must be exactly LF-based.
    if "\r" in text:
        raise _malformed("Message must use LF line endings only.")
    cursor = _Lines(text.split("\n"))

    header = _HEADER_RE.fullmatch(cursor.take("header line"))
    if header is None:
        raise _malformed("First line is not a SIWE header.")
    address = cursor.take("address line")
    cursor.take_empty("after the address")

    # With a statement the layout is "", statement, ""; without it, "", "".
    statement: str | None = cursor.take("statement or empty line")
    if statement == "":
        statement = None
    else:
        cursor.take_empty("after the statement")

    uri = cursor.take_field("URI")
    version = cursor.take_field("Version")
    chain_id_text = cursor.take_field("Chain ID")
    if not _CHAIN_ID_RE.fullmatch(chain_id_text):
        raise _malformed(f"Chain ID {chain_id_text!r} is not a decimal integer.")
    nonce = cursor.take_field("Nonce")
    issued_at = _parse_time(cursor.take_field("Issued At"), "Issued At")

    expiration_text = cursor.take_optional_field("Expiration Time")
    not_before_text = cursor.take_optional_field("Not Before")
    request_id = cursor.take_optional_field("Request ID")
    resources: list[str] = []
    if cursor.peek() == "Resources:":
        cursor.take("Resources line")
        while (line := cursor.peek()) is not None and line.startswith("- "):
            resources.append(cursor.take("resource")[2:])

    if not cursor.at_end():
        raise _malformed(f"Unexpected content: {cursor.peek()!r:.60}.")

    return SiweMessage(
        domain=header["domain"],
        address=address,
        statement=statement,
        uri=uri,
        version=version,
        chain_id=int(chain_id_text),
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=(
            None if expiration_text is None else _parse_time(expiration_text, "Expiration Time")
        ),
        not_before=None if not_before_text is None else _parse_time(not_before_text, "Not Before"),
        request_id=request_id,
        resources=tuple(resources),
        scheme=header["scheme"],
    )


def build_message(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    nonce: str,
    issued_at: datetime,
    statement: str | None = None,
    expiration_time: datetime | None = None,
    not_before: datetime | None = None,
) -> str:
    """Build canonical EIP-4361 text.

    An all-lowercase (or all-uppercase) hex address is checksummed, since
    clients commonly send addresses that way; a mixed-case address with a
    wrong checksum is refused as a likely typo. Invalid input is a server-side
    bug, so it raises ``ValueError`` rather than ``SiweError``.
    """
    if _ADDRESS_RE.fullmatch(address):
        digits = address[2:]
        if digits == digits.lower() or digits == digits.upper():
            address = to_checksum_address(address)
    try:
        message = SiweMessage(
            domain=domain,
            address=address,
            statement=statement,
            uri=uri,
            version="1",
            chain_id=chain_id,
            nonce=nonce,
            issued_at=issued_at,
            expiration_time=expiration_time,
            not_before=not_before,
        )
    except SiweError as exc:
        raise ValueError(exc.message) from exc
    return message.to_text()


def nonce_is_wellformed(nonce: str) -> bool:
    """Whether ``nonce`` matches EIP-4361's ``8*( ALPHA / DIGIT )``."""
    return isinstance(nonce, str) and _NONCE_RE.fullmatch(nonce) is not None


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    scheme = parts.scheme.lower()
    # hostname is already lowercased by urlsplit; explicit default ports must
    # compare equal to omitted ones.
    return scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS[scheme]


def _decode_signature(signature: str) -> bytes:
    hex_digits = signature[2:] if signature[:2] in ("0x", "0X") else signature
    return bytes.fromhex(hex_digits)


def verify_message(
    *,
    text: str,
    signature: str,
    expected_domain: str,
    expected_uri: str,
    allowed_chain_ids: Collection[int],
    now: datetime,
    clock_skew: timedelta = timedelta(minutes=1),
    max_age: timedelta | None = None,
) -> SiweMessage:
    """Check a signed SIWE message against this server's expectations.

    The nonce is deliberately not checked: the caller must consume its
    server-side nonce atomically and compare it with ``message.nonce``.
    ``expected_uri`` is server configuration, so an invalid one raises
    ``ValueError``; so does a naive ``now``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime.")
    try:
        expected_origin = _origin(_split_http_uri(expected_uri))
    except SiweError as exc:
        raise ValueError(f"expected_uri is invalid: {exc.message}") from exc

    message = parse_message(text)

    if message.domain != expected_domain:
        raise SiweError(
            "domain_mismatch",
            f"Message is for domain {message.domain!r}, expected {expected_domain!r}.",
        )
    if _origin(urlsplit(message.uri)) != expected_origin:
        raise SiweError("uri_mismatch", "Message URI does not match this site's origin.")
    if message.chain_id not in allowed_chain_ids:
        raise SiweError("chain_mismatch", f"Chain ID {message.chain_id} is not allowed.")
    if message.issued_at > now + clock_skew:
        raise SiweError("issued_in_future", "Message was issued in the future.")
    if max_age is not None and message.issued_at < now - max_age:
        raise SiweError("expired", "Message was issued too long ago.")
    if message.expiration_time is not None and message.expiration_time <= now:
        raise SiweError("expired", "Message has expired.")
    if message.not_before is not None and message.not_before > now:
        raise SiweError("not_yet_valid", "Message is not valid yet.")

    try:
        recovered = Account.recover_message(encode_defunct(text=text), signature=_decode_signature(signature))
    # Garbage signatures surface as many unrelated types (ValueError,
    # IndexError, eth_keys BadSignature, TypeError for non-str input), none of
    # which is a stable API, so any failure here means "not a valid signature".
    except Exception as exc:
        raise SiweError("invalid_signature", "Signature is not valid.") from exc
    if recovered != message.address:
        raise SiweError("signer_mismatch", "Signature was made by a different address.")
    return message
