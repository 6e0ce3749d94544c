"""The order page says why its Refund box is gone (issue 12, item 10).

A one-time purchase can be refunded until the window closes or the first download, which releases
the escrow to the creator. The box used to vanish after a download without a word.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from marketplace.models import License, OrderStatus
from tests.marketplace.views.test_buyer_order import (
    buyer,  # noqa: F401 (fixture)
    card_order,
    credit_arrival,
    one_time_plan,
    order_url,
    page,
)
from tests.tokenomics.stripe.conftest import localstripe  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_before_a_download_the_page_says_downloading_closes_the_window(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, one_time_plan()))
    html = page(client.get(order_url(order)))
    assert 'id="refund-box"' in html
    assert "Your first download closes the refund window" in html
    assert 'id="refund-closed"' not in html


def test_after_a_download_the_page_says_why_there_is_no_refund(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, one_time_plan()))
    lic = License.objects.get(order=order)
    b"".join(client.post(f"/licenses/{lic.pk}/download/").streaming_content)
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    html = page(client.get(order_url(order)))
    assert 'id="refund-box"' not in html
    assert 'id="refund-closed"' in html
    assert "The refund window closed when you first downloaded the model" in html
    assert "open a dispute below" in html


def test_after_the_window_the_page_says_when_it_closed(client, buyer, localstripe):  # noqa: F811
    order = credit_arrival(card_order(buyer, one_time_plan()))
    closed = timezone.localtime(order.escrow.release_after).strftime("%-d %b %Y, %H:%M")
    with time_machine.travel(order.escrow.release_after + timedelta(days=1)):
        html = page(client.get(order_url(order)))
    assert 'id="refund-box"' not in html
    assert f"The refund window closed on {closed}" in html
