"""The creator dashboard page: figures from real ledger sales, the htmx chart switch, the empty
state, and only the signed-in creator's own data."""

from __future__ import annotations

import itertools
import re

import pytest
from django.utils import timezone

from accounts.models import User
from marketplace.models import ListingDailyStat
from marketplace.services.reviews import review_upsert
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, paid_order
from tests.tokenomics.factories import funded_wallet
from tokenomics.services.escrow import escrow_hold, escrow_release

pytestmark = pytest.mark.django_db

URL = "/creator/"
HX_CHART = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "earnings-chart"}
_refs = itertools.count()


def sale(*, creator: User, amount: int) -> None:
    """A buyer's payment held in escrow and released to the split, through tokenomics."""
    buyer = UserFactory()
    wallet = funded_wallet(user=buyer, amount=amount)
    escrow = escrow_hold(
        reference=f"test-dash:{next(_refs)}",
        creator=creator,
        source_account=wallet,
        amount=amount,
        payer=buyer,
    )
    escrow_release(escrow_id=escrow.pk)


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/creator/")


def test_new_creator_sees_the_empty_state(client, user):
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "List your first model" in html
    assert "Create a listing" in html
    assert '<dd data-total="gross">$0.00</dd>' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html
    assert "No reviews are waiting for a reply." in html
    assert 'aria-current="page">Creator</a>' in html


def test_figures_come_from_ledger_sales(client, user):
    listing = ListingFactory(creator=user, title="Sentiment Tiny")
    sale(creator=user, amount=10_000)
    sale(creator=user, amount=4_900)
    paid_order(listing=listing)
    ListingDailyStat.objects.create(listing=listing, day=timezone.localdate(), views=40)
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert "List your first model" not in html
    assert '<dd data-total="gross">$149.00</dd>' in html
    assert '<dd data-total="earnings">$119.20</dd>' in html  # 80% (Bronze) of each sale
    assert '<dd data-payable="USD">$119.20</dd>' in html
    assert "<strong data-net-sales>$149.00</strong>" in html
    assert 'aria-valuenow="1490"' in html  # $149 of the $1,000 to Silver
    assert "$851.00 more in net sales reaches <strong>Silver</strong>" in html
    assert "Sentiment Tiny" in html
    assert "<strong data-conversion-total>2.50%</strong>" in html  # 1 order / 40 views
    # The chart's table fallback carries the same figures.
    assert '<td class="num">$149.00</td><td class="num">$119.20</td>' in html


def test_another_creators_data_is_never_shown(client, user):
    other = UserFactory()
    theirs = ListingFactory(creator=other, title="Their Secret Model")
    sale(creator=other, amount=77_700)
    paid_order(listing=theirs)
    buyer = UserFactory()
    paid_order(listing=theirs, buyer=buyer)
    review_upsert(buyer=buyer, listing=theirs, rating=1, title="Their review")
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert "Their Secret Model" not in html
    assert "Their review" not in html
    assert "$777.00" not in html
    assert "$621.60" not in html
    assert '<dd data-total="gross">$0.00</dd>' in html


def test_htmx_range_switch_returns_only_the_chart(client, user):
    sale(creator=user, amount=1_000)
    client.force_login(user)
    response = client.get(URL, {"range": "12m", "asset": "USD"}, **HX_CHART)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="earnings-chart"')
    assert "<html" not in html
    assert "Weekly gross sales" in html
    assert "last 12 months" in html
    assert "Week starting" in html
    assert len(re.findall(r"<tr><th scope=\"row\">", html)) == 53
    assert response["Vary"].count("HX-Target") == 1


def test_asset_switch_shows_agr(client, user):
    client.force_login(user)
    html = client.get(URL, {"range": "90d", "asset": "AGR"}, **HX_CHART).content.decode()
    assert '<dd data-total="gross">0 AGR</dd>' in html
    assert len(re.findall(r"<tr><th scope=\"row\">", html)) == 90


def test_unknown_switch_values_fall_back_to_defaults(client, user):
    client.force_login(user)
    html = client.get(URL, {"range": "7y", "asset": "EUR"}).content.decode()
    assert "last 30 days" in html
    current = re.findall(r'<a href="\?range=(\w+)&amp;asset=(\w+)"[^>]*aria-current="true"', html)
    assert current == [("30d", "USD"), ("30d", "USD")]  # the range tab and the currency tab


def test_reviews_awaiting_reply_are_listed(client, user):
    listing = ListingFactory(creator=user)
    buyer = UserFactory()
    paid_order(listing=listing, buyer=buyer)
    review_upsert(buyer=buyer, listing=listing, rating=2, title="Needs work")
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert 'id="awaiting-reply"' in html
    assert "Needs work" in html
    assert 'aria-label="2 out of 5 stars"' in html
