"""Sign-In with Ethereum through the services: every negative case rejected, the valid one accepted."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import services
from accounts.errors import WalletAlreadyLinked, WalletNotLinked, WalletSignatureRejected
from accounts.models import SiweNonce, Wallet
from tests.accounts import siwe_helpers as h

pytestmark = pytest.mark.django_db

CONTEXT = services.SiweContext(domain=h.DOMAIN, uri=h.URI)


def _link_nonce(user) -> str:
    return services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=user).nonce


def test_valid_message_links_the_wallet(user):
    account = h.new_account()
    text = h.message(account, _link_nonce(user))
    wallet = services.wallet_link(user=user, message=text, signature=h.sign(text, account), context=CONTEXT)
    assert wallet.address == account.address
    assert wallet.user == user
    assert wallet.chain_id == h.CHAIN_ID
    assert not SiweNonce.objects.exists()  # consumed


def test_nonce_has_at_least_96_bits_and_a_short_life(user):
    nonce = services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=user)
    assert len(nonce.nonce) * 5.95 >= 96  # log2(62) ≈ 5.95 bits per alphanumeric character
    assert nonce.nonce.isalnum()
    assert timedelta(0) < nonce.expires_at - timezone.now() <= timedelta(minutes=10)


def _reject(user, text, signature, reason):
    with pytest.raises(WalletSignatureRejected) as excinfo:
        services.wallet_link(user=user, message=text, signature=signature, context=CONTEXT)
    assert excinfo.value.detail["reason"] == reason
    assert not Wallet.objects.exists()


def test_reused_nonce_is_rejected(user):
    account = h.new_account()
    text = h.message(account, _link_nonce(user))
    signature = h.sign(text, account)
    services.wallet_link(user=user, message=text, signature=signature, context=CONTEXT)
    Wallet.objects.all().delete()
    _reject(user, text, signature, "nonce_invalid")


def test_expired_nonce_is_rejected(user):
    account = h.new_account()
    nonce = _link_nonce(user)
    text = h.message(account, nonce, expiration_time=timezone.now() + timedelta(hours=1))
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        _reject(user, text, h.sign(text, account), "nonce_invalid")


def test_unknown_nonce_is_rejected(user):
    account = h.new_account()
    text = h.message(account, "NeverIssuedByTheServer1")
    _reject(user, text, h.sign(text, account), "nonce_invalid")


def test_nonce_issued_to_another_user_is_rejected(user, other_user):
    account = h.new_account()
    text = h.message(account, _link_nonce(other_user))
    _reject(user, text, h.sign(text, account), "nonce_invalid")


def test_login_nonce_cannot_link(user):
    account = h.new_account()
    nonce = services.siwe_nonce_create(purpose=SiweNonce.Purpose.LOGIN).nonce
    text = h.message(account, nonce)
    _reject(user, text, h.sign(text, account), "nonce_invalid")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"domain": "evil.example"}, "domain_mismatch"),
        ({"domain": "testserver:8000"}, "domain_mismatch"),
        ({"uri": "https://testserver"}, "uri_mismatch"),
        ({"uri": "http://evil.example"}, "uri_mismatch"),
        ({"chain_id": 1}, "chain_mismatch"),
        ({"expiration_time": "past"}, "expired"),
        ({"not_before": "future"}, "not_yet_valid"),
        ({"issued_at": "future"}, "issued_in_future"),
    ],
)
def test_message_field_mismatches_are_rejected(user, overrides, reason):
    now = timezone.now().replace(microsecond=0)
    times = {"past": now - timedelta(minutes=1), "future": now + timedelta(minutes=30)}
    kwargs = {k: times.get(v, v) if isinstance(v, str) else v for k, v in overrides.items()}
    account = h.new_account()
    nonce = _link_nonce(user)
    if kwargs.get("issued_at"):
        kwargs["expiration_time"] = kwargs["issued_at"] + timedelta(minutes=5)
    text = h.message(account, nonce, **kwargs)
    _reject(user, text, h.sign(text, account), reason)
    assert not SiweNonce.objects.filter(nonce=nonce).exists()  # burned by the failed attempt


def test_signature_by_another_key_is_rejected(user):
    account, impostor = h.new_account(), h.new_account()
    text = h.message(account, _link_nonce(user))
    _reject(user, text, h.sign(text, impostor), "signer_mismatch")


def test_signature_over_other_text_is_rejected(user):
    account = h.new_account()
    text = h.message(account, _link_nonce(user))
    _reject(user, text, h.sign(text + " ", account), "signer_mismatch")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace("Version: 1", "Version: 2"),
        lambda t: t.replace("URI: ", "Uri: "),
        lambda t: t + "\nTrailing: junk",
        lambda t: "\n".join(t.splitlines()[1:]),
        lambda t: "",
        lambda t: t.replace("Chain ID: 1337", "Chain ID: one"),
    ],
)
def test_malformed_messages_are_rejected(user, mangle):
    account = h.new_account()
    text = mangle(h.message(account, _link_nonce(user)))
    _reject(user, text, h.sign(text, account) if text else "0x" + "00" * 65, "malformed_message")


def test_wallet_linked_to_another_account_is_refused(user, other_user):
    account = h.new_account()
    text = h.message(account, _link_nonce(other_user))
    services.wallet_link(user=other_user, message=text, signature=h.sign(text, account), context=CONTEXT)
    text = h.message(account, _link_nonce(user))
    with pytest.raises(WalletAlreadyLinked):
        services.wallet_link(user=user, message=text, signature=h.sign(text, account), context=CONTEXT)
    assert Wallet.objects.get().user == other_user


def test_linking_the_same_wallet_twice_is_idempotent(user):
    account = h.new_account()
    first = h.message(account, _link_nonce(user))
    w1 = services.wallet_link(user=user, message=first, signature=h.sign(first, account), context=CONTEXT)
    second = h.message(account, _link_nonce(user))
    w2 = services.wallet_link(user=user, message=second, signature=h.sign(second, account), context=CONTEXT)
    assert w1.pk == w2.pk
    assert Wallet.objects.count() == 1


def test_a_user_may_link_several_wallets(user):
    for _ in range(3):
        account = h.new_account()
        text = h.message(account, _link_nonce(user))
        services.wallet_link(user=user, message=text, signature=h.sign(text, account), context=CONTEXT)
    assert Wallet.objects.filter(user=user).count() == 3


def _login_text(account) -> str:
    return h.message(account, services.siwe_nonce_create(purpose=SiweNonce.Purpose.LOGIN).nonce)


def test_linked_wallet_logs_in(user):
    account = h.new_account()
    text = h.message(account, _link_nonce(user))
    services.wallet_link(user=user, message=text, signature=h.sign(text, account), context=CONTEXT)
    text = _login_text(account)
    assert services.wallet_login(message=text, signature=h.sign(text, account), context=CONTEXT) == user
    assert Wallet.objects.get().last_login_at is not None


def test_unlinked_wallet_cannot_log_in(user):
    account = h.new_account()
    text = _login_text(account)
    with pytest.raises(WalletNotLinked):
        services.wallet_login(message=text, signature=h.sign(text, account), context=CONTEXT)


def test_login_message_replayed_is_rejected(user):
    account = h.new_account()
    text = h.message(account, _link_nonce(user))
    services.wallet_link(user=user, message=text, signature=h.sign(text, account), context=CONTEXT)
    text = _login_text(account)
    signature = h.sign(text, account)
    services.wallet_login(message=text, signature=signature, context=CONTEXT)
    with pytest.raises(WalletSignatureRejected) as excinfo:
        services.wallet_login(message=text, signature=signature, context=CONTEXT)
    assert excinfo.value.detail["reason"] == "nonce_invalid"


def test_losing_a_race_to_link_the_same_address_is_already_linked(user, other_user, monkeypatch):
    account = h.new_account()
    Wallet.objects.create(user=other_user, address=account.address, chain_id=h.CHAIN_ID)
    # Our locked lookup ran before the rival's link committed, so it saw no row to lock.
    monkeypatch.setattr(Wallet.objects, "select_for_update", Wallet.objects.none)
    text = h.message(account, _link_nonce(user))
    with pytest.raises(WalletAlreadyLinked):
        services.wallet_link(user=user, message=text, signature=h.sign(text, account), context=CONTEXT)
    assert Wallet.objects.get().user == other_user
