"""The wallet history's rows: what happened, in words, one row per event a person would name."""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr
from tokenomics.selectors.history import (
    HistoryRow,
    ReferenceInfo,
    _resolvers,
    history_resolver_register,
    history_rows,
    history_transactions,
)
from tokenomics.selectors.rates import prepaid_bonus
from tokenomics.services.escrow import escrow_hold, escrow_refund, escrow_release
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.wallet import deposit_post, wallet_top_up

pytestmark = pytest.mark.django_db


def _rows(user: User, asset: str | None = None) -> list[HistoryRow]:
    return history_rows(
        user=user, transactions=list(history_transactions(user=user, asset=asset)), asset=asset
    )


def _card_purchase(*, buyer: User, creator: User, reference: str, cents: int) -> None:
    """What a card order posts: the card's money into the buyer's wallet, then into escrow."""
    deposit_post(
        user=buyer,
        asset="USD",
        amount=cents,
        source_kind=AccountKind.EXTERNAL_STRIPE,
        idempotency_key=f"stripe:pi:{reference}",
        memo=f"Card payment {reference} (pi_123)",
        prepaid_bonus_applies=False,
        reference=reference,
    )
    wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset="USD")
    escrow_hold(reference=reference, creator=creator, source_account=wallet, amount=cents, payer=buyer)


def test_a_card_top_up_is_one_row_with_its_bonus() -> None:
    user = UserFactory()
    wallet_top_up(user=user, asset="USD", amount=10_000, rail="stripe", idempotency_key="t1")
    [row] = _rows(user)
    bonus = prepaid_bonus(amount=10_000)
    assert bonus > 0
    assert (row.title, row.amount, row.bonus, row.via) == ("Top-up by card", 10_000 + bonus, bonus, "card")


def test_an_agr_top_up_reads_as_such() -> None:
    user = UserFactory()
    funded_wallet(user=user, amount=agr(5), asset="AGR")
    [row] = _rows(user)
    assert (row.title, row.asset, row.amount) == ("Top-up in AGR", "AGR", agr(5))


def test_a_card_purchase_is_one_row_not_a_deposit_and_a_hold() -> None:
    buyer, creator = UserFactory(), UserFactory()
    _card_purchase(buyer=buyer, creator=creator, reference="order:777", cents=4_900)
    assert history_transactions(user=buyer).count() == 1
    [row] = _rows(buyer)
    assert row.kind == TransactionKind.ESCROW_HOLD
    assert (row.title, row.amount, row.paid_externally, row.via) == ("Purchase", 0, 4_900, "card")
    # The technical side, one click away: both transactions, the reference, the Stripe memo.
    assert len(row.transaction_ids) == 2
    assert row.references == ["order:777"]
    assert any("pi_123" in memo for memo in row.memos)


def test_a_purchase_from_the_balance_says_from_whom_when_no_app_describes_it() -> None:
    buyer, creator = UserFactory(), UserFactory(display_name="Cam Creator")
    wallet = funded_wallet(user=buyer, amount=10_000)
    escrow_hold(reference="demo:order:5", creator=creator, source_account=wallet, amount=7_500, payer=buyer)
    purchase, _top_up = _rows(buyer)
    assert (purchase.title, purchase.subject, purchase.amount) == ("Purchase", "from Cam Creator", -7_500)
    assert purchase.paid_externally == 0
    assert "Demo purchase" not in purchase.title


def test_refund_and_sale_read_from_each_side() -> None:
    buyer, creator = UserFactory(), UserFactory()
    wallet = funded_wallet(user=buyer, amount=10_000)
    refunded = escrow_hold(reference="x:1", creator=creator, source_account=wallet, amount=2_000, payer=buyer)
    escrow_refund(escrow_id=refunded.pk)
    sold = escrow_hold(reference="x:2", creator=creator, source_account=wallet, amount=3_000, payer=buyer)
    escrow_release(escrow_id=sold.pk)
    titles = [(row.title, row.amount) for row in _rows(buyer)]
    assert titles == [
        ("Purchase", -3_000),
        ("Refund", 2_000),
        ("Purchase", -2_000),
        ("Top-up by card", 10_000),
    ]
    [sale] = _rows(creator)
    assert sale.title == "Sale"
    assert 0 < sale.amount < 3_000  # the creator's share of the split
    assert [line.account for line in sale.lines] == [AccountKind.CREATOR_PAYABLE.label]


def test_the_asset_filter_keeps_only_that_assets_rows() -> None:
    user = UserFactory()
    funded_wallet(user=user, amount=500)
    funded_wallet(user=user, amount=agr(1), asset="AGR")
    assert [row.asset for row in _rows(user, asset="AGR")] == ["AGR"]
    assert [row.asset for row in _rows(user, asset="USD")] == ["USD"]
    assert history_transactions(user=user, asset="AGR").count() == 1


def test_a_registered_resolver_names_the_subject_and_links_it() -> None:
    buyer, creator = UserFactory(), UserFactory()
    _card_purchase(buyer=buyer, creator=creator, reference="thing:9", cents=1_000)
    seen: list[tuple[list[str], User]] = []

    def resolve(references, viewer):  # type: ignore[no-untyped-def]
        seen.append((list(references), viewer))
        return {"thing:9": ReferenceInfo(subject="Sonnet Summariser", url="/things/9/", noun="Subscription")}

    history_resolver_register("thing", resolve)
    try:
        [row] = _rows(buyer)
    finally:
        del _resolvers["thing"]
    assert seen == [(["thing:9"], buyer)]
    assert (row.title, row.subject, row.url) == ("Subscription", "Sonnet Summariser", "/things/9/")


def test_another_users_money_is_never_a_row() -> None:
    user, other = UserFactory(), UserFactory()
    funded_wallet(user=other, amount=999)
    assert _rows(user) == []
