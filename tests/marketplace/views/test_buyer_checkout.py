"""Checkout: choose the rail (and the credit for pay-per-inference), review exactly what will be
charged (the numbers of pricing.quote), confirm to create the order and go to its page.

Card orders create their PaymentIntent at a real localstripe; AGR orders need the rail configured
(the in-process EVM's token), or say that AGR is unavailable."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import User
from marketplace.models import ListingStatus, Order, OrderStatus, Plan, PlanKind
from marketplace.services.pricing import quote
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, PlanFactory
from tests.marketplace.views.test_buyer_order import _media, assert_ledger_balances, one_time_plan  # noqa: F401
from tests.tokenomics.chain.conftest import chain, use_tester_chain  # noqa: F401
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe  # noqa: F401
from tokenomics.models import Payment
from tokenomics.models.ledger import AccountKind
from tokenomics.money import format_amount
from tokenomics.services.wallet import deposit_post

pytestmark = pytest.mark.django_db
MINUS = "\u2212"  # the minus sign the pages print before a discount


def page(response: Any) -> str:
    return response.content.decode()


def dd(html: str, element_id: str) -> str:
    """The text of <dd id=...>, tags stripped, whitespace collapsed."""
    match = re.search(rf'<dd id="{element_id}">(.*?)</dd>', html, re.S)
    assert match, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def errors(html: str) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


def per_inference_plan() -> Plan:
    return PlanFactory(kind=PlanKind.PER_INFERENCE, name="Metered", price_cents=200)


@pytest.fixture
def buyer(client: Any) -> User:
    user = UserFactory()
    client.force_login(user)
    return user


def test_anonymous_is_sent_to_log_in(client):
    plan = PlanFactory()
    for response in (client.get(f"/checkout/{plan.pk}/"), client.post(f"/checkout/{plan.pk}/confirm/")):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert not Order.objects.exists()


def test_plan_not_on_sale_is_not_found(client, buyer):
    assert client.get("/checkout/999999/").status_code == 404
    inactive = PlanFactory(is_active=False)
    draft = PlanFactory(listing=ListingFactory(status=ListingStatus.DRAFT))
    for plan in (inactive, draft):
        assert client.get(f"/checkout/{plan.pk}/").status_code == 404
        assert client.post(f"/checkout/{plan.pk}/review/", {"rail": "card"}).status_code == 404


def test_checkout_page_shows_the_plan_and_the_rails(client, buyer):
    plan = one_time_plan()
    html = page(client.get(f"/checkout/{plan.pk}/"))
    assert plan.listing.title in html
    assert "Perpetual" in html
    assert "$49.00" in html
    assert 'value="card"' in html
    assert 'value="agr"' in html
    assert 'name="credit"' not in html  # only pay-per-inference plans buy credit
    assert f'hx-post="/checkout/{plan.pk}/review/"' in html
    assert 'hx-target="#checkout-review"' in html
    assert f'href="/models/{plan.listing.slug}/"' in html


def test_listing_without_agr_offers_only_card(client, buyer):
    plan = PlanFactory(listing=ListingFactory(accepts_agr=False))
    html = page(client.get(f"/checkout/{plan.pk}/"))
    assert 'value="agr"' not in html
    response = client.post(f"/checkout/{plan.pk}/review/", {"rail": "agr"})
    assert response.status_code == 400
    assert "Choose one of the ways listed." in errors(page(response))


def test_review_by_agr_shows_the_15_percent_discount(client, buyer):
    plan = one_time_plan()
    priced = quote(plan=plan, rail="agr", buyer=buyer)
    assert priced.agr_discount == priced.list_amount * 1500 // 10_000 > 0  # 15% of the AGR list price
    response = client.post(f"/checkout/{plan.pk}/review/", {"rail": "agr"}, HTTP_HX_REQUEST="true")
    html = page(response)
    assert response.status_code == 200
    assert "<html" not in html  # the review partial only
    assert dd(html, "quote-list") == format_amount(amount=priced.list_amount, asset="AGR")
    assert dd(html, "quote-agr-discount").startswith(
        MINUS + format_amount(amount=priced.agr_discount, asset="AGR")
    )
    assert dd(html, "quote-volume-discount").startswith("0 AGR")
    assert "Your per-call volume tier: 0% off" in html
    # The asset is in the amount: no "145.35 AGR in AGR".
    assert dd(html, "quote-total") == format_amount(amount=priced.total, asset="AGR")
    assert '<input type="hidden" name="rail" value="agr">' in html
    assert f'action="/checkout/{plan.pk}/confirm/"' in html
    assert "Confirm and pay" in html
    assert not Order.objects.exists()


def test_review_by_card_shows_the_list_price(client, buyer):
    plan = one_time_plan()
    html = page(client.post(f"/checkout/{plan.pk}/review/", {"rail": "card"}))
    assert dd(html, "quote-list") == "$49.00"
    assert dd(html, "quote-agr-discount").startswith("$0.00")
    assert dd(html, "quote-volume-discount").startswith("$0.00")
    assert dd(html, "quote-total") == "$49.00 by card"
    assert "<html" in html  # without htmx: the whole page, the review in place


def test_review_of_a_subscription_says_per_period(client, buyer):
    plan = PlanFactory(kind=PlanKind.SUBSCRIPTION, name="Pro", price_cents=3_000, interval="month")
    html = page(client.post(f"/checkout/{plan.pk}/review/", {"rail": "card"}))
    assert dd(html, "quote-total") == "$30.00 by card for the first month"


@pytest.mark.parametrize("typed", ["25", "25.00", "$25"])
def test_review_of_prepaid_credit_parses_dollars_exactly(client, buyer, typed):
    plan = per_inference_plan()
    priced = quote(plan=plan, rail="card", buyer=buyer, credit_cents=2_500)
    html = page(client.post(f"/checkout/{plan.pk}/review/", {"rail": "card", "credit": typed}))
    assert dd(html, "quote-list") == "$25.00"
    assert dd(html, "quote-total") == "$25.00 by card"
    assert (
        dd(html, "quote-bonus") == "+" + format_amount(amount=priced.prepaid_bonus, asset="USD") == "+$2.50"
    )
    assert dd(html, "quote-credit") == "$27.50"
    assert f'<input type="hidden" name="credit" value="{typed}">' in html


@pytest.mark.parametrize(
    ("typed", "message", "status"),
    [
        ("", "Enter how much prepaid credit to buy, from $5.00.", 400),
        ("abc", "Enter a number of US dollars, such as 25 or 25.50.", 400),
        ("10.001", "Use at most 2 decimal places for US dollars.", 400),
        ("4.99", "Choose how much prepaid credit to buy, from $5.00.", 400),
    ],
)
def test_bad_credit_is_shown_next_to_the_field(client, buyer, typed, message, status):
    plan = per_inference_plan()
    for url in (f"/checkout/{plan.pk}/review/", f"/checkout/{plan.pk}/confirm/"):
        response = client.post(url, {"rail": "card", "credit": typed})
        assert response.status_code == status
        assert message in errors(page(response))
    # htmx gets the review block (200, so that it is swapped in) and, out of band, the form with the
    # message next to its field.
    response = client.post(
        f"/checkout/{plan.pk}/review/", {"rail": "card", "credit": typed}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = page(response)
    assert "<html" not in html
    assert (
        '<section class="card" id="checkout-choose" aria-labelledby="choose-title" hx-swap-oob="true">'
        in html
    )
    assert message in errors(html)
    assert not Order.objects.exists()


def test_confirm_by_card_creates_an_awaiting_order_with_its_intent(client, buyer, localstripe):  # noqa: F811
    plan = one_time_plan()
    response = client.post(f"/checkout/{plan.pk}/confirm/", {"rail": "card"})
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/"
    priced = quote(plan=plan, rail="card", buyer=buyer)
    assert (order.buyer, order.status, order.rail, order.asset) == (
        buyer,
        OrderStatus.AWAITING_PAYMENT,
        "card",
        "USD",
    )
    assert (order.list_amount, order.agr_discount, order.volume_discount, order.total) == (
        priced.list_amount,
        priced.agr_discount,
        priced.volume_discount,
        priced.total,
    )
    payment = Payment.objects.get(pk=order.payment_id)
    assert [i["amount"] for i in localstripe.intents_for(payment.reference)] == [4_900]
    assert_ledger_balances()


def test_confirm_over_htmx_redirects_with_a_header(client, buyer, localstripe):  # noqa: F811
    plan = per_inference_plan()
    response = client.post(
        f"/checkout/{plan.pk}/confirm/", {"rail": "card", "credit": "25.00"}, HTTP_HX_REQUEST="true"
    )
    order = Order.objects.get()
    assert response["HX-Redirect"] == f"/orders/{order.pk}/"
    assert (order.kind, order.total) == (PlanKind.PER_INFERENCE, 2_500)
    assert_ledger_balances()


def test_confirm_by_agr_prices_in_agr_with_the_discount(client, buyer, chain, settings):  # noqa: F811
    use_tester_chain(settings, chain.token)
    plan = one_time_plan()
    priced = quote(plan=plan, rail="agr", buyer=buyer)
    client.post(f"/checkout/{plan.pk}/confirm/", {"rail": "agr"})
    order = Order.objects.get()
    assert (order.asset, order.list_amount, order.agr_discount, order.total) == (
        "AGR",
        priced.list_amount,
        priced.agr_discount,
        priced.total,
    )
    html = page(client.get(f"/orders/{order.pk}/"))
    assert dd(html, "order-agr-discount") == MINUS + format_amount(amount=priced.agr_discount, asset="AGR")
    assert dd(html, "agr-amount") == format_amount(amount=priced.total, asset="AGR")
    assert_ledger_balances()


def test_agr_unavailable_is_a_page_level_message(client, buyer, settings, tmp_path):
    settings.WEB3_TOKEN_ADDRESS = ""
    settings.WEB3_DEPLOYMENT_FILE = str(tmp_path / "missing.json")
    plan = one_time_plan()
    response = client.post(f"/checkout/{plan.pk}/confirm/", {"rail": "agr"})
    assert response.status_code == 503
    assert 'id="checkout-error"' in page(response)
    assert "No AGR token address is configured" in page(response)
    assert not Order.objects.exists()


def test_own_model_cannot_be_bought(client, localstripe):  # noqa: F811
    plan = one_time_plan()
    client.force_login(plan.listing.creator)
    assert "This is your own model; you cannot buy it." in page(client.get(f"/checkout/{plan.pk}/"))
    response = client.post(f"/checkout/{plan.pk}/confirm/", {"rail": "card"})
    assert response.status_code == 409
    assert "You cannot buy your own model." in page(response)
    assert not Order.objects.exists()


def test_every_post_needs_the_csrf_token(buyer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(buyer)
    plan = one_time_plan()
    assert strict.post(f"/checkout/{plan.pk}/review/", {"rail": "card"}).status_code == 403
    assert strict.post(f"/checkout/{plan.pk}/confirm/", {"rail": "card"}).status_code == 403
    assert not Order.objects.exists()


# ----------------------------------------------------------------------------- prepaid balance


def _fund(user: User, cents: int) -> None:
    deposit_post(
        user=user,
        asset="USD",
        amount=cents,
        source_kind=AccountKind.EXTERNAL_STRIPE,
        idempotency_key=f"test-fund:{user.pk}:{cents}",
        memo="Test credit",
        prepaid_bonus_applies=False,
    )


def test_prepaid_balance_is_offered_with_what_is_available(client, buyer):
    plan = one_time_plan()
    assert 'value="balance"' not in page(client.get(f"/checkout/{plan.pk}/"))  # nothing to spend yet
    _fund(buyer, 2_750)
    html = page(client.get(f"/checkout/{plan.pk}/"))
    assert 'value="balance"' in html
    assert "Prepaid balance ($27.50 available)" in html
    # Per-inference credit is what the balance is; it cannot buy more of itself.
    assert 'value="balance"' not in page(client.get(f"/checkout/{per_inference_plan().pk}/"))


def test_the_review_says_when_the_balance_is_short_and_confirm_creates_nothing(client, buyer):
    plan = one_time_plan()  # $49.00
    _fund(buyer, 2_750)
    html = page(client.post(f"/checkout/{plan.pk}/review/", {"rail": "balance"}))
    assert dd(html, "quote-total") == "$49.00 from your prepaid balance"
    assert "Your prepaid balance is $27.50, $49.00 is due." in html
    assert re.search(r"<button[^>]*disabled[^>]*>Confirm and pay \$49.00 from balance", html)
    response = client.post(f"/checkout/{plan.pk}/confirm/", {"rail": "balance"})
    assert response.status_code == 402
    assert not Order.objects.exists()


def test_confirming_from_balance_pays_at_once(client, buyer):
    plan = one_time_plan()
    _fund(buyer, 5_000)
    html = page(client.post(f"/checkout/{plan.pk}/review/", {"rail": "balance"}))
    assert "$1.00 remains" in html
    assert '<input type="hidden" name="rail" value="balance">' in html
    response = client.post(f"/checkout/{plan.pk}/confirm/", {"rail": "balance"})
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    assert (order.status, order.payment_id) == (OrderStatus.IN_ESCROW, None)
    assert not Payment.objects.exists()
