"""The listing editor warns a creator whose subscription quota x the compute fee exceeds its price."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.models import PlanKind
from marketplace.models.catalog import ModelSize
from marketplace.selectors.creator import subscription_compute_fee_warnings
from tests.marketplace.factories import ListingFactory, PlanFactory

pytestmark = pytest.mark.django_db


def _plan(listing: Any, *, quota: int | None, price_cents: int, name: str) -> Any:
    return PlanFactory(
        listing=listing,
        kind=PlanKind.SUBSCRIPTION,
        interval="month",
        monthly_quota=quota,
        price_cents=price_cents,
        name=name,
    )


def test_quota_times_fee_above_the_price_is_warned_on_the_editor(client: Any) -> None:
    listing = ListingFactory(size=ModelSize.LARGE)  # 10 x 100 micro-USD = 0.1 cent a call
    fine = _plan(
        listing, quota=10_000, price_cents=1_000, name="Basic"
    )  # $10.00 of fees: not more than $10.00
    costly = _plan(listing, quota=10_001, price_cents=1_000, name="Pro")  # $10.01 of fees > $10.00
    unlimited = _plan(listing, quota=None, price_cents=5_000, name="Unlimited")
    warnings = subscription_compute_fee_warnings(listing=listing)
    assert [(w.plan_id, w.fees_cents) for w in warnings] == [(costly.pk, 1_001), (unlimited.pk, None)]
    client.force_login(listing.creator)
    page = client.get(f"/creator/listings/{listing.slug}/").content.decode()
    assert f'id="compute-fee-warning-{costly.pk}"' in page
    assert "$10.01" in page
    assert f'id="compute-fee-warning-{unlimited.pk}"' in page
    assert f'id="compute-fee-warning-{fine.pk}"' not in page
