"""The prepaid top-up pages: choose rail and amount, review, start, pay, and the polled status."""

from __future__ import annotations

import re

import pytest

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import chain, link, new_key, use_tester_chain  # noqa: F401
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe  # noqa: F401
from tokenomics.forms import PayoutForm, TopUpForm
from tokenomics.models import Payment
from tokenomics.money import AmountError, agr, parse_amount
from tokenomics.services.parameters import parameter_set
from tokenomics.services.stripe_events import stripe_reconcile

pytestmark = pytest.mark.django_db

URL = "/wallet/top-up/"
START = "/wallet/top-up/start/"


def _errors(html: str) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("25.00", 2500),
        ("25", 2500),
        ("0.10", 10),
        ("0.5", 50),
        (".75", 75),
        ("$1,000.01", 100001),
        (" 7. ", 700),
    ],
)
def test_dollars_parse_exactly_to_cents(text, cents):
    assert parse_amount(text, decimals=2, unit="US dollars") == cents


@pytest.mark.parametrize(
    ("text", "base_units"),
    [
        ("1.5", 1_500_000_000_000_000_000),
        ("100", agr(100)),
        ("0.000000000000000001", 1),
        ("123456789.123456789123456789", 123_456_789_123_456_789_123_456_789),
    ],
)
def test_agr_parses_exactly_to_base_units(text, base_units):
    assert parse_amount(text, decimals=18, unit="AGR") == base_units


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "Enter a number of US dollars"),
        ("-5", "Enter a positive amount."),
        ("1.234", "Use at most 2 decimal places for US dollars."),
        ("0", "Enter an amount above zero."),
        ("", "Enter an amount."),
        ("1.2.3", "Enter a number"),
        ("1e3", "Enter a number"),
    ],
)
def test_bad_dollar_amounts_are_refused(text, message):
    with pytest.raises(AmountError, match=re.escape(message)):
        parse_amount(text, decimals=2, unit="US dollars")


# ----------------------------------------------------------------------------- the pages


@pytest.mark.parametrize("path", [URL, "/wallet/top-up/1/", "/wallet/top-up/1/status/"])
def test_anonymous_is_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_cannot_start(client):
    response = client.post(START, {"rail": "card", "amount": "25.00"})
    assert response.status_code == 302
    assert not Payment.objects.exists()


def test_wallet_page_links_to_top_up(client, user):
    client.force_login(user)
    assert f'href="{URL}"' in client.get("/wallet/").content.decode()


def test_form_offers_both_rails(client, user):
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert 'value="card"' in html
    assert 'value="agr"' in html
    assert 'name="amount"' in html
    assert "Review top-up" in html


@pytest.mark.parametrize(
    ("rail", "amount", "message"),
    [
        ("card", "abc", "Enter a number of US dollars, such as 25 or 25.50."),
        ("card", "-5", "Enter a positive amount."),
        ("card", "10.001", "Use at most 2 decimal places for US dollars."),
        ("card", "0.49", "The smallest card top-up is $0.50."),
        ("card", "", "Enter an amount."),
        ("agr", "abc", "Enter a number of AGR"),
        ("agr", "0", "Enter an amount above zero."),
        ("agr", "0.0000000000000000001", "Use at most 18 decimal places for AGR."),
        ("", "5", "Choose how to pay."),
    ],
)
def test_invalid_input_is_shown_next_to_the_field(client, user, rail, amount, message):
    client.force_login(user)
    for path in (URL, START):  # the review and the start both check
        response = client.post(path, {"rail": rail, "amount": amount})
        assert response.status_code == 400
        assert message in _errors(response.content.decode())
    assert not Payment.objects.exists()


def test_amounts_are_capped_by_the_card_limits_and_the_agr_total_supply(client, user):
    client.force_login(user)
    html = client.post(URL, {"rail": "card", "amount": "1000000.00"}).content.decode()
    assert "The largest card top-up is $999,999.99." in _errors(html)
    # The AGR cap is the registry's total supply (1,000,000,000 AGR by default), not a fixed number.
    assert client.post(URL, {"rail": "agr", "amount": "1,000,000,000"}).status_code == 200
    over = client.post(URL, {"rail": "agr", "amount": "1000000000.000000000000000001"})
    assert over.status_code == 400
    assert "That is more AGR than exists." in _errors(over.content.decode())
    assert "at least $0.50" in str(TopUpForm().fields["amount"].help_text)


