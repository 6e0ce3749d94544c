"""Sign EIP-4361 messages with throwaway keys, as a browser wallet would."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from accounts import siwe

DOMAIN = "testserver"
URI = "http://testserver"
CHAIN_ID = 1337


def new_account():
    return Account.create()


def sign(text: str, account) -> str:
    signed = Account.sign_message(encode_defunct(text=text), private_key=account.key)
    return "0x" + bytes(signed.signature).hex()


def message(
    account,
    nonce: str,
    *,
    domain: str = DOMAIN,
    uri: str = URI,
    chain_id: int = CHAIN_ID,
    issued_at: datetime | None = None,
    expiration_time: datetime | None = None,
    not_before: datetime | None = None,
) -> str:
    now = timezone.now().replace(microsecond=0)
    return siwe.build_message(
        domain=domain,
        address=account.address,
        uri=uri,
        chain_id=chain_id,
        nonce=nonce,
        issued_at=issued_at or now,
        statement="Link this wallet to my Agora account.",
        expiration_time=expiration_time if expiration_time is not None else now + timedelta(minutes=5),
        not_before=not_before,
    )
