"""A subscription period's compute fees are paid from its escrow when it is released (SPEC §4)."""

from __future__ import annotations

from typing import Any

import pytest

from compute.models_gateway import Entitlement
from compute.services.settlement import metering_settle
from marketplace.models import OrderStatus
from marketplace.services.orders import order_create, order_release
from tests.accounts.factories import UserFactory
from tests.compute.gateway.conftest import subscription_plan
from tests.compute.gateway.helpers import log_call
from tests.tokenomics.factories import funded_wallet
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.ledger_accounts import user_account_get_or_create

pytestmark = pytest.mark.django_db


def _payable(user: Any, kind: str) -> int:
    return int(user_account_get_or_create(user=user, kind=kind, asset="USD").balance)


def test_released_period_pays_its_compute_fees_first(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    plan = subscription_plan(listing, quota=100, price_cents=1_000)
    funded_wallet(user=buyer, amount=2_000)
    order = order_create(buyer=buyer, plan_id=plan.pk, rail="balance").order
    assert order.status == OrderStatus.IN_ESCROW
    sub = order.subscription
    provider = UserFactory()
    for _ in range(3):  # 3 calls with a 10-cent compute fee each
        log_call(
            user=buyer,
            listing=listing,
            provider=provider,
            entitlement=Entitlement.SUBSCRIPTION,
            subscription=sub,
            creator_price_micro=0,
            compute_fee_micro=100_000,
        )
    metering_settle()
    order_release(order_id=order.pk)
    # 30 cents to the compute split (80% provider), the other 970 split as the creator's sale (80%).
    assert _payable(provider, AccountKind.PROVIDER_PAYABLE) == 24
    assert _payable(listing.creator, AccountKind.CREATOR_PAYABLE) == 970 * 8000 // 10_000
    assert ledger_verify().ok


def test_fees_above_the_price_are_capped_at_it(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    plan = subscription_plan(listing, quota=None, price_cents=100)
    funded_wallet(user=buyer, amount=2_000)
    order = order_create(buyer=buyer, plan_id=plan.pk, rail="balance").order
    provider = UserFactory()
    for _ in range(3):  # 3 x $1.00 of compute fees against a $1.00 period
        log_call(
            user=buyer,
            listing=listing,
            provider=provider,
            entitlement=Entitlement.SUBSCRIPTION,
            subscription=order.subscription,
            creator_price_micro=0,
            compute_fee_micro=1_000_000,
        )
    metering_settle()
    order_release(order_id=order.pk)
    assert _payable(provider, AccountKind.PROVIDER_PAYABLE) == 80
    assert _payable(listing.creator, AccountKind.CREATOR_PAYABLE) == 0
    assert ledger_verify().ok