def test_a_payout_of_more_agr_than_exists_is_refused():
    form = PayoutForm(data={"account": "creator", "asset": "AGR", "amount": "1000000000.000000000000000001"})
    assert not form.is_valid()
    assert form.errors["amount"] == ["That is more AGR than exists."]
    form = PayoutForm(data={"account": "creator", "asset": "AGR", "amount": "1000000000"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["minor_units"] == agr(1_000_000_000)
    form = PayoutForm(data={"account": "creator", "asset": "USD", "amount": "12.34"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["minor_units"] == 1_234


def test_review_shows_what_will_happen_before_money_moves(client, user):
    client.force_login(user)
    response = client.post(URL, {"rail": "card", "amount": "25.00"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd id="summary-amount">$25.00 by card</dd>' in html
    assert '<dd id="summary-bonus">$2.50</dd>' in html
    assert "<strong>$27.50</strong>" in html
    assert "Nothing is charged yet." in html
    assert f'action="{START}"' in html
    assert '<input type="hidden" name="amount" value="25.00">' in html
    assert not Payment.objects.exists()


def test_agr_review_warns_without_a_linked_wallet(client, user):
    client.force_login(user)
    html = client.post(URL, {"rail": "agr", "amount": "1.5"}).content.decode()
    assert '<dd id="summary-amount">1.5 AGR from your linked wallet</dd>' in html
    assert '<dd id="summary-bonus">0.15 AGR</dd>' in html
    assert "You have no wallet linked yet." in html
    assert not Payment.objects.exists()


def test_starting_a_card_top_up_creates_one_payment_and_one_intent(client, user, localstripe, settings):  # noqa: F811
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    client.force_login(user)
    response = client.post(START, {"rail": "card", "amount": "25.00"})
    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/wallet/top-up/{payment.pk}/"
    assert (payment.user, payment.rail, payment.asset, payment.amount) == (user, "card", "USD", 2500)
    assert payment.purpose == "credit_top_up"
    intents = localstripe.intents_for(payment.reference)
    assert [(i["id"], i["amount"], i["currency"]) for i in intents] == [
        (payment.stripe_payment_intent_id, 2500, "usd")
    ]

    html = client.get(response["Location"]).content.decode()  # twice: reload-safe, no new intent
    html = client.get(response["Location"]).content.decode()
    # The page carries where the card form saves and charges the card, never a secret.
    assert f'data-setup-url="/payments/{payment.pk}/card/setup/"' in html
    assert f'data-confirm-url="/payments/{payment.pk}/card/confirm/"' in html
    assert "_secret_" not in html
    assert 'id="card-test-mode"' in html
    assert f'<script src="{localstripe.url}/js.stripe.com/v3/"></script>' in html
    assert "Pay $25.00" in html
    assert 'hx-trigger="every 2s"' in html
    assert len(localstripe.intents_for(payment.reference)) == 1
    assert Payment.objects.count() == 1


def test_reading_the_top_up_pages_calls_no_stripe_api(client, user, localstripe, settings):  # noqa: F811
    """With Stripe unreachable the card top-up's pay page, its status and the wallet still render
    from the database: no GET calls Stripe or creates a PaymentIntent."""
    client.force_login(user)
    client.post(START, {"rail": "card", "amount": "25.00"})
    payment = Payment.objects.get()
    pages = (f"/wallet/top-up/{payment.pk}/", f"/wallet/top-up/{payment.pk}/status/", "/wallet/")
    for url in pages:  # Stripe reachable: a GET that created an intent would leave a second one
        assert client.get(url).status_code == 200, url
    assert len(localstripe.intents_for(payment.reference)) == 1
    real_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # discard port: a call to Stripe would fail
    for url in pages:
        assert client.get(url).status_code == 200, url
    html = client.get(f"/wallet/top-up/{payment.pk}/").content.decode()
    assert f'data-confirm-url="/payments/{payment.pk}/card/confirm/"' in html
    settings.STRIPE_API_BASE = real_base
    assert len(localstripe.intents_for(payment.reference)) == 1
    assert Payment.objects.count() == 1


def test_status_stops_polling_once_paid(client, user, localstripe):  # noqa: F811
    client.force_login(user)
    client.post(START, {"rail": "card", "amount": "0.50"})
    payment = Payment.objects.get()
    status_url = f"/wallet/top-up/{payment.pk}/status/"
    html = client.get(status_url).content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert "Waiting for your payment." in html

    assert localstripe.pay(payment.stripe_payment_intent_id)["status"] == "succeeded"
    stripe_reconcile()
    html = client.get(status_url).content.decode()
    assert "hx-trigger" not in html
    assert "your wallet was credited $0.55, including the prepaid bonus" in html
    assert 'href="/wallet/"' in html
    # The pay page of a paid top-up shows no card form.
    assert "card-element" not in client.get(f"/wallet/top-up/{payment.pk}/").content.decode()


def test_status_shows_the_bonus_the_ledger_credited_not_todays_rate(
    client,
    user,
    localstripe,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    client.force_login(user)
    client.post(START, {"rail": "card", "amount": "10.00"})
    payment = Payment.objects.get()
    assert localstripe.pay(payment.stripe_payment_intent_id)["status"] == "succeeded"
    stripe_reconcile()
    status_url = f"/wallet/top-up/{payment.pk}/status/"
    credited = "your wallet was credited $11.00, including the prepaid bonus"
    assert credited in client.get(status_url).content.decode()
    # The bonus rate changes afterwards: the page still shows what the ledger credited.
    with django_capture_on_commit_callbacks(execute=True):
        parameter_set(key="discount.prepaid_bonus_bps", value=2_000, emergency=True)
    assert credited in client.get(status_url).content.decode()


def test_the_pay_page_and_its_status_agree_with_the_ledger_after_the_rate_changes(
    client,
    user,
    localstripe,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    # Issue 16: the pay step showed today's bonus while the status showed the ledger's.
    client.force_login(user)
    client.post(START, {"rail": "card", "amount": "10.00"})
    payment = Payment.objects.get()
    pay_url = f"/wallet/top-up/{payment.pk}/"
    before = client.get(pay_url).content.decode()
    assert "your wallet receives $11.00 including the $1.00 prepaid bonus" in before
    assert localstripe.pay(payment.stripe_payment_intent_id)["status"] == "succeeded"
    stripe_reconcile()
    with django_capture_on_commit_callbacks(execute=True):
        parameter_set(key="discount.prepaid_bonus_bps", value=2_000, emergency=True)

    html = client.get(pay_url).content.decode()
    assert "your wallet receives $11.00 including the $1.00 prepaid bonus" in html
    assert "your wallet was credited $11.00, including the prepaid bonus" in html
    assert "$12.00" not in html


def test_someone_elses_top_up_is_not_found(client, user, localstripe):  # noqa: F811
    client.force_login(user)
    client.post(START, {"rail": "card", "amount": "1.00"})
    payment = Payment.objects.get()
    client.force_login(UserFactory())
    assert client.get(f"/wallet/top-up/{payment.pk}/").status_code == 404
    assert client.get(f"/wallet/top-up/{payment.pk}/status/").status_code == 404


def test_agr_when_the_chain_is_not_configured_says_so(client, user, settings, tmp_path):
    settings.WEB3_TOKEN_ADDRESS = ""
    settings.WEB3_DEPLOYMENT_FILE = str(tmp_path / "missing.json")
    client.force_login(user)
    response = client.post(START, {"rail": "agr", "amount": "1"})
    assert response.status_code == 503
    assert "No AGR token address is configured" in response.content.decode()
    assert not Payment.objects.exists()


def test_starting_an_agr_top_up_shows_where_to_pay(client, user, chain, new_key, settings):  # noqa: F811
    use_tester_chain(settings, chain.token)
    wallet = link(user, new_key(0))
    client.force_login(user)
    response = client.post(START, {"rail": "agr", "amount": "1.5"})
    payment = Payment.objects.get()
    assert (payment.rail, payment.asset, payment.amount) == ("agr", "AGR", 1_500_000_000_000_000_000)
    html = client.get(response["Location"]).content.decode()
    assert '<dd id="agr-amount">1.5 AGR</dd>' in html
    assert chain.token in html
    assert chain.deposit in html
    assert payment.reference in html
    assert 'data-chain-id="1337"' in html
    assert f'data-verify-url="/api/v1/credits/{payment.pk}/agr-payment"' in html
    assert wallet.address in html
    assert 'id="agr-reasons"' in html
