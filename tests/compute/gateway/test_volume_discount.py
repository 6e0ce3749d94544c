"""The volume discount (SPEC §3) comes from the buyer's real monthly spend on metered calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from compute.models_gateway import Entitlement
from compute.services.gateway import VIA_API
from compute.services.gateway_impl import _entitle, buyer_context, gateway_caches_clear, listing_context
from compute.services.metering import credit_draw_or_reserve
from compute.services.settlement import metering_settle
from marketplace.services.pricing import buyer_volume_discount_bps
from tests.accounts.factories import UserFactory
from tests.compute.gateway.conftest import per_inference_plan
from tests.compute.gateway.helpers import log_call
from tests.tokenomics.factories import funded_wallet
from tokenomics.selectors.rates import inference_spend_cents

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def _spend(buyer: Any, listing: Any, cents: int) -> None:
    micro = cents * 10_000
    assert credit_draw_or_reserve(user=buyer, amount_micro=micro)
    log_call(
        user=buyer, listing=listing, provider=UserFactory(), creator_price_micro=micro, compute_fee_micro=0
    )
    metering_settle()


def test_settled_spend_this_month_sets_the_tier_and_the_price(hosted: Any, buyer: Any) -> None:
    listing, _ = hosted
    per_inference_plan(listing, price_per_1000_cents=500)
    funded_wallet(user=buyer, amount=200_000)
    with time_machine.travel(NOW, tick=False):
        assert buyer_volume_discount_bps(buyer=buyer) == 0
        _spend(buyer, listing, 99_999)  # $999.99
        assert inference_spend_cents(user=buyer, since=NOW.replace(day=1, hour=0)) == 99_999
        assert buyer_volume_discount_bps(buyer=buyer) == 0
        _spend(buyer, listing, 1)  # $1,000.00 exactly: the first tier is reached at it
        assert buyer_volume_discount_bps(buyer=buyer) == 500
        gateway_caches_clear()
        ctx = listing_context(listing.slug)
        assert ctx is not None
        draw = _entitle(user=buyer, ctx=ctx, buyer=buyer_context(buyer, ctx.id), via=VIA_API, now=NOW)
        assert draw.entitlement == Entitlement.PREPAID
        assert draw.creator_price_micro == 4_750  # $5.00 / 1,000 less 5%
    # A new month starts from nothing.
    with time_machine.travel(NOW.replace(day=1) + timedelta(days=31), tick=False):
        assert buyer_volume_discount_bps(buyer=buyer) == 0
