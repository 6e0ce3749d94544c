"""The wallet history names the model of an order and links to it (marketplace's resolver)."""

from __future__ import annotations

import pytest

from marketplace.models import PlanKind
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, PlanFactory, paid_order
from tests.tokenomics.factories import funded_wallet
from tokenomics.selectors.history import history_rows, history_transactions
from tokenomics.services.escrow import escrow_hold, escrow_release

pytestmark = pytest.mark.django_db


def _rows(user):
    return history_rows(user=user, transactions=list(history_transactions(user=user)))


def test_the_buyer_sees_the_model_and_the_order_the_creator_the_sale():
    listing = ListingFactory(title="Sonnet Summariser")
    buyer = UserFactory()
    order = paid_order(listing=listing, buyer=buyer)
    wallet = funded_wallet(user=buyer, amount=10_000)
    escrow = escrow_hold(
        reference=order.reference, creator=listing.creator, source_account=wallet, amount=4_900, payer=buyer
    )
    escrow_release(escrow_id=escrow.pk)

    purchase, _top_up = _rows(buyer)
    assert (purchase.title, purchase.subject, purchase.url) == (
        "Purchase",
        "Sonnet Summariser",
        f"/orders/{order.pk}/",
    )
    [sale] = _rows(listing.creator)
    assert (sale.title, sale.subject) == ("Sale", "Sonnet Summariser")
    assert sale.url == f"/creator/listings/{listing.slug}/"


def test_a_subscription_period_is_called_a_subscription():
    plan = PlanFactory(kind=PlanKind.SUBSCRIPTION, interval="month", price_cents=1_900)
    buyer = UserFactory()
    order = paid_order(listing=plan.listing, buyer=buyer)
    wallet = funded_wallet(user=buyer, amount=5_000)
    escrow_hold(reference=order.reference, creator=plan.listing.creator, source_account=wallet, amount=1_900)
    assert _rows(buyer)[0].title == "Subscription"


def test_an_unknown_order_reference_is_still_a_purchase():
    buyer, creator = UserFactory(), UserFactory(display_name="Cam")
    wallet = funded_wallet(user=buyer, amount=5_000)
    escrow_hold(reference="order:999999", creator=creator, source_account=wallet, amount=100)
    row = _rows(buyer)[0]
    assert (row.title, row.subject, row.url) == ("Purchase", "from Cam", "")
