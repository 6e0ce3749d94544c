"""Payouts (SPEC §4): the payable is debited once per reference with the instant fee to platform
revenue and the net to the rail; the minimum, the balance and the KYC threshold are enforced; the
scheduled run pays each balance once a period; cancel and failure reverse the whole posting.

USD payouts are settled by staff here (no Stripe Connect in localstripe; see the service's module
doc); AGR payouts' chain side runs end to end in tests/tokenomics/chain/test_payouts_chain.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Wallet
from tests.accounts.factories import UserFactory, staff_with
from tests.tokenomics.payout_factories import balance_of, funded_payable, parameter_override, payout_wallet
from tokenomics.chain_client import checksum
from tokenomics.errors import (
    AmountInvalid,
    ChainAddressInvalid,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidState,
    KycRequired,
    PayoutDestinationCoolingDown,
    PayoutDestinationNotAllowed,
    PayoutNotFound,
    PermissionDenied,
)
from tokenomics.models import LedgerTransaction, Payout
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.models.rails import ChainPayout
from tokenomics.money import agr, usd_cents_to_agr_base_units
from tokenomics.selectors.payouts import payout_get_for_user, payout_minimum, payout_quote
from tokenomics.services.payouts import (
    payout_approve,
    payout_cancel,
    payout_mark_failed,
    payout_mark_paid,
    payout_period,
    payout_request,
    payouts_run_scheduled,
    payouts_sync_chain,
)
from tokenomics.services.staking import kyc_verify

pytestmark = pytest.mark.django_db

CREATOR = AccountKind.CREATOR_PAYABLE
PROVIDER = AccountKind.PROVIDER_PAYABLE
Status = Payout.Status
ADDRESS = "0x" + "ab" * 20
ADDRESS_EIP55 = checksum(ADDRESS)


@pytest.fixture
def creator():
    return UserFactory()


@pytest.fixture
def staff():
    return staff_with("tokenomics.settle_payout")


def _legs(payout: Payout) -> dict[tuple[str, int | None], int]:
    assert payout.ledger_transaction is not None
    return {
        (entry.account.kind, entry.account.owner_id): entry.amount
        for entry in payout.ledger_transaction.entries.select_related("account")
    }


# ----------------------------------------------------------------------------- rules


def test_instant_usd_payout_posts_fee_and_net_exactly(creator) -> None:
    funded_payable(user=creator, amount=50_000)
    revenue_before = balance_of(None, AccountKind.PLATFORM_REVENUE)
    payout = payout_request(user=creator, asset="USD", amount=10_001)
    # 150 bps of 10_001 is 150.015: rounded down to 150; the payee keeps the fraction.
    assert (payout.fee, payout.net) == (150, 9_851)
    assert payout.fee + payout.net == payout.amount
    assert payout.status == Status.PROCESSING
    assert payout.rail == "card"
    assert payout.instant is True
    assert payout.ledger_transaction.kind == TransactionKind.PAYOUT
    assert _legs(payout) == {
        (CREATOR, creator.pk): -10_001,
        (AccountKind.PLATFORM_REVENUE, None): 150,
        (AccountKind.EXTERNAL_STRIPE, None): 9_851,
    }
    assert balance_of(creator, CREATOR) == 50_000 - 10_001
    assert balance_of(None, AccountKind.PLATFORM_REVENUE) == revenue_before + 150


def test_fee_follows_the_registry_and_rounds_down(creator) -> None:
    funded_payable(user=creator, amount=50_000)
    parameter_override("payout.instant_fee_bps", 333)
    quote = payout_quote(user=creator, asset="USD", amount=1_999, instant=True)
    assert (quote.fee_bps, quote.fee, quote.net) == (333, 66, 1_933)  # 66.5667 -> 66
    assert payout_quote(user=creator, asset="USD", amount=1_999, instant=False).fee == 0


def test_a_fee_below_one_cent_is_zero_and_no_revenue_leg(creator) -> None:
    funded_payable(user=creator, amount=5_000)
    parameter_override("payout.instant_fee_bps", 1)
    payout = payout_request(user=creator, asset="USD", amount=5_000)  # 0.5 cent -> 0
    assert (payout.fee, payout.net) == (0, 5_000)
    assert set(_legs(payout)) == {(CREATOR, creator.pk), (AccountKind.EXTERNAL_STRIPE, None)}


def test_below_the_minimum_is_refused(creator) -> None:
    funded_payable(user=creator, amount=50_000)
    with pytest.raises(AmountInvalid) as caught:
        payout_request(user=creator, asset="USD", amount=999)
    assert caught.value.message == "The smallest payout is $10.00."
    assert caught.value.detail == {"minimum": {"amount": "1000", "asset": "USD"}}
    assert Payout.objects.count() == 0
    assert payout_request(user=creator, asset="USD", amount=1_000).amount == 1_000


def test_agr_minimum_is_the_usd_minimum_at_the_reference_price(creator) -> None:
    # $10.00 at $0.10 per AGR (100_000 micro-USD) is 100 AGR.
    assert payout_minimum(asset="AGR") == agr(100)
    parameter_override("token.agr_price_micro_usd", 300_000)
    expected = usd_cents_to_agr_base_units(cents=1_000, agr_price_micro_usd=300_000)
    assert payout_minimum(asset="AGR") == expected == agr(100) // 3 + 1  # rounded up
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS)
    with pytest.raises(AmountInvalid):
        payout_request(user=creator, asset="AGR", amount=expected - 1, to_address=ADDRESS)


def test_more_than_the_payable_balance_is_refused_and_nothing_moves(creator) -> None:
    funded_payable(user=creator, amount=5_000)
    transactions = LedgerTransaction.objects.count()
    with pytest.raises(InsufficientFunds) as caught:
        payout_request(user=creator, asset="USD", amount=5_001)
    assert caught.value.detail["available"] == "5000"
    assert Payout.objects.count() == 0
    assert LedgerTransaction.objects.count() == transactions
    with pytest.raises(InsufficientFunds):  # the other payable holds nothing
        payout_request(user=creator, asset="USD", amount=1_000, account_kind=PROVIDER)


def test_wallet_money_is_not_a_payable(creator) -> None:
    with pytest.raises(AmountInvalid):
        payout_request(user=creator, asset="USD", amount=1_000, account_kind=AccountKind.WALLET)


def test_provider_payable_pays_out_too(creator) -> None:
    funded_payable(user=creator, amount=2_000, kind=PROVIDER)
    payout = payout_request(user=creator, asset="USD", amount=2_000, account_kind=PROVIDER, instant=False)
    assert (payout.account_kind, payout.fee, payout.net) == (PROVIDER, 0, 2_000)
    assert balance_of(creator, PROVIDER) == 0


def test_an_address_on_a_usd_payout_is_refused(creator) -> None:
    funded_payable(user=creator, amount=5_000)
    with pytest.raises(AmountInvalid):
        payout_request(user=creator, asset="USD", amount=5_000, to_address=ADDRESS)


# ----------------------------------------------------------------------------- once per reference


def test_same_reference_returns_the_same_payout_and_moves_nothing_again(creator) -> None:
    funded_payable(user=creator, amount=5_000)
    first = payout_request(user=creator, asset="USD", amount=5_000, reference="payout:r1")
    transactions = LedgerTransaction.objects.count()
    # The balance is now 0, yet the repeat is answered: it is the same request.
    again = payout_request(user=creator, asset="USD", amount=5_000, reference="payout:r1")
    assert again.pk == first.pk
    assert LedgerTransaction.objects.count() == transactions
    with pytest.raises(IdempotencyConflict):
        payout_request(user=creator, asset="USD", amount=4_000, reference="payout:r1")
    with pytest.raises(IdempotencyConflict):
        payout_request(user=UserFactory(), asset="USD", amount=5_000, reference="payout:r1")


# ----------------------------------------------------------------------------- AGR (ledger side)


def test_agr_payout_records_a_chain_payout_of_the_net_sharing_the_debit(creator) -> None:
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS_EIP55)
    payout = payout_request(user=creator, asset="AGR", amount=agr(200))
    assert payout.to_address == ADDRESS_EIP55  # the linked wallet by default
    assert payout.fee == agr(200) * 150 // 10_000 == agr(3)
    chain = payout.chain_payout
    assert chain is not None
    assert (chain.status, chain.amount, chain.to_address) == (
        ChainPayout.Status.PENDING,
        agr(197),
        ADDRESS_EIP55,
    )
    assert chain.ledger_transaction_id == payout.ledger_transaction_id  # one posting, not two
    assert _legs(payout) == {
        (CREATOR, creator.pk): -agr(200),
        (AccountKind.PLATFORM_REVENUE, None): agr(3),
        (AccountKind.EXTERNAL_CHAIN, None): agr(197),
    }


def test_agr_payout_needs_an_address(creator) -> None:
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    with pytest.raises(PayoutDestinationNotAllowed):
        payout_request(user=creator, asset="AGR", amount=agr(200))  # no linked wallet
    with pytest.raises(ChainAddressInvalid):
        payout_request(user=creator, asset="AGR", amount=agr(200), to_address="0x1234")
    bad_checksum = ADDRESS_EIP55.swapcase().replace("0X", "0x")
    with pytest.raises(ChainAddressInvalid):
        payout_request(user=creator, asset="AGR", amount=agr(200), to_address=bad_checksum)
    assert Payout.objects.count() == 0


def test_sync_marks_agr_payouts_paid_or_failed_from_their_transfer(creator) -> None:
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS)
    ok = payout_request(user=creator, asset="AGR", amount=agr(200), to_address=ADDRESS)
    pending = payout_request(user=creator, asset="AGR", amount=agr(200), to_address=ADDRESS)
    ChainPayout.objects.filter(pk=ok.chain_payout_id).update(status=ChainPayout.Status.CONFIRMED)
    assert payouts_sync_chain().paid == 1
    ok.refresh_from_db()
    pending.refresh_from_db()
    assert ok.status == Status.PAID
    assert ok.settled_at is not None
    assert pending.status == Status.PROCESSING
    assert payouts_sync_chain().paid == 0  # nothing moves twice


def test_agr_payouts_are_not_settled_by_hand(creator) -> None:
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS)
    payout = payout_request(user=creator, asset="AGR", amount=agr(200), to_address=ADDRESS)
    with pytest.raises(InvalidState):
        payout_mark_paid(payout_id=payout.pk)
    with pytest.raises(InvalidState):
        payout_mark_failed(payout_id=payout.pk, reason="no")


# ----------------------------------------------------------------------------- KYC threshold


def test_above_the_kyc_threshold_without_kyc_is_refused_and_moves_nothing(creator) -> None:
    funded_payable(user=creator, amount=100_000)
    transactions = LedgerTransaction.objects.count()
    with pytest.raises(KycRequired) as excinfo:
        payout_request(user=creator, asset="USD", amount=60_001)
    assert excinfo.value.status_code == 403
    assert excinfo.value.code == "kyc_required"
    assert (LedgerTransaction.objects.count(), Payout.objects.count()) == (transactions, 0)
    assert balance_of(creator, CREATOR) == 100_000
    # At the threshold itself it is not above: paid without KYC.
    assert payout_request(user=creator, asset="USD", amount=60_000).status == Status.PROCESSING


def test_above_the_kyc_threshold_waits_for_review_with_the_money_held(creator, staff) -> None:
    funded_payable(user=creator, amount=100_000)
    small = payout_request(user=creator, asset="USD", amount=60_000)  # at the threshold: not above
    assert small.status == Status.PROCESSING
    funded_payable(user=creator, amount=60_001)
    kyc_verify(user=creator, staff_user=staff)
    big = payout_request(user=creator, asset="USD", amount=60_001)
    assert big.status == Status.NEEDS_REVIEW
    assert balance_of(creator, CREATOR) == 100_000 - 60_000
    for unpermitted in (UserFactory(is_staff=True), staff_with("tokenomics.change_payout")):
        with pytest.raises(PermissionDenied):  # staff status is not a permission to move money
            payout_approve(payout_id=big.pk, staff=unpermitted)
    assert Payout.objects.get(pk=big.pk).status == Status.NEEDS_REVIEW
    approved = payout_approve(payout_id=big.pk, staff=staff)
    assert approved.status == Status.PROCESSING
    assert approved.reviewed_by == staff
    assert approved.reviewed_at is not None
    with pytest.raises(InvalidState):
        payout_approve(payout_id=big.pk, staff=staff)


def test_agr_above_the_threshold_gets_its_transfer_only_when_approved(creator, staff) -> None:
    # $600.00 is 6,000 AGR at $0.10: 6,001 AGR is above it.
    funded_payable(user=creator, amount=agr(7_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS)
    kyc_verify(user=creator, staff_user=UserFactory(is_staff=True))
    payout = payout_request(user=creator, asset="AGR", amount=agr(6_001), to_address=ADDRESS)
    assert payout.status == Status.NEEDS_REVIEW
    assert payout.chain_payout is None
    assert ChainPayout.objects.count() == 0
    payout = payout_approve(payout_id=payout.pk, staff=staff)
    assert payout.chain_payout is not None
    assert payout.chain_payout.amount == payout.net
    assert payout.chain_payout.ledger_transaction_id == payout.ledger_transaction_id


# ----------------------------------------------------------------------------- cancel, fail, paid


def test_cancel_reverses_the_whole_posting_fee_included(creator) -> None:
    funded_payable(user=creator, amount=100_000)
    revenue_before = balance_of(None, AccountKind.PLATFORM_REVENUE)
    stripe_before = balance_of(None, AccountKind.EXTERNAL_STRIPE)
    kyc_verify(user=creator, staff_user=UserFactory(is_staff=True))
    payout = payout_request(user=creator, asset="USD", amount=80_000)
    assert payout.status == Status.NEEDS_REVIEW
    canceled = payout_cancel(payout_id=payout.pk, user=creator)
    assert canceled.status == Status.CANCELED
    assert canceled.reversal_transaction.reverses_id == payout.ledger_transaction_id
    assert balance_of(creator, CREATOR) == 100_000
    assert balance_of(None, AccountKind.PLATFORM_REVENUE) == revenue_before
    assert balance_of(None, AccountKind.EXTERNAL_STRIPE) == stripe_before
    transactions = LedgerTransaction.objects.count()
    assert payout_cancel(payout_id=payout.pk).status == Status.CANCELED  # a repeat moves nothing
    assert LedgerTransaction.objects.count() == transactions


def test_cancel_is_only_for_payouts_not_yet_sent_and_only_ones_own(creator) -> None:
    funded_payable(user=creator, amount=100_000)
    sent = payout_request(user=creator, asset="USD", amount=1_000)
    with pytest.raises(InvalidState):
        payout_cancel(payout_id=sent.pk, user=creator)
    kyc_verify(user=creator, staff_user=UserFactory(is_staff=True))
    held = payout_request(user=creator, asset="USD", amount=70_000)
    with pytest.raises(PayoutNotFound):
        payout_cancel(payout_id=held.pk, user=UserFactory())
    assert Payout.objects.get(pk=held.pk).status == Status.NEEDS_REVIEW


def test_staff_settle_usd_payouts_paid_or_failed_with_the_money_returned(creator, staff) -> None:
    funded_payable(user=creator, amount=10_000)
    paid = payout_request(user=creator, asset="USD", amount=4_000)
    failed = payout_request(user=creator, asset="USD", amount=6_000)
    assert payout_mark_paid(payout_id=paid.pk, staff=staff).status == Status.PAID
    assert payout_mark_paid(payout_id=paid.pk).status == Status.PAID  # a repeat changes nothing
    result = payout_mark_failed(payout_id=failed.pk, reason="Bank account closed", staff=staff)
    assert (result.status, result.failure_reason) == (Status.FAILED, "Bank account closed")
    assert balance_of(creator, CREATOR) == 6_000
    with pytest.raises(InvalidState):
        payout_mark_failed(payout_id=paid.pk, reason="too late")
    with pytest.raises(InvalidState):
        payout_mark_paid(payout_id=failed.pk)


# ----------------------------------------------------------------------------- selectors


def test_another_users_payout_is_not_found(creator) -> None:
    funded_payable(user=creator, amount=5_000)
    payout = payout_request(user=creator, asset="USD", amount=5_000)
    assert payout_get_for_user(user=creator, payout_id=payout.pk) == payout
    with pytest.raises(PayoutNotFound):
        payout_get_for_user(user=UserFactory(), payout_id=payout.pk)


# ----------------------------------------------------------------------------- scheduled run

WEEK = 7 * 24 * 3600
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_scheduled_run_pays_every_payable_at_the_minimum_once_a_period(creator) -> None:
    provider = UserFactory()
    small = UserFactory()
    agr_creator = UserFactory()
    funded_payable(user=creator, amount=12_345)
    funded_payable(user=provider, amount=2_000, kind=PROVIDER)
    funded_payable(user=small, amount=999)  # below the minimum: waits
    funded_payable(user=agr_creator, amount=agr(150), asset="AGR")
    payout_wallet(
        user=agr_creator, address=ADDRESS_EIP55, linked_ago=timezone.now() - MONDAY + timedelta(days=3)
    )
    no_wallet = UserFactory()
    funded_payable(user=no_wallet, amount=agr(150), asset="AGR")  # no address: waits

    run = payouts_run_scheduled(now=MONDAY)
    assert run.period == int(MONDAY.timestamp()) // WEEK == payout_period(now=MONDAY)
    assert (run.created, run.existing, run.skipped) == (3, 0, 1)
    scheduled = {(p.user_id, p.asset): p for p in Payout.objects.all()}
    assert set(scheduled) == {(creator.pk, "USD"), (provider.pk, "USD"), (agr_creator.pk, "AGR")}
    for payout in scheduled.values():
        assert (payout.instant, payout.fee, payout.net) == (False, 0, payout.amount)
        assert payout.reference.startswith("scheduled:")
    assert (
        scheduled[(creator.pk, "USD")].reference == f"scheduled:{creator.pk}:creator_payable:USD:{run.period}"
    )
    assert scheduled[(agr_creator.pk, "AGR")].chain_payout.amount == agr(150)
    assert balance_of(creator, CREATOR) == 0
    assert balance_of(small, CREATOR) == 999

    # Later in the same period: new earnings wait for the next period; nothing is paid twice.
    funded_payable(user=creator, amount=5_000)
    again = payouts_run_scheduled(now=MONDAY + timedelta(days=2))
    assert (again.created, again.existing) == (0, 1)  # only the creator has earned since
    assert Payout.objects.count() == 3

    later = payouts_run_scheduled(now=MONDAY + timedelta(days=7))
    assert later.period == run.period + 1
    assert later.created == 1
    assert Payout.objects.filter(user=creator).count() == 2
    assert balance_of(creator, CREATOR) == 0


# ----------------------------------------------------------------------------- the table


def test_the_table_refuses_a_net_that_is_not_amount_minus_fee(creator) -> None:
    funded_payable(user=creator, amount=5_000)
    payout = payout_request(user=creator, asset="USD", amount=5_000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.filter(pk=payout.pk).update(net=payout.net + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.filter(pk=payout.pk).update(rail="agr")


# ----------------------------------------------------------------------------- destinations (issue 13 item 2)


def test_agr_goes_only_to_the_users_own_linked_wallets(creator) -> None:
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS)
    someone_elses = payout_wallet(user=UserFactory(), address="0x" + "cd" * 20)
    for address in ("0x" + "ef" * 20, someone_elses.address):
        with pytest.raises(PayoutDestinationNotAllowed) as caught:
            payout_request(user=creator, asset="AGR", amount=agr(200), to_address=address)
        assert caught.value.code == "payout_destination_not_allowed"
        assert caught.value.detail == {"to_address": checksum(address)}
    assert Payout.objects.count() == 0
    assert payout_request(user=creator, asset="AGR", amount=agr(200), to_address=ADDRESS).to_address == (
        ADDRESS_EIP55
    )


def test_a_newly_linked_wallet_receives_payouts_only_after_the_cooldown(creator) -> None:
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    linked_at = timezone.now()
    with time_machine.travel(linked_at, tick=False) as clock:
        Wallet.objects.create(user=creator, address=ADDRESS_EIP55, chain_id=1337)
        usable_at = (linked_at + timedelta(days=2)).replace(microsecond=0)
        for to_address in (ADDRESS, ""):  # named, or the default
            with pytest.raises(PayoutDestinationCoolingDown) as caught:
                payout_request(user=creator, asset="AGR", amount=agr(200), to_address=to_address)
            assert caught.value.code == "payout_destination_cooling_down"
            assert caught.value.status_code == 409
            assert caught.value.detail == {
                "to_address": ADDRESS_EIP55,
                "usable_at": usable_at.isoformat().replace("+00:00", "Z"),
            }
            assert f"{usable_at:%Y-%m-%d %H:%M} UTC" in caught.value.message
        assert balance_of(creator, CREATOR, "AGR") == agr(1_000)

        clock.shift(timedelta(days=2, seconds=1))
        assert payout_request(user=creator, asset="AGR", amount=agr(200)).to_address == ADDRESS_EIP55


def test_the_cooldown_is_a_registry_parameter(creator) -> None:
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS, linked_ago=timedelta(hours=2))
    with pytest.raises(PayoutDestinationCoolingDown):
        payout_request(user=creator, asset="AGR", amount=agr(200))
    parameter_override("payout.new_wallet_cooldown_seconds", 3_600)
    assert payout_request(user=creator, asset="AGR", amount=agr(200)).status == Status.PROCESSING


def test_the_default_destination_is_the_oldest_wallet_past_its_cooldown(creator) -> None:
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS, linked_ago=timedelta(days=5))
    payout_wallet(user=creator, address="0x" + "cd" * 20, linked_ago=timedelta(minutes=1))
    assert payout_request(user=creator, asset="AGR", amount=agr(200)).to_address == ADDRESS_EIP55


def test_scheduled_agr_waits_for_the_cooldown(creator) -> None:
    funded_payable(user=creator, amount=agr(150), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS, linked_ago=timedelta(hours=1))
    run = payouts_run_scheduled()
    assert (run.created, run.skipped) == (0, 1)
    assert balance_of(creator, CREATOR, "AGR") == agr(150)


def test_usd_payouts_need_no_wallet(creator) -> None:
    funded_payable(user=creator, amount=5_000)
    assert payout_request(user=creator, asset="USD", amount=5_000).status == Status.PROCESSING
