"""The usage page (calls and spend per day, per listing, quota left) and the creator dashboard's
inference revenue, both over the real request log (entries appended as the gateway appends them,
drained into rows by the settlement task's own function)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from compute.models_gateway import Entitlement, Outcome
from compute.selectors.usage_pages import creator_inference_revenue, usage_daily
from compute.services.settlement import log_drain
from compute.templatetags.inference import micro_usd
from marketplace.hosted_demo import IRIS, SENTIMENT
from tests.accounts.factories import UserFactory
from tests.compute.gateway.helpers import log_call
from tests.compute.pages.conftest import hosted_listing

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("micro", "shown"),
    [
        (0, "$0.00"),
        (5, "$0.000005"),
        (1_200, "$0.0012"),
        (1_500_000, "$1.50"),
        (-4, "-$0.000004"),
        (1_234_567_890, "$1,234.56789"),
    ],
)
def test_micro_usd_is_exact(micro, shown):
    assert micro_usd(micro) == shown


def test_usage_daily_has_every_day_and_counts_served_calls_and_their_spend():
    buyer, provider = UserFactory(), UserFactory()
    iris = hosted_listing(IRIS)
    now = timezone.now()
    log_call(
        user=buyer, listing=iris, provider=provider, creator_price_micro=5_000, compute_fee_micro=100, at=now
    )
    log_call(
        user=buyer, listing=iris, provider=provider, creator_price_micro=5_000, compute_fee_micro=100, at=now
    )
    log_call(user=buyer, listing=iris, provider=provider, outcome=Outcome.FAILED, at=now)
    log_call(user=buyer, listing=iris, provider=provider, at=now - timedelta(days=3))
    log_call(user=UserFactory(), listing=iris, provider=provider, at=now)  # someone else's
    assert log_drain() == 5
    days = usage_daily(user=buyer, days=7, now=now)
    assert len(days) == 7
    assert days[-1].day == now.date()
    assert (days[-1].calls, days[-1].failed, days[-1].spend_micro) == (2, 1, 10_200)
    assert (days[-4].calls, days[-4].spend_micro) == (1, 5_100)
    assert sum(day.calls for day in days) == 3


def test_the_usage_page_shows_the_chart_the_table_and_moves_with_a_call(client):
    buyer, provider = UserFactory(), UserFactory()
    iris = hosted_listing(IRIS)
    client.force_login(buyer)
    html = client.get(reverse("compute:usage")).content.decode()
    assert 'id="usage-empty"' in html
    assert 'id="usage-calls-svg-title"' in html
    assert 'id="usage-spend-svg-title"' in html
    # Just made: still in the Redis stream, not yet stored by the settlement task; the page counts it.
    log_call(user=buyer, listing=iris, provider=provider, creator_price_micro=5_000, compute_fee_micro=100)
    html = client.get(reverse("compute:usage")).content.decode()
    assert f'<tr data-listing="{iris.slug}">' in html
    assert '<td class="num" data-calls>1</td>' in html
    assert '<dd data-total="spend">$0.0051</dd>' in html
    assert "<svg" in html
    assert "Calls per day" in html


def test_the_usage_page_needs_a_session(client):
    response = client.get(reverse("compute:usage"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_creator_inference_revenue_per_listing():
    creator, provider = UserFactory(), UserFactory()
    iris = hosted_listing(IRIS, creator=creator)
    sentiment = hosted_listing(SENTIMENT, creator=creator)
    others = hosted_listing(IRIS, title="Someone else's")
    buyer = UserFactory()
    log_call(user=buyer, listing=iris, provider=provider, creator_price_micro=5_000)
    log_call(user=buyer, listing=iris, provider=provider, creator_price_micro=3_000)
    log_call(
        user=buyer,
        listing=iris,
        provider=provider,
        entitlement=Entitlement.PLAYGROUND,
        creator_price_micro=0,
        compute_fee_micro=0,
    )
    log_call(user=buyer, listing=iris, provider=provider, outcome=Outcome.FAILED)
    log_call(user=buyer, listing=sentiment, provider=provider, creator_price_micro=9_000)
    log_call(user=buyer, listing=others, provider=provider, creator_price_micro=99_000)
    log_drain()
    rows = creator_inference_revenue(creator=creator)
    assert [(r.listing.slug, r.calls, r.prepaid_calls, r.playground_calls, r.gross_micro) for r in rows] == [
        (sentiment.slug, 1, 1, 0, 9_000),
        (iris.slug, 3, 2, 1, 8_000),
    ]


def test_the_creator_dashboard_loads_inference_revenue_by_url(client):
    creator, provider = UserFactory(), UserFactory()
    iris = hosted_listing(IRIS, creator=creator)
    log_call(user=UserFactory(), listing=iris, provider=provider, creator_price_micro=5_000)
    log_drain()
    client.force_login(creator)
    dashboard = client.get(reverse("marketplace:creator-dashboard")).content.decode()
    url = reverse("compute:creator-inference-revenue")
    assert f'hx-get="{url}"' in dashboard
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert f'<tr data-listing="{iris.slug}">' in partial
    assert '<td class="num" data-gross>$0.005</td>' in partial
    client.force_login(UserFactory())
    assert "No calls to your hosted models" in client.get(url).content.decode()


def test_the_usage_page_shows_the_prepaid_credit(client):
    from tests.tokenomics.factories import funded_wallet

    buyer = UserFactory()
    funded_wallet(user=buyer, amount=2_500)
    client.force_login(buyer)
    html = client.get(reverse("compute:usage")).content.decode()
    assert '<dd data-credit="wallet">$25.00</dd>' in html
    assert '<dd data-credit="reserved">$0.00</dd>' in html
