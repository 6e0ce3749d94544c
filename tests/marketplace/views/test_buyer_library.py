"""The buyer's library: orders, licenses, subscriptions, refunds and disputes, one tab each
(?tab=, or htmx swapping the panel), paginated, with empty states that point to the catalog."""

from __future__ import annotations

import re
from typing import Any

import pytest

from marketplace.models import License, OrderStatus, Subscription
from marketplace.services.licenses import license_key_issue
from marketplace.services.refunds import order_dispute_open
from marketplace.views import library as library_views
from tests.accounts.factories import UserFactory
from tests.marketplace.views.test_buyer_order import (  # noqa: F401
    _media,
    assert_ledger_balances,
    card_order,
    card_paid,
    credit_arrival,
    one_time_plan,
    subscription_plan,
)
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/library/"


def page(response: Any) -> str:
    return response.content.decode()


@pytest.fixture
def buyer(client: Any) -> Any:
    user = UserFactory()
    client.force_login(user)
    return user


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("tab", ["orders", "licenses", "subscriptions", "refunds"])
def test_empty_tabs_point_to_the_catalog(client, buyer, tab):
    html = page(client.get(URL, {"tab": tab}))
    assert 'class="empty"' in html
    assert 'href="/models/"' in html
    assert f'href="?tab={tab}"' in html
    assert 'aria-current="true">' in html


def test_unknown_tab_shows_orders(client, buyer):
    html = page(client.get(URL, {"tab": "nope"}))
    assert "You have no orders yet." in html


def test_orders_tab_lists_own_orders_with_status_and_amounts(client, buyer, localstripe):  # noqa: F811
    awaiting = card_order(buyer, one_time_plan())
    paid = credit_arrival(card_order(buyer, one_time_plan()))
    card_order(UserFactory(), one_time_plan())  # someone else's
    html = page(client.get(URL))
    rows = re.findall(r'<a href="/orders/(\d+)/">#\d+</a>', html)
    assert rows == [str(paid.pk), str(awaiting.pk)]  # newest first, only the buyer's
    assert 'data-status="awaiting_payment">Awaiting payment</span>' in html
    assert 'data-status="in_escrow">Paid, held in escrow</span>' in html
    assert html.count("$49.00") == 2
    assert_ledger_balances()


def test_licenses_tab_shows_downloads_left_and_the_key_prefix(client, buyer, localstripe):  # noqa: F811
    first = credit_arrival(card_order(buyer, one_time_plan()))
    second = credit_arrival(card_order(buyer, one_time_plan()))
    revealed = license_key_issue(buyer=buyer, license_id=License.objects.get(order=second).pk)
    html = page(client.get(URL, {"tab": "licenses"}))
    assert html.count("5 of 5") == 2
    assert f'<span class="mono">{revealed.license.key_prefix}…</span>' in html
    assert revealed.key not in html
    assert f'href="/orders/{first.pk}/#license-panel">Reveal</a>' in html
    assert_ledger_balances()


def test_subscriptions_tab_shows_period_quota_and_cancel(client, buyer, localstripe):  # noqa: F811
    credit_arrival(card_order(buyer, subscription_plan(quota=1_000)))
    credit_arrival(card_order(buyer, subscription_plan(quota=None)))
    subs = list(Subscription.objects.order_by("pk"))
    Subscription.objects.filter(pk=subs[0].pk).update(quota_used=250)
    html = page(client.get(URL, {"tab": "subscriptions"}))
    assert '<td class="num">750</td>' in html
    assert '<td class="num">Unlimited</td>' in html
    assert html.count('data-status="active">Active</span>') == 2
    for sub in subs:
        assert f'href="/subscriptions/{sub.pk}/cancel/?next=' in html
        assert f"{sub.current_period_end:%-d %b %Y}" in html
    assert_ledger_balances()


def test_refunds_and_disputes_tab(client, buyer, localstripe):  # noqa: F811
    refunded = card_paid(localstripe, card_order(buyer, one_time_plan()))
    client.post(f"/orders/{refunded.pk}/refund/")
    disputed = credit_arrival(card_order(buyer, one_time_plan()))
    order_dispute_open(buyer=buyer, order_id=disputed.pk, reason="Broken model", evidence="It returns NaN.")
    refunded.refresh_from_db()
    assert refunded.status == OrderStatus.REFUNDED
    html = page(client.get(URL, {"tab": "refunds"}))
    table = html.split('id="library-refunds"')[1].split("</table>")[0]
    assert f'href="/orders/{refunded.pk}/"' in table
    assert table.count("$49.00") == 2  # paid, refunded
    disputes = html.split('id="library-disputes"')[1].split("</table>")[0]
    assert "Broken model" in disputes
    assert f'href="/orders/{disputed.pk}/"' in disputes
    assert ">Open</span>" in disputes
    assert_ledger_balances()


def test_pagination_and_htmx_tabs(client, buyer, localstripe, monkeypatch):  # noqa: F811
    monkeypatch.setattr(library_views, "LIBRARY_PAGE_SIZE", 2)
    orders = [card_order(buyer, one_time_plan()) for _ in range(3)]
    html = page(client.get(URL))
    assert re.findall(r'<a href="/orders/(\d+)/">', html) == [str(orders[2].pk), str(orders[1].pk)]
    assert "Page 1 of 2" in html
    assert 'href="?tab=orders&amp;page=2"' in html

    response = client.get(
        URL, {"tab": "orders", "page": "2"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="library-panel"
    )
    html = page(response)
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="library-panel">')
    assert re.findall(r'<a href="/orders/(\d+)/">', html) == [str(orders[0].pk)]
    assert "Page 2 of 2" in html
    assert 'hx-push-url="true"' in html
    assert_ledger_balances()
