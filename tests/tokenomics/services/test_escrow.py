"""Escrow: hold, then resolve exactly once by release (to the sale split), refund, or partial refund.

Expected split parts are computed by hand here (SPEC §4, Bronze: creator 80%, network fee 2% burned
in AGR / buy-back reserve in USD, treasury 3%, validator pool 0.5%, platform the remainder), never
with `split_sale`, so a wrong rate or rounding in the engine shows up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import AmountInvalid, IdempotencyConflict, InsufficientFunds, InvalidState
from tokenomics.models import Escrow, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.escrow import EscrowState
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr
from tokenomics.selectors.ledger import account_balance
from tokenomics.selectors.rates import creator_net_sales_cents, creator_standing
from tokenomics.services.escrow import (
    escrow_hold,
    escrow_refund,
    escrow_release,
    escrow_set_frozen,
    escrows_release_due,
    sale_clawback,
)
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create
from tokenomics.splits import CreatorTier

pytestmark = pytest.mark.django_db


def balance(account: LedgerAccount) -> int:
    return account_balance(account=account)


def system_balance(kind: AccountKind, asset: str) -> int:
    account = LedgerAccount.objects.filter(owner=None, kind=kind, asset=asset).first()
    return account_balance(account=account) if account else 0


def payable(creator: User, asset: str = "USD") -> LedgerAccount:
    return user_account_get_or_create(user=creator, kind=AccountKind.CREATOR_PAYABLE, asset=asset)


def split_balances(creator: User, asset: str) -> dict[str, int]:
    return {
        "creator": balance(payable(creator, asset)),
        "burn": system_balance(AccountKind.BURN, asset),
        "buyback": system_balance(AccountKind.BUYBACK_RESERVE, asset),
        "treasury": system_balance(AccountKind.TREASURY, asset),
        "validator": system_balance(AccountKind.VALIDATOR_POOL, asset),
        "platform": system_balance(AccountKind.PLATFORM_REVENUE, asset),
        "escrow": system_balance(AccountKind.ESCROW, asset),
    }


def counts() -> tuple[int, int, int]:
    return LedgerTransaction.objects.count(), LedgerEntry.objects.count(), Escrow.objects.count()


@pytest.fixture
def buyer(user) -> User:
    return user


@pytest.fixture
def creator(other_user) -> User:
    return other_user


def hold(buyer: User, creator: User, amount: int, *, reference: str, asset: str = "USD", **kwargs) -> Escrow:
    wallet = funded_wallet(user=buyer, amount=amount, asset=asset)
    return escrow_hold(
        reference=reference, creator=creator, source_account=wallet, amount=amount, payer=buyer, **kwargs
    )


def sell(creator: User, amount: int, *, reference: str, asset: str = "USD") -> Escrow:
    """A complete sale of `amount` by `creator` to a fresh buyer, released to the split."""
    escrow = hold(UserFactory(), creator, amount, reference=reference, asset=asset)
    return escrow_release(escrow_id=escrow.pk)


# --------------------------------------------------------------------------- hold


def test_hold_from_a_funded_wallet(buyer, creator) -> None:
    wallet = funded_wallet(user=buyer, amount=10_000)

    escrow = escrow_hold(
        reference="order:1", creator=creator, source_account=wallet, amount=7_500, payer=buyer
    )

    assert escrow.state == EscrowState.HELD
    assert (escrow.amount, escrow.asset, escrow.refunded_amount) == (7_500, "USD", 0)
    assert (escrow.payer_id, escrow.creator_id, escrow.source_account_id) == (buyer.pk, creator.pk, wallet.pk)
    assert escrow.frozen is False
    assert escrow.release_transaction_id is None
    assert escrow.refund_transaction_id is None
    assert balance(wallet) == 2_500
    assert system_balance(AccountKind.ESCROW, "USD") == 7_500
    tx = escrow.hold_transaction
    assert (tx.kind, tx.reference, tx.party_id) == (TransactionKind.ESCROW_HOLD, "order:1", creator.pk)
    assert tx.idempotency_key == "escrow:order:1:hold"


def test_hold_release_after_defaults_to_the_refund_window(buyer, creator) -> None:
    with time_machine.travel(timezone.now(), tick=False):
        escrow = hold(buyer, creator, 100, reference="order:window")
        assert escrow.release_after == timezone.now() + timedelta(days=7)


def test_a_past_moment_dates_the_hold_its_window_and_its_resolution(buyer, creator) -> None:
    # Demo history plays sales at past moments (`at`): the postings, the refund window and the
    # resolution carry them (the row is read back, as the INSERT computes the window itself).
    then = timezone.now() - timedelta(days=30)
    held = hold(buyer, creator, 100, reference="order:past", at=then)
    escrow = Escrow.objects.select_related("hold_transaction").get(pk=held.pk)
    assert escrow.hold_transaction.posted_at == then
    assert escrow.release_after == then + timedelta(days=7)

    released = escrow_release(escrow_id=escrow.pk, at=then + timedelta(days=2))
    escrow = Escrow.objects.select_related("release_transaction").get(pk=released.pk)
    assert escrow.resolved_at == then + timedelta(days=2)
    assert escrow.release_transaction.posted_at == then + timedelta(days=2)

    refunded = escrow_refund(
        escrow_id=hold(buyer, creator, 100, reference="order:past2", at=then).pk, at=then
    )
    refunded = Escrow.objects.select_related("refund_transaction").get(pk=refunded.pk)
    assert (refunded.resolved_at, refunded.refund_transaction.posted_at) == (then, then)


def test_hold_from_an_external_account(creator) -> None:
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")

    escrow = escrow_hold(reference="order:card", creator=creator, source_account=stripe, amount=4_999)

    assert escrow.payer_id is None
    assert balance(stripe) == -4_999
    assert system_balance(AccountKind.ESCROW, "USD") == 4_999


def test_hold_needs_the_funds(buyer, creator) -> None:
    wallet = funded_wallet(user=buyer, amount=100)
    before = counts()
    with pytest.raises(InsufficientFunds):
        escrow_hold(reference="order:poor", creator=creator, source_account=wallet, amount=101, payer=buyer)
    assert counts() == before
    assert balance(wallet) == 100


@pytest.mark.parametrize("amount", [0, -5, 1.0, True, None], ids=repr)
def test_hold_needs_a_positive_whole_amount(buyer, creator, amount: object) -> None:
    wallet = funded_wallet(user=buyer, amount=100)
    before = counts()
    with pytest.raises(AmountInvalid):
        escrow_hold(reference="order:x", creator=creator, source_account=wallet, amount=amount, payer=buyer)  # type: ignore[arg-type]
    assert counts() == before


def test_hold_replay_returns_the_same_escrow_and_moves_money_once(buyer, creator) -> None:
    wallet = funded_wallet(user=buyer, amount=10_000)
    first = escrow_hold(
        reference="order:2", creator=creator, source_account=wallet, amount=3_000, payer=buyer
    )
    after_first = counts()

    again = escrow_hold(
        reference="order:2", creator=creator, source_account=wallet, amount=3_000, payer=buyer
    )

    assert again.pk == first.pk
    assert counts() == after_first
    assert balance(wallet) == 7_000
    assert system_balance(AccountKind.ESCROW, "USD") == 3_000


def test_hold_with_the_same_reference_and_another_amount_is_a_conflict(buyer, creator) -> None:
    wallet = funded_wallet(user=buyer, amount=10_000)
    escrow_hold(reference="order:3", creator=creator, source_account=wallet, amount=3_000, payer=buyer)
    before = counts()

    with pytest.raises(IdempotencyConflict):
        escrow_hold(reference="order:3", creator=creator, source_account=wallet, amount=3_001, payer=buyer)
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")
    with pytest.raises(IdempotencyConflict):
        escrow_hold(reference="order:3", creator=creator, source_account=stripe, amount=3_000)
    # The same payment for another creator's sale is another request, not a replay.
    with pytest.raises(IdempotencyConflict):
        escrow_hold(reference="order:3", creator=buyer, source_account=wallet, amount=3_000, payer=buyer)

    assert counts() == before
    assert balance(wallet) == 7_000


# --------------------------------------------------------------------------- release


def test_release_of_a_bronze_usd_sale_splits_exactly(buyer, creator) -> None:
    escrow = hold(buyer, creator, 12_345, reference="order:usd")

    released = escrow_release(escrow_id=escrow.pk)

    # 12,345 cents: creator floor(9876.0) = 9876; network floor(246.9) = 246 (buy-back, USD);
    # treasury floor(370.35) = 370; validator floor(61.725) = 61; platform 12345 - 10553 = 1792.
    assert split_balances(creator, "USD") == {
        "creator": 9_876,
        "burn": 0,
        "buyback": 246,
        "treasury": 370,
        "validator": 61,
        "platform": 1_792,
        "escrow": 0,
    }
    assert released.state == EscrowState.RELEASED
    assert released.resolved_at is not None
    tx = released.release_transaction
    assert (tx.kind, tx.party_id, tx.reference) == (TransactionKind.SALE, creator.pk, "order:usd")
    assert sum(tx.entries.values_list("amount", flat=True)) == 0
    assert tx.entries.get(account__kind=AccountKind.ESCROW).amount == -12_345


def test_release_of_a_bronze_agr_sale_burns_the_network_fee(buyer, creator) -> None:
    gross = agr(3) + 7  # 3,000,000,000,000,000,007 base units
    escrow = hold(buyer, creator, gross, reference="order:agr", asset="AGR")

    escrow_release(escrow_id=escrow.pk)

    assert split_balances(creator, "AGR") == {
        "creator": 2_400_000_000_000_000_005,  # floor(gross * 0.80)
        "burn": 60_000_000_000_000_000,  # floor(gross * 0.02), burned when paid in AGR
        "buyback": 0,
        "treasury": 90_000_000_000_000_000,  # floor(gross * 0.03)
        "validator": 15_000_000_000_000_000,  # floor(gross * 0.005)
        "platform": 435_000_000_000_000_002,  # the remainder
        "escrow": 0,
    }


def test_release_of_a_one_cent_sale_gives_everything_to_the_platform(buyer, creator) -> None:
    escrow = hold(buyer, creator, 1, reference="order:cent")

    escrow_release(escrow_id=escrow.pk)

    balances = split_balances(creator, "USD")
    assert balances["platform"] == 1
    assert balances["creator"] == balances["treasury"] == balances["buyback"] == 0


def test_release_twice_returns_the_same_escrow_and_posts_one_sale(buyer, creator) -> None:
    escrow = hold(buyer, creator, 10_000, reference="order:twice")
    first = escrow_release(escrow_id=escrow.pk)
    after_first = counts()

    second = escrow_release(escrow_id=escrow.pk)

    assert second.pk == first.pk
    assert second.release_transaction_id == first.release_transaction_id
    assert counts() == after_first
    assert LedgerTransaction.objects.filter(kind=TransactionKind.SALE, reference="order:twice").count() == 1
    assert balance(payable(creator)) == 8_000


def test_refund_after_release_is_invalid(buyer, creator) -> None:
    escrow = hold(buyer, creator, 10_000, reference="order:r-then-f")
    escrow_release(escrow_id=escrow.pk)
    before = counts()

    with pytest.raises(InvalidState):
        escrow_refund(escrow_id=escrow.pk)
    with pytest.raises(InvalidState):
        escrow_refund(escrow_id=escrow.pk, amount=1)

    assert counts() == before
    assert Escrow.objects.get(pk=escrow.pk).state == EscrowState.RELEASED


# --------------------------------------------------------------------------- refunds


def test_full_refund_returns_everything_to_the_source_once(buyer, creator) -> None:
    escrow = hold(buyer, creator, 5_000, reference="order:full")
    wallet = escrow.source_account

    refunded = escrow_refund(escrow_id=escrow.pk)

    assert refunded.state == EscrowState.REFUNDED
    assert refunded.refunded_amount == 5_000
    assert refunded.release_transaction_id is None
    assert refunded.refund_transaction.kind == TransactionKind.REFUND
    assert balance(wallet) == 5_000
    assert system_balance(AccountKind.ESCROW, "USD") == 0
    assert balance(payable(creator)) == 0
    after_first = counts()

    again = escrow_refund(escrow_id=escrow.pk)

    assert again.refund_transaction_id == refunded.refund_transaction_id
    assert counts() == after_first
    assert balance(wallet) == 5_000


def test_release_after_refund_is_invalid(buyer, creator) -> None:
    escrow = hold(buyer, creator, 5_000, reference="order:f-then-r")
    escrow_refund(escrow_id=escrow.pk)
    before = counts()

    with pytest.raises(InvalidState):
        escrow_release(escrow_id=escrow.pk)

    assert counts() == before
    assert balance(payable(creator)) == 0


def test_refund_of_an_external_payment_goes_back_to_the_rail(creator) -> None:
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")
    escrow = escrow_hold(reference="order:card-refund", creator=creator, source_account=stripe, amount=999)

    escrow_refund(escrow_id=escrow.pk)

    assert balance(stripe) == 0


def test_partial_refund_refunds_the_part_and_releases_the_rest(buyer, creator) -> None:
    escrow = hold(buyer, creator, 10_000, reference="order:partial")
    wallet = escrow.source_account

    resolved = escrow_refund(escrow_id=escrow.pk, amount=2_500)

    assert resolved.state == EscrowState.PARTIALLY_REFUNDED
    assert resolved.refunded_amount == 2_500
    assert balance(wallet) == 2_500
    # The 7,500 kept: creator 6000, buy-back 150, treasury 225, validator floor(37.5) = 37,
    # platform 7500 - 6412 = 1088.
    assert split_balances(creator, "USD") == {
        "creator": 6_000,
        "burn": 0,
        "buyback": 150,
        "treasury": 225,
        "validator": 37,
        "platform": 1_088,
        "escrow": 0,
    }
    refund_tx = resolved.refund_transaction
    release_tx = resolved.release_transaction
    assert refund_tx.entries.get(account=wallet).amount == 2_500
    assert release_tx.entries.get(account__kind=AccountKind.ESCROW).amount == -7_500
    after = counts()

    # Resolved once: a repeat of the same partial refund, a full refund and a release all refuse.
    with pytest.raises(InvalidState):
        escrow_refund(escrow_id=escrow.pk, amount=2_500)
    with pytest.raises(InvalidState):
        escrow_refund(escrow_id=escrow.pk)
    with pytest.raises(InvalidState):
        escrow_release(escrow_id=escrow.pk)
    assert counts() == after
    assert balance(wallet) == 2_500


@pytest.mark.parametrize("amount", [0, -1, 10_001, 1.5, True], ids=repr)
def test_refund_amount_must_be_within_what_is_held(buyer, creator, amount: object) -> None:
    escrow = hold(buyer, creator, 10_000, reference="order:bad-refund")
    before = counts()

    with pytest.raises(AmountInvalid):
        escrow_refund(escrow_id=escrow.pk, amount=amount)  # type: ignore[arg-type]

    assert counts() == before
    assert Escrow.objects.get(pk=escrow.pk).state == EscrowState.HELD


def test_refund_of_exactly_the_held_amount_is_a_full_refund(buyer, creator) -> None:
    escrow = hold(buyer, creator, 10_000, reference="order:exact")
    resolved = escrow_refund(escrow_id=escrow.pk, amount=10_000)
    assert resolved.state == EscrowState.REFUNDED
    assert resolved.release_transaction_id is None


# --------------------------------------------------------------------------- due releases and freezing


def test_release_due_skips_frozen_and_future_escrows(buyer, creator) -> None:
    now = timezone.now()
    due = hold(buyer, creator, 1_000, reference="order:due", release_after=now - timedelta(seconds=1))
    exactly_due = hold(buyer, creator, 1_000, reference="order:edge", release_after=now)
    frozen = hold(buyer, creator, 1_000, reference="order:frozen", release_after=now - timedelta(days=1))
    future = hold(buyer, creator, 1_000, reference="order:future", release_after=now + timedelta(hours=1))
    escrow_set_frozen(escrow_id=frozen.pk, frozen=True)

    assert escrows_release_due(now=now) == 2

    states = dict(Escrow.objects.values_list("reference", "state"))
    assert states == {
        "order:due": EscrowState.RELEASED,
        "order:edge": EscrowState.RELEASED,
        "order:frozen": EscrowState.HELD,
        "order:future": EscrowState.HELD,
    }
    assert Escrow.objects.get(pk=frozen.pk).frozen is True
    assert balance(payable(creator)) == 1_600
    assert {due.pk, exactly_due.pk} == set(
        Escrow.objects.filter(state=EscrowState.RELEASED).values_list("pk", flat=True)
    )

    # Running again releases nothing more; unfreezing lets the frozen one go; later the future one.
    assert escrows_release_due(now=now) == 0
    escrow_set_frozen(escrow_id=frozen.pk, frozen=False)
    assert escrows_release_due(now=now) == 1
    assert escrows_release_due(now=now + timedelta(hours=2)) == 1
    assert Escrow.objects.get(pk=future.pk).state == EscrowState.RELEASED
    assert LedgerTransaction.objects.filter(kind=TransactionKind.SALE).count() == 4


def test_release_due_follows_the_clock_and_the_refund_window(buyer, creator) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        escrow = hold(buyer, creator, 2_000, reference="order:clock")
        traveller.move_to(start + timedelta(days=7) - timedelta(seconds=1))
        assert escrows_release_due() == 0
        traveller.move_to(start + timedelta(days=7))
        assert escrows_release_due() == 1
    assert Escrow.objects.get(pk=escrow.pk).state == EscrowState.RELEASED


def test_frozen_escrow_can_still_be_refunded_but_not_frozen_once_resolved(buyer, creator) -> None:
    escrow = hold(buyer, creator, 3_000, reference="order:dispute")
    escrow_set_frozen(escrow_id=escrow.pk, frozen=True)

    escrow_refund(escrow_id=escrow.pk, amount=1_000)

    with pytest.raises(InvalidState):
        escrow_set_frozen(escrow_id=escrow.pk, frozen=False)
    assert escrows_release_due(now=timezone.now() + timedelta(days=30)) == 0


# --------------------------------------------------------------------------- clawback after release


def test_clawback_takes_from_the_creator_payable_and_counts_against_net_sales(buyer, creator) -> None:
    escrow = hold(buyer, creator, 10_000, reference="order:claw")
    wallet = escrow.source_account
    escrow_release(escrow_id=escrow.pk)
    assert creator_net_sales_cents(creator=creator) == 10_000

    tx = sale_clawback(escrow_id=escrow.pk, amount=3_000, reason="upheld dispute")

    assert tx.kind == TransactionKind.SALE_CLAWBACK
    assert (tx.party_id, tx.memo) == (creator.pk, "upheld dispute")
    assert balance(payable(creator)) == 8_000 - 3_000
    assert balance(wallet) == 3_000
    assert creator_net_sales_cents(creator=creator) == 7_000
    # The platform's parts are untouched: a clawback comes out of the creator's payable only.
    assert system_balance(AccountKind.PLATFORM_REVENUE, "USD") == 1_450
    after = counts()

    # One clawback per escrow: the same call replays, another amount conflicts.
    assert sale_clawback(escrow_id=escrow.pk, amount=3_000, reason="upheld dispute").pk == tx.pk
    with pytest.raises(IdempotencyConflict):
        sale_clawback(escrow_id=escrow.pk, amount=1_000)
    assert counts() == after


def test_clawback_needs_a_released_escrow_and_a_valid_amount(buyer, creator) -> None:
    escrow = hold(buyer, creator, 10_000, reference="order:claw-held")
    with pytest.raises(InvalidState):
        sale_clawback(escrow_id=escrow.pk, amount=1)

    escrow_refund(escrow_id=escrow.pk, amount=4_000)  # 6,000 released
    before = counts()
    with pytest.raises(AmountInvalid):
        sale_clawback(escrow_id=escrow.pk, amount=6_001)
    with pytest.raises(AmountInvalid):
        sale_clawback(escrow_id=escrow.pk, amount=0)
    assert counts() == before

    sale_clawback(escrow_id=escrow.pk, amount=4_800)  # everything the creator got
    assert balance(payable(creator)) == 0
    assert creator_net_sales_cents(creator=creator) == 6_000 - 4_800


def test_clawback_cannot_overdraw_a_creator_who_was_paid_out(buyer, creator) -> None:
    escrow = hold(buyer, creator, 10_000, reference="order:claw-paid")
    escrow_release(escrow_id=escrow.pk)
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")
    transaction_post(
        kind=TransactionKind.PAYOUT,
        legs=[Leg(payable(creator), -7_000), Leg(stripe, 7_000)],
        idempotency_key="payout:creator",
    )
    before = counts()

    with pytest.raises(InsufficientFunds):
        sale_clawback(escrow_id=escrow.pk, amount=1_001)

    assert counts() == before
    assert balance(payable(creator)) == 1_000


# --------------------------------------------------------------------------- creator tiers from the ledger


def test_new_creator_is_bronze_with_silver_next(creator) -> None:
    standing = creator_standing(creator=creator)
    assert standing.tier.tier == CreatorTier.BRONZE
    assert standing.tier.share_bps == 8_000
    assert standing.next_tier is not None
    assert (standing.next_tier.tier, standing.next_tier.threshold) == (CreatorTier.SILVER, 100_000)
    assert standing.net_sales_cents == 0


def test_sales_just_below_the_threshold_stay_bronze(creator) -> None:
    sell(creator, 60_000, reference="order:t1")
    sell(creator, 39_999, reference="order:t2")
    assert creator_standing(creator=creator).tier.tier == CreatorTier.BRONZE

    escrow = sell(creator, 10_000, reference="order:t3")

    assert escrow.release_transaction.entries.get(account__kind=AccountKind.CREATOR_PAYABLE).amount == 8_000


def test_reaching_silver_gives_the_next_sale_the_silver_share(creator) -> None:
    first = sell(creator, 60_000, reference="order:s1")
    second = sell(creator, 40_000, reference="order:s2")  # lifetime net sales now exactly $1,000
    standing = creator_standing(creator=creator)
    assert standing.net_sales_cents == 100_000
    assert standing.tier.tier == CreatorTier.SILVER

    third = sell(creator, 10_000, reference="order:s3")

    def creator_part(escrow: Escrow) -> int:
        return escrow.release_transaction.entries.get(account__kind=AccountKind.CREATOR_PAYABLE).amount

    assert creator_part(first) == 48_000  # 80%
    assert creator_part(second) == 32_000  # 80%: the tier is decided before this sale counts
    assert creator_part(third) == 8_200  # 82%
    # The Silver sale's fees are the same shares of the gross; the platform keeps less.
    fees = dict(
        third.release_transaction.entries.values_list("account__kind", "amount").exclude(
            account__kind=AccountKind.ESCROW
        )
    )
    assert fees == {
        AccountKind.CREATOR_PAYABLE: 8_200,
        AccountKind.BUYBACK_RESERVE: 200,
        AccountKind.TREASURY: 300,
        AccountKind.VALIDATOR_POOL: 50,
        AccountKind.PLATFORM_REVENUE: 1_250,
    }


def test_refunded_sales_do_not_count_toward_the_tier(buyer, creator) -> None:
    escrow = hold(buyer, creator, 150_000, reference="order:refunded-big")
    escrow_refund(escrow_id=escrow.pk)
    partial = hold(buyer, creator, 150_000, reference="order:partial-big")
    escrow_refund(escrow_id=partial.pk, amount=60_000)  # 90,000 released

    standing = creator_standing(creator=creator)

    assert standing.net_sales_cents == 90_000
    assert standing.tier.tier == CreatorTier.BRONZE


def test_a_clawback_can_drop_the_creator_back_a_tier(buyer, creator) -> None:
    escrow = hold(buyer, creator, 100_000, reference="order:silver-then-claw")
    escrow_release(escrow_id=escrow.pk)
    assert creator_standing(creator=creator).tier.tier == CreatorTier.SILVER

    sale_clawback(escrow_id=escrow.pk, amount=1)

    standing = creator_standing(creator=creator)
    assert standing.net_sales_cents == 99_999
    assert standing.tier.tier == CreatorTier.BRONZE


def test_an_agr_sale_counts_at_the_reference_price(creator) -> None:
    # Reference price 100,000 micro-USD = $0.10 per AGR, so 10,000 AGR = $1,000.00 exactly.
    sell(creator, agr(10_000) - 1, reference="order:agr-almost", asset="AGR")
    standing = creator_standing(creator=creator)
    assert standing.net_sales_cents == 99_999  # rounded down
    assert standing.tier.tier == CreatorTier.BRONZE

    sell(creator, 1, reference="order:agr-last-unit", asset="AGR")
    assert creator_standing(creator=creator).net_sales_cents == 100_000

    escrow = sell(creator, 10_000, reference="order:usd-after-agr")
    assert escrow.release_transaction.entries.get(account__kind=AccountKind.CREATOR_PAYABLE).amount == 8_200


def test_usd_and_agr_sales_add_up_for_the_tier(creator) -> None:
    sell(creator, 50_000, reference="order:mix-usd")
    sell(creator, agr(5_000), reference="order:mix-agr", asset="AGR")  # $500

    standing = creator_standing(creator=creator)

    assert standing.net_sales_cents == 100_000
    assert standing.tier.tier == CreatorTier.SILVER
    escrow = sell(creator, agr(1), reference="order:mix-agr-2", asset="AGR")
    creator_part = escrow.release_transaction.entries.get(account__kind=AccountKind.CREATOR_PAYABLE).amount
    assert creator_part == agr(1) * 82 // 100


def test_another_creators_sales_do_not_count(creator) -> None:
    other_creator = UserFactory()
    sell(other_creator, 200_000, reference="order:other")
    assert creator_standing(creator=other_creator).tier.tier == CreatorTier.SILVER
    assert creator_standing(creator=creator).net_sales_cents == 0
