"""Settlement of the request log: stored once, billed once, into SPEC §4's splits; killed and rerun."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from compute import meter_store
from compute.models_gateway import Entitlement, InferenceRequest, Outcome, SettlementBatch
from compute.services import settlement
from compute.services.metering import credit_draw_or_reserve, reservation_release
from compute.services.settlement import log_drain, metering_settle, settle_batch
from marketplace.models import ListingDailyStat, Order, OrderStatus, Subscription
from marketplace.services.orders import order_create
from marketplace.services.search import listings_trending_refresh
from tests.accounts.factories import UserFactory
from tests.compute.gateway.conftest import active_subscription, subscription_plan
from tests.compute.gateway.helpers import log_call
from tests.marketplace.commerce import on_sale
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.ledger_accounts import user_account_get_or_create

pytestmark = pytest.mark.django_db


def _balance(user: Any, kind: str) -> int:
    return int(user_account_get_or_create(user=user, kind=kind, asset="USD").balance)


def _reserve(user: Any, micro: int) -> None:
    assert credit_draw_or_reserve(user=user, amount_micro=micro)


def test_prepaid_calls_settle_into_the_splits_once(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    provider = UserFactory()
    funded_wallet(user=buyer, amount=1_000)
    # 300 calls of 5,100 micro-USD (0.5 cent + 100 micro-USD compute fee): 1,530,000 micro-USD.
    for _ in range(300):
        _reserve(buyer, 5_100)
        log_call(user=buyer, listing=listing, provider=provider)
    result = metering_settle()
    assert result == {"stored": 300, "batches": 1, "calls": 300}
    assert InferenceRequest.objects.filter(settlement__isnull=False).count() == 300
    # creator: 300 x 5,000 = 150 cents; compute: 300 x 100 = 3 cents.
    posting = LedgerTransaction.objects.get(kind=TransactionKind.INFERENCE)
    hold_entry = posting.entries.get(account__kind=AccountKind.METERING_HOLD)
    assert hold_entry.amount == -153
    creator_payable = _balance(listing.creator, AccountKind.CREATOR_PAYABLE)
    assert creator_payable == 150 * 8000 // 10_000  # Bronze creator: 80% of their part
    assert _balance(provider, AccountKind.PROVIDER_PAYABLE) == 3 * 8000 // 10_000
    assert sum(e.amount for e in posting.entries.all()) == 0
    # The chunk reserved ($1.00 by default) less what was settled stays in the hold until released.
    assert _balance(buyer, AccountKind.METERING_HOLD) + _balance(buyer, AccountKind.WALLET) == 1_000 - 153
    # Nothing left to settle; a second run moves nothing.
    assert metering_settle() == {"stored": 0, "batches": 0, "calls": 0}
    assert LedgerTransaction.objects.filter(kind=TransactionKind.INFERENCE).count() == 1
    assert ledger_verify().ok


def test_sub_cent_remainders_are_carried_not_lost_or_doubled(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    provider = UserFactory()
    funded_wallet(user=buyer, amount=1_000)
    billed = 0
    for round_ in range(7):  # 7 batches of 3 calls of 3,333 micro-USD creator part
        for _ in range(3):
            _reserve(buyer, 3_433)
            log_call(
                user=buyer,
                listing=listing,
                provider=provider,
                creator_price_micro=3_333,
                compute_fee_micro=100,
            )
        metering_settle()
        billed = -int(
            LedgerEntry.objects.filter(
                account__kind=AccountKind.METERING_HOLD, transaction__kind=TransactionKind.INFERENCE
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        consumed = (round_ + 1) * 3 * 3_433
        # Never more than consumed; behind by under one cent per (pair) carry: 2 pairs here.
        assert billed * 10_000 <= consumed < (billed + 2) * 10_000
    assert billed == (21 * 3_333) // 10_000 + (21 * 100) // 10_000
    assert ledger_verify().ok


def test_a_log_entry_read_twice_is_stored_and_billed_once(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    funded_wallet(user=buyer, amount=1_000)
    _reserve(buyer, 5_100)
    rid = log_call(user=buyer, listing=listing, provider=UserFactory())
    # A drainer killed after it stored the entry but before it removed it from the stream:
    log_drain()
    log_call(user=buyer, listing=listing, provider=None, request_id=rid)  # the same entry again
    metering_settle()
    assert InferenceRequest.objects.filter(request_id=rid).count() == 1
    assert meter_store.log_length() == 0


def test_failed_calls_are_logged_and_cost_nothing(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    for _ in range(5):
        log_call(user=buyer, listing=listing, provider=None, outcome=Outcome.FAILED)
    metering_settle()
    assert InferenceRequest.objects.filter(outcome=Outcome.FAILED).count() == 5
    assert InferenceRequest.objects.filter(settlement__isnull=False).count() == 0
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.INFERENCE).exists()


class Killed(Exception):
    pass


def test_settlement_killed_midway_commits_nothing_and_the_rerun_settles_once(
    hosted: Any, buyer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing, _ = hosted
    other_listing = type(listing).objects.create(
        creator=UserFactory(),
        title="Other",
        slug="other",
        summary="x",
        category=listing.category,
        status="published",
    )
    provider = UserFactory()
    funded_wallet(user=buyer, amount=10_000)
    for _ in range(50):
        for target in (listing, other_listing):
            _reserve(buyer, 5_100)
            log_call(user=buyer, listing=target, provider=provider)
    log_drain()
    before = list(LedgerEntry.objects.values_list("pk", flat=True))

    real_post = settlement.transaction_post
    posted = []

    def dies_after_first_posting(**kwargs: Any) -> Any:
        if posted:
            raise Killed  # the worker dies between two postings of one batch
        posted.append(kwargs["idempotency_key"])
        return real_post(**kwargs)

    monkeypatch.setattr(settlement, "transaction_post", dies_after_first_posting)
    with pytest.raises(Killed):
        settle_batch()
    # The batch's transaction rolled back: no batch, no marks, no entries.
    assert not SettlementBatch.objects.exists()
    assert InferenceRequest.objects.filter(settlement__isnull=False).count() == 0
    assert list(LedgerEntry.objects.values_list("pk", flat=True)) == before

    monkeypatch.setattr(settlement, "transaction_post", real_post)
    metering_settle()
    metering_settle()  # and once more: nothing moves twice
    per_call = InferenceRequest.objects.values("request_id").annotate(n=Count("pk")).filter(n__gt=1)
    assert not per_call.exists()
    assert InferenceRequest.objects.filter(outcome=Outcome.OK, settlement__isnull=True).count() == 0
    assert LedgerTransaction.objects.filter(kind=TransactionKind.INFERENCE).count() == 2  # one per listing
    assert _balance(provider, AccountKind.PROVIDER_PAYABLE) == (100 * 100 // 10_000) * 8000 // 10_000
    assert ledger_verify().ok


def test_subscription_calls_count_against_quota_and_trending(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    sub = active_subscription(buyer=buyer, plan=subscription_plan(listing, quota=100))
    for _ in range(4):
        log_call(
            user=buyer,
            listing=listing,
            provider=UserFactory(),
            entitlement=Entitlement.SUBSCRIPTION,
            subscription=sub,
            creator_price_micro=0,
        )
    metering_settle()
    sub.refresh_from_db()
    assert sub.quota_used == 4
    assert ListingDailyStat.objects.get(listing=listing).inferences == 4
    # Subscription calls are not billed per call (their compute fee is the period's).
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.INFERENCE).exists()
    assert Subscription.objects.get(pk=sub.pk).quota_used == 4


def test_unused_reservation_returns_to_the_wallet(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    funded_wallet(user=buyer, amount=500)
    _reserve(buyer, 5_100)
    log_call(user=buyer, listing=listing, provider=UserFactory())
    metering_settle()
    returned = reservation_release(user=buyer)
    # A $1.00 chunk, 5,100 micro-USD drawn: 994,900 left, 99 whole cents back, 4,900 micro-USD
    # stay reserved; the hold keeps that cent, which covers the call's still-carried charge.
    assert returned == 99
    assert _balance(buyer, AccountKind.WALLET) == 500 - 100 + 99
    assert _balance(buyer, AccountKind.METERING_HOLD) == 1
    assert meter_store.credit_left(buyer.pk) == 4_900
    call_command("ledger_check")


def test_served_calls_count_toward_trending_and_failed_ones_do_not(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    quiet = type(listing).objects.create(
        creator=UserFactory(),
        title="Quiet",
        slug="quiet",
        summary="x",
        category=listing.category,
        status="published",
    )
    for _ in range(100):
        log_call(user=buyer, listing=listing, provider=UserFactory(), entitlement=Entitlement.PLAYGROUND)
    for _ in range(150):
        log_call(user=buyer, listing=quiet, provider=None, outcome=Outcome.FAILED)
    metering_settle()
    listings_trending_refresh()
    listing.refresh_from_db()
    quiet.refresh_from_db()
    # 100 calls today weigh as one sale this week: (3 x 100 + 1 x 100) / 100 calls per sale = 4;
    # failed calls count for nothing.
    assert (listing.trending_score, quiet.trending_score) == (4, 0)


def test_the_first_paid_call_releases_the_buyers_one_time_orders_in_escrow(buyer: Any) -> None:
    plan = on_sale(price_cents=900)
    listing = plan.listing
    other_buyer = UserFactory()
    for person in (buyer, other_buyer):
        funded_wallet(user=person, amount=5_000)
    mine = order_create(buyer=buyer, plan_id=plan.pk, rail="balance").order
    theirs = order_create(buyer=other_buyer, plan_id=plan.pk, rail="balance").order
    # Free playground runs and failed calls are not use; a served paid call is.
    log_call(user=buyer, listing=listing, provider=UserFactory(), entitlement=Entitlement.PLAYGROUND)
    log_call(user=buyer, listing=listing, provider=None, outcome=Outcome.FAILED)
    metering_settle()
    assert Order.objects.get(pk=mine.pk).status == OrderStatus.IN_ESCROW
    _reserve(buyer, 5_100)
    log_call(user=buyer, listing=listing, provider=UserFactory())
    metering_settle()
    assert Order.objects.get(pk=mine.pk).status == OrderStatus.RELEASED
    assert Order.objects.get(pk=theirs.pk).status == OrderStatus.IN_ESCROW  # another buyer's order
    assert _balance(listing.creator, AccountKind.CREATOR_PAYABLE) > 0  # the sale's split was paid
    assert ledger_verify().ok
